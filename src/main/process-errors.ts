/**
 * What the headless CLI and the desktop app do with an error that escaped every containment of
 * the node: an `uncaughtException` or an `unhandledRejection` (docs/architecture.md, invariant 5).
 *
 * They log it and keep serving, because that is safe here: such an error unwound only the one
 * callback it was thrown from (a library's event handler, a timer), the node's sessions, links
 * and timers contain their own failures, and the store changes only in transactions, so no
 * acknowledged message can be half-written. What is not safe is a process that fails over and
 * over, the sign of a state that every turn trips on: past MAX_PROCESS_ERRORS within
 * PROCESS_ERROR_WINDOW_MS, it ends (exit code 1) so that it starts again from its store (the
 * service manager restarts the CLI; clients reconnect and resume with `since`).
 */
import type { Logger } from './node/logger.ts'

/** Unexpected process-level errors tolerated within PROCESS_ERROR_WINDOW_MS. */
export const MAX_PROCESS_ERRORS = 10
export const PROCESS_ERROR_WINDOW_MS = 60_000

export type ProcessErrorKind = 'uncaughtException' | 'unhandledRejection'

/** Logs to stderr, for an app that has no logger of its own. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (...args: unknown[]) => console.warn(...args),
  error: (...args: unknown[]) => console.error(...args),
}

export class ProcessErrorPolicy {
  readonly #logger: Logger
  readonly #now: () => number
  /** When each recent error came, oldest first (at most MAX_PROCESS_ERRORS + 1 of them). */
  readonly #recent: number[] = []

  constructor(logger: Logger, now: () => number = Date.now) {
    this.#logger = logger
    this.#now = now
  }

  /** Logs an error; says whether the process should keep serving or end. */
  handle(kind: ProcessErrorKind, error: unknown): 'keep-serving' | 'exit' {
    const now = this.#now()
    this.#recent.push(now)
    while ((this.#recent[0] ?? now) <= now - PROCESS_ERROR_WINDOW_MS) this.#recent.shift()
    if (this.#recent.length > MAX_PROCESS_ERRORS) {
      this.#recent.shift()
      this.#logger.error(
        { err: error, kind },
        `more than ${MAX_PROCESS_ERRORS} unexpected errors within ${PROCESS_ERROR_WINDOW_MS / 1000} s: exiting`,
      )
      return 'exit'
    }
    this.#logger.error({ err: error, kind }, 'unexpected error outside the node; still serving')
    return 'keep-serving'
  }
}

/**
 * Sends the process's uncaught exceptions and unhandled rejections to `policy`; `onFatal` ends
 * the process when the policy says so. Returns the function that removes the handlers.
 */
export function guardProcess(policy: ProcessErrorPolicy, onFatal: () => void): () => void {
  const on = (kind: ProcessErrorKind) => (error: unknown) => {
    if (policy.handle(kind, error) === 'exit') onFatal()
  }
  const onException = on('uncaughtException')
  const onRejection = on('unhandledRejection')
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  }
}
