/**
 * Events that came before their origin's next seq, kept aside until the hole below them is
 * filled (docs/protocol.md, "Loop prevention and relaying").
 *
 * Keeping them is only a shortcut: the periodic `sync` brings every event again. So every bound
 * here drops rather than waits: past a count or byte bound per link, per origin or in all, a new
 * early event is not kept; one kept longer than `EARLY_TTL_MS` is forgotten, and so is
 * everything a link brought when it closes.
 */
import type { ChatEvent } from '../store.ts'

/** Early events kept from one link. */
export const EARLY_MAX_EVENTS_PER_LINK = 1_000
/** Bytes of early events kept from one link (as estimated by `eventBytes`). */
export const EARLY_MAX_BYTES_PER_LINK = 4 * 1024 * 1024
/** Early events kept of one origin. */
export const EARLY_MAX_EVENTS_PER_ORIGIN = 1_000
/** Bytes of early events kept of one origin. */
export const EARLY_MAX_BYTES_PER_ORIGIN = 4 * 1024 * 1024
/** Early events kept in all. */
export const EARLY_MAX_EVENTS = 10_000
/** Bytes of early events kept in all. */
export const EARLY_MAX_BYTES = 32 * 1024 * 1024
/** An early event whose hole was not filled within this is forgotten. */
export const EARLY_TTL_MS = 60_000

interface Kept {
  event: ChatEvent
  via: object
  bytes: number
  keptAt: number
}

interface Tally {
  count: number
  bytes: number
}

/** What an event costs in memory, roughly: its JSON as UTF-16 plus a fixed overhead. */
export function eventBytes(event: ChatEvent): number {
  return 2 * JSON.stringify(event).length + 200
}

export class EarlyEvents {
  /** By origin, then by seq. */
  readonly #byOrigin = new Map<string, Map<number, Kept>>()
  readonly #byOriginTally = new Map<string, Tally>()
  readonly #byLinkTally = new Map<object, Tally>()
  readonly #total: Tally = { count: 0, bytes: 0 }
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  get count(): number {
    return this.#total.count
  }

  get bytes(): number {
    return this.#total.bytes
  }

  /** Keeps `event`, which came over `via`; false when it is held already or a bound is reached. */
  keep(event: ChatEvent, via: object): boolean {
    if (this.#byOrigin.get(event.origin)?.has(event.seq)) return false
    const bytes = eventBytes(event)
    const fits = (tally: Tally | undefined, maxCount: number, maxBytes: number) =>
      (tally?.count ?? 0) < maxCount && (tally?.bytes ?? 0) + bytes <= maxBytes
    if (
      !fits(this.#total, EARLY_MAX_EVENTS, EARLY_MAX_BYTES) ||
      !fits(this.#byLinkTally.get(via), EARLY_MAX_EVENTS_PER_LINK, EARLY_MAX_BYTES_PER_LINK) ||
      !fits(
        this.#byOriginTally.get(event.origin),
        EARLY_MAX_EVENTS_PER_ORIGIN,
        EARLY_MAX_BYTES_PER_ORIGIN,
      )
    )
      return false
    let bySeq = this.#byOrigin.get(event.origin)
    if (!bySeq) this.#byOrigin.set(event.origin, (bySeq = new Map()))
    bySeq.set(event.seq, { event, via, bytes, keptAt: this.#now() })
    this.#count(event.origin, via, 1, bytes)
    return true
  }

  /** Takes out the kept event `seq` of `origin`, if there is one. */
  take(origin: string, seq: number): ChatEvent | undefined {
    const kept = this.#byOrigin.get(origin)?.get(seq)
    if (!kept) return undefined
    this.#remove(kept)
    return kept.event
  }

  /** Forgets `origin`'s events up to `seq` (they are held now). */
  dropThrough(origin: string, seq: number): void {
    for (const kept of this.#byOrigin.get(origin)?.values() ?? [])
      if (kept.event.seq <= seq) this.#remove(kept)
  }

  /** Forgets what came over `via` (a link that closed). */
  dropVia(via: object): void {
    if (!this.#byLinkTally.has(via)) return
    this.#dropWhere((kept) => kept.via === via)
  }

  /** Forgets what was kept longer than `EARLY_TTL_MS`. */
  expire(): void {
    const cutoff = this.#now() - EARLY_TTL_MS
    this.#dropWhere((kept) => kept.keptAt < cutoff)
  }

  #dropWhere(match: (kept: Kept) => boolean): void {
    for (const bySeq of [...this.#byOrigin.values()])
      for (const kept of [...bySeq.values()]) if (match(kept)) this.#remove(kept)
  }

  #remove(kept: Kept): void {
    const { origin, seq } = kept.event
    const bySeq = this.#byOrigin.get(origin)
    if (!bySeq?.delete(seq)) return
    if (bySeq.size === 0) this.#byOrigin.delete(origin)
    this.#count(origin, kept.via, -1, -kept.bytes)
  }

  #count(origin: string, via: object, count: number, bytes: number): void {
    const add = <K>(tallies: Map<K, Tally>, key: K) => {
      const tally = tallies.get(key) ?? { count: 0, bytes: 0 }
      tally.count += count
      tally.bytes += bytes
      if (tally.count === 0) tallies.delete(key)
      else tallies.set(key, tally)
    }
    add(this.#byOriginTally, origin)
    add(this.#byLinkTally, via)
    this.#total.count += count
    this.#total.bytes += bytes
  }
}
