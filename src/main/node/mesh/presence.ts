/**
 * Other nodes' presence (docs/protocol.md, "Presence"): each node's whole local state, versioned.
 * A newer version replaces the old one; a state not heard for 30 s is forgotten, and so is one
 * whose link went away. Every change reports the rooms whose online set it touched.
 */
import type { OnlineUser, User } from '../../../shared/protocol.ts'

/** A node re-announces its presence this often. */
export const PRESENCE_ANNOUNCE_MS = 10_000
/** A node's presence is forgotten this long after it was last heard. */
export const PRESENCE_TTL_MS = 30_000

interface NodePresence {
  version: number
  rooms: Record<string, User[]>
  /** The nodes it has links to. */
  links: readonly string[]
  heardAt: number
  /** The link it last came over, so that it can be dropped when that link goes. */
  via: object
}

export class PresenceTable {
  readonly #nodes = new Map<string, NodePresence>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /**
   * Takes a node's announced state. Returns the rooms whose online users changed, or undefined
   * when the state was not newer than the one held (so it must not be forwarded).
   */
  apply(
    node: string,
    version: number,
    rooms: Record<string, User[]>,
    via: object,
    links: readonly string[] = [],
  ): Set<string> | undefined {
    const held = this.#nodes.get(node)
    if (held && held.version >= version) return undefined
    this.#nodes.set(node, { version, rooms, links, heardAt: this.#now(), via })
    return changedRooms(held?.rooms ?? {}, rooms)
  }

  has(node: string): boolean {
    return this.#nodes.has(node)
  }

  /** Forgets states older than the TTL; returns the rooms that changed. */
  expire(): Set<string> {
    const cutoff = this.#now() - PRESENCE_TTL_MS
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
      for (const user of presence.rooms[room] ?? [])
        users.push({ id: user.id, name: user.name, node })
    }
    return users
  }

  #drop(match: (p: NodePresence) => boolean): Set<string> {
    const changed = new Set<string>()
    for (const [node, presence] of this.#nodes) {
      if (!match(presence)) continue
      this.#nodes.delete(node)
      for (const room of Object.keys(presence.rooms)) changed.add(room)
    }
    return changed
  }
}

function changedRooms(before: Record<string, User[]>, after: Record<string, User[]>): Set<string> {
  const changed = new Set<string>()
  const key = (users: User[] | undefined) =>
    (users ?? [])
      .map((u) => `${u.id}\n${u.name}`)
      .sort()
      .join('\n')
  for (const room of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key(before[room]) !== key(after[room])) changed.add(room)
  }
  return changed
}
