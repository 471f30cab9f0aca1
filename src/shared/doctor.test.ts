import { describe, expect, it } from 'vitest'
import type { DiscoveryStatus } from './discovery-status.ts'
import { diagnose, type DoctorInput } from './doctor.ts'
import type { PeerStatus } from './protocol.ts'

const node = { id: 'a'.repeat(40), name: 'Attic' }
const peer = (over: Partial<PeerStatus>): PeerStatus => ({
  id: 'b'.repeat(40),
  name: 'Cellar',
  addr: '10.0.0.2:9080',
  state: 'up',
  rttMs: 1,
  lastError: null,
  ...over,
})
const discovery = (over: Partial<DiscoveryStatus> = {}): DiscoveryStatus => ({
  enabled: true,
  port: 9081,
  interfaces: [
    {
      name: 'eth0',
      family: 'IPv4',
      address: '10.0.0.1',
      announcementsSent: 12,
      announcementsReceived: 30,
      mdnsSent: 2,
      mdnsReceived: 4,
      lastError: null,
    },
  ],
  nodes: [],
  otherMeshes: 0,
  datagramsDropped: 0,
  lastError: null,
  ...over,
})
const codes = (input: DoctorInput) => diagnose(input).map((f) => f.code)

describe('diagnose', () => {
  it('says all is well, with how many nodes are linked', () => {
    const [finding] = diagnose({ node, peers: [peer({})], discovery: discovery() })
    expect(finding).toMatchObject({ severity: 'ok', code: 'healthy' })
    expect(finding?.title).toMatch(/Linked to 1 node/)
  })

  it('names why a configured peer is not linked, most serious first, in plain words', () => {
    const findings = diagnose({
      node,
      peers: [
        peer({}),
        peer({ state: 'down', lastError: 'peer refused: unauthorized: wrong mesh secret' }),
        peer({
          name: null,
          addr: '10.0.0.9:9080',
          state: 'down',
          lastError: 'connect ECONNREFUSED 10.0.0.9:9080',
        }),
      ],
    })
    expect(findings.map((f) => f.code)).toEqual(['peer_wrong_secret', 'peer_refused'])
    expect(findings[0]?.title).toBe(
      'Cellar (10.0.0.2:9080) is not linked: it has another mesh secret.',
    )
    expect(findings[0]?.advice).toMatch(/same secret/)
    expect(findings[1]?.title).toBe(
      '10.0.0.9:9080 is not linked: nothing answers on its peer port.',
    )
  })

  it('reports a clock far ahead', () => {
    const findings = diagnose({ node, peers: [peer({ skewMs: 3 * 3_600_000 })] })
    expect(findings[0]).toMatchObject({ severity: 'warning', code: 'clock_skew' })
    expect(findings[0]?.title).toBe('Cellar’s clock is 3 hours ahead of this machine’s.')
  })

  it('tells when discovery is off, listens on loopback only, or cannot start', () => {
    expect(codes({ node, peers: [], discovery: discovery({ enabled: false }) })).toContain(
      'discovery_off',
    )
    expect(codes({ node, peers: [], discovery: discovery({ interfaces: [] }) })).toEqual([
      'loopback_only',
    ])
    const failed = diagnose({
      node,
      peers: [],
      discovery: discovery({ lastError: 'bind EADDRINUSE 0.0.0.0:9081' }),
    })
    expect(failed[0]?.code).toBe('discovery_failed')
    expect(failed[0]?.advice).toMatch(/UDP port 9081/)
  })

  it('suspects the network when announcements go out and none come in', () => {
    const quiet = discovery()
    const interfaces = quiet.interfaces.map((i) => ({
      ...i,
      announcementsReceived: 0,
      mdnsReceived: 0,
    }))
    const [finding] = diagnose({ node, peers: [], discovery: { ...quiet, interfaces } })
    expect(finding).toMatchObject({ severity: 'warning', code: 'nothing_heard' })
    expect(finding?.title).toBe(
      'Announcements go out on eth0 (10.0.0.1), but none from other nodes came in.',
    )
    expect(finding?.advice).toMatch(/Wi-Fi.*VLAN.*firewall.*Public.*invite/s)
  })

  it('counts other meshes, and names nodes of this mesh whose dial failed (not those only unlinked)', () => {
    const findings = diagnose({
      node,
      peers: [],
      discovery: discovery({
        otherMeshes: 2,
        nodes: [
          {
            id: 'c'.repeat(40),
            mesh: 'same',
            meshHash: 'ff',
            sources: ['gossip', 'mdns', 'announce'],
            addrs: ['10.0.0.3:9080'],
            linked: false,
            lastError: 'connect ETIMEDOUT 10.0.0.3:9080',
            heardMsAgo: 2_000,
          },
          {
            id: 'e'.repeat(40),
            mesh: 'same',
            meshHash: 'ff',
            sources: ['gossip'],
            addrs: ['10.0.0.5:9080'],
            linked: false,
            lastError: null,
            heardMsAgo: null,
          },
          {
            id: 'd'.repeat(40),
            mesh: 'other',
            meshHash: 'ee',
            sources: ['announce'],
            addrs: ['10.0.0.4:9080'],
            linked: false,
            lastError: null,
            heardMsAgo: 1_000,
          },
        ],
      }),
    })
    expect(findings.map((f) => f.code)).toEqual(['unlinked_unreachable', 'other_meshes'])
    expect(findings[0]?.title).toBe(
      'Node cccccccc (found through its announcements, mDNS and another node, at 10.0.0.3:9080) is not linked: it does not answer.',
    )
    expect(findings[0]?.advice).toBe(
      'Its announcements reach this machine, so it is on and on this network, but connections to its peer port ' +
        'get no answer: a firewall on that machine, or between the two, drops them. Let Palaver through that firewall (TCP port 9080).',
    )
    expect(findings[1]?.title).toBe('2 other meshes on this network.')
  })

  it('asks whether a node that does not answer is on, when it is known only from another node', () => {
    const [finding] = diagnose({
      node,
      peers: [],
      discovery: discovery({
        nodes: [
          {
            id: 'c'.repeat(40),
            mesh: 'same',
            meshHash: 'ff',
            sources: ['gossip'],
            addrs: ['10.0.1.3:9080'],
            linked: false,
            lastError: 'no TLS connection in time',
            heardMsAgo: null,
          },
        ],
      }),
    })
    expect(finding).toMatchObject({ code: 'unlinked_unreachable' })
    expect(finding?.advice).toMatch(/Check that it is on and on this network/)
  })
})
