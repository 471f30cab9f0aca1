/**
 * Capped exponential backoff with jitter, for anything that retries a connection (the mesh's
 * dialers, the chat client's reconnects): the delay before attempt `attempt` (0-based) is drawn
 * from the upper half of min(max, base · 2^attempt), so peers that lost each other at the same
 * moment do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * (ceiling / 2)
}
