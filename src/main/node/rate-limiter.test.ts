import { describe, expect, it } from 'vitest'
import { RateLimiter } from './rate-limiter.ts'

describe('RateLimiter', () => {
  it('allows a burst, then refuses until tokens come back', () => {
    let now = 0
    const limiter = new RateLimiter(10, 3, () => now)
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([
      true,
      true,
      true,
      false,
    ])
    now += 100 // one token at 10/s
    expect(limiter.take()).toBe(true)
    expect(limiter.take()).toBe(false)
  })

  it('is full again once it has refilled, and not before', () => {
    let now = 0
    const limiter = new RateLimiter(10, 2, () => now)
    expect(limiter.isFull()).toBe(true)
    limiter.take()
    expect(limiter.isFull()).toBe(false)
    now += 99
    expect(limiter.isFull()).toBe(false)
    now += 1
    expect(limiter.isFull()).toBe(true)
  })

  it('never holds more than the burst', () => {
    let now = 0
    const limiter = new RateLimiter(10, 2, () => now)
    now += 60_000
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false])
  })
})

describe('RateLimiter: work charged after it is done', () => {
  it('lets work start while a token is left, and makes its whole cost wait to refill', () => {
    let now = 0
    const limiter = new RateLimiter(100, 150, () => now) // say, messages read
    expect(limiter.hasToken()).toBe(true)
    limiter.charge(1000) // one backlog of 1000: 850 in debt
    expect(limiter.hasToken()).toBe(false)
    expect(limiter.msUntilToken()).toBe(8_510)
    now += 8_000 // 800 back: still 50 short of one token
    expect(limiter.hasToken()).toBe(false)
    now += 510
    expect(limiter.msUntilToken()).toBe(0)
    expect(limiter.hasToken()).toBe(true)
    limiter.charge(1)
    expect(limiter.take()).toBe(false)
  })
})
