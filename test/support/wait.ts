/**
 * Polling for state a node publishes (`/health`, `/metrics`, frames a client holds): tests wait
 * on that, never on a fixed sleep.
 */

/** How often `waitUntil` and `staysTrue` look again. */
const POLL_MS = 50

/** What a truthy result of `check` can be. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/**
 * Resolves with the first truthy value `check` returns, polling every 50 ms. Rejects after
 * `timeoutMs` with `what` and the last error `check` threw, if any.
 */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as Truthy<T>
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : ''
      throw new Error(`${what} not reached within ${timeoutMs} ms${why}`)
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/**
 * Checks `check` `times` times, `intervalMs` apart, and rejects as soon as it does not hold:
 * for "and it stays so" (a bounded loop of checks, not a blind sleep).
 */
export async function staysTrue(
  check: () => boolean | Promise<boolean>,
  times: number,
  intervalMs: number,
  what = 'condition',
): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (!(await check())) throw new Error(`${what} stopped holding after ${i} checks`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
