import { describe, expect, it } from 'vitest'
import { HybridClock } from './clock.ts'

describe('HybridClock', () => {
  it('follows the wall clock when it moves forward', () => {
    let wall = 1_000_000
    const clock = new HybridClock(() => wall)
    expect(clock.now()).toBe(1_000_000)
    wall = 2_000_000
    expect(clock.now()).toBe(2_000_000)
  })

  it('is strictly increasing when the wall clock stands still', () => {
    const clock = new HybridClock(() => 5)
    const values = Array.from({ length: 1000 }, () => clock.now())
    for (let i = 1; i < values.length; i++)
      expect(values[i]).toBeGreaterThan(values[i - 1] as number)
  })

  it('keeps increasing when the wall clock goes backwards', () => {
    let wall = 10_000_000
    const clock = new HybridClock(() => wall)
    const before = clock.now()
    wall = 1_000 // the machine's clock was set back
    const after = clock.now()
    expect(after).toBeGreaterThan(before)
    expect(clock.now()).toBeGreaterThan(after)
  })

  it('stamps after an observed remote ts (causality)', () => {
    const clock = new HybridClock(() => 1_000)
    clock.observe(9_999_999)
    expect(clock.now()).toBeGreaterThan(9_999_999)
    clock.observe(5) // an older ts changes nothing
    expect(clock.now()).toBe(10_000_001)
  })

  it('starts above a floor so a restart never reuses time', () => {
    const clock = new HybridClock(() => 100, 50_000)
    expect(clock.now()).toBe(50_001)
  })

  it('reads real time in microseconds by default', () => {
    const clock = new HybridClock()
    const ms = Date.now()
    const ts = clock.now()
    expect(Math.abs(ts / 1000 - ms)).toBeLessThan(1000)
    expect(Number.isInteger(ts)).toBe(true)
  })
})

describe('HybridClock bounds', () => {
  const MINUTE_US = 60_000_000

  it('does not observe a ts more than the bound ahead of the wall clock', () => {
    const wall = 1_000 * MINUTE_US
    const clock = new HybridClock(() => wall)
    expect(clock.observe(wall + 5 * MINUTE_US + 1)).toBe(false)
    expect(clock.observe(Number.MAX_SAFE_INTEGER)).toBe(false)
    expect(clock.now()).toBe(wall)
    // Right at the bound is still believed.
    expect(clock.observe(wall + 5 * MINUTE_US)).toBe(true)
    expect(clock.now()).toBe(wall + 5 * MINUTE_US + 1)
  })

  it('takes a bound as its third argument', () => {
    const clock = new HybridClock(() => 0, 0, 1)
    expect(clock.observe(1_001)).toBe(false)
    expect(clock.observe(1_000)).toBe(true)
  })

  it('does not believe a floor from the far future either, so its ts stay safe', () => {
    const wall = 1_000 * MINUTE_US
    expect(new HybridClock(() => wall, Number.MAX_SAFE_INTEGER).now()).toBe(wall)
    // A floor within the bound (the wall clock stepped back a little) is kept.
    expect(new HybridClock(() => wall, wall + MINUTE_US).now()).toBe(wall + MINUTE_US + 1)
  })

  it('says how far ahead of the wall clock a ts is, in milliseconds', () => {
    const clock = new HybridClock(() => 10_000_000)
    expect(clock.aheadMs(13_000_000)).toBe(3_000)
    expect(clock.aheadMs(9_000_000)).toBe(-1_000)
  })
})
