/**
 * Exact resume for a whole session (docs/protocol.md, "Guarantees to a client", 3): a session
 * that joined a room with `since` is never sent an event its `since` covered, also when this
 * node gets that event only later (it lagged behind the node the client came from).
 *
 * Only a session whose `since` was ahead of this node's vector for some origin has a filter,
 * and only for those origins; an origin is forgotten as soon as the node holds the seq the
 * filter names for it, and the filter with its last origin. So the usual session costs fan-out
 * nothing. A filter holds at most the origins of one vector (MAX_VECTOR_ORIGINS).
 */
export class ResumeFilter<M> {
  readonly room: string
  readonly member: M
  /** Per origin, the highest seq the session's `since` covers that this node did not hold. */
  readonly ahead: Map<string, number>

  constructor(room: string, member: M, ahead: Map<string, number>) {
    this.room = room
    this.member = member
    this.ahead = ahead
  }

  /** Whether the session already has event `(origin, seq)`. */
  covers(origin: string, seq: number): boolean {
    return seq <= (this.ahead.get(origin) ?? 0)
  }
}

/** Origins one session's filters may hold over all its rooms (a `since` names at most 1024). */
export const MAX_RESUME_ORIGINS_PER_SESSION = 4_096
/** Origins all filters of a node may hold together (about 25 MB at the worst). */
export const MAX_RESUME_ORIGINS = 262_144

/**
 * The filters of a node's sessions, by room and member, and by the origins they wait on (so
 * that a commit looks only at the filters its origins concern).
 */
export class ResumeFilters<M> {
  readonly #byRoom = new Map<string, Map<M, ResumeFilter<M>>>()
  readonly #byOrigin = new Map<string, Set<ResumeFilter<M>>>()
  /** Origins held by all filters, and by each member's: what the bounds count. */
  #entries = 0
  readonly #entriesOf = new Map<M, number>()

  /**
   * Whether `member` may have the filter `since` makes in `room` (replacing its own there):
   * within MAX_RESUME_ORIGINS_PER_SESSION origins over its rooms and MAX_RESUME_ORIGINS over
   * the node. A `since` naming origins nobody holds would otherwise grow them without end.
   */
  fits(
    room: string,
    member: M,
    since: ReadonlyMap<string, number>,
    held: (origin: string) => number,
  ): boolean {
    let ahead = 0
    for (const [origin, seq] of since) if (seq > held(origin)) ahead++
    const replaced = this.#byRoom.get(room)?.get(member)?.ahead.size ?? 0
    const added = ahead - replaced
    return (
      (this.#entriesOf.get(member) ?? 0) + added <= MAX_RESUME_ORIGINS_PER_SESSION &&
      this.#entries + added <= MAX_RESUME_ORIGINS
    )
  }

  /**
   * Sets what `member`'s `since` covers in `room` beyond what this node holds (`held` gives
   * this node's seq of an origin), replacing any filter it had there.
   */
  set(
    room: string,
    member: M,
    since: ReadonlyMap<string, number> | undefined,
    held: (origin: string) => number,
  ): void {
    this.remove(room, member)
    const ahead = new Map<string, number>()
    for (const [origin, seq] of since ?? []) if (seq > held(origin)) ahead.set(origin, seq)
    if (ahead.size === 0) return
    this.#count(member, ahead.size)
    const filter = new ResumeFilter(room, member, ahead)
    let members = this.#byRoom.get(room)
    if (!members) this.#byRoom.set(room, (members = new Map()))
    members.set(member, filter)
    for (const origin of ahead.keys()) {
      let waiting = this.#byOrigin.get(origin)
      if (!waiting) this.#byOrigin.set(origin, (waiting = new Set()))
      waiting.add(filter)
    }
  }

  /** The filters of `room`'s members, when any has one. */
  inRoom(room: string): ReadonlyMap<M, ResumeFilter<M>> | undefined {
    return this.#byRoom.get(room)
  }

  /** `member` left `room`, or joined it again without `since`. */
  remove(room: string, member: M): void {
    const members = this.#byRoom.get(room)
    const filter = members?.get(member)
    if (!members || !filter) return
    members.delete(member)
    if (members.size === 0) this.#byRoom.delete(room)
    this.#count(member, -filter.ahead.size)
    for (const origin of filter.ahead.keys()) this.#unwait(origin, filter)
  }

  /** This node now holds `origin` up to `seq`: what the filters covered up to it is forgotten. */
  reached(origin: string, seq: number): void {
    const waiting = this.#byOrigin.get(origin)
    if (!waiting) return
    for (const filter of waiting) {
      if (seq < (filter.ahead.get(origin) ?? 0)) continue
      filter.ahead.delete(origin)
      this.#count(filter.member, -1)
      this.#unwait(origin, filter)
      if (filter.ahead.size === 0) this.remove(filter.room, filter.member)
    }
  }

  /** How many (room, member) filters there are. */
  get size(): number {
    let size = 0
    for (const members of this.#byRoom.values()) size += members.size
    return size
  }

  #count(member: M, change: number): void {
    this.#entries += change
    const mine = (this.#entriesOf.get(member) ?? 0) + change
    if (mine > 0) this.#entriesOf.set(member, mine)
    else this.#entriesOf.delete(member)
  }

  #unwait(origin: string, filter: ResumeFilter<M>): void {
    const waiting = this.#byOrigin.get(origin)
    if (!waiting?.delete(filter)) return
    if (waiting.size === 0) this.#byOrigin.delete(origin)
  }
}
