/**
 * The bounds on dialling discovered addresses, against real sockets on 127.0.0.1: ports that
 * refuse connections stand for nodes that are gone. The clock that gives dialers up is a test
 * clock, so that a 30 s rule is checked in well under a second.
 */
import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { freshIdentity, testIdentity } from '../../../../test/support/fake-peer.ts'
import { waitUntil } from '../../../../test/support/wait.ts'
import { silentLogger } from '../logger.ts'
import { NodeMetrics } from '../metrics.ts'
import { meshTimingsSchema } from '../options.ts'
import {
  DISCOVERED_GIVE_UP_MS,
  DISCOVERED_RETRY_AFTER_MS,
  MAX_DISCOVERED_DIALERS,
  PeerConnections,
} from './connections.ts'

const open: PeerConnections[] = []

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})

async function connections(now: () => number): Promise<PeerConnections> {
  const identity = testIdentity()
  const c = new PeerConnections({
    tls: await freshIdentity(identity.id),
    self: () => ({ id: identity.id, key: identity.key, name: 'Test', url: 'ws://127.0.0.1:1/' }),
    signer: identity.signer,
    mesh: 'default',
    secret: '',
    timings: meshTimingsSchema.parse({}),
    redialMaxMs: 1_000,
    maxPendingPeersPerAddress: 16,
    sink: { logger: silentLogger, metrics: new NodeMetrics() },
    describe: () => ({ name: null }),
    onLinkUp: () => {},
    onLinkDown: () => {},
    onFrame: () => {},
    now,
  })
  open.push(c)
  return c
}

/** Ports on 127.0.0.1 where nothing listens (a dial is refused at once). */
async function closedPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      return server
    }),
  )
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

const id = (n: number) => n.toString(16).padStart(40, '0')

describe('dialling discovered addresses', () => {
  it(`keeps at most MAX_DISCOVERED_DIALERS (${MAX_DISCOVERED_DIALERS}) at once`, async () => {
    const c = await connections(Date.now)
    const ports = await closedPorts(MAX_DISCOVERED_DIALERS + 8)
    ports.forEach((port, n) => c.dialCandidate(`127.0.0.1:${port}`, id(n)))
    expect(c.discovered()).toHaveLength(MAX_DISCOVERED_DIALERS)
  })

  it('dials a node once, whatever the number of addresses it is heard at, and never a configured peer twice', async () => {
    const c = await connections(Date.now)
    const [a, b, configured] = await closedPorts(3)
    c.dialCandidate(`127.0.0.1:${a}`, id(1))
    c.dialCandidate(`127.0.0.1:${b}`, id(1))
    c.addPeer(`127.0.0.1:${configured}`)
    c.dialCandidate(`127.0.0.1:${configured}`, id(2))
    expect(c.discovered().map((d) => d.addr)).toEqual([`127.0.0.1:${a}`])
  })

  it('gives up an address that has not linked for DISCOVERED_GIVE_UP_MS, and leaves it alone for DISCOVERED_RETRY_AFTER_MS', async () => {
    let now = 1_000_000
    const c = await connections(() => now)
    const [port] = await closedPorts(1)
    const addr = `127.0.0.1:${port}`
    c.dialCandidate(addr, id(1))
    // The first dial is refused: the dialer waits out its backoff, saying why.
    await waitUntil(() => c.discovered()[0]?.lastError, 5_000, 'a refused dial')
    expect(c.discovered()).toEqual([expect.objectContaining({ addr, id: id(1), state: 'down' })])
    expect(c.dialError(id(1))).toMatch(/ECONNREFUSED/)

    now += DISCOVERED_GIVE_UP_MS
    await waitUntil(() => c.discovered().length === 0, 5_000, 'the address given up')
    c.dialCandidate(addr, id(1))
    expect(c.discovered()).toEqual([])
    // The doctor can still say why the node is not linked.
    expect(c.dialError(id(1))).toMatch(/ECONNREFUSED/)

    now += DISCOVERED_RETRY_AFTER_MS
    c.dialCandidate(addr, id(1))
    expect(c.discovered().map((d) => d.addr)).toEqual([addr])
  })
})
