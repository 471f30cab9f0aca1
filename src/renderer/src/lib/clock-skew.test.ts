import { describe, expect, it } from 'vitest'
import { describeSkew } from './clock-skew.ts'

describe('describeSkew', () => {
  it('says how far ahead, in the unit that reads best', () => {
    expect(describeSkew(5 * 60_000 + 1)).toBe('its clock is 5 min ahead')
    expect(describeSkew(59 * 60_000)).toBe('its clock is 59 min ahead')
    expect(describeSkew(3 * 3_600_000)).toBe('its clock is 3 h ahead')
    expect(describeSkew(9 * 86_400_000)).toBe('its clock is 9 days ahead')
    expect(describeSkew(Number.MAX_SAFE_INTEGER / 1000 - Date.now())).toBe(
      'its clock is over a year ahead',
    )
  })
})
