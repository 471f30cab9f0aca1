/**
 * The access token of a node started with one: checked at `hello` and in the `Authorization:
 * Bearer` header of `/health` and `/metrics`, in constant time, and slowed down per remote
 * address once an address has given a few wrong ones, so that it cannot be guessed by trying.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { NodeOptions } from './options.ts'

export type TokenThrottleOptions = NodeOptions['tokenThrottle']

/** The outcome of a token check. */
export type TokenCheck =
  | { ok: true }
  /** No token given (not counted against the address). */
  | { ok: false; reason: 'missing' }
  /** A wrong token (counted against the address). */
  | { ok: false; reason: 'wrong' }
  /** Not checked: the address must wait this long after its last wrong tokens. */
  | { ok: false; reason: 'wait'; retryAfterMs: number }

interface Failures {
  count: number
  /** When the address may be checked again (ms, the throttle's clock). */
  nextCheckAt: number
  lastAt: number
}

/**
 * Wrong tokens per remote address. After `freeFailures` wrong tokens each further one makes the
 * address wait before its next check, `firstWaitMs` doubling up to `maxWaitMs`. An address's
 * failures are forgotten `failureMemoryMs` after its last one, and at most `maxAddresses` are
 * held (the one that failed longest ago is forgotten first), so memory stays bounded whatever
 * the number of addresses. A right token does not clear an address's failures: those only
 * expire, so interleaving guesses with a right token (from a shared address) gains nothing.
 */
export class TokenThrottle {
  readonly #options: TokenThrottleOptions
  readonly #now: () => number
  /** In order of last failure, oldest first (a failure moves its address to the end). */
  readonly #failures = new Map<string, Failures>()

  constructor(options: TokenThrottleOptions, now: () => number = () => performance.now()) {
    this.#options = options
    this.#now = now
  }

  /** How many addresses are remembered. */
  get size(): number {
    return this.#failures.size
  }

  /** How long `address` must still wait before its next token is checked; 0 when it may try. */
  waitMs(address: string): number {
    const entry = this.#current(address)
    return entry ? Math.max(0, entry.nextCheckAt - this.#now()) : 0
  }

  /** Counts a wrong token from `address`. */
  failed(address: string): void {
    const now = this.#now()
    const entry = this.#current(address) ?? { count: 0, nextCheckAt: 0, lastAt: now }
    entry.count++
    entry.lastAt = now
    const over = entry.count - this.#options.freeFailures
    if (over > 0) {
      // 2 ** 30 is far past any cap; the exponent is bounded so the product stays finite.
      const wait = this.#options.firstWaitMs * 2 ** Math.min(over - 1, 30)
      entry.nextCheckAt = now + Math.min(wait, this.#options.maxWaitMs)
    }
    this.#failures.delete(address)
    this.#forgetOld(now)
    this.#failures.set(address, entry)
  }

  /** The address's failures, unless they have expired (then they are forgotten). */
  #current(address: string): Failures | undefined {
    const entry = this.#failures.get(address)
    if (entry && this.#expired(entry, this.#now())) {
      this.#failures.delete(address)
      return undefined
    }
    return entry
  }

  #expired(entry: Failures, now: number): boolean {
    return now - entry.lastAt > this.#options.failureMemoryMs && now >= entry.nextCheckAt
  }

  /** Drops expired entries from the oldest on, then the oldest while there is no room. */
  #forgetOld(now: number): void {
    for (const [address, entry] of this.#failures) {
      if (!this.#expired(entry, now) && this.#failures.size < this.#options.maxAddresses) break
      this.#failures.delete(address)
    }
  }
}

/**
 * Checks tokens against the node's own (`undefined`: the node needs none and every check
 * passes), through a `TokenThrottle`.
 */
export class TokenGate {
  readonly #token: string | undefined
  readonly #throttle: TokenThrottle

  constructor(token: string | undefined, throttle: TokenThrottle) {
    this.#token = token
    this.#throttle = throttle
  }

  /** Whether the node needs a token at all. */
  get required(): boolean {
    return this.#token !== undefined
  }

  /** Checks `given`, the token a request from `address` carries (`undefined`: none). */
  check(address: string, given: string | undefined): TokenCheck {
    if (this.#token === undefined) return { ok: true }
    if (given === undefined) return { ok: false, reason: 'missing' }
    const retryAfterMs = this.#throttle.waitMs(address)
    if (retryAfterMs > 0) return { ok: false, reason: 'wait', retryAfterMs }
    if (sameSecret(given, this.#token)) return { ok: true }
    this.#throttle.failed(address)
    return { ok: false, reason: 'wrong' }
  }
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '')
  return match?.[1]
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}
