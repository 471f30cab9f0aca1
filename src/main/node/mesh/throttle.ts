/**
 * Coalesces requests to run something into at most one run per gap: the first request runs on
 * the next turn, those that come within the gap after a run wait for its end, and any number
 * of requests meanwhile make one run.
 */
export class Throttle {
  readonly #gapMs: number
  readonly #run: () => void
  #timer: NodeJS.Timeout | undefined
  #lastRunAt = -Infinity

  /** @param run called inside a timer: the caller contains its errors */
  constructor(gapMs: number, run: () => void) {
    this.#gapMs = gapMs
    this.#run = run
  }

  request(): void {
    if (this.#timer) return
    const wait = Math.max(0, this.#lastRunAt + this.#gapMs - Date.now())
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#lastRunAt = Date.now()
      this.#run()
    }, wait)
  }

  /** Counts a run made another way (a periodic one), so the next request waits its gap. */
  ran(): void {
    this.#lastRunAt = Date.now()
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
