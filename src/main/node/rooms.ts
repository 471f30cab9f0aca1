/**
 * Who is in which room on this node, and the fan-out of frames to them.
 *
 * A frame for a room is encoded once by the caller and the same buffer goes to every member.
 * Presence is per user, not per session: a user with two tabs in a room is online once, and
 * goes offline when the last of them leaves. Rooms are keys of Maps only (they come from the
 * wire), and their number is bounded (`maxRooms`).
 */
import type { OnlineUser, User } from '../../shared/protocol.ts'
import { shownUser } from '../../shared/signed-frames.ts'
import { ResumeFilters } from './resume-filters.ts'

export interface Member {
  readonly user: User
  /** Queues encoded frames for this member, in order, written to its socket together. */
  deliver(frames: readonly Buffer[]): void
}

/** One committed event's place in its origin's sequence, beside its encoded frame. */
export interface EventId {
  origin: string
  seq: number
}

export class Rooms {
  readonly #members = new Map<string, Set<Member>>()
  readonly #filters = new ResumeFilters<Member>()
  readonly #maxRooms: number

  /** @param maxRooms distinct rooms with members this node keeps at most */
  constructor(maxRooms: number) {
    this.#maxRooms = maxRooms
  }

  /** Whether a member may join `room`: it has members already, or there is room for one more. */
  canJoin(room: string): boolean {
    return this.#members.has(room) || this.#members.size < this.#maxRooms
  }

  /** Whether `member` may join `room` with `since`: its resume filter fits the bounds. */
  canResume(
    room: string,
    member: Member,
    since: ReadonlyMap<string, number>,
    held: (origin: string) => number,
  ): boolean {
    return this.#filters.fits(room, member, since, held)
  }

  /** How many rooms have members on this node. */
  get size(): number {
    return this.#members.size
  }

  /**
   * Adds `member` to `room` (the caller checked `canJoin`); true when this made its user newly
   * online there. With `since`, events it covers that this node does not hold yet (`held` gives
   * this node's seq of an origin) are kept from the member when they come (ResumeFilters); a
   * join without `since` clears that.
   */
  join(
    room: string,
    member: Member,
    since?: ReadonlyMap<string, number>,
    held: (origin: string) => number = () => 0,
  ): boolean {
    this.#filters.set(room, member, since, held)
    let members = this.#members.get(room)
    if (!members) this.#members.set(room, (members = new Set()))
    if (members.has(member)) return false
    const wasOnline = this.#hasUser(members, member.user.id)
    members.add(member)
    return !wasOnline
  }

  /** Removes `member` from `room`; true when its user is now offline there. */
  leave(room: string, member: Member): boolean {
    const members = this.#members.get(room)
    if (!members?.delete(member)) return false
    this.#filters.remove(room, member)
    if (members.size === 0) this.#members.delete(room)
    return !(members.size > 0 && this.#hasUser(members, member.user.id))
  }

  /**
   * Sends encoded frames to every member of `room` but `except`, the same buffers to each;
   * returns how many members got them.
   */
  publish(room: string, frames: readonly Buffer[], except?: (member: Member) => boolean): number {
    const members = this.#members.get(room)
    if (!members) return 0
    let sent = 0
    for (const member of members) {
      if (except?.(member)) continue
      member.deliver(frames)
      sent++
    }
    return sent
  }

  /**
   * Sends committed events of `room` (`frames[i]` is event `ids[i]`) to its members, but not to
   * a member the events its `since` covered; returns how many frames were sent in all.
   */
  publishEvents(room: string, frames: readonly Buffer[], ids: readonly EventId[]): number {
    const filters = this.#filters.inRoom(room)
    if (!filters) return this.publish(room, frames) * frames.length
    let sent = 0
    for (const member of this.#members.get(room) ?? []) {
      const filter = filters.get(member)
      const wanted = filter
        ? frames.filter((_, i) => {
            const id = ids[i]
            return id !== undefined && !filter.covers(id.origin, id.seq)
          })
        : frames
      if (wanted.length === 0) continue
      member.deliver(wanted)
      sent += wanted.length
    }
    return sent
  }

  /** This node now holds `origin` up to `seq` (committed): filters that it passes go. */
  reached(origin: string, seq: number): void {
    this.#filters.reached(origin, seq)
  }

  /** How many (room, member) resume filters there are (for tests and metrics). */
  get resumeFilters(): number {
    return this.#filters.size
  }

  /** The users online in `room` on this node, once each. */
  users(room: string, nodeId: string): OnlineUser[] {
    const users = new Map<string, OnlineUser>()
    for (const { user } of this.#members.get(room) ?? []) {
      users.set(user.id, { ...shownUser(user), node: nodeId })
    }
    return [...users.values()]
  }

  /** Every room with its online users: this node's whole local presence. */
  snapshot(): Map<string, User[]> {
    const rooms = new Map<string, User[]>()
    for (const room of this.#members.keys()) {
      rooms.set(room, this.users(room, '').map(shownUser))
    }
    return rooms
  }

  #hasUser(members: Set<Member>, userId: string): boolean {
    for (const m of members) if (m.user.id === userId) return true
    return false
  }
}
