/**
 * The open envelope (docs/protocol.md, "An open envelope"), against real `chat-node` processes.
 *
 * A node that does not know an event kind stores, relays and delivers it: three nodes in a line
 * A - B - C, none of which knows any kind but `message`, and a peer of a later version on A
 * (played by hand, support/fake-peer.ts) that sends a reaction with fields nobody here knows.
 * It reaches C through B byte for byte, and C's clients get it live and in backlogs as an
 * `event` frame, signed as sent; history keeps to messages, and messages keep flowing. A message
 * with a field of its own is relayed with it, its signatures intact.
 *
 * A node upgraded from a store written before node keys serves its old messages, re-issued
 * under its new id and signed, and relays them to a node that joins it.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonical } from '../src/shared/canonical.ts'
import { NODE_ID_PATTERN } from '../src/shared/keys.ts'
import type { ServerFrame } from '../src/shared/protocol.ts'
import { checkEvent, checkMessage } from '../src/shared/signatures.ts'
import { openEventSchema } from '../src/shared/signed-frames.ts'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import { closeFakePeers, FakePeer, wireEvent } from './support/fake-peer.ts'
import {
  nodeId,
  readRoom,
  storedBody,
  waitForEqualVectors,
  waitForPeersUp,
} from './support/mesh.ts'
import {
  cleanupNodes,
  type NodeProcess,
  startNode,
  tempDir,
  waitForHealth,
} from './support/node-process.ts'
import { type OldEventRow, writeOldStore } from './support/old-store.ts'

const SECRET = 'open-envelope-secret'
const ROOM = 'general'

const sessions: ChatClient[] = []

afterAll(async () => {
  closeFakePeers()
  for (const session of sessions.splice(0)) session.close()
  await cleanupNodes()
})

/** A session on `node`, closed after the file. */
async function session(
  node: NodeProcess,
  user = randomUser(`on-${node.name}`),
): Promise<ChatClient> {
  const client = await ChatClient.connect(node.wsUrl, user)
  sessions.push(client)
  return client
}

type Delivered = FrameOf<'message'> | FrameOf<'event'>

/** The events a session was given in `room`, messages and other kinds, in order. */
function delivered(frames: readonly ServerFrame[], room = ROOM): Delivered[] {
  return frames.filter(
    (f): f is Delivered => (f.type === 'message' || f.type === 'event') && f.room === room,
  )
}

/** A message by its text, an event of another kind by its kind and emoji. */
function label(frame: Delivered): string {
  return frame.type === 'message'
    ? frame.text
    : `${String(frame.event.kind)} ${String(frame.event.emoji)}`
}

