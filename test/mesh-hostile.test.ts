/**
 * The peer port of a real `chat-node` (started with a mesh secret) against hostile and broken
 * peers played by hand (support/fake-peer.ts): each is refused or cut off, nothing it sends is
 * stored, and the node keeps running and chatting. The last test plays a peer with the right
 * secret whose event does get through, so that the refusals above mean something.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import type { NodeIdentity } from '../src/main/node/node-identity.ts'
import { without } from '../src/shared/canonical.ts'
import {
  closeFakePeers,
  FakePeer,
  freshIdentity,
  nodeRecord,
  testIdentity,
  wireEvent,
} from './support/fake-peer.ts'
import {
  cleanupNodes,
  health,
  metrics,
  metricValue,
  type NodeProcess,
  startNode,
  waitForHealth,
} from './support/node-process.ts'

const SECRET = 's3cret'

let node: NodeProcess
let nodeId: string
const clients: ChatClient[] = []

beforeAll(async () => {
  node = await startNode({ name: 'Target', args: ['--secret', SECRET] })
  nodeId = (await health(node)).node.id
})
afterEach(() => {
  closeFakePeers()
  for (const client of clients.splice(0)) client.close()
})
afterAll(cleanupNodes)

async function client(room: string): Promise<ChatClient> {
  const c = await ChatClient.connect(node.wsUrl, randomUser('watcher'))
  clients.push(c)
  await c.join(room)
  return c
}

function freshRoom(): string {
  return `r${randomBytes(4).toString('hex')}`
}

/** The node is up and chats: a fresh client sends, is acked, and sees its own message. */
async function expectStillChatting(): Promise<void> {
  expect(node.child.exitCode).toBeNull()
  const room = freshRoom()
  const c = await client(room)
  const ack = await c.say(room, 'still here')
  expect(ack.id).toMatch(new RegExp(`^${nodeId}:\\d+$`))
  expect((await c.messages(room, 1))[0]).toMatchObject({ text: 'still here', origin: nodeId })
  expect((await health(node)).status).toBe('ok')
}

/** Resolves once a raw socket is closed (by the node: the test never closes it). */
function socketClosed(socket: Socket): Promise<void> {
  socket.on('error', () => {})
  // Read and drop whatever the node answers (a TLS alert): an unread stream never ends.
  socket.resume()
  return new Promise((resolve) => socket.once('close', () => resolve()))
}

async function rawConnect(): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port: node.peerPort })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return socket
}

describe('a peer without the mesh secret', () => {
  it('is refused, not listed, and an event it sends after its auth is not stored', async () => {
    const room = freshRoom()
    const watcher = await client(room)
    const before = await health(node)

    const eve = await FakePeer.connect({ port: node.peerPort })
    // The node speaks first, as itself.
    expect((await eve.next('hello')).node.id).toBe(nodeId)
    // hello, a wrong proof and an event, in one burst, as if the proof were sure to pass.
    eve.socket.cork()
    eve.hello()
    eve.auth('not the secret')
    eve.send({ type: 'event', event: wireEvent(eve.keys, 1, room, 'forged') })
    eve.socket.uncork()
    expect(await eve.next('error')).toMatchObject({ code: 'unauthorized' })
    await eve.closed

    const after = await health(node)
    expect(after.peers.map((p) => p.id)).not.toContain(eve.node.id)
    expect(after.vector).toEqual(before.vector)
    expect(after.vector[eve.node.id]).toBeUndefined()
    // Anything stored would have reached the watcher before a message written after it.
    const sender = await client(room)
    await sender.say(room, 'barrier')
    const seen = await watcher.messages(room, 1)
    expect(seen.map((m) => m.text)).toEqual(['barrier'])
    expect(node.stderr()).toContain('peer failed the mesh-secret proof')
  })

  it('is refused when it says it is in another mesh', async () => {
    const eve = await FakePeer.connect({ port: node.peerPort })
    eve.hello(eve.node, 'other')
    eve.auth(SECRET, 'other')
    expect(await eve.next('error')).toMatchObject({ code: 'wrong_mesh' })
    await eve.closed
    expect((await health(node)).peers.map((p) => p.id)).not.toContain(eve.node.id)
  })

  it('is refused when it claims the node’s own id', async () => {
    const eve = await FakePeer.connect({ port: node.peerPort, node: { id: nodeId } })
    eve.hello()
    eve.auth('not the secret')
    expect(await eve.next('error')).toMatchObject({ code: 'self' })
    await eve.closed
  })
})

