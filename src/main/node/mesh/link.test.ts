/**
 * PeerLink over real TLS 1.3 on 127.0.0.1, in process: the handshake of docs/protocol.md between
 * two links, and hand-played peers (test/support/fake-peer.ts) that break its rules.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect, type Server, type TLSSocket } from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  HANDSHAKE_TIMEOUT_MS,
  MAX_PREAUTH_FRAME_BYTES,
  type PeerFrame,
} from '../../../shared/peer-protocol.ts'
import {
  closeFakePeers,
  FakePeer,
  randomNodeId,
  testIdentity,
  wireEvent,
} from '../../../../test/support/fake-peer.ts'
import type { Signer } from '../../../shared/ed25519.ts'
import { verifyLink } from '../../../shared/signatures.ts'
import { silentLogger } from '../logger.ts'
import { NodeMetrics } from '../metrics.ts'
import { encodeFrame, encodeRawFrame } from './framing.ts'
import { LINK_SILENCE_MS, type NodeInfo, PeerLink, PING_INTERVAL_MS } from './link.ts'
import { meshProof, proofMatches } from './proof.ts'
import { loadOrCreateIdentity, type TlsIdentity } from './tls-identity.ts'

const SECRET = 's3cret'
const keysA = testIdentity()
const keysB = testIdentity()
const A: NodeInfo = { id: keysA.id, name: 'A', url: 'ws://127.0.0.1:1001/', key: keysA.key }
const B: NodeInfo = { id: keysB.id, name: 'B', url: 'ws://127.0.0.1:1002/', key: keysB.key }
const signers = new Map([keysA, keysB].map((keys) => [keys.id, keys.signer]))

let dir: string
let identityA: TlsIdentity
let identityB: TlsIdentity

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palaver-link-'))
  identityA = await loadOrCreateIdentity(mkdtempSync(join(dir, 'a-')), A.id)
  identityB = await loadOrCreateIdentity(mkdtempSync(join(dir, 'b-')), B.id)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const servers = new Set<Server>()
const sockets = new Set<TLSSocket>()
const links = new Set<PeerLink>()

afterEach(async () => {
  for (const link of links) link.close('test over')
  for (const socket of sockets) socket.destroy()
  closeFakePeers()
  await Promise.all([...servers].map((s) => new Promise((resolve) => s.close(resolve))))
  links.clear()
  sockets.clear()
  servers.clear()
})

interface LinkConfig {
  self: NodeInfo
  /** What it signs with: the key of `self` (A's or B's) by default. */
  signer?: Signer
  mesh?: string
  secret?: string
  /** Where contained errors are counted; a fresh one by default. */
  metrics?: NodeMetrics
  /** The frame handler throws on a frame of this type (an unexpected error in the node). */
  throwOn?: PeerFrame['type']
}

/** One end of a link and what its callbacks reported. */
interface Side {
  link: PeerLink
  ups: number
  frames: PeerFrame[]
  /** The types of the frames reported to onUnknownFrame. */
  unknown: string[]
  /** Resolves when onUp is called. */
  up: Promise<void>
  /** Resolves with the reason given to onClose. */
  closed: Promise<string>
  /** The next frame of `type` passed to onFrame (among those not taken yet). */
  next: (type: PeerFrame['type']) => Promise<PeerFrame>
}

