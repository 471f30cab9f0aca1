/**
 * The rows of a room's message list: one per message, marking the first message of each day
 * (the list puts a day separator above it) and each message that continues its author's run
 * (same author, same day, within a few minutes), so the author and avatar show once per run.
 *
 * A separator belongs to its message's row rather than being a row of its own: when older
 * messages are put in above, the list keeps the view steady by anchoring on the row at the top
 * of the view, and that must be a message, which moves down, not a day's separator, which may
 * stay first.
 */
import type { TimelineMessage } from '../client/timeline.ts'
import { dayKey, toDate } from './format.ts'

/** Messages this close to the previous one of the same author join its group. */
export const GROUP_WINDOW_MICROS = 5 * 60 * 1_000_000

export interface Row {
  /** The message's key: stable while it goes from pending to sent. */
  key: string
  message: TimelineMessage
  /** The calendar day, when this message is the first of it; otherwise null. */
  dayStart: string | null
  /** Continues the previous message's author run: no avatar or name line. */
  grouped: boolean
}

/**
 * @param messages a room's messages in display order
 * @param dayOf the calendar day of a timestamp (local time by default; tests pass their own)
 */
export function buildRows(
  messages: readonly TimelineMessage[],
  dayOf: (tsMicros: number) => string = (ts) => dayKey(toDate(ts)),
): Row[] {
  const rows: Row[] = []
  let previous: TimelineMessage | undefined
  let previousDay: string | undefined
  for (const message of messages) {
    const day = dayOf(message.ts)
    const newDay = day !== previousDay
    const grouped =
      !newDay &&
      previous !== undefined &&
      previous.user.id === message.user.id &&
      // A renamed author starts a new group, so the new name is shown.
      previous.user.name === message.user.name &&
      message.ts - previous.ts < GROUP_WINDOW_MICROS
    rows.push({ key: message.key, message, dayStart: newDay ? day : null, grouped })
    previous = message
    previousDay = day
  }
  return rows
}