describe('bytes that are not the peer protocol', () => {
  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')],
    ['random garbage', randomBytes(2048)],
    // A TLS handshake record header, then junk where the ClientHello should be.
    [
      'a TLS record header and junk',
      Buffer.concat([Buffer.from([0x16, 3, 1, 0, 64]), randomBytes(64)]),
    ],
  ])('plain TCP writing %s is cut off; the node keeps chatting', async (_, bytes) => {
    const socket = await rawConnect()
    const closed = socketClosed(socket)
    socket.write(bytes)
    await closed
    await expectStillChatting()
  })

  it('refuses a TLS 1.2 client', async () => {
    const identity = await freshIdentity()
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: node.peerPort,
      ...identity,
      maxVersion: 'TLSv1.2',
      rejectUnauthorized: false,
    })
    const error = await new Promise<Error | undefined>((resolve) => {
      socket.once('secureConnect', () => resolve(undefined))
      socket.once('error', resolve)
    })
    socket.destroy()
    expect(error?.message).toMatch(/protocol version|alert/i)
  })

  it.each([
    ['a length far over 4 KiB', Buffer.from('garbage, not a frame\n')],
    [
      'a short frame that is not JSON',
      Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{oops')]),
    ],
    ['a zero length', Buffer.alloc(8)],
  ])('a TLS client sending %s before hello is closed', async (_, bytes) => {
    const eve = await FakePeer.connect({ port: node.peerPort })
    eve.sendRaw(bytes)
    expect(await eve.next('error')).toMatchObject({ code: 'bad_frame' })
    await eve.closed
    expect((await health(node)).peers.map((p) => p.id)).not.toContain(eve.node.id)
  })

  it('closes TCP and TLS connections that say nothing within the handshake timeout', async () => {
    const tcp = await rawConnect()
    const tcpClosed = socketClosed(tcp)
    const tls = await FakePeer.connect({ port: node.peerPort })
    await Promise.all([tcpClosed, tls.closed])
    expect(tls.all('error')).toEqual([])
    await expectStillChatting()
  }, 20_000)
})

