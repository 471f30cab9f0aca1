/**
 * A hybrid logical clock in microseconds since the Unix epoch (docs/protocol.md, "ts").
 *
 * `now()` is strictly increasing and never below the wall clock, and after `observe(ts)` it is
 * above `ts`: so an event's ts is greater than that of every event its node had seen. When the
 * wall clock steps back, the clock keeps counting up from where it was.
 *
 * The clock is bounded: it jumps only to times at most `MAX_CLOCK_AHEAD_MS` ahead of the wall
 * clock. A remote ts (or a floor) further ahead is not observed (docs/protocol.md, "Verification
 * and limits"), so one peer with a wrong clock, or a hostile one, cannot drag every node's clock
 * into the far future or past `Number.MAX_SAFE_INTEGER`.
 */
export type WallClock = () => number

/** A remote ts more than this ahead of the wall clock never moves the clock (5 minutes). */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000

/** The wall clock in integer microseconds. */
export const systemMicros: WallClock = () =>
  Math.floor((performance.timeOrigin + performance.now()) * 1000)

export class HybridClock {
  #last: number
  readonly #wall: WallClock
  readonly #maxAheadMicros: number

  /**
   * @param wall source of wall-clock microseconds (injected for tests)
   * @param floor a ts already used, e.g. the highest ts in the store, so a restart never
   *   goes back even if the wall clock did; like a remote ts, a floor further ahead than the
   *   bound (a store written before clocks were bounded) is not believed
   * @param maxAheadMs how far ahead of the wall clock the clock may run
   */
  constructor(wall: WallClock = systemMicros, floor = 0, maxAheadMs = MAX_CLOCK_AHEAD_MS) {
    this.#wall = wall
    this.#maxAheadMicros = maxAheadMs * 1000
    this.#last = 0
    this.observe(floor)
  }

  /** A fresh timestamp, greater than any returned or observed before. */
  now(): number {
    this.#last = Math.max(this.#last + 1, this.#wall())
    return this.#last
  }

  /**
   * Takes in a timestamp seen on another node's event. Returns false, and leaves the clock as
   * it was, when `ts` is too far ahead of the wall clock to be believed.
   */
  observe(ts: number): boolean {
    if (this.aheadMs(ts) > this.#maxAheadMicros / 1000) return false
    if (ts > this.#last) this.#last = ts
    return true
  }

  /** How far `ts` is ahead of the wall clock, in milliseconds (negative when behind). */
  aheadMs(ts: number): number {
    return (ts - this.#wall()) / 1000
  }
}
