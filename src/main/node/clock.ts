/**
 * A hybrid logical clock in microseconds since the Unix epoch (docs/protocol.md, "ts").
 *
 * `now()` is strictly increasing and never below the wall clock, and after `observe(ts)` it is
 * above `ts`: so an event's ts is greater than that of every event its node had seen. When the
 * wall clock steps back, the clock keeps counting up from where it was.
 */
export type WallClock = () => number

/** The wall clock in integer microseconds. */
export const systemMicros: WallClock = () =>
  Math.floor((performance.timeOrigin + performance.now()) * 1000)

export class HybridClock {
  #last: number
  readonly #wall: WallClock

  /**
   * @param wall source of wall-clock microseconds (injected for tests)
   * @param floor a ts already used, e.g. the highest ts in the store, so a restart never
   *   goes back even if the wall clock did
   */
  constructor(wall: WallClock = systemMicros, floor = 0) {
    this.#wall = wall
    this.#last = floor
  }

  /** A fresh timestamp, greater than any returned or observed before. */
  now(): number {
    this.#last = Math.max(this.#last + 1, this.#wall())
    return this.#last
  }

  /** Takes in a timestamp seen on another node's event. */
  observe(ts: number): void {
    if (ts > this.#last) this.#last = ts
  }
}
