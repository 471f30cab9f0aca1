/**
 * A peer's clock skew (`skewMs` of a peer in `/health`, docs/protocol.md) in words for the node
 * panel: the node reports it only past 5 minutes, when the peer's times no longer move this
 * node's clock.
 */

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** "its clock is 12 min ahead", "… 3 h ahead", "… 9 days ahead", "… over a year ahead". */
export function describeSkew(skewMs: number): string {
  const ahead =
    skewMs < HOUR_MS
      ? `${Math.round(skewMs / MINUTE_MS)} min`
      : skewMs < 2 * DAY_MS
        ? `${Math.round(skewMs / HOUR_MS)} h`
        : skewMs < 365 * DAY_MS
          ? `${Math.round(skewMs / DAY_MS)} days`
          : 'over a year'
  return `its clock is ${ahead} ahead`
}
