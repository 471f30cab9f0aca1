import { describe, expect, it } from 'vitest'
import { hueOf } from './colors.ts'

describe('hueOf', () => {
  it('is stable for an id', () => {
    expect(hueOf('user-abcdefgh')).toBe(hueOf('user-abcdefgh'))
    expect(hueOf('')).toBe(hueOf(''))
  })

  it('is a whole number of degrees in [0, 360)', () => {
    for (let i = 0; i < 1000; i++) {
      const hue = hueOf(`user${i}`)
      expect(Number.isInteger(hue)).toBe(true)
      expect(hue).toBeGreaterThanOrEqual(0)
      expect(hue).toBeLessThan(360)
    }
  })

  it('spreads similar ids around the wheel', () => {
    const buckets = new Set<number>()
    for (let i = 0; i < 200; i++) buckets.add(Math.floor(hueOf(`AAAAAAAA${i}`) / 30))
    expect(buckets.size).toBe(12)
    expect(hueOf('AAAAAAAA1')).not.toBe(hueOf('AAAAAAAA2'))
  })
})
