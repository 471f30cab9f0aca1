import { describe, expect, it } from 'vitest'
import { bearerToken, sameSecret, TokenGate, TokenThrottle } from './access.ts'

const OPTIONS = {
  freeFailures: 3,
  firstWaitMs: 1_000,
  maxWaitMs: 8_000,
  failureMemoryMs: 60_000,
  maxAddresses: 100,
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0
  return { now: () => t, advance: (ms) => (t += ms) }
}

describe('TokenThrottle', () => {
  it('lets a few failures pass, then makes the address wait, doubling up to the cap', () => {
    const time = clock()
    const throttle = new TokenThrottle(OPTIONS, time.now)
    const waits: number[] = []
    for (let i = 0; i < 7; i++) {
      throttle.failed('10.0.0.1')
      waits.push(throttle.waitMs('10.0.0.1'))
      time.advance(throttle.waitMs('10.0.0.1'))
    }
    expect(waits).toEqual([0, 0, 0, 1_000, 2_000, 4_000, 8_000])
    throttle.failed('10.0.0.1')
    expect(throttle.waitMs('10.0.0.1')).toBe(8_000)
    // Only that address waits.
    expect(throttle.waitMs('10.0.0.2')).toBe(0)
    time.advance(3_000)
    expect(throttle.waitMs('10.0.0.1')).toBe(5_000)
  })

  it('forgets an address’s failures a while after its last one', () => {
    const time = clock()
    const throttle = new TokenThrottle(OPTIONS, time.now)
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.1')
    expect(throttle.waitMs('10.0.0.1')).toBe(1_000)
    time.advance(OPTIONS.failureMemoryMs + 1)
    expect(throttle.waitMs('10.0.0.1')).toBe(0)
    expect(throttle.size).toBe(0)
    // Counted from nothing again: one failure is free.
    throttle.failed('10.0.0.1')
    expect(throttle.waitMs('10.0.0.1')).toBe(0)
  })

  it('holds at most maxAddresses, forgetting the one that failed longest ago', () => {
    const time = clock()
    const throttle = new TokenThrottle({ ...OPTIONS, freeFailures: 0, maxAddresses: 3 }, time.now)
    for (const address of ['a', 'b', 'c']) {
      throttle.failed(address)
      time.advance(1)
    }
    throttle.failed('a') // a is now the latest
    for (let i = 0; i < 1000; i++) throttle.failed(`x${i}`)
    expect(throttle.size).toBe(3)
    expect(throttle.waitMs('a')).toBe(0) // forgotten, like every older address
    expect(throttle.waitMs('x999')).toBeGreaterThan(0)
  })
})

describe('TokenGate', () => {
  it('passes everything on a node without a token', () => {
    const gate = new TokenGate(undefined, new TokenThrottle(OPTIONS))
    expect(gate.required).toBe(false)
    expect(gate.check('10.0.0.1', undefined)).toEqual({ ok: true })
    expect(gate.check('10.0.0.1', 'anything')).toEqual({ ok: true })
  })

  it('checks the token, counts wrong ones, and does not even check during a wait', () => {
    const time = clock()
    const gate = new TokenGate('right', new TokenThrottle(OPTIONS, time.now))
    expect(gate.check('10.0.0.1', undefined)).toEqual({ ok: false, reason: 'missing' })
    for (let i = 0; i < 4; i++) {
      expect(gate.check('10.0.0.1', 'wrong')).toEqual({ ok: false, reason: 'wrong' })
    }
    // No token given is not a guess: it neither counts nor waits.
    expect(gate.check('10.0.0.1', undefined)).toEqual({ ok: false, reason: 'missing' })
    expect(gate.check('10.0.0.1', 'right')).toEqual({
      ok: false,
      reason: 'wait',
      retryAfterMs: 1_000,
    })
    expect(gate.check('10.0.0.2', 'right')).toEqual({ ok: true })
    time.advance(1_000)
    expect(gate.check('10.0.0.1', 'right')).toEqual({ ok: true })
  })
})

describe('bearerToken', () => {
  it('reads the token of an Authorization: Bearer header, and nothing else', () => {
    expect(bearerToken('Bearer abc.DEF-123')).toBe('abc.DEF-123')
    expect(bearerToken('bearer  abc')).toBe('abc')
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b']) {
      expect(bearerToken(header), String(header)).toBeUndefined()
    }
  })
})

describe('sameSecret', () => {
  it('compares whole strings of any lengths', () => {
    expect(sameSecret('s3cret', 's3cret')).toBe(true)
    expect(sameSecret('s3cret', 's3cre')).toBe(false)
    expect(sameSecret('', 's3cret')).toBe(false)
  })
})
