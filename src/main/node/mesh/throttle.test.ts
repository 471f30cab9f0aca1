import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Throttle } from './throttle.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Throttle', () => {
  it('runs once on the next turn for a burst of requests', () => {
    let runs = 0
    const throttle = new Throttle(250, () => runs++)
    for (let i = 0; i < 100; i++) throttle.request()
    expect(runs).toBe(0)
    vi.advanceTimersByTime(0)
    expect(runs).toBe(1)
  })

  it('runs at most once per gap, and once more after a gap for what came meanwhile', () => {
    let runs = 0
    const throttle = new Throttle(250, () => runs++)
    throttle.request()
    vi.advanceTimersByTime(0)
    throttle.request()
    throttle.request()
    vi.advanceTimersByTime(249)
    expect(runs).toBe(1)
    vi.advanceTimersByTime(1)
    expect(runs).toBe(2)
    vi.advanceTimersByTime(10_000)
    expect(runs).toBe(2)
  })

  it('counts a run made another way, and cancels', () => {
    let runs = 0
    const throttle = new Throttle(250, () => runs++)
    throttle.ran()
    throttle.request()
    vi.advanceTimersByTime(100)
    expect(runs).toBe(0)
    throttle.cancel()
    vi.advanceTimersByTime(1_000)
    expect(runs).toBe(0)
  })
})
