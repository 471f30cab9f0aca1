/**
 * Who is in which room on this node, and the fan-out of frames to them.
 *
 * A frame for a room is encoded once by the caller and the same buffer goes to every member.
 * Presence is per user, not per session: a user with two tabs in a room is online once, and
 * goes offline when the last of them leaves.
 */
import type { OnlineUser, User } from '../../shared/protocol.ts'

export interface Member {
  readonly user: User
  /** Queues encoded frames for this member, in order, written to its socket together. */
  deliver(frames: readonly Buffer[]): void
}

export class Rooms {
  readonly #members = new Map<string, Set<Member>>()

  /** Adds `member` to `room`; true when this made its user newly online there. */
  join(room: string, member: Member): boolean {
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

  /** The users online in `room` on this node, once each. */
  users(room: string, nodeId: string): OnlineUser[] {
    const users = new Map<string, OnlineUser>()
    for (const { user } of this.#members.get(room) ?? []) {
      users.set(user.id, { id: user.id, name: user.name, node: nodeId })
    }
    return [...users.values()]
  }

  /** Every room with its online users: this node's whole local presence. */
  snapshot(): Record<string, User[]> {
    const rooms: Record<string, User[]> = {}
    for (const room of this.#members.keys()) {
      rooms[room] = this.users(room, '').map(({ id, name }) => ({ id, name }))
    }
    return rooms
  }

  #hasUser(members: Set<Member>, userId: string): boolean {
    for (const m of members) if (m.user.id === userId) return true
    return false
  }
}
