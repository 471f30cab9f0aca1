/** What the user typed to join or create a room, checked against the protocol's room names. */
import { ROOM_PATTERN } from '../../../shared/limits.ts'

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

/** Trims and lower-cases the input, then checks it is a room name. */
export function parseRoomName(input: string): Parsed<string> {
  const room = input.trim().toLowerCase()
  if (room === '') return { ok: false, error: 'Type a room name.' }
  if (room.length > 64) return { ok: false, error: 'A room name is at most 64 characters.' }
  if (!ROOM_PATTERN.test(room)) {
    return {
      ok: false,
      error: 'Use letters a–z, digits, - and _, starting with a letter or digit.',
    }
  }
  return { ok: true, value: room }
}
