/**
 * The mesh's nodes as this node knows them (docs/protocol.md, `nodes`): one record per node id,
 * the newest its node made. Bounded: at most `MAX_DIRECTORY_NODES` records, each forgotten when
 * no newer version of it came for `DIRECTORY_TTL_MS` (every node makes a new version of its own
 * record each `DIRECTORY_REFRESH_MS`), and records travel in `nodes` frames of bounded size, as
 * what changed rather than the whole directory.
 *
 * A full directory takes a new record only of a node this one is linked to (pinned), which
 * pushes out the record heard of longest ago; others are refused until records expire. Pushing
 * out records for any newcomer would never settle: a record pushed out here comes back from a
 * neighbour that still holds it and pushes out another, around and around the mesh.
 */
import type { NodeRecord } from '../../../shared/peer-protocol.ts'
import { encodeFrame } from './framing.ts'

/** Records kept; past this only a linked node's record gets in (see above). */
export const MAX_DIRECTORY_NODES = 1_000
/** A record with no newer version for this long is forgotten (24 hours). */
export const DIRECTORY_TTL_MS = 24 * 60 * 60_000
/** A node makes a new version of its own record this often (1 hour), well within the TTL. */
export const DIRECTORY_REFRESH_MS = 60 * 60_000
/** Records in one `nodes` frame (a receiver takes up to 1024). */
export const NODES_FRAME_MAX_RECORDS = 256
/** Bytes of records in one `nodes` frame: far under the 4 MiB frame limit. */
export const NODES_FRAME_MAX_BYTES = 256 * 1024

interface Held {
  record: NodeRecord
  heardAt: number
}

export interface DirectoryOptions {
  /** Records of these nodes (linked ones) are neither evicted nor expired. */
  pinned: (id: string) => boolean
  now?: () => number
}

export class NodeDirectory {
  /** In the order they were last heard, oldest first. */
  readonly #held = new Map<string, Held>()
  readonly #pinned: (id: string) => boolean
  readonly #now: () => number

  constructor(options: DirectoryOptions) {
    this.#pinned = options.pinned
    this.#now = options.now ?? Date.now
  }

  get size(): number {
    return this.#held.size
  }

  get(id: string): NodeRecord | undefined {
    return this.#held.get(id)?.record
  }

  values(): NodeRecord[] {
    return [...this.#held.values()].map((held) => held.record)
  }

  /** Whether `record` would replace the one held of its node (or is of a node not held). */
  isNewer(record: NodeRecord): boolean {
    return (this.#held.get(record.id)?.record.version ?? 0) < record.version
  }

  /**
   * Takes in records, already verified as signed by the nodes they describe; returns those that
   * were new or newer than the one held (to pass on). A known node's record is replaced only by a
   * newer one: with "last heard wins", two nodes relaying different records of one node at the
   * same moment would swap them forever.
   */
  learn(records: readonly NodeRecord[]): NodeRecord[] {
    const changed: NodeRecord[] = []
    for (const record of records) {
      const { id } = record
      if (!this.isNewer(record)) continue
      if (!this.#held.has(id) && this.#held.size >= MAX_DIRECTORY_NODES && !this.#makeRoomFor(id))
        continue
      this.#held.delete(id) // re-inserted last: heard most recently
      this.#held.set(id, { record, heardAt: this.#now() })
      changed.push(record)
    }
    return changed
  }

  /** Forgets records not refreshed within the TTL; returns whether any was. */
  expire(): boolean {
    const cutoff = this.#now() - DIRECTORY_TTL_MS
    let forgot = false
    for (const [id, held] of this.#held) {
      if (held.heardAt >= cutoff) break // the rest were heard later
      if (this.#pinned(id)) continue
      this.#held.delete(id)
      forgot = true
    }
    return forgot
  }

  /** Pushes out the record heard of longest ago for a pinned node's record; false for others. */
  #makeRoomFor(newcomer: string): boolean {
    if (!this.#pinned(newcomer)) return false
    for (const id of this.#held.keys()) {
      if (this.#pinned(id)) continue
      this.#held.delete(id)
      return true
    }
    return false
  }
}

/** `entries` as `nodes` frames within `NODES_FRAME_MAX_RECORDS` and `NODES_FRAME_MAX_BYTES`. */
export function nodesFrames(entries: readonly NodeRecord[]): Buffer[] {
  const frames: Buffer[] = []
  let batch: NodeRecord[] = []
  let bytes = 0
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1
    if (batch.length >= NODES_FRAME_MAX_RECORDS || bytes + size > NODES_FRAME_MAX_BYTES) {
      frames.push(encodeFrame({ type: 'nodes', nodes: batch }))
      batch = []
      bytes = 0
    }
    batch.push(entry)
    bytes += size
  }
  if (batch.length > 0) frames.push(encodeFrame({ type: 'nodes', nodes: batch }))
  return frames
}
