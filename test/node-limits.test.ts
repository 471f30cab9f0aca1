/**
 * How the real `chat-node` process protects itself and its other clients: a reader that stops
 * reading, an oversized frame, foreign browser origins, and garbage on the wire.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import {
  cleanupNodes,
  health,
  type NodeProcess,
  startNode,
  waitForHealth,
} from './support/node-process.ts'

let node: NodeProcess

beforeAll(async () => {
  node = await startNode({ name: 'Limits' })
})
afterAll(cleanupNodes)

/** Two sessions in `room` that can show, at any moment, that chat still works between them. */
async function chatPair(room: string): Promise<{ check: (text: string) => Promise<void> }> {
  const speaker = await ChatClient.connect(node.wsUrl)
  const listener = await ChatClient.connect(node.wsUrl)
  await speaker.join(room)
  await listener.join(room)
  return {
    async check(text) {
      const ack = await speaker.say(room, text)
      await listener.waitFor((f) => f.type === 'message' && f.id === ack.id)
    },
  }
}

describe('a session that stops reading', () => {
  it('is closed by the node while the other readers get every message', async () => {
    const SENDERS = 8
    const ROUND = 25 // messages per sender per round
    const MAX_MESSAGES = 4000
    const DEADLINE = Date.now() + 20_000
    // 4000 two-byte characters: 8 KiB of UTF-8 per frame, so a few MiB pile up quickly.
    const text = 'é'.repeat(4000)

    // Every sender is also a normal reader of the room it floods.
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, () => ChatClient.connect(node.wsUrl)),
    )
    for (const s of senders) await s.join('flood-room')
    const slow = await ChatClient.connect(node.wsUrl, randomUser('slow'))
    await slow.join('flood-room')
    const sessions = (await health(node)).clients
    slow.ws.pause()

    const acked: string[] = []
    const fellBehind = () => node.stderr().includes('closing a chat session that fell behind')
    while (!fellBehind() && acked.length < MAX_MESSAGES && Date.now() < DEADLINE) {
      const rounds = await Promise.all(
        senders.map((s) => s.sendMany('flood-room', Array<string>(ROUND).fill(text))),
      )
      acked.push(...rounds.flat().map((a) => a.id))
    }
    expect(fellBehind()).toBe(true)
    // The node cuts the session (close 1013, then the socket after a grace period).
    await waitForHealth(node, (h) => h.clients === sessions - 1)

    slow.ws.resume()
    const { code } = await slow.closed
    // 1013 when the close frame got through; 1006 when the node had to cut the socket first.
    expect([1013, 1006]).toContain(code)
    const slowGot = slow.frames.filter((f) => f.type === 'message').length
    expect(slowGot).toBeLessThan(acked.length)

    for (const s of senders) {
      const got = await s.messages('flood-room', acked.length)
      expect(got).toHaveLength(acked.length)
      expect(new Set(got.map((m) => m.id))).toEqual(new Set(acked))
    }
    // The flood did not take the node down, and its senders still chat.
    expect((await health(node)).status).toBe('ok')
    await senders[0]?.say('flood-room', 'still here')
    for (const s of senders) s.close()
  })
})

describe('frame size', () => {
  it('closes a session that sends a frame over 64 KiB with 1009, and only that one', async () => {
    const pair = await chatPair('size-room')
    const client = await ChatClient.connect(node.wsUrl)

    // Exactly 64 KiB is still a frame (padding is a field the node ignores).
    const head = '{"type":"ping","ref":"max","pad":"'
    const exact = head + 'x'.repeat(64 * 1024 - head.length - 2) + '"}'
    expect(Buffer.byteLength(exact)).toBe(64 * 1024)
    client.sendRaw(exact)
    expect(await client.next('pong')).toEqual({ type: 'pong', ref: 'max' })

    client.sendRaw('{"type":"ping","pad":"' + 'x'.repeat(64 * 1024) + '"}')
    expect((await client.closed).code).toBe(1009)
    await pair.check('unaffected by the big frame')
  })
})

