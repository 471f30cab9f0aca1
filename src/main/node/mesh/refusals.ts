/**
 * What a peer sent that failed verification: dropped, counted in `palaver_mesh_refused_total`
 * by what it was, and logged at most once per `REFUSAL_LOG_GAP_MS` for each kind (a hostile
 * peer must not fill the log).
 */
import type { ErrorSink } from '../containment.ts'
import type { PeerLink } from './link.ts'

/** The label of `palaver_mesh_refused_total`. */
export type RefusedKind = 'event' | 'presence' | 'typing' | 'record'
/** A refused frame is logged at most this often (they are all counted). */
export const REFUSAL_LOG_GAP_MS = 60_000

export type Refuse = (link: PeerLink, what: RefusedKind, reason: string, claimed: string) => void

export function refusals(sink: ErrorSink, now: () => number = Date.now): Refuse {
  /** When a refused frame of each kind was last logged: a flood of one kind hides no other. */
  const loggedAt = new Map<RefusedKind, number>()
  return (link, what, reason, claimed) => {
    sink.metrics.meshRefused.inc({ what })
    const at = now()
    if (at - (loggedAt.get(what) ?? -Infinity) < REFUSAL_LOG_GAP_MS) return
    loggedAt.set(what, at)
    sink.logger.warn(
      { peer: link.remote?.id, what, claimed, reason },
      'dropped a frame whose signature does not hold (more of its kind are only counted for a minute)',
    )
  }
}
