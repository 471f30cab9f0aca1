import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

describe('backoffDelay', () => {
  it('doubles from the base and stays within the upper half of each step', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(250)
    expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(500)
    expect(backoffDelay(3, 500, 30_000, () => 0)).toBe(2_000)
    expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(4_000)
  })

  it('is capped, even after very many attempts', () => {
    expect(backoffDelay(10, 500, 30_000, () => 1)).toBe(30_000)
    expect(backoffDelay(10_000, 500, 30_000, () => 0)).toBe(15_000)
  })

  it('spreads retries with jitter', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 500, 30_000)))
    expect(delays.size).toBeGreaterThan(40)
  })
})