describe('browser origins', () => {
  const hello = async (client: ChatClient) => {
    client.send({ type: 'hello', protocol: 1, user: randomUser() })
    await client.next('welcome')
    client.close()
  }

  it('refuses an upgrade from a foreign origin with HTTP 403', async () => {
    const before = (await health(node)).clients
    for (const origin of [
      'http://evil.example',
      'null',
      `http://localhost.evil:${node.clientPort}`,
    ]) {
      await expect(ChatClient.open(node.wsUrl, { origin }), origin).rejects.toThrow('HTTP 403')
    }
    // No session was opened by the refused upgrades (sessions of earlier tests may still be
    // closing, so the count can only have gone down).
    expect((await health(node)).clients).toBeLessThanOrEqual(before)
  })

  it('lets through a program (no Origin) and the node’s own page', async () => {
    await hello(await ChatClient.open(node.wsUrl))
    await hello(await ChatClient.open(node.wsUrl, { origin: node.httpUrl }))
  })

  it('lets through an origin given with --allow-origin, and only that one', async () => {
    const open = await startNode({
      name: 'Allowing',
      args: ['--allow-origin', 'http://app.example'],
    })
    await hello(await ChatClient.open(open.wsUrl, { origin: 'http://app.example' }))
    await hello(await ChatClient.open(open.wsUrl, { origin: open.httpUrl }))
    for (const origin of [
      'https://app.example',
      'http://app.example:8080',
      'http://evil.example',
    ]) {
      await expect(ChatClient.open(open.wsUrl, { origin }), origin).rejects.toThrow('HTTP 403')
    }
  })
})

describe('garbage', () => {
  it('does not disturb other sessions or the node', async () => {
    const pair = await chatPair('garbage-room')
    const garbage = await ChatClient.connect(node.wsUrl)
    await garbage.join('garbage-room')
    const deepArray = '['.repeat(30_000) + ']'.repeat(30_000)
    const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)
    const wideSince = Object.fromEntries(
      Array.from({ length: 1024 }, (_, i) => [`origin${String(i).padStart(4, '0')}`, 1]),
    )
    const frames: (string | Buffer)[] = [
      randomBytes(1000), // a binary frame
      Buffer.alloc(0),
      '',
      '\u0000\u0001\u0002',
      '{"type":',
      '}{',
      'NaN',
      '1e999999',
      '-0',
      deepArray,
      deepObject,
      `{"type":"hello","protocol":1,"user":{"id":"u12345678","name":"x","extra":${deepArray}}}`,
      '{"type":"history","room":"garbage-room","limit":1e308}',
      '{"type":"history","room":"garbage-room","limit":-1}',
      '{"type":"history","room":"garbage-room","before":"abcdefgh:9999999999999999"}',
      '{"type":"join","room":"garbage-room","since":{"abcdefgh":1e400}}',
      '{"type":"join","room":"garbage-room","since":{"abcdefgh":-1}}',
      '{"type":"join","room":"garbage-room","since":{"abcdefgh":9007199254740993}}',
      '{"type":"send","room":"garbage-room","text":"x","cid":"c","ref":{"a":1}}',
      '{"type":"send","room":"garbage-room","text":{"toString":"x"},"cid":"c"}',
      '{"__proto__":{"type":"ping"}}',
      '{"type":"ping","constructor":{"prototype":{"polluted":true}}}',
      JSON.stringify({ type: 'join', room: 'garbage-room', since: wideSince }),
      JSON.stringify({ type: 'send', room: 'garbage-room', text: '\ud800', cid: 'lone' }),
    ]
    for (const [i, frame] of frames.entries()) {
      garbage.sendRaw(frame)
      if (i % 4 === 3) await pair.check(`between garbage ${i}`)
    }
    // The garbage session got answers, not a hang-up, and still works itself.
    expect((await garbage.request({ type: 'ping' })).type).toBe('pong')
    const errors = garbage.frames.filter((f) => f.type === 'error')
    expect(errors.length).toBeGreaterThanOrEqual(20)
    // Garbage is the client's fault: never a failure inside the node.
    expect(errors.filter((f) => f.code !== 'bad_request')).toEqual([])
    expect(garbage.ws.readyState).toBe(garbage.ws.OPEN)

    // Invalid UTF-8 in a text frame breaks the WebSocket protocol: that session alone is closed.
    const broken = await ChatClient.connect(node.wsUrl)
    broken.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]), { binary: false })
    expect((await broken.closed).code).toBe(1007)
    // So is a session that sends bytes that are not WebSocket frames (reserved bits set).
    const raw = await ChatClient.open(node.wsUrl)
    const socket = (raw.ws as unknown as { _socket: Socket })._socket
    socket.write(Buffer.concat([Buffer.from([0xff, 0xff]), randomBytes(4094)]))
    expect((await raw.closed).code).toBe(1002)

    await pair.check('after all the garbage')
    const status = await health(node)
    expect(status.status).toBe('ok')
    await garbage.say('garbage-room', 'the garbage session may still chat')
  })
})
