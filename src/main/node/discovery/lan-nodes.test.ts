import { describe, expect, it } from 'vitest'
import {
  DATAGRAM_BURST_PER_SOURCE,
  DATAGRAMS_PER_SECOND_PER_SOURCE,
  type Heard,
  LanNodes,
  MAX_ADDRS_PER_LAN_NODE,
  MAX_LAN_NODES,
  MAX_RATE_LIMITED_SOURCES,
  SourceRateLimits,
} from './lan-nodes.ts'

const id = (n: number) => n.toString(16).padStart(40, '0')
const heard = (n: number, fields: Partial<Heard> = {}): Heard => ({
  id: id(n),
  meshHash: 'a'.repeat(64),
  addr: `10.0.0.${n % 250}:9080`,
  source: 'announce',
  instance: '0123456789abcdef',
  ...fields,
})

function clock() {
  let now = 1_000_000
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('the table of nodes heard on the LAN', () => {
  it('keeps at most MAX_LAN_NODES, pushing out the one heard longest ago', () => {
    const table = new LanNodes({ ttlMs: 60_000 })
    for (let n = 0; n < MAX_LAN_NODES; n++) table.heard(heard(n))
    table.heard(heard(0)) // heard again: now the most recent
    table.heard(heard(MAX_LAN_NODES))
    expect(table.size).toBe(MAX_LAN_NODES)
    expect(table.get(id(1))).toBeUndefined()
    expect(table.get(id(0))).toBeDefined()
    expect(table.get(id(MAX_LAN_NODES))).toBeDefined()
  })

  it('keeps at most MAX_ADDRS_PER_LAN_NODE addresses per node, the latest', () => {
    const table = new LanNodes({ ttlMs: 60_000 })
    for (let port = 1; port <= MAX_ADDRS_PER_LAN_NODE + 3; port++)
      table.heard(heard(1, { addr: `10.0.0.1:${port}` }))
    const addrs = [...(table.get(id(1))?.addrs.keys() ?? [])]
    expect(addrs).toHaveLength(MAX_ADDRS_PER_LAN_NODE)
    expect(addrs.at(-1)).toBe(`10.0.0.1:${MAX_ADDRS_PER_LAN_NODE + 3}`)
  })

  it('forgets nodes, addresses and sources not heard within the TTL', () => {
    const time = clock()
    const table = new LanNodes({ ttlMs: 15_000, now: time.now })
    table.heard(heard(1, { addr: '10.0.0.1:9080' }))
    table.heard(heard(2))
    time.advance(10_000)
    table.heard(heard(1, { addr: '10.0.0.1:9999', source: 'mdns' }))
    time.advance(6_000)
    table.expire()
    expect(table.get(id(2))).toBeUndefined()
    const node = table.get(id(1))
    expect([...(node?.addrs.keys() ?? [])]).toEqual(['10.0.0.1:9999'])
    expect([...(node?.sources.keys() ?? [])]).toEqual(['mdns'])
  })

  it('drops a restarted node’s old addresses (a new instance id)', () => {
    const table = new LanNodes({ ttlMs: 60_000 })
    table.heard(heard(1, { addr: '10.0.0.1:9080' }))
    table.heard(heard(1, { addr: '10.0.0.1:9090', instance: 'fedcba9876543210' }))
    expect([...(table.get(id(1))?.addrs.keys() ?? [])]).toEqual(['10.0.0.1:9090'])
  })

  it('takes a node that moved to another mesh as new', () => {
    const table = new LanNodes({ ttlMs: 60_000 })
    table.heard(heard(1, { source: 'mdns' }))
    table.heard(heard(1, { meshHash: 'b'.repeat(64) }))
    const node = table.get(id(1))
    expect(node?.meshHash).toBe('b'.repeat(64))
    expect([...(node?.sources.keys() ?? [])]).toEqual(['announce'])
  })
})

describe('the per-source rate limit', () => {
  it('admits a burst, then the refill rate', () => {
    const time = clock()
    const limits = new SourceRateLimits(time.now)
    let admitted = 0
    for (let i = 0; i < 100; i++) if (limits.admit('10.0.0.9')) admitted++
    expect(admitted).toBe(DATAGRAM_BURST_PER_SOURCE)
    expect(limits.admit('10.0.0.8')).toBe(true) // another source is not held back
    time.advance(1_000)
    admitted = 0
    for (let i = 0; i < 100; i++) if (limits.admit('10.0.0.9')) admitted++
    expect(admitted).toBe(DATAGRAMS_PER_SECOND_PER_SOURCE)
  })

  it('tracks at most MAX_RATE_LIMITED_SOURCES sources (a spray of sources cannot grow it)', () => {
    const time = clock()
    const limits = new SourceRateLimits(time.now)
    for (let i = 0; i < DATAGRAM_BURST_PER_SOURCE; i++) limits.admit('10.0.0.1')
    expect(limits.admit('10.0.0.1')).toBe(false)
    for (let n = 0; n < MAX_RATE_LIMITED_SOURCES; n++) limits.admit(`fe80::${n.toString(16)}`)
    // 10.0.0.1 was forgotten (it came first): it starts again with a full burst
    expect(limits.admit('10.0.0.1')).toBe(true)
  })
})
