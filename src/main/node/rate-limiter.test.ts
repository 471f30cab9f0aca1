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

  it('never holds more than the burst', () => {
    let now = 0
    const limiter = new RateLimiter(10, 2, () => now)
    now += 60_000
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false])
  })
})
