/**
 * Which `(user.id, cid)` pairs the store may hold, so that the idempotency check of a `send`
 * asks SQLite only when the pair may be there: a new cid, by far the usual case, then costs two
 * string hashes instead of a query on the event loop.
 *
 * A Bloom filter: it never answers "absent" for a pair that was added, so the check stays exact;
 * a false "maybe" (about 1 in 500 at a million events with the default size) costs only the query
 * every check made before. It is filled from the store a page per turn, so a node with a long
 * history starts at once; until it is full, every pair "may" be held.
 */
import type { EventKey, Send } from './store.ts'

/** The filter's size: 2^24 bits (2 MiB), whatever the store holds. */
export const HELD_SENDS_BITS = 2 ** 24
/** Sends read from the store per turn while the filter fills. */
export const HELD_SENDS_PAGE = 5_000
/** Bits set per pair. */
const PROBES = 4

/** Reads the store's sends in pages (`Store.sendsPage`). */
export type SendsSource = (
  after: EventKey | undefined,
  limit: number,
) => { sends: Send[]; last?: EventKey }

export class HeldSends {
  readonly #bits: Uint32Array
  readonly #mask: number
  #filled = false

  /** A filter of `bits` bits (a power of two); `fill` starts reading `source` into it. */
  constructor(bits = HELD_SENDS_BITS) {
    if (!Number.isInteger(Math.log2(bits)) || bits < 32) {
      throw new RangeError('a filter size is a power of two of at least 32 bits')
    }
    this.#bits = new Uint32Array(bits / 32)
    this.#mask = bits - 1
  }

  /** Whether every send the store held when `fill` began has been read. */
  get filled(): boolean {
    return this.#filled
  }

  /**
   * Reads every send of `source`, a page per turn. Sends committed meanwhile must be `add`ed by
   * the caller. A read that fails (the store was closed) stops the filling: the filter then
   * keeps answering "maybe", which is slower, never wrong.
   */
  fill(source: SendsSource, pageSize = HELD_SENDS_PAGE): void {
    const step = (after: EventKey | undefined) => {
      let page: ReturnType<SendsSource>
      try {
        page = source(after, pageSize)
      } catch {
        return
      }
      for (const send of page.sends) this.add(send.userId, send.cid)
      if (page.last && page.sends.length === pageSize) setImmediate(step, page.last)
      else this.#filled = true
    }
    step(undefined)
  }

  add(userId: string, cid: string): void {
    this.#probe(userId, cid, (word, bit) => {
      this.#bits[word] = (this.#bits[word] ?? 0) | bit
      return true
    })
  }

  /** False when the pair was never added and the filter is filled; true when it may be held. */
  mayHold(userId: string, cid: string): boolean {
    if (!this.#filled) return true
    return this.#probe(userId, cid, (word, bit) => ((this.#bits[word] ?? 0) & bit) !== 0)
  }

  /** Calls `visit` on each of the pair's bits while it returns true; whether all returned true. */
  #probe(userId: string, cid: string, visit: (word: number, bit: number) => boolean): boolean {
    // Double hashing (Kirsch–Mitzenmacher): probe i is h1 + i·h2.
    const h1 = fnv1a(cid, fnv1a(userId, 0x811c9dc5))
    const h2 = fnv1a(cid, fnv1a(userId, 0x050c5d1f)) | 1
    for (let i = 0; i < PROBES; i++) {
      const index = (h1 + Math.imul(i, h2)) & this.#mask
      if (!visit(index >>> 5, 1 << (index & 31))) return false
    }
    return true
  }
}

/** 32-bit FNV-1a of the UTF-16 code units of `text` and a 0 unit after it, from `seed`. */
function fnv1a(text: string, seed: number): number {
  let hash = seed
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  }
  // The 0 unit: ("ab", "c") and ("a", "bc") hash apart.
  return Math.imul(hash, 0x01000193) >>> 0
}