describe('a peer with the right secret', () => {
  /**
   * Frames that break the rules, made with the sending peer's key for a fresh room. The events
   * are signed as they are sent: only their shape is wrong.
   */
  const malformed: [string, (keys: NodeIdentity, room: string) => object][] = [
    [
      'an event with seq 0',
      (k, r) => ({ type: 'event', event: wireEvent(k, 1, r, 'zero', { seq: 0 }) }),
    ],
    [
      'an event without text',
      (k, r) => ({ type: 'event', event: wireEvent(k, 1, r, 'none', { text: undefined }) }),
    ],
    [
      'an event with a bad origin',
      (k, r) => ({ type: 'event', event: wireEvent(k, 1, r, 'who', { origin: 'Not An Id!' }) }),
    ],
    [
      'an event of 4001 characters',
      (k, r) => ({ type: 'event', event: wireEvent(k, 1, r, 'x'.repeat(4001)) }),
    ],
    // An unknown type that is a string is ignored (the test below); one that is not is broken.
    ['a frame whose type is not a string', () => ({ type: ['gossip'], about: 'you' })],
    [
      'a second hello',
      (k) => ({
        type: 'hello',
        protocol: 1,
        node: { id: k.id, name: 'x', url: '', key: k.key },
        mesh: 'default',
      }),
    ],
  ]

  it.each(malformed)('that sends %s has its link closed; the node stays up', async (_, make) => {
    const room = freshRoom()
    const eve = await FakePeer.connect({ port: node.peerPort })
    await eve.handshake(SECRET)
    await waitForHealth(node, (h) => h.peers.some((p) => p.id === eve.node.id && p.state === 'up'))
    eve.send(make(eve.keys, room))
    expect(await eve.next('error')).toMatchObject({ code: 'bad_frame' })
    await eve.closed
    const h = await waitForHealth(node, (s) => !s.peers.some((p) => p.id === eve.node.id))
    expect(h.vector[eve.node.id]).toBeUndefined()
    await expectStillChatting()
  })

  it('whose stream turns to garbage after the handshake has its link closed', async () => {
    const eve = await FakePeer.connect({ port: node.peerPort })
    await eve.handshake(SECRET)
    eve.sendRaw(Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]))
    expect(await eve.next('error')).toMatchObject({ code: 'bad_frame' })
    await eve.closed
    await waitForHealth(node, (s) => !s.peers.some((p) => p.id === eve.node.id))
    await expectStillChatting()
  })

  it('that sends a frame of a type the node does not know keeps its link, and chat flows', async () => {
    const room = freshRoom()
    const watcher = await client(room)
    const unknownFrames = async () =>
      metricValue(await metrics(node), 'palaver_mesh_unknown_frames_total')
    const before = await unknownFrames()
    expect(before).toBeDefined()
    const peer = await FakePeer.connect({ port: node.peerPort, node: { name: 'Newer' } })
    const sync = await peer.handshake(SECRET)
    peer.send({ type: 'sync', vector: sync.vector })
    await waitForHealth(node, (h) => h.peers.some((p) => p.id === peer.node.id && p.state === 'up'))

    // A frame a later version might send, then a chat event behind it on the same link.
    peer.send({ type: 'reaction-v2', room, target: `${nodeId}:1`, emoji: '👍' })
    peer.send({ type: 'event', event: wireEvent(peer.keys, 1, room, 'after the reaction') })
    expect((await watcher.messages(room, 1))[0]).toMatchObject({
      origin: peer.node.id,
      text: 'after the reaction',
    })
    expect(await unknownFrames()).toBe((before ?? 0) + 1)
    // The link stays up both ways: the node's own events still reach the peer.
    await watcher.say(room, 'back to the newer node')
    await peer.next('event', (f) => f.event.text === 'back to the newer node')
    expect(peer.all('error')).toEqual([])
    expect(peer.isClosed).toBe(false)
    expect((await health(node)).peers).toContainEqual(
      expect.objectContaining({ id: peer.node.id, state: 'up' }),
    )
  })

  it('that signs a typing frame whose user carries more than a name passes clients only what they show', async () => {
    const room = freshRoom()
    const watcher = await client(room)
    const peer = await FakePeer.connect({ port: node.peerPort, node: { name: 'Chatty' } })
    const sync = await peer.handshake(SECRET)
    peer.send({ type: 'sync', vector: sync.vector })
    await waitForHealth(node, (h) => h.peers.some((p) => p.id === peer.node.id && p.state === 'up'))
    const user = { id: 'user_chatty', name: 'Chatty', pad: 'x'.repeat(1024 * 1024) }
    peer.send(peer.keys.sign({ type: 'typing', origin: peer.node.id, eseq: 1, room, user }))
    const typing = await watcher.next('typing')
    expect(typing).toEqual({ type: 'typing', room, user: { id: user.id, name: user.name } })
  })

  it('can inject a valid event, which reaches a joined client exactly once', async () => {
    const room = freshRoom()
    const watcher = await client(room)
    const peer = await FakePeer.connect({ port: node.peerPort, node: { name: 'Injector' } })
    const sync = await peer.handshake(SECRET)
    expect(sync.vector[peer.node.id]).toBeUndefined()
    // "I hold what you hold": the node has nothing to catch this peer up on.
    peer.send({ type: 'sync', vector: sync.vector })
    await waitForHealth(node, (h) =>
      h.peers.some((p) => p.id === peer.node.id && p.state === 'up' && p.name === 'Injector'),
    )

    const first = wireEvent(peer.keys, 1, room, 'hello from the mesh')
    peer.send({ type: 'event', event: first })
    peer.send({ type: 'event', event: first }) // a duplicate: dropped
    peer.send({ type: 'event', event: wireEvent(peer.keys, 2, room) })
    const seen = await watcher.messages(room, 2)
    expect(seen).toHaveLength(2)
    expect(seen[0]).toMatchObject({
      id: `${peer.node.id}:1`,
      origin: peer.node.id,
      seq: 1,
      ts: first.ts,
      room,
      user: first.user,
      text: 'hello from the mesh',
      cid: first.cid,
    })
    expect(seen[1]).toMatchObject({ id: `${peer.node.id}:2`, seq: 2 })
    const h = await health(node)
    expect(h.vector[peer.node.id]).toBe(2)

    // A message written after them comes after them, and nothing more of them.
    await watcher.say(room, 'after')
    const all = await watcher.messages(room, 3)
    expect(all.map((m) => m.id)).toEqual([
      `${peer.node.id}:1`,
      `${peer.node.id}:2`,
      expect.stringMatching(new RegExp(`^${nodeId}:`)),
    ])
    // The node does not send the peer's own events back to it, but does send the new one.
    const ownEvent = await peer.next('event', (f) => f.event.text === 'after')
    expect(ownEvent.event).toMatchObject({ origin: nodeId, text: 'after' })
    expect(peer.all('event').filter((f) => f.event.origin === peer.node.id)).toEqual([])
    expect(peer.invalid).toEqual([])
  })
})

