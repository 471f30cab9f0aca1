/**
 * Dates and times as the message list shows them. Message timestamps are hybrid logical clock
 * values in microseconds (docs/protocol.md, "ts"): `new Date(ts / 1000)` is the wall time.
 */

export const toDate = (tsMicros: number): Date => new Date(tsMicros / 1000)

const pad = (n: number) => String(n).padStart(2, '0')

/** `HH:MM`, 24-hour, local time. */
export function formatTime(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`
}

const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' })

/** The full local date and time, for tooltips: "Tuesday, 4 March 2025 at 14:05:09". */
export function formatDateTime(date: Date): string {
  return fullFormat.format(date)
}

/** The local calendar day of a date, as `YYYY-MM-DD` (sortable, and a stable React key). */
export function dayKey(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

const sameYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  month: 'long',
  day: 'numeric',
})
const otherYearFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' })

/** "Today", "Yesterday", "Monday, 3 March", or with the year when it is not this year's. */
export function formatDay(day: Date, now: Date): string {
  const today = dayKey(now)
  const key = dayKey(day)
  if (key === today) return 'Today'
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1)
  if (key === dayKey(yesterday)) return 'Yesterday'
  return day.getFullYear() === now.getFullYear()
    ? sameYearFormat.format(day)
    : otherYearFormat.format(day)
}
