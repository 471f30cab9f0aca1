/**
 * The liveness rule of docs/protocol.md against a real `chat-node` started with short mesh
 * timings (`--limit ping-interval-ms=…`, `--limit link-silence-ms=…`): a peer that
 * authenticates and then says nothing is taken for dead after the silence limit, not 15 s.
 */
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:tls'
import { afterAll, expect, it } from 'vitest'
import { LINK_SILENCE_MS as DEFAULT_LINK_SILENCE_MS } from '../src/main/node/mesh/link.ts'
import { closeFakePeers, FakePeer, freshIdentity } from './support/fake-peer.ts'
import { cleanupNodes, startNode, waitForHealth } from './support/node-process.ts'

const SECRET = 's3cret'
const PING_INTERVAL_MS = 250
const LINK_SILENCE_MS = 2_000

let server: Server | undefined
afterAll(async () => {
  closeFakePeers()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  await cleanupNodes()
})

it('closes a link that went silent after its handshake, within about the silence limit', async () => {
  // The peer the node dials: a TLS server whose connections are played by hand.
  const identity = await freshIdentity()
  const listening = createServer({ ...identity, minVersion: 'TLSv1.3', rejectUnauthorized: false })
  server = listening
  const peers: FakePeer[] = []
  const firstPeer = new Promise<FakePeer>((resolve) =>
    listening.on('secureConnection', (socket) => {
      peers.push(new FakePeer(socket))
      resolve(peers[0] as FakePeer)
    }),
  )
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve))
  const peerAddr = `127.0.0.1:${(listening.address() as AddressInfo).port}`

  const node = await startNode({
    name: 'Watchful',
    args: [
      ['--secret', SECRET],
      ['--peer', peerAddr],
      ['--limit', `ping-interval-ms=${PING_INTERVAL_MS}`],
      ['--limit', `link-silence-ms=${LINK_SILENCE_MS}`],
    ].flat(),
  })
  const peer = await firstPeer
  await peer.handshake(SECRET)
  // The node last heard the peer when its `auth` came: from here on the peer says nothing
  // (later connections from the node's redials are not answered either).
  const silentFrom = performance.now()
  const entry = (h: Awaited<ReturnType<typeof waitForHealth>>) =>
    h.peers.find((p) => p.addr === peerAddr)
  await waitForHealth(node, (h) => entry(h)?.state === 'up')
  // The node pings at the configured interval, not every 5 s.
  await peer.next('ping', () => true, 5_000)
  await peer.next('ping', () => true, 5_000)

  const down = await waitForHealth(
    node,
    (h) => entry(h)?.state !== 'up' && entry(h)?.lastError === 'silent for too long',
    30_000,
  )
  const elapsed = performance.now() - silentFrom
  expect(entry(down)).toMatchObject({ id: peer.node.id, rttMs: null })
  expect(elapsed).toBeGreaterThanOrEqual(LINK_SILENCE_MS - 100)
  // The configured limit, not the default 15 s, closed it (with room for a loaded machine).
  expect(elapsed).toBeLessThan(DEFAULT_LINK_SILENCE_MS - 5_000)
  await peer.closed
}, 60_000)