describe('the list of nodes', () => {
  it('replaces a node’s record only with a newer one that node signed, so copies cannot bounce', async () => {
    const watcher = await ChatClient.connect(node.wsUrl, randomUser('watcher'))
    clients.push(watcher)
    const relay = await FakePeer.connect({ port: node.peerPort })
    await relay.handshake(SECRET)
    // A node the relay knows of and the target is not linked to.
    const far = testIdentity()
    const record = (url: string, version: number) =>
      nodeRecord(far, { name: 'Faraway', url, peerAddr: '10.0.0.9:9080', version })
    const urlOfFar = (f: { nodes: { id: string; url: string }[] }) =>
      f.nodes.find((n) => n.id === far.id)?.url
    const first = 'ws://10.0.0.9:8080/'
    const newer = 'ws://10.0.0.9:8081/'

    relay.send({ type: 'nodes', nodes: [record(first, 100)] })
    expect(urlOfFar(await watcher.next('nodes', (f) => urlOfFar(f) !== undefined))).toBe(first)
    await relay.next('nodes', (f) => urlOfFar(f) === first)
    const passedOn = relay.all('nodes').length

    // An older record, and a newer one the relay made up (hearsay), change nothing and go nowhere.
    relay.send({ type: 'nodes', nodes: [record('ws://stale:8080/', 50)] })
    const made = without(record('ws://hearsay:8080/', 150), ['key', 'sig'])
    relay.send({ type: 'nodes', nodes: [relay.keys.sign(made)] })
    relay.send({ type: 'nodes', nodes: [record(newer, 200)] })
    expect(urlOfFar(await watcher.next('nodes', (f) => urlOfFar(f) !== first))).toBe(newer)
    await relay.next('nodes', (f) => urlOfFar(f) === newer)
    expect(relay.all('nodes')).toHaveLength(passedOn + 1)
    expect(relay.invalid).toEqual([])
    expect(metricValue(await metrics(node), 'palaver_mesh_refused_total{what="record"}')).toBe(1)
  })
})