function adopt(socket: TLSSocket, initiator: boolean, config: LinkConfig): Side {
  let upped: () => void = () => {}
  let closedWith: (reason: string) => void = () => {}
  const waiters: (() => void)[] = []
  let cursor = 0
  const side: Side = {
    link: undefined as unknown as PeerLink,
    ups: 0,
    frames: [],
    unknown: [],
    up: new Promise((resolve) => (upped = resolve)),
    closed: new Promise((resolve) => (closedWith = resolve)),
    async next(type) {
      for (;;) {
        for (; cursor < side.frames.length; cursor++) {
          const frame = side.frames[cursor] as PeerFrame
          if (frame.type === type) {
            cursor++
            return frame
          }
        }
        if (side.link.state === 'closed') throw new Error(`closed while waiting for ${type}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
  }
  const wake = () => waiters.splice(0).forEach((w) => w())
  side.link = new PeerLink({
    socket,
    timings: {
      pingIntervalMs: PING_INTERVAL_MS,
      linkSilenceMs: LINK_SILENCE_MS,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    },
    initiator,
    self: config.self,
    signer: config.signer ?? (signers.get(config.self.id) as Signer),
    mesh: config.mesh ?? 'default',
    secret: config.secret ?? SECRET,
    logger: silentLogger,
    sink: { logger: silentLogger, metrics: config.metrics ?? new NodeMetrics() },
    onUp: () => {
      side.ups++
      upped()
    },
    onFrame: (_, frame) => {
      if (frame.type === config.throwOn) throw new Error(`a bug in handling ${frame.type}`)
      side.frames.push(frame)
      wake()
    },
    onClose: (_, reason) => {
      closedWith(reason)
      wake()
    },
    onUnknownFrame: (type) => side.unknown.push(type),
  })
  links.add(side.link)
  return side
}

/** A TLS server on 127.0.0.1:0 that wraps each encrypted connection in a PeerLink. */
async function listen(
  config: LinkConfig,
  identity = identityB,
): Promise<{ port: number; accepted: Promise<Side> }> {
  const server = createServer({
    key: identity.key,
    cert: identity.cert,
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: false,
  })
  servers.add(server)
  const accepted = new Promise<Side>((resolve) =>
    server.once('secureConnection', (socket) => {
      sockets.add(socket)
      resolve(adopt(socket, false, config))
    }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, accepted }
}

/** Dials `port` and wraps the encrypted connection in a PeerLink. */
async function dial(port: number, config: LinkConfig, identity = identityA): Promise<Side> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    key: identity.key,
    cert: identity.cert,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
  })
  sockets.add(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return adopt(socket, true, config)
}

/** Two PeerLinks joined by one TLS connection: `client` dialled `server`. */
async function pair(
  client: LinkConfig,
  server: LinkConfig,
): Promise<{ client: Side; server: Side }> {
  const listening = await listen(server)
  const dialled = await dial(listening.port, client)
  return { client: dialled, server: await listening.accepted }
}

/** Polls a value the link publishes without an event (bounded). */
async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('PeerLink between two nodes', () => {
  it('comes up on both ends with the same secret and mesh, and passes frames on', async () => {
    const { client, server } = await pair({ self: A }, { self: B })
    await Promise.all([client.up, server.up])
    expect(client.link.state).toBe('up')
    expect(server.link.state).toBe('up')
    expect(client.link.remote).toEqual(B)
    expect(server.link.remote).toEqual(A)
    expect(client.link.initiator).toBe(true)
    expect(client.link.openerId).toBe(A.id)
    expect(server.link.openerId).toBe(A.id)

    client.link.send(encodeFrame({ type: 'sync', vector: { [A.id]: 3 } }))
    expect(await server.next('sync')).toEqual({ type: 'sync', vector: { [A.id]: 3 } })
    server.link.send(encodeFrame({ type: 'sync', vector: {} }))
    expect(await client.next('sync')).toEqual({ type: 'sync', vector: {} })

    // Once up, the 4 KiB limit is gone: a full-size message (12 KB of UTF-8) goes through.
    const event = wireEvent(keysA, 1, 'general', '€'.repeat(4000))
    client.link.send(encodeFrame({ type: 'event', event }))
    expect(await server.next('event')).toEqual({ type: 'event', event })
    expect(client.ups + server.ups).toBe(2)
  })

  it('closes only its own link when a frame handler throws, and counts the error', async () => {
    const metrics = new NodeMetrics()
    const { client, server } = await pair({ self: A }, { self: B, metrics, throwOn: 'want' })
    await Promise.all([client.up, server.up])
    client.link.send(encodeFrame({ type: 'want', origin: A.id, from: 1, to: 2 }))
    expect(await server.closed).toBe('internal error in a peer frame')
    await client.closed
    const counted = (await metrics.internalErrors.get()).values.find(
      (v) => v.labels.scope === 'link',
    )
    expect(counted?.value).toBe(1)
  })

  it('measures the round-trip time with ping/pong, which the link answers itself', async () => {
    const { client, server } = await pair({ self: A }, { self: B })
    await Promise.all([client.up, server.up])
    // Each end pings as soon as it is up.
    await until(() => client.link.rttMs !== null && server.link.rttMs !== null)
    expect(client.link.rttMs).toBeGreaterThanOrEqual(0)
    expect(client.link.rttMs).toBeLessThan(1_000)
    expect([...client.frames, ...server.frames].map((f) => f.type)).not.toContain('ping')
    expect([...client.frames, ...server.frames].map((f) => f.type)).not.toContain('pong')
  })

  it('closes both ends, neither up, on a wrong secret', async () => {
    const { client, server } = await pair({ self: A, secret: 'nope' }, { self: B })
    expect(await client.closed).toBe('wrong proof')
    expect(await server.closed).toBe('wrong proof')
    expect(client.ups + server.ups).toBe(0)
    expect(client.frames.length + server.frames.length).toBe(0)
  })

  it('closes both ends on another mesh name', async () => {
    const { client, server } = await pair({ self: A, mesh: 'other' }, { self: B })
    expect(await client.closed).toBe('mesh default')
    expect(await server.closed).toBe('mesh other')
    expect(client.ups + server.ups).toBe(0)
  })

  it('closes both ends when they have the same node id', async () => {
    const { client, server } = await pair({ self: A }, { self: A })
    expect(await client.closed).toBe('own id')
    expect(await server.closed).toBe('own id')
    expect(client.ups + server.ups).toBe(0)
  })

  it('works with the empty secret on both ends', async () => {
    const { client, server } = await pair({ self: A, secret: '' }, { self: B, secret: '' })
    await Promise.all([client.up, server.up])
  })
})

describe('PeerLink against hand-played peers', () => {
  it('takes a hand-played legitimate peer (the positive case for the ones below)', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    const hello = await peer.next('hello')
    expect(hello).toMatchObject({ protocol: 1, node: B, mesh: 'default' })
    // The link's own proof and signature are bound to this session and its id.
    const auth = await peer.next('auth')
    expect(proofMatches(auth.proof, SECRET, 'default', peer.exporter, B.id)).toBe(true)
    const binding = { mesh: 'default', exporter: peer.exporter, nodeId: B.id }
    expect(verifyLink(binding, B.key, auth.sig)).toBe(true)
    peer.hello()
    peer.auth(SECRET)
    const side = await accepted
    await side.up
    expect(side.link.remote).toEqual(peer.node)
    peer.send({ type: 'ping', t: 42 })
    expect(await peer.next('pong', (f) => f.t === 42)).toEqual({ type: 'pong', t: 42 })
  })

  /** A fake peer that has completed the handshake with a listening link of B's. */
  async function authenticatedPeer() {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.hello()
    peer.auth(SECRET)
    const side = await accepted
    await side.up
    return { peer, side }
  }

  it('drops and reports a frame of an unknown type after auth, and stays up', async () => {
    const { peer, side } = await authenticatedPeer()
    peer.send({ type: 'reaction-v2', room: 'general', target: 'x:1', emoji: '👍' })
    peer.send({ type: 'sync', vector: {} })
    expect(await side.next('sync')).toEqual({ type: 'sync', vector: {} })
    expect(side.unknown).toEqual(['reaction-v2'])
    expect(side.frames.map((f) => f.type)).toEqual(['sync'])
    expect(side.link.state).toBe('up')
  })

  it.each([
    ['a known type that breaks its schema', { type: 'want', origin: 'nodex0001' }],
    ['a type longer than 64 characters', { type: 'x'.repeat(65) }],
    ['a type that is not a string', { type: 7 }],
  ])('closes on %s after auth, without reporting it as unknown', async (_, frame) => {
    const { peer, side } = await authenticatedPeer()
    peer.send(frame)
    expect(await peer.next('error')).toMatchObject({ code: 'bad_frame' })
    expect(await side.closed).toMatch(/^bad frame/)
    expect(side.unknown).toEqual([])
  })

  it('closes on a frame of an unknown type before auth', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.hello()
    peer.send({ type: 'reaction-v2', emoji: '👍' })
    peer.auth(SECRET) // too late
    expect(await peer.next('error')).toMatchObject({ code: 'bad_frame' })
    await peer.closed
    const side = await accepted
    expect(await side.closed).toMatch(/^bad frame/)
    expect(side.ups).toBe(0)
    expect(side.unknown).toEqual([])
  })

  it('answers a wrong proof with error unauthorized and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.hello()
    peer.auth('wrong secret')
    const side = await accepted
    expect(await peer.next('error')).toMatchObject({ code: 'unauthorized' })
    await peer.closed
    expect(await side.closed).toBe('wrong proof')
    expect(side.ups).toBe(0)
  })

  it('answers another mesh name with error wrong_mesh and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.hello(peer.node, 'other')
    peer.auth(SECRET, 'other')
    expect(await peer.next('error')).toMatchObject({ code: 'wrong_mesh' })
    await peer.closed
    expect(await (await accepted).closed).toBe('mesh other')
  })

  it('answers a peer that claims its own node id with error self and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port, node: { id: B.id } })
    peer.hello()
    peer.auth(SECRET) // even with the right secret
    expect(await peer.next('error')).toMatchObject({ code: 'self' })
    await peer.closed
    expect(await (await accepted).closed).toBe('own id')
  })

  it('answers a hello whose id is not the hash of its key with error unauthorized and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port, node: { id: randomNodeId() } })
    peer.hello()
    peer.auth(SECRET) // a proof and a signature that are right for the id it claims
    expect(await peer.next('error')).toMatchObject({ code: 'unauthorized' })
    await peer.closed
    const side = await accepted
    expect(await side.closed).toBe('id not of its key')
    expect(side.ups).toBe(0)
  })

  it('answers a link signature made by another key with error unauthorized and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    // Another node's id and key, but not its secret key: it signs with its own.
    const other = testIdentity()
    const peer = await FakePeer.connect({ port, node: { id: other.id, key: other.key } })
    peer.hello()
    peer.auth(SECRET)
    expect(await peer.next('error')).toMatchObject({ code: 'unauthorized' })
    await peer.closed
    const side = await accepted
    expect(await side.closed).toBe('wrong signature')
    expect(side.ups).toBe(0)
  })

  it('answers another protocol version with error protocol and closes', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.send({ type: 'hello', protocol: 2, node: peer.node, mesh: 'default' })
    expect(await peer.next('error')).toMatchObject({ code: 'protocol' })
    await peer.closed
    expect((await accepted).ups).toBe(0)
  })

  it('takes a hello of exactly 4 KiB before auth', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    const base = { type: 'hello', protocol: 1, node: peer.node, mesh: 'default', pad: '' }
    const pad = 'x'.repeat(MAX_PREAUTH_FRAME_BYTES - (encodeRawFrame(base).length - 4))
    expect(encodeRawFrame({ ...base, pad }).length - 4).toBe(MAX_PREAUTH_FRAME_BYTES)
    peer.send({ ...base, pad })
    peer.auth(SECRET)
    await (
      await accepted
    ).up
  })

  it('closes on a frame over 4 KiB before auth', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    // A hello that would be fine but for its size.
    peer.send({
      type: 'hello',
      protocol: 1,
      node: peer.node,
      mesh: 'default',
      pad: 'x'.repeat(5000),
    })
    peer.auth(SECRET)
    expect(await peer.next('error')).toMatchObject({ code: 'bad_frame' })
    await peer.closed
    const side = await accepted
    expect(await side.closed).toMatch(/^unreadable stream: frame length \d+ is outside 1\.\.4096/)
    expect(side.ups).toBe(0)
  })

  it('closes on an event before auth, without passing it on', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.hello()
    peer.send({ type: 'event', event: wireEvent(peer.keys, 1, 'general', 'let me in') })
    peer.auth(SECRET) // too late
    expect(await peer.next('error')).toMatchObject({ code: 'unauthenticated' })
    await peer.closed
    const side = await accepted
    expect(await side.closed).toBe('event before authentication')
    expect(side.ups).toBe(0)
    expect(side.frames).toEqual([])
  })

  it('closes on auth before hello', async () => {
    const { port, accepted } = await listen({ self: B })
    const peer = await FakePeer.connect({ port })
    peer.auth(SECRET)
    expect(await peer.next('error')).toMatchObject({ code: 'bad_hello' })
    await peer.closed
    expect(await (await accepted).closed).toBe('auth before hello')
  })

  it('closes a link whose handshake says nothing for HANDSHAKE_TIMEOUT_MS', async () => {
    const { port, accepted } = await listen({ self: B })
    const started = performance.now()
    const peer = await FakePeer.connect({ port })
    // The link speaks first; the peer never answers.
    await peer.next('auth')
    const side = await accepted
    expect(await side.closed).toBe('handshake took too long')
    await peer.closed
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50)
    expect(elapsed).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 2_000)
    expect(side.ups).toBe(0)
  }, 15_000)
})

describe('PeerLink, replayed and relayed proofs and signatures', () => {
  /** A legitimate node X's link to B's port, and the proof and signature it gave on it. */
  async function legitimateLink(port: number, accepted: Promise<Side>) {
    const legit = await FakePeer.connect({ port })
    const auth = { type: 'auth', proof: legit.proof(SECRET), sig: legit.linkSig() }
    legit.hello()
    legit.send(auth)
    await (
      await accepted
    ).up
    return { legit, auth }
  }

  it('refuses an auth replayed on another TLS session under the same node id', async () => {
    const first = await listen({ self: B })
    const { legit, auth } = await legitimateLink(first.port, first.accepted)

    // Someone who saw that auth presents it as X on a session of its own.
    const second = await listen({ self: B })
    const replayer = await FakePeer.connect({ port: second.port, node: legit.node })
    expect(replayer.exporter).not.toBe(legit.exporter)
    replayer.hello()
    replayer.send(auth)
    expect(await replayer.next('error')).toMatchObject({ code: 'unauthorized' })
    await replayer.closed
    const side = await second.accepted
    expect(await side.closed).toBe('wrong signature')
    expect(side.ups).toBe(0)
  })

  it('refuses a proof replayed on another TLS session even with a valid signature', async () => {
    const first = await listen({ self: B })
    const { legit, auth } = await legitimateLink(first.port, first.accepted)

    // X's key signs this session, but the proof is the one X gave on the first.
    const second = await listen({ self: B })
    const replayer = await FakePeer.connect({ port: second.port, keys: legit.keys })
    replayer.hello()
    replayer.send({ type: 'auth', proof: auth.proof, sig: replayer.linkSig() })
    expect(await replayer.next('error')).toMatchObject({ code: 'unauthorized' })
    await replayer.closed
    const side = await second.accepted
    expect(await side.closed).toBe('wrong proof')
    expect(side.ups).toBe(0)
  })

  it('refuses a proof and signature recorded from a real link and relayed by someone in the middle', async () => {
    // The middle: a TLS server the real node A dials, played by hand to record A's auth.
    const middle = createServer({
      key: identityB.key,
      cert: identityB.cert,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    })
    servers.add(middle)
    const towardA = new Promise<FakePeer>((resolve) =>
      middle.once('secureConnection', (socket) => resolve(new FakePeer(socket, B, keysB))),
    )
    await new Promise<void>((resolve) => middle.listen(0, '127.0.0.1', resolve))
    const a = await dial((middle.address() as AddressInfo).port, { self: A })
    const recording = await towardA
    const hello = await recording.next('hello')
    const auth = await recording.next('auth')
    // It is A's real proof and signature, valid on the session they were made for.
    expect(proofMatches(auth.proof, SECRET, 'default', recording.exporter, A.id)).toBe(true)
    expect(auth.proof).toBe(meshProof(SECRET, 'default', recording.exporter, A.id))
    const binding = { mesh: 'default', exporter: recording.exporter, nodeId: A.id }
    expect(verifyLink(binding, A.key, auth.sig)).toBe(true)

    // The middle relays A's hello and auth to the real B on its own session: the signature
    // is bound to the session it was made on.
    const relayed = await listen({ self: B })
    const relay = await FakePeer.connect({ port: relayed.port, node: A })
    relay.send(hello)
    relay.send(auth)
    expect(await relay.next('error')).toMatchObject({ code: 'unauthorized' })
    await relay.closed
    const side = await relayed.accepted
    expect(await side.closed).toBe('wrong signature')
    expect(side.ups).toBe(0)

    // So is the proof: a middle that could sign as A still lacks a proof for its own session.
    const signing = await listen({ self: B })
    const relaySigning = await FakePeer.connect({ port: signing.port, node: A, keys: keysA })
    relaySigning.send(hello)
    relaySigning.send({ type: 'auth', proof: auth.proof, sig: relaySigning.linkSig() })
    expect(await relaySigning.next('error')).toMatchObject({ code: 'unauthorized' })
    await relaySigning.closed
    expect(await (await signing.accepted).closed).toBe('wrong proof')
    a.link.close('test over')
  })
})
