/**
 * Other nodes' presence (docs/protocol.md, "Presence"): each node's whole local state, versioned.
 * A newer version replaces the old one; a state not heard for 30 s is forgotten, and so is one
 * whose link went away. Every change reports the rooms whose online set it touched.
 *
 * Everything is bounded: an announcement this node makes fits far under the frame limit (the
 * busiest rooms first, within `maxRooms`, `PRESENCE_MAX_BYTES` and
 * `PRESENCE_MAX_ENTRIES_PER_NODE`), and a state heard from another node is cut short past the
 * same entry bound rather than refused, so that no node's presence ever closes a link. Rooms are
 * names from the wire: they live in Maps, never as keys of plain objects.
 */
import type { OnlineUser, User } from '../../../shared/protocol.ts'
import { shownUser } from '../../../shared/signed-frames.ts'

/** Default of `meshTimings.presenceAnnounceMs`: a node re-announces its presence this often. */
export const PRESENCE_ANNOUNCE_MS = 10_000
/** Default of `meshTimings.presenceTtlMs`: a presence not heard this long is forgotten. */
export const PRESENCE_TTL_MS = 30_000
/** A change of local presence is announced at most this often (a burst of joins, one frame). */
export const PRESENCE_MIN_GAP_MS = 250
/** The most bytes of rooms one announcement carries: a quarter of the 4 MiB frame limit. */
export const PRESENCE_MAX_BYTES = 1024 * 1024
/** Room-user entries kept of one node's state (an empty room counts as one). */
export const PRESENCE_MAX_ENTRIES_PER_NODE = 20_000
/** Entries kept across all nodes: a state that would pass this is cut short. */
export const PRESENCE_MAX_ENTRIES = 200_000
/** The most nodes whose state is kept; a new node's state past this waits for room. */
export const PRESENCE_MAX_NODES = 1_000

interface NodePresence {
  version: number
  rooms: Map<string, readonly User[]>
  /** What the state costs against `PRESENCE_MAX_ENTRIES`. */
  entries: number
  /** The nodes it has links to. */
  links: readonly string[]
  heardAt: number
  /** The link it last came over, so that it can be dropped when that link goes. */
  via: object
}

/** One announcement's rooms, and how many rooms of the local state it leaves out. */
export interface Announcement {
  rooms: Record<string, User[]>
  omitted: number
}

/**
 * The rooms of this node's announcement: the busiest rooms first (then by name), as many as fit
 * `maxRooms`, `PRESENCE_MAX_BYTES` and `PRESENCE_MAX_ENTRIES_PER_NODE`. The result is a
 * null-prototype object, ready to be encoded.
 */
export function announcedRooms(local: ReadonlyMap<string, User[]>, maxRooms: number): Announcement {
  const all = [...local].sort(
    ([a, usersA], [b, usersB]) => usersB.length - usersA.length || (a < b ? -1 : a > b ? 1 : 0),
  )
  const rooms = Object.create(null) as Record<string, User[]>
  let kept = 0
  let bytes = 0
  let entries = 0
  for (const [room, users] of all) {
    if (kept >= maxRooms) break
    // `"room":[…],` in the frame's JSON
    const size = Buffer.byteLength(JSON.stringify(room)) + Buffer.byteLength(JSON.stringify(users))
    const cost = entryCost(users)
    if (bytes + size + 2 > PRESENCE_MAX_BYTES || entries + cost > PRESENCE_MAX_ENTRIES_PER_NODE)
      continue
    rooms[room] = users
    kept++
    bytes += size + 2
    entries += cost
  }
  return { rooms, omitted: all.length - kept }
}

export class PresenceTable {
  readonly #nodes = new Map<string, NodePresence>()
  readonly #now: () => number
  readonly #ttlMs: number
  /** Entries held across all nodes. */
  #entries = 0

  /** `ttlMs`: a node's state not heard this long is forgotten (PRESENCE_TTL_MS by default). */
  constructor(options: { ttlMs: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? Date.now
  }

  /** Whether `version` is newer than the state held of `node` (only then is it worth checking). */
  isNewer(node: string, version: number): boolean {
    return (this.#nodes.get(node)?.version ?? 0) < version
  }

  /**
   * Takes a node's announced state (`rooms` as parsed from the wire). Returns the rooms whose
   * online users changed, or undefined when the state was not newer than the one held, or is
   * of a new node while `PRESENCE_MAX_NODES` are held (so it must not be forwarded).
   */
  apply(
    node: string,
    version: number,
    rooms: Readonly<Record<string, readonly User[]>>,
    via: object,
    links: readonly string[] = [],
  ): Set<string> | undefined {
    const held = this.#nodes.get(node)
    if (held && held.version >= version) return undefined
    if (!held && this.#nodes.size >= PRESENCE_MAX_NODES) return undefined
    const othersHold = this.#entries - (held?.entries ?? 0)
    const budget = Math.min(PRESENCE_MAX_ENTRIES_PER_NODE, PRESENCE_MAX_ENTRIES - othersHold)
    const kept = new Map<string, readonly User[]>()
    let entries = 0
    for (const [room, users] of Object.entries(rooms)) {
      const cost = entryCost(users)
      if (entries + cost > budget) break
      // Only what is shown: fields a newer node adds to a user are not kept.
      kept.set(room, users.map(shownUser))
      entries += cost
    }
    this.#nodes.set(node, { version, rooms: kept, entries, links, heardAt: this.#now(), via })
    this.#entries = othersHold + entries
    return changedRooms(held?.rooms ?? new Map(), kept)
  }

  has(node: string): boolean {
    return this.#nodes.has(node)
  }

  /** Forgets states older than the TTL; returns the rooms that changed. */
  expire(): Set<string> {
    const cutoff = this.#now() - this.#ttlMs
    return this.#drop((p) => p.heardAt < cutoff)
  }

  /** Forgets the states that came over `link` (a node still reachable re-announces within 10 s). */
  dropVia(link: object): Set<string> {
    return this.#drop((p) => p.via === link)
  }

  /** Each known node's links, as it last announced them. */
  links(): [string, readonly string[]][] {
    return [...this.#nodes].map(([node, presence]) => [node, presence.links])
  }

  usersIn(room: string): OnlineUser[] {
    const users: OnlineUser[] = []
    for (const [node, presence] of this.#nodes) {
      for (const user of presence.rooms.get(room) ?? []) users.push({ ...shownUser(user), node })
    }
    return users
  }

  #drop(match: (p: NodePresence) => boolean): Set<string> {
    const changed = new Set<string>()
    for (const [node, presence] of this.#nodes) {
      if (!match(presence)) continue
      this.#nodes.delete(node)
      this.#entries -= presence.entries
      for (const room of presence.rooms.keys()) changed.add(room)
    }
    return changed
  }
}

/** What a room costs against the entry bounds: one per user, one for an empty room. */
function entryCost(users: readonly unknown[]): number {
  return Math.max(1, users.length)
}

function changedRooms(
  before: ReadonlyMap<string, readonly User[]>,
  after: ReadonlyMap<string, readonly User[]>,
): Set<string> {
  const changed = new Set<string>()
  const key = (users: readonly User[] | undefined) =>
    (users ?? [])
      .map((u) => `${u.id}\n${u.name}`)
      .sort()
      .join('\n')
  for (const room of new Set([...before.keys(), ...after.keys()])) {
    if (key(before.get(room)) !== key(after.get(room))) changed.add(room)
  }
  return changed
}
