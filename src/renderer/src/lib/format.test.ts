import { describe, expect, it } from 'vitest'
import { dayKey, formatDay, formatTime, toDate } from './format.ts'

describe('format', () => {
  it('reads microsecond timestamps', () => {
    const date = new Date(2025, 2, 4, 14, 5, 9)
    expect(toDate(date.getTime() * 1000).getTime()).toBe(date.getTime())
  })

  it('shows HH:MM on a 24-hour clock', () => {
    expect(formatTime(new Date(2025, 2, 4, 9, 5))).toBe('09:05')
    expect(formatTime(new Date(2025, 2, 4, 23, 59))).toBe('23:59')
    expect(formatTime(new Date(2025, 2, 4, 0, 0))).toBe('00:00')
  })

  it('keys local calendar days', () => {
    expect(dayKey(new Date(2025, 0, 9, 23, 59))).toBe('2025-01-09')
    expect(dayKey(new Date(2025, 0, 10, 0, 0))).toBe('2025-01-10')
  })

  it('names today and yesterday, across a month boundary too', () => {
    const now = new Date(2025, 2, 1, 10, 0)
    expect(formatDay(new Date(2025, 2, 1, 0, 1), now)).toBe('Today')
    expect(formatDay(new Date(2025, 1, 28, 23, 0), now)).toBe('Yesterday')
    expect(formatDay(new Date(2025, 1, 27, 12, 0), now)).not.toMatch(/Today|Yesterday/)
  })

  it('adds the year only for another year', () => {
    const now = new Date(2025, 5, 1)
    expect(formatDay(new Date(2025, 2, 3), now)).not.toContain('2025')
    expect(formatDay(new Date(2024, 2, 3), now)).toContain('2024')
  })
})
