/**
 * The page's `localStorage`, or a map in memory where it cannot be used (storage disabled,
 * an opaque origin): the UI keeps working, it just forgets on reload.
 */
import type { KeyValueStorage } from '../client/palaver-client.ts'

/** A storage that lives in memory only: gone on reload. */
export function memoryStorage(): KeyValueStorage {
  const map = new Map<string, string>()
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  }
}

function openStorage(): KeyValueStorage {
  try {
    const storage = globalThis.localStorage
    const probe = 'palaver.probe'
    storage.setItem(probe, probe)
    storage.removeItem(probe)
    return storage
  } catch {
    return memoryStorage()
  }
}

export const appStorage: KeyValueStorage = openStorage()

/** Reads a JSON value; undefined when absent or unreadable. */
export function readJson<T>(storage: KeyValueStorage, key: string): T | undefined {
  try {
    const text = storage.getItem(key)
    return text === null ? undefined : (JSON.parse(text) as T)
  } catch {
    return undefined
  }
}

/** Writes a JSON value; a full or refusing storage is ignored (the value lives on in memory). */
export function writeJson(storage: KeyValueStorage, key: string, value: unknown): void {
  try {
    storage.setItem(key, JSON.stringify(value))
  } catch {
    // see above
  }
}
