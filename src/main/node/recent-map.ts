/**
 * Bounded maps that forget what was used longest ago: a Map keeps insertion order, so the entry
 * set last is the most recent and the first one is the oldest.
 */

/** Sets `key` as the most recent entry of `map`, forgetting the oldest once past `max` entries. */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key) // re-inserted last: the most recent
  map.set(key, value)
  if (map.size <= max) return
  const oldest = map.keys().next()
  if (!oldest.done) map.delete(oldest.value)
}
