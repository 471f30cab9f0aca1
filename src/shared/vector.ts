/**
 * Vectors (per origin, the highest seq held) cross the wire as JSON objects keyed by node id.
 * Inside a program they are Maps: a key that comes from the wire is never a key of a plain
 * object, where `constructor` or `__proto__` would find something that is not a seq. No schema
 * library here: the web UI imports this.
 */

/** A vector as code holds it. */
export type VectorMap = ReadonlyMap<string, number>

/** A vector from a checked wire object: only its own keys count. */
export function vectorFromWire(wire: Readonly<Record<string, number>>): Map<string, number> {
  return new Map(Object.entries(wire))
}

/**
 * A vector as a wire object, for JSON. It has no prototype, so that code that still indexes it
 * by an origin (`vector[origin]`) finds only the origins it holds.
 */
export function vectorToWire(vector: VectorMap): Record<string, number> {
  const wire = Object.create(null) as Record<string, number>
  for (const [origin, seq] of vector) wire[origin] = seq
  return wire
}
