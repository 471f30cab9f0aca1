/** The default clock: one function for every limiter (a bound `performance.now` each would not be). */
const monotonicNow = (): number => performance.now()

/**
 * A token bucket: `burst` tokens at once, refilled at `perSecond`. Time is injected so that the
 * limiter is tested without waiting.
 *
 * Work whose cost is known only once it is done (messages read for a backlog) asks `hasToken()`
 * first and `charge()`s its cost after: the bucket may go below zero, and refills from there.
 */
export class RateLimiter {
  #tokens: number
  #at: number
  readonly #perMs: number
  readonly #burst: number
  readonly #now: () => number

  constructor(perSecond: number, burst: number, now: () => number = monotonicNow) {
    this.#perMs = perSecond / 1000
    this.#burst = burst
    this.#tokens = burst
    this.#now = now
    this.#at = now()
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    if (!this.hasToken()) return false
    this.#tokens -= 1
    return true
  }

  /** Whether at least one token is left (a debt from `charge` must be refilled first). */
  hasToken(): boolean {
    const now = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs)
    this.#at = now
    return this.#tokens >= 1
  }

  /** Whether the bucket is full: it then acts as a new one would, and its holder may drop it. */
  isFull(): boolean {
    this.hasToken() // refills
    return this.#tokens >= this.#burst
  }

  /** How long until a token is left: 0 when one is now. */
  msUntilToken(): number {
    if (this.hasToken()) return 0
    return Math.ceil((1 - this.#tokens) / this.#perMs)
  }

  /** Takes `count` tokens even when fewer are left: the bucket refills from below zero. */
  charge(count: number): void {
    this.#tokens -= count
  }
}