describe('a node that does not know an event kind', () => {
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess
  /** A peer of a later version, linked to A. */
  let newer: FakePeer
  /** Joined on C before anything was sent. */
  let watcher: ChatClient
  /** What the newer peer sends, in seq order: the second is a reaction to the first. */
  let sent: Readonly<Record<string, unknown>>[]
  let reaction: Readonly<Record<string, unknown>>

  beforeAll(async () => {
    a = await startNode({ name: 'A', args: ['--secret', SECRET] })
    b = await startNode({ name: 'B', args: ['--secret', SECRET, '--peer', a.peerAddr] })
    c = await startNode({ name: 'C', args: ['--secret', SECRET, '--peer', b.peerAddr] })
    const [idA, idB, idC] = [await nodeId(a), await nodeId(b), await nodeId(c)]
    await Promise.all([
      waitForPeersUp(a, [idB]),
      waitForPeersUp(b, [idA, idC]),
      waitForPeersUp(c, [idB]),
    ])
    watcher = await session(c)
    await watcher.join(ROOM)

    newer = await FakePeer.connect({ port: a.peerPort, node: { name: 'Newer' } })
    const sync = await newer.handshake(SECRET)
    newer.send({ type: 'sync', vector: sync.vector })
    await waitForHealth(a, (h) => h.peers.some((p) => p.id === newer.node.id && p.state === 'up'))

    const keys = newer.keys
    const first = wireEvent(keys, 1, ROOM, 'before the reaction')
    reaction = keys.sign({
      kind: 'reaction',
      origin: keys.id,
      seq: 2,
      ts: first.ts + 1,
      room: ROOM,
      user: first.user,
      cid: 'reaction-2',
      emoji: '👍',
      target: `${keys.id}:1`,
      // A field not even the kind's first version had.
      skin: { tone: 3, since: 'v2.1' },
    })
    sent = [
      first,
      reaction,
      wireEvent(keys, 3, ROOM, 'after the reaction'),
      wireEvent(keys, 4, ROOM, 'with a field of tomorrow', {
        mood: 'calm',
        attachments: [{ name: 'notes.txt', bytes: 3 }],
      }),
    ]
    for (const event of sent) newer.send({ type: 'event', event })
    await waitForEqualVectors([a, b, c], 30_000, { [keys.id]: sent.length })
    await watcher.messages(ROOM, 3, 30_000)
  })

  afterAll(async () => {
    newer.destroy()
    await Promise.all([a, b, c].map((n) => n.kill()))
  })

  it('stores it on every node of the line byte for byte', () => {
    for (const node of [a, b, c]) {
      for (const [i, event] of sent.entries()) {
        expect(storedBody(node, newer.node.id, i + 1)).toBe(canonical(event))
      }
    }
  })

  it('delivers it live, relayed, to a client of the far node as an event frame with every field', () => {
    expect(delivered(watcher.frames).map(label)).toEqual([
      'before the reaction',
      'reaction 👍',
      'after the reaction',
      'with a field of tomorrow',
    ])
    const frame = delivered(watcher.frames)[1]
    expect(frame).toEqual({ type: 'event', room: ROOM, event: reaction })
    // The client can check the origin's signature of a kind it may not know either.
    const event = openEventSchema.parse(frame?.type === 'event' ? frame.event : undefined)
    expect(checkEvent(event)).toEqual({ ok: true })
  })

  it('delivers it in a join backlog, with and without since, unless since covers it', async () => {
    const origin = newer.node.id
    const all = [
      'before the reaction',
      'reaction 👍',
      'after the reaction',
      'with a field of tomorrow',
    ]
    const backlog = async (since?: Record<string, number>) => {
      const client = await session(c)
      const from = client.frames.length
      await client.join(ROOM, since)
      return delivered(client.frames.slice(from))
    }
    const whole = await backlog()
    expect(whole.map(label)).toEqual(all)
    expect(whole[1]).toEqual({ type: 'event', room: ROOM, event: reaction })
    expect((await backlog({})).map(label)).toEqual(all)
    expect((await backlog({ [origin]: 1 })).map(label)).toEqual(all.slice(1))
    expect((await backlog({ [origin]: 2 })).map(label)).toEqual(all.slice(2))
  })

  it('keeps it out of history, whose pages still hold as many messages as asked', async () => {
    const reader = await session(c)
    const texts = (await readRoom(c, ROOM)).map((m) => m.text)
    expect(texts).toEqual(['before the reaction', 'after the reaction', 'with a field of tomorrow'])
    // The page just before "after the reaction" is the message before the reaction.
    const page = await reader.request({
      type: 'history',
      room: ROOM,
      before: `${newer.node.id}:3`,
      limit: 1,
    })
    expect(page).toMatchObject({ type: 'history', hasMore: false })
    expect(page.type === 'history' && page.messages.map((m) => m.text)).toEqual([
      'before the reaction',
    ])
  })

  it('relays a message with a field it does not know, with the field, its signature intact', async () => {
    const message = delivered(watcher.frames).find((f) => f.type === 'message' && f.seq === 4)
    expect(message).toMatchObject({
      text: 'with a field of tomorrow',
      mood: 'calm',
      attachments: [{ name: 'notes.txt', bytes: 3 }],
    })
    expect(message?.type === 'message' && checkMessage({ ...message })).toEqual({ ok: true })
  })

  it('lets messages written after it flow along the line', async () => {
    const writer = await session(a)
    await writer.join(ROOM)
    const ack = await writer.say(ROOM, 'from A, after all that')
    const arrived = await watcher.next('message', (m) => m.id === ack.id, 30_000)
    expect(checkMessage({ ...arrived })).toEqual({ ok: true })
    expect(delivered(watcher.frames).map(label).at(-1)).toBe('from A, after all that')
  })
})

