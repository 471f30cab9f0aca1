/**
 * A token bucket: `burst` frames at once, refilled at `perSecond`. Time is injected so that the
 * limiter is tested without waiting.
 */
export class RateLimiter {
  #tokens: number
  #at: number
  readonly #perMs: number
  readonly #burst: number
  readonly #now: () => number

  constructor(
    perSecond: number,
    burst: number,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#perMs = perSecond / 1000
    this.#burst = burst
    this.#tokens = burst
    this.#now = now
    this.#at = now()
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
