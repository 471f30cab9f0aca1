import { describe, expect, it } from 'vitest'
import type { TimelineMessage } from '../client/timeline.ts'
import { buildRows, GROUP_WINDOW_MICROS } from './timeline-rows.ts'

const MINUTE = 60 * 1_000_000
const DAY = 24 * 60 * MINUTE
/** Days in UTC, so the tests do not depend on the machine's time zone. */
const utcDay = (ts: number) => new Date(ts / 1000).toISOString().slice(0, 10)
const T0 = Date.UTC(2025, 2, 4, 10, 0) * 1000

let seq = 0
function message(userId: string, ts: number, name = userId): TimelineMessage {
  seq++
  return {
    key: `id:o:${seq}`,
    room: 'general',
    id: `o:${seq}`,
    origin: 'o',
    ts,
    user: { id: userId, name },
    text: `m${seq}`,
    cid: `c${seq}`,
    state: 'sent',
    error: null,
    received: null,
  }
}

const shape = (rows: ReturnType<typeof buildRows>) =>
  rows.flatMap((r) => [
    ...(r.dayStart === null ? [] : [`day ${r.dayStart}`]),
    `${r.message.user.id}${r.grouped ? '+' : ''}`,
  ])

describe('buildRows', () => {
  it('is empty for no messages', () => {
    expect(buildRows([], utcDay)).toEqual([])
  })

  it('marks the first message of each day', () => {
    const rows = buildRows(
      [message('a', T0), message('a', T0 + DAY), message('b', T0 + DAY + MINUTE)],
      utcDay,
    )
    expect(shape(rows)).toEqual(['day 2025-03-04', 'a', 'day 2025-03-05', 'a', 'b'])
    expect(rows.map((r) => r.dayStart)).toEqual(['2025-03-04', '2025-03-05', null])
  })

  it('groups an author’s messages within the window', () => {
    const rows = buildRows(
      [
        message('a', T0),
        message('a', T0 + MINUTE),
        message('a', T0 + MINUTE + GROUP_WINDOW_MICROS - 1),
        message('a', T0 + 2 * MINUTE + 2 * GROUP_WINDOW_MICROS),
        message('b', T0 + 3 * MINUTE + 2 * GROUP_WINDOW_MICROS),
        message('a', T0 + 4 * MINUTE + 2 * GROUP_WINDOW_MICROS),
      ],
      utcDay,
    )
    expect(shape(rows)).toEqual(['day 2025-03-04', 'a', 'a+', 'a+', 'a', 'b', 'a'])
  })

  it('does not group across a day or a rename', () => {
    const lateNight = Date.UTC(2025, 2, 4, 23, 59) * 1000
    const rows = buildRows(
      [
        message('a', lateNight),
        message('a', lateNight + 2 * MINUTE),
        message('a', lateNight + 3 * MINUTE, 'A. New'),
      ],
      utcDay,
    )
    expect(shape(rows)).toEqual(['day 2025-03-04', 'a', 'day 2025-03-05', 'a', 'a'])
  })

  it('keys message rows by the message key', () => {
    const m = message('a', T0)
    const row = buildRows([m], utcDay)[0]
    expect(row).toEqual({ key: m.key, message: m, dayStart: '2025-03-04', grouped: false })
  })

  it('handles 10,000 messages quickly', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => message(`u${i % 7}`, T0 + i * MINUTE))
    const started = performance.now()
    const rows = buildRows(many)
    expect(performance.now() - started).toBeLessThan(500)
    expect(rows).toHaveLength(10_000)
  })
})
