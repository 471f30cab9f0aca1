/**
 * The client protocol frame by frame against the real `chat-node` process: every client frame
 * type and every error code a client can provoke (docs/protocol.md, "Client protocol").
 *
 * Two codes are not provoked here, on purpose: `unavailable` is sent only when the store fails
 * to commit (a full or broken disk), which a client cannot cause from outside without faking
 * the store; and `internal` is sent only when a handler throws, i.e. on a bug in the node.
 */
import { checkMessage, type SignedEvent } from '../src/shared/signatures.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerFrame } from '../src/shared/protocol.ts'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import { cleanupNodes, health, type NodeProcess, startNode } from './support/node-process.ts'

let node: NodeProcess
let nodeId: string

beforeAll(async () => {
  node = await startNode({ name: 'Proto' })
  nodeId = (await health(node)).node.id
})
afterAll(cleanupNodes)

/** Types of the frames a client got after index `from`. */
function typesAfter(client: ChatClient, from: number): string[] {
  return client.frames.slice(from).map((f) => f.type)
}

function errorOf(frame: ServerFrame): FrameOf<'error'> {
  if (frame.type !== 'error') throw new Error(`expected an error, got ${JSON.stringify(frame)}`)
  return frame
}

describe('hello', () => {
  it('welcomes a client with this node and the mesh list', async () => {
    const client = await ChatClient.open(node.wsUrl)
    client.send({ type: 'hello', protocol: 1, user: randomUser('ann') })
    const welcome = await client.next('welcome')
    expect(welcome.protocol).toBe(1)
    expect(welcome.node).toEqual({ id: nodeId, name: 'Proto' })
    expect(welcome.node.id).toMatch(/^[a-z0-9]{8,64}$/)
    expect(welcome.nodes).toContainEqual({ id: nodeId, name: 'Proto', url: node.wsUrl, up: true })
    expect(welcome.nodes.every((n) => /^ws:\/\//.test(n.url))).toBe(true)
    client.close()
  })

  it('answers every frame before hello with hello_required, echoing ref', async () => {
    const client = await ChatClient.open(node.wsUrl)
    const frames = [
      { type: 'join', room: 'general' },
      { type: 'leave', room: 'general' },
      { type: 'send', room: 'general', text: 'hi', cid: 'c1' },
      { type: 'history', room: 'general' },
      { type: 'typing', room: 'general' },
      { type: 'ping' },
    ]
    for (const [i, frame] of frames.entries()) {
      const reply = errorOf(await client.request({ ...frame, ref: `before-${i}` }))
      expect(reply).toMatchObject({ code: 'hello_required', ref: `before-${i}` })
    }
    // Nothing was done on the session's behalf, and it may still say hello.
    expect(client.frames.every((f) => f.type === 'error')).toBe(true)
    client.send({ type: 'hello', protocol: 1, user: randomUser() })
    await client.next('welcome')
    expect((await client.request({ type: 'ping' })).type).toBe('pong')
    client.close()
  })

  it('refuses a second hello with bad_request and keeps the first identity', async () => {
    const user = randomUser('first')
    const client = await ChatClient.connect(node.wsUrl, user)
    const reply = errorOf(
      await client.request({ type: 'hello', protocol: 1, user: randomUser('second'), ref: 'h2' }),
    )
    expect(reply).toMatchObject({ code: 'bad_request', ref: 'h2' })
    await client.join('hello-twice')
    const ack = await client.say('hello-twice', 'who am I')
    const [message] = await client.messages('hello-twice', 1)
    expect(message?.id).toBe(ack.id)
    expect(message?.user).toEqual(user)
    client.close()
  })

  it('rejects an invalid hello with bad_request and lets the client try again', async () => {
    const client = await ChatClient.open(node.wsUrl)
    const bad = [
      { type: 'hello', protocol: 2, user: randomUser() },
      { type: 'hello', protocol: 1, user: { id: 'short', name: 'x' } },
      { type: 'hello', protocol: 1, user: { id: 'u1234567890', name: '' } },
      { type: 'hello', protocol: 1, user: { id: 'u1234567890', name: 'bell\u0007' } },
      { type: 'hello', protocol: 1 },
    ]
    for (const frame of bad) {
      expect(errorOf(await client.request(frame)).code).toBe('bad_request')
    }
    client.send({ type: 'hello', protocol: 1, user: randomUser() })
    await client.next('welcome')
    client.close()
  })
})

describe('join, leave, send', () => {
  it('sends the backlog, then joined with the users online and truncated', async () => {
    const ann = await ChatClient.connect(node.wsUrl, randomUser('ann'))
    await ann.join('join-basics')
    const acks = [
      await ann.say('join-basics', 'one'),
      await ann.say('join-basics', 'two'),
      await ann.say('join-basics', 'three'),
    ]
    const bobUser = randomUser('bob')
    const bob = await ChatClient.connect(node.wsUrl, bobUser)
    const from = bob.frames.length
    const { backlog, joined } = await bob.join('join-basics')
    expect(backlog.map((m) => m.id)).toEqual(acks.map((a) => a.id))
    expect(backlog.map((m) => m.text)).toEqual(['one', 'two', 'three'])
    // The backlog comes first, then joined (which echoes the join's ref).
    expect(typesAfter(bob, from).slice(0, 4)).toEqual(['message', 'message', 'message', 'joined'])
    expect(joined.ref).toMatch(/^join-/)
    expect(joined.truncated).toBe(false)
    expect(joined.room).toBe('join-basics')
    expect(joined.users).toContainEqual({ id: bobUser.id, name: 'bob', node: nodeId })
    expect(joined.users).toHaveLength(2)
    ann.close()
    bob.close()
  })

  it('leaves with left; leave, send and typing in a room not joined get not_joined', async () => {
    const ann = await ChatClient.connect(node.wsUrl)
    const bob = await ChatClient.connect(node.wsUrl)
    await ann.join('leave-room')
    await bob.join('leave-room')
    const left = await bob.request({ type: 'leave', room: 'leave-room', ref: 'bye' })
    expect(left).toEqual({ type: 'left', room: 'leave-room', ref: 'bye' })
    const after = bob.frames.length

    const attempts = [
      { type: 'leave', room: 'leave-room', ref: 'l2' },
      { type: 'send', room: 'leave-room', text: 'still here?', cid: 'c1', ref: 's1' },
      { type: 'typing', room: 'leave-room', ref: 't1' },
      { type: 'send', room: 'never-joined', text: 'hi', cid: 'c2', ref: 's2' },
    ]
    for (const frame of attempts) {
      expect(errorOf(await bob.request(frame))).toMatchObject({
        code: 'not_joined',
        ref: frame.ref,
      })
    }

    // Bob no longer hears the room: had ann's message reached him, it would precede his pong.
    await ann.say('leave-room', 'after bob left')
    await bob.request({ type: 'ping' })
    expect(bob.frames.slice(after).some((f) => f.type === 'message')).toBe(false)
    // Nor did his failed send create anything.
    const history = await ann.request({ type: 'history', room: 'leave-room' })
    expect(history.type === 'history' && history.messages.map((m) => m.text)).toEqual([
      'after bob left',
    ])
    ann.close()
    bob.close()
  })

  it('delivers a message to every member, the sender included, before the ack', async () => {
    const annUser = randomUser('ann')
    const ann = await ChatClient.connect(node.wsUrl, annUser)
    const bob = await ChatClient.connect(node.wsUrl)
    const outsider = await ChatClient.connect(node.wsUrl)
    await ann.join('send-room')
    await bob.join('send-room')
    await outsider.join('elsewhere')

    const ack = await ann.say('send-room', 'hello, room', 'cid-1')
    expect(ack.ref).toBe('send-cid-1')
    expect(ack.cid).toBe('cid-1')
    const [seen] = await bob.messages('send-room', 1)
    const [own] = await ann.messages('send-room', 1)
    expect(own).toEqual(seen)
    expect(seen).toEqual({
      type: 'message',
      room: 'send-room',
      id: expect.stringMatching(new RegExp(`^${nodeId}:[1-9][0-9]*$`)),
      origin: nodeId,
      seq: expect.any(Number),
      ts: ack.ts,
      user: annUser,
      text: 'hello, room',
      cid: 'cid-1',
      key: expect.any(String),
      sig: expect.any(String),
    })
    // Signed by the node it came from, so that the client can check it itself.
    expect(checkMessage(seen as unknown as SignedEvent)).toEqual({ ok: true })
    expect(ack.id).toBe(seen?.id)
    expect(ack.id).toBe(`${nodeId}:${seen?.seq}`)
    const messageAt = ann.frames.findIndex((f) => f.type === 'message')
    const ackAt = ann.frames.findIndex((f) => f.type === 'ack')
    expect(messageAt).toBeLessThan(ackAt)

    // seq counts this node's events; ts grows with it.
    const second = await ann.say('send-room', 'again')
    const [, next] = await ann.messages('send-room', 2)
    expect(next?.seq).toBeGreaterThan(seen?.seq ?? Infinity)
    expect(second.ts).toBeGreaterThan(ack.ts)
    expect(second.id).toBe(`${nodeId}:${next?.seq}`)

    await outsider.request({ type: 'ping' })
    expect(outsider.frames.some((f) => f.type === 'message')).toBe(false)
    for (const c of [ann, bob, outsider]) c.close()
  })
})

describe('history', () => {
  it('pages with before and limit, and says whether more exist', async () => {
    const ann = await ChatClient.connect(node.wsUrl)
    await ann.join('history-room')
    const texts = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']
    const acks = await ann.sendMany('history-room', texts)
    const ids = acks.map((a) => a.id)

    const reader = await ChatClient.connect(node.wsUrl)
    const page = async (frame: Record<string, unknown>) => {
      const reply = await reader.request({ type: 'history', room: 'history-room', ...frame })
      if (reply.type !== 'history') throw new Error(`expected history: ${JSON.stringify(reply)}`)
      return reply
    }
    const all = await page({ ref: 'all' })
    expect(all.ref).toBe('all')
    expect(all.room).toBe('history-room')
    expect(all.messages.map((m) => m.id)).toEqual(ids)
    expect(all.hasMore).toBe(false)

    const newest = await page({ limit: 3 })
    expect(newest.messages.map((m) => m.text)).toEqual(['m5', 'm6', 'm7'])
    expect(newest.hasMore).toBe(true)
    const older = await page({ limit: 3, before: newest.messages[0]?.id })
    expect(older.messages.map((m) => m.text)).toEqual(['m2', 'm3', 'm4'])
    expect(older.hasMore).toBe(true)
    const oldest = await page({ limit: 3, before: older.messages[0]?.id })
    expect(oldest.messages.map((m) => m.text)).toEqual(['m1'])
    expect(oldest.hasMore).toBe(false)
    const exact = await page({ limit: 6, before: ids[6] })
    expect(exact.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    expect(exact.hasMore).toBe(false)

    const empty = await page({ room: 'no-such-room' })
    expect(empty).toMatchObject({ room: 'no-such-room', messages: [], hasMore: false })

    for (const bad of [{ limit: 0 }, { limit: 201 }, { limit: 2.5 }, { before: 'nonsense' }]) {
      expect(
        errorOf(await reader.request({ type: 'history', room: 'history-room', ...bad })).code,
      ).toBe('bad_request')
    }
    // An id of the right shape that names no event.
    const missing = await reader.request({
      type: 'history',
      room: 'history-room',
      before: 'zzzzzzzz:5',
      ref: 'm',
    })
    expect(errorOf(missing)).toMatchObject({ code: 'bad_request', ref: 'm' })
    ann.close()
    reader.close()
  })
})

describe('typing, ping, presence', () => {
  it('shows typing to the other members but not to the typist', async () => {
    const annUser = randomUser('ann')
    const ann = await ChatClient.connect(node.wsUrl, annUser)
    const bob = await ChatClient.connect(node.wsUrl)
    const carol = await ChatClient.connect(node.wsUrl)
    await ann.join('typing-room')
    await bob.join('typing-room')
    await carol.join('typing-room')
    ann.send({ type: 'typing', room: 'typing-room' })
    expect(await bob.next('typing')).toEqual({ type: 'typing', room: 'typing-room', user: annUser })
    expect(await carol.next('typing')).toEqual({
      type: 'typing',
      room: 'typing-room',
      user: annUser,
    })
    // Typing has no reply; a ping after it shows nothing came back to the typist.
    await ann.request({ type: 'ping' })
    expect(ann.frames.some((f) => f.type === 'typing')).toBe(false)
    for (const c of [ann, bob, carol]) c.close()
  })

  it('answers ping with pong, echoing ref', async () => {
    const client = await ChatClient.connect(node.wsUrl)
    expect(await client.request({ type: 'ping', ref: 'p-1' })).toEqual({ type: 'pong', ref: 'p-1' })
    const from = client.frames.length
    client.send({ type: 'ping' })
    expect((await client.waitFor((f) => f.type === 'pong', from)).frame).toEqual({ type: 'pong' })
    client.close()
  })

  it('sends presence when someone joins, leaves or disconnects', async () => {
    const annUser = randomUser('ann')
    const bobUser = randomUser('bob')
    const ann = await ChatClient.connect(node.wsUrl, annUser)
    await ann.join('presence-room')
    const online = (users: { id: string }[]) => users.map((u) => u.id).sort()
    const both = [annUser.id, bobUser.id].sort()

    const bob = await ChatClient.connect(node.wsUrl, bobUser)
    await bob.join('presence-room')
    const joined = await ann.next('presence', (p) => p.users.length === 2)
    expect(joined.room).toBe('presence-room')
    expect(online(joined.users)).toEqual(both)
    expect(joined.users).toContainEqual({ id: bobUser.id, name: 'bob', node: nodeId })

    await bob.request({ type: 'leave', room: 'presence-room' })
    expect(online((await ann.next('presence')).users)).toEqual([annUser.id])

    // Presence is per user: a second session of bob changes nothing while the first stays.
    await bob.join('presence-room')
    expect(online((await ann.next('presence')).users)).toEqual(both)
    const bobAgain = await ChatClient.connect(node.wsUrl, bobUser)
    await bobAgain.join('presence-room')
    bobAgain.close()
    await bobAgain.closed
    bob.close()
    const gone = await ann.next('presence')
    expect(online(gone.users)).toEqual([annUser.id])
    // Ann's own join, bob's join, leave, re-join and disconnect: none for bob's second session.
    await ann.request({ type: 'ping' })
    expect(ann.frames.filter((f) => f.type === 'presence')).toHaveLength(5)
    ann.close()
  })
})

describe('errors', () => {
  it('answers malformed frames with bad_request and keeps the session', async () => {
    const client = await ChatClient.connect(node.wsUrl)
    await client.join('bad-requests')
    const cases: [string, string | undefined][] = [
      ['this is not json', undefined],
      ['{"type": "send", "room":', undefined],
      ['null', undefined],
      ['[1, 2, 3]', undefined],
      ['"ping"', undefined],
      ['{"ref": "no-type"}', 'no-type'],
      ['{"type": "shout", "ref": "unknown"}', 'unknown'],
      ['{"type": "send", "room": "bad-requests", "text": "x", "ref": "no-cid"}', 'no-cid'],
      [
        '{"type": "send", "room": "bad-requests", "text": "x", "cid": "has space", "ref": "cid"}',
        'cid',
      ],
      [
        '{"type": "send", "room": "bad-requests", "text": "   ", "cid": "c1", "ref": "blank"}',
        'blank',
      ],
      ['{"type": "send", "room": "bad-requests", "text": 5, "cid": "c1", "ref": "num"}', 'num'],
      ['{"type": "join", "room": "Bad Room", "ref": "room"}', 'room'],
      ['{"type": "join", "room": "general", "since": {"x": 1}, "ref": "since"}', 'since'],
      ['{"type": "join", "room": "general", "since": [1], "ref": "since2"}', 'since2'],
      ['{"type": "leave", "ref": "noroom"}', 'noroom'],
      [`{"type": "ping", "ref": "${'r'.repeat(65)}"}`, undefined],
    ]
    for (const [raw, ref] of cases) {
      const from = client.frames.length
      client.sendRaw(raw)
      const { frame } = await client.waitFor((f) => f.type === 'error', from)
      expect(frame, raw).toMatchObject({ type: 'error', code: 'bad_request' })
      expect((frame as FrameOf<'error'>).ref, raw).toBe(ref)
      expect((frame as FrameOf<'error'>).message.length, raw).toBeGreaterThan(0)
    }
    // Nothing was written, and the session still chats.
    const ack = await client.say('bad-requests', 'still fine')
    const history = await client.request({ type: 'history', room: 'bad-requests' })
    expect(history.type === 'history' && history.messages.map((m) => m.id)).toEqual([ack.id])
    client.close()
  })

  it('refuses a 4001-character text with too_long and takes 4000', async () => {
    const client = await ChatClient.connect(node.wsUrl)
    await client.join('long-room')
    const reply = await client.request({
      type: 'send',
      room: 'long-room',
      text: 'x'.repeat(4001),
      cid: 'too-long',
      ref: 'long',
    })
    expect(errorOf(reply)).toMatchObject({ code: 'too_long', ref: 'long' })
    const ack = await client.say('long-room', 'y'.repeat(4000))
    const [message] = await client.messages('long-room', 1)
    expect(message?.id).toBe(ack.id)
    expect(message?.text).toHaveLength(4000)
    // 4000 UTF-16 code units, whatever their size in bytes.
    await client.say('long-room', '€'.repeat(4000))
    client.close()
  })

  it('rate-limits a flooding session with rate_limited and keeps serving it', async () => {
    const client = await ChatClient.connect(node.wsUrl)
    await client.join('flood-pings')
    const from = client.frames.length
    for (let i = 0; i < 300; i++) client.send({ type: 'ping', ref: `p${i}` })
    let replies = 0
    await client.waitFor(
      (f) => (f.type === 'pong' || f.type === 'error') && ++replies === 300,
      from,
    )
    const answers = client.frames.slice(from)
    const pongs = answers.filter((f) => f.type === 'pong').length
    const limited = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited')
    expect(pongs + limited.length).toBe(300)
    // The burst (100, less the hello and join) passes; most of the rest is refused.
    expect(pongs).toBeGreaterThanOrEqual(95)
    expect(pongs).toBeLessThan(200)
    expect(limited.length).toBeGreaterThan(100)
    expect(limited.every((f) => /^p\d+$/.test((f as FrameOf<'error'>).ref ?? ''))).toBe(true)

    // The session stays open and works again once the bucket refills: a client retries the
    // refused send with the same cid, pacing its retries.
    const retry = { type: 'send', room: 'flood-pings', text: 'back to normal', cid: 'after-flood' }
    let reply = await client.request(retry)
    for (let tries = 0; reply.type === 'error' && tries < 100; tries++) {
      expect(reply.code).toBe('rate_limited')
      await new Promise((r) => setTimeout(r, 25))
      reply = await client.request(retry)
    }
    expect(reply.type).toBe('ack')
    const [message] = await client.messages('flood-pings', 1)
    expect(message?.text).toBe('back to normal')
    client.close()
  })
})

describe('an id of the keyed form', () => {
  // This node has no challenge yet, so nobody can prove such an id: an event by it would be
  // refused by every other node, and would hold back every later event of this node there.
  for (const [label, key] of [
    ['without a key', undefined],
    ['with a key it cannot prove yet', 'A'.repeat(43)],
  ] as const) {
    it(`is refused at hello ${label}: unauthorized, then close code 4001`, async () => {
      const client = await ChatClient.open(node.wsUrl)
      const user = { id: `k${'0123456789'.repeat(4)}`, name: 'Claimed', ...(key ? { key } : {}) }
      client.send({ type: 'hello', protocol: 1, user, ref: 'h' })
      expect(await client.next('error')).toMatchObject({ code: 'unauthorized', ref: 'h' })
      expect((await client.closed).code).toBe(4001)
      expect(client.frames.some((f) => f.type === 'welcome')).toBe(false)
    })
  }
})

describe('access token', () => {
  let secured: NodeProcess
  beforeAll(async () => {
    secured = await startNode({
      name: 'Locked',
      args: ['--token', 's3cret-token', '--secret', 'mesh-s3cret'],
    })
  })

  for (const [label, token] of [
    ['no token', undefined],
    ['a wrong token', 'guess'],
  ] as const) {
    it(`refuses hello with ${label}: unauthorized, then close code 4001`, async () => {
      const client = await ChatClient.open(secured.wsUrl)
      client.send({
        type: 'hello',
        protocol: 1,
        user: randomUser(),
        ref: 'h',
        ...(token === undefined ? {} : { token }),
      })
      const error = await client.next('error')
      expect(error).toMatchObject({ code: 'unauthorized', ref: 'h' })
      expect((await client.closed).code).toBe(4001)
      expect(client.frames.some((f) => f.type === 'welcome')).toBe(false)
    })
  }

  it('welcomes a hello with the right token', async () => {
    const client = await ChatClient.connect(secured.wsUrl, randomUser(), 's3cret-token')
    await client.join('general')
    await client.say('general', 'in')
    client.close()
  })
})
