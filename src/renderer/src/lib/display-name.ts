/**
 * The display name the user chose, kept in storage so that later visits go straight to the chat.
 * Who the user is (their key and id) is the identity module's (identity.ts).
 */
import { CONTROL_CHARACTER, MAX_NAME_LENGTH } from '../../../shared/limits.ts'
import type { KeyValueStorage } from '../client/palaver-client.ts'
import type { Parsed } from './room-name.ts'

const NAME_KEY = 'palaver.user.name'

/** Trims a display name and checks it: 1–64 characters, no control characters. */
export function parseDisplayName(input: string): Parsed<string> {
  const name = input.trim()
  if (name === '') return { ok: false, error: 'Type the name people will see.' }
  if (name.length > MAX_NAME_LENGTH)
    return { ok: false, error: `A name is at most ${MAX_NAME_LENGTH} characters.` }
  if (CONTROL_CHARACTER.test(name))
    return { ok: false, error: 'A name cannot hold control characters.' }
  return { ok: true, value: name }
}

/** The stored name, or null until the user chose one (or when the stored one is not valid). */
export function loadName(storage: KeyValueStorage): string | null {
  const stored = storage.getItem(NAME_KEY)
  const name = stored === null ? null : parseDisplayName(stored)
  return name?.ok ? name.value : null
}

export function saveName(storage: KeyValueStorage, name: string): void {
  storage.setItem(NAME_KEY, name)
}
