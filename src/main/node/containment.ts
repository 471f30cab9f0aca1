/**
 * Errors stay where they happen: an unexpected exception in a session, a link or a timer is
 * logged, counted in `palaver_internal_errors_total`, and closes that session or link, never the
 * node (docs/architecture.md, invariant 5).
 */
import type { Logger } from './logger.ts'
import type { InternalErrorScope, NodeMetrics } from './metrics.ts'

/** Where contained errors are reported. */
export interface ErrorSink {
  logger: Logger
  metrics: NodeMetrics
}

/**
 * Runs `fn`. If it throws, the error is logged with `what`, counted under `scope`, and
 * `onError` runs (to close the session or link the error happened in); nothing is rethrown.
 * Returns `fn`'s result, or undefined after an error.
 */
export function contain<T>(
  sink: ErrorSink,
  scope: InternalErrorScope,
  what: string,
  fn: () => T,
  onError?: (error: unknown) => void,
): T | undefined {
  try {
    return fn()
  } catch (error) {
    sink.metrics.internalErrors.inc({ scope })
    sink.logger.error({ err: error, scope }, `${what} failed`)
    if (onError) contain(sink, scope, `${what} (closing after an error)`, () => onError(error))
    return undefined
  }
}
