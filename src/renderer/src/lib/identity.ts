/**
 * Who the user is: an id made once on this browser (or app install) and kept, and the display
 * name they chose. Both live in storage, so later visits go straight to the chat.
 */
import { CONTROL_CHARACTER, MAX_NAME_LENGTH } from '../../../shared/limits.ts'
import type { KeyValueStorage } from '../client/palaver-client.ts'
import type { Parsed } from './room-name.ts'

const ID_KEY = 'palaver.user.id'
const NAME_KEY = 'palaver.user.name'

/** 64 symbols, so a random byte's low 6 bits pick one without bias. */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
/** 22 symbols of 6 bits: 132 random bits. */
const ID_LENGTH = 22
const USER_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/

export interface Identity {
  id: string
  /** Null until the user chose one. */
  name: string | null
}

/** A new random user id of [A-Za-z0-9_-]. */
export function makeUserId(
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (bytes) =>
    crypto.getRandomValues(bytes),
): string {
  const bytes = random(new Uint8Array(ID_LENGTH))
  return Array.from(bytes, (b) => ID_ALPHABET[b & 63]).join('')
}

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

/** The stored identity; makes and stores the id on first use. */
export function loadIdentity(storage: KeyValueStorage): Identity {
  let id = storage.getItem(ID_KEY)
  if (id === null || !USER_ID_PATTERN.test(id)) {
    id = makeUserId()
    storage.setItem(ID_KEY, id)
  }
  const stored = storage.getItem(NAME_KEY)
  const name = stored === null ? null : parseDisplayName(stored)
  return { id, name: name?.ok ? name.value : null }
}

export function saveName(storage: KeyValueStorage, name: string): void {
  storage.setItem(NAME_KEY, name)
}
