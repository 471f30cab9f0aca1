import { describe, expect, it } from 'vitest'
import { silentLogger } from '../logger.ts'
import { NodeMetrics } from '../metrics.ts'
import type { Candidate } from './candidate.ts'
import { Discovery, gossipCandidate } from './discovery.ts'

const id = 'a'.repeat(40)

describe('gossip candidates (peer addresses of node records)', () => {
  it('are dialled as nodes of this mesh', () => {
    expect(gossipCandidate({ id, peerAddr: '10.77.2.21:9080' }, '0.0.0.0')).toEqual({
      addr: '10.77.2.21:9080',
      id,
      source: 'gossip',
      mesh: 'same',
    })
    expect(gossipCandidate({ id, peerAddr: '[fe80::1%eth0]:9080' }, '::')?.addr).toBe(
      '[fe80::1%eth0]:9080',
    )
    expect(gossipCandidate({ id, peerAddr: 'host-b.lan:9080' }, '0.0.0.0')).toBeDefined()
  })

  it.each([
    '10.0.0.1',
    '10.0.0.1:0',
    '10.0.0.1:70000',
    ':9080',
    '0.0.0.0:9080',
    '[::]:9080',
    'a b:1',
    '',
  ])('are not made of %j', (peerAddr) => {
    expect(gossipCandidate({ id, peerAddr }, '0.0.0.0')).toBeUndefined()
  })

  it('name a loopback address only to a node on loopback (the same machine)', () => {
    expect(gossipCandidate({ id, peerAddr: '127.0.0.1:9081' }, '0.0.0.0')).toBeUndefined()
    expect(gossipCandidate({ id, peerAddr: '127.0.0.1:9081' }, '127.0.0.1')).toBeDefined()
  })
})

describe('discovery of a node listening on loopback', () => {
  it('announces on no interface, even where the machine has a LAN one', () => {
    const candidates: Candidate[] = []
    const discovery = new Discovery({
      nodeId: id,
      mesh: 'default',
      host: '127.0.0.1',
      peerPort: 9080,
      port: 9081,
      announceIntervalMs: 1_000,
      sink: { logger: silentLogger, metrics: new NodeMetrics() },
      meshView: {
        isLinked: () => false,
        dialError: () => null,
        manual: () => [],
        records: () => [{ id: 'b'.repeat(40), peerAddr: '127.0.0.1:9082' }],
      },
      onCandidate: (candidate) => candidates.push(candidate),
      networkInterfaces: () => ({
        lo: [
          {
            address: '127.0.0.1',
            netmask: '255.0.0.0',
            family: 'IPv4',
            mac: '00:00:00:00:00:00',
            internal: true,
            cidr: null,
          },
        ],
        eth0: [
          {
            address: '192.0.2.10',
            netmask: '255.255.255.0',
            family: 'IPv4',
            mac: '02:00:00:00:00:01',
            internal: false,
            cidr: null,
          },
        ],
      }),
    })
    discovery.start()
    try {
      const status = discovery.status()
      expect(status).toMatchObject({
        enabled: true,
        interfaces: [],
        otherMeshes: 0,
        lastError: null,
      })
      // The gossip layer still works: another node of this machine is a candidate.
      expect(candidates).toEqual([
        { addr: '127.0.0.1:9082', id: 'b'.repeat(40), source: 'gossip', mesh: 'same' },
      ])
      expect(status.nodes).toEqual([
        expect.objectContaining({ id: 'b'.repeat(40), sources: ['gossip'], mesh: 'same' }),
      ])
    } finally {
      discovery.close()
    }
  })
})
