import { describe, expect, it } from 'vitest'
import { PendingConnections } from './pending-connections.ts'

describe('PendingConnections', () => {
  it('admits up to the bound per address, and again once one is released', () => {
    const pending = new PendingConnections<object>(2)
    const [a, b, c, d] = [{}, {}, {}, {}]
    expect(pending.admit(a, '10.0.0.1')).toBe(true)
    expect(pending.admit(b, '10.0.0.1')).toBe(true)
    expect(pending.admit(c, '10.0.0.1')).toBe(false)
    // Another address has its own count.
    expect(pending.admit(d, '10.0.0.2')).toBe(true)
    pending.release(a)
    expect(pending.admit(c, '10.0.0.1')).toBe(true)
    expect(pending.count('10.0.0.1')).toBe(2)
  })

  it('counts a connection once however often it is released, and forgets empty addresses', () => {
    const pending = new PendingConnections<object>(1)
    const a = {}
    pending.admit(a, '::1')
    pending.release(a)
    pending.release(a) // welcomed, then closed
    pending.release({}) // never admitted
    expect(pending.count('::1')).toBe(0)
    expect(pending.admit({}, '::1')).toBe(true)
    expect(pending.admit({}, '::1')).toBe(false)
  })

  it('takes addresses that would be special as object keys', () => {
    const pending = new PendingConnections<object>(1)
    expect(pending.admit({}, '__proto__')).toBe(true)
    expect(pending.admit({}, 'constructor')).toBe(true)
    expect(pending.count('toString')).toBe(0)
  })
})