describe('a node on a store written before node keys', () => {
  /** Ids as nodes made them then: 20 random hex digits. */
  const OLD_SELF = '6116ce51bcfb610b23f0'
  const OLD_PEER = '9c1e07d2a4f85b3361ee'
  /** An hour ago, in microseconds. */
  const T0 = (Date.now() - 3_600_000) * 1000

  function old(origin: string, seq: number, ts: number, fields: Partial<OldEventRow>): OldEventRow {
    return {
      origin,
      seq,
      ts,
      room: ROOM,
      userId: 'alice-0001',
      userName: 'Alice',
      text: `${origin} ${seq}`,
      cid: `${origin.slice(0, 6)}-${seq}`,
      ...fields,
    }
  }

  /** Two origins, two rooms, and one send both nodes accepted while cut off (`m2`). */
  const rows = [
    old(OLD_SELF, 1, T0 + 10, { text: 'hello, LAN', cid: 'm1' }),
    old(OLD_PEER, 1, T0 + 20, { userId: 'carol-0001', userName: 'Carol', text: 'from the cellar' }),
    old(OLD_PEER, 2, T0 + 25, { text: 'said on both sides', cid: 'm2', shown: false }),
    old(OLD_SELF, 2, T0 + 30, { text: 'said on both sides', cid: 'm2' }),
    old(OLD_SELF, 3, T0 + 40, { room: 'other', text: 'elsewhere' }),
    old(OLD_PEER, 3, T0 + 50, { userId: 'carol-0001', userName: 'Carol', text: 'last of the old' }),
  ]
  /** What the history of `general` showed before the upgrade. */
  const before = [
    ['hello, LAN', 'alice-0001', 'm1'],
    ['from the cellar', 'carol-0001', rows[1]?.cid],
    ['said on both sides', 'alice-0001', 'm2'],
    ['last of the old', 'carol-0001', rows[5]?.cid],
  ]

  it('comes up, serves every old message re-issued and signed, and relays them to a new node', async () => {
    const dataDir = join(tempDir(), 'data')
    writeOldStore(dataDir, 3, OLD_SELF, rows)
    const upgraded = await startNode({ name: 'Upgraded', dataDir, args: ['--secret', SECRET] })
    const id = await nodeId(upgraded)
    expect(id).toMatch(NODE_ID_PATTERN)

    const history = await readRoom(upgraded, ROOM)
    expect(history.map((m) => [m.text, m.user.id, m.cid])).toEqual(before)
    expect(history.map((m) => m.ts)).toEqual([T0 + 10, T0 + 20, T0 + 30, T0 + 50])
    for (const m of history) {
      expect(m.origin).toBe(id)
      expect(checkMessage({ ...m })).toEqual({ ok: true })
    }
    expect((await readRoom(upgraded, 'other')).map((m) => m.text)).toEqual(['elsewhere'])
    // Its own seq goes on after the re-issued history.
    const bob = randomUser('Bob')
    const writer = await session(upgraded, bob)
    await writer.join(ROOM)
    const ack = await writer.say(ROOM, 'the first since the upgrade', 'b1')
    expect(ack.id).toBe(`${id}:${rows.length + 1}`)

    const joining = await startNode({
      name: 'Joining',
      args: ['--secret', SECRET, '--peer', upgraded.peerAddr],
    })
    await waitForEqualVectors([upgraded, joining], 30_000, { [id]: rows.length + 1 })
    const reader = await session(joining)
    const { backlog } = await reader.join(ROOM)
    // One message per send here too (the copy shown may be the other one: both have its text).
    expect(backlog.map((m) => [m.text, m.user.id, m.cid])).toEqual([
      ...before,
      ['the first since the upgrade', bob.id, 'b1'],
    ])
    for (const m of backlog) {
      expect(m.origin).toBe(id)
      expect(checkMessage({ ...m })).toEqual({ ok: true })
    }
    expect((await readRoom(joining, 'other')).map((m) => m.text)).toEqual(['elsewhere'])
  })
})
