/**
 * One room's messages as the user sees them: in `(ts, origin)` order with late messages put in
 * place, each message once (by `id`, and by `(user.id, cid)` in case two nodes each accepted
 * the same send while cut off), and the user's own unacknowledged sends shown as pending until
 * the node's copy replaces them. Each message from the node keeps the object it came in
 * (`received`), every field of it, so that its signatures can be checked (authenticity.ts).
 *
 * Pure data: no sockets, no timers. Every change makes a new `messages` array, so a UI can
 * tell what changed by identity.
 */
import type { ChatMessage, User } from '../../../shared/protocol.ts'
import type { VectorMap } from '../../../shared/vector.ts'

export type DeliveryState = 'pending' | 'sent' | 'failed'

export interface TimelineMessage {
  /** Stable across the pending → sent change: the cid's key. */
  key: string
  room: string
  /** Set once the node stored it. */
  id: string | null
  origin: string | null
  ts: number
  user: User
  text: string
  cid: string
  state: DeliveryState
  /** Why a send failed, for people. */
  error: string | null
  /**
   * The message as the node sent it, whose signatures say who wrote it; null for a send of this
   * client that only the node's ack has reached so far (or not even that).
   */
  received: ChatMessage | null
}

export interface TimelineOptions {
  /**
   * Whether a message from the node with the `(user.id, cid)` of one of our pending sends is the
   * node's copy of it, to take its place. One that is not (its signatures fail) is shown apart,
   * and the pending send stays. Default: every such message is.
   */
  isCopyOfPending?: (message: ChatMessage) => boolean
}

const byCid = (userId: string, cid: string) => `${userId}\n${cid}`

function compare(a: TimelineMessage, b: TimelineMessage): number {
  if (a.ts !== b.ts) return a.ts - b.ts
  const ao = a.origin ?? '\uffff'
  const bo = b.origin ?? '\uffff'
  return ao < bo ? -1 : ao > bo ? 1 : 0
}

export class Timeline {
  messages: readonly TimelineMessage[] = []
  /** Per origin, the highest seq seen in this room. */
  readonly #vector = new Map<string, number>()
  readonly #ids = new Set<string>()
  /** `(user.id, cid)` → the message's key. */
  readonly #cids = new Map<string, string>()
  readonly #isCopyOfPending: (message: ChatMessage) => boolean

  constructor(options: TimelineOptions = {}) {
    this.#isCopyOfPending = options.isCopyOfPending ?? (() => true)
  }

  /** Per origin, the highest seq seen in this room: what `join` sends as `since`. */
  get vector(): VectorMap {
    return this.#vector
  }

  /** The oldest stored message, for paging back with `history before`. */
  get oldestId(): string | null {
    for (const m of this.messages) if (m.id) return m.id
    return null
  }

  /** Adds messages from the node; returns those that were new (for unread counts). */
  addFromNode(incoming: readonly ChatMessage[]): ChatMessage[] {
    const added: ChatMessage[] = []
    let next: TimelineMessage[] | undefined
    for (const m of incoming) {
      if (this.#ids.has(m.id)) continue
      if (m.seq > (this.#vector.get(m.origin) ?? 0)) this.#vector.set(m.origin, m.seq)
      const cidKey = byCid(m.user.id, m.cid)
      const existingKey = this.#cids.get(cidKey)
      next ??= [...this.messages]
      const at = existingKey === undefined ? -1 : next.findIndex((x) => x.key === existingKey)
      const existing = next[at]
      // A second copy of a send already stored (two nodes each took it while cut off).
      if (existing?.id) {
        this.#ids.add(m.id)
        continue
      }
      // The node's copy of our pending send takes its place, and its key; a message that fails
      // to be that copy is a row of its own, and leaves the cid to the real copy.
      const replaces = existing !== undefined && this.#isCopyOfPending(m)
      if (replaces) next.splice(at, 1)
      const message: TimelineMessage = {
        key: replaces ? existing.key : `id:${m.id}`,
        room: m.room,
        id: m.id,
        origin: m.origin,
        ts: m.ts,
        user: m.user,
        text: m.text,
        cid: m.cid,
        state: 'sent',
        error: null,
        received: m,
      }
      this.#ids.add(m.id)
      if (existing === undefined || replaces) this.#cids.set(cidKey, message.key)
      insertSorted(next, message)
      added.push(m)
    }
    if (next) this.messages = next
    return added
  }

  /** Shows a send of ours before the node has it. */
  addPending(room: string, user: User, text: string, cid: string, ts: number): void {
    const key = `cid:${cid}`
    this.#cids.set(byCid(user.id, cid), key)
    const next = [...this.messages]
    insertSorted(next, {
      key,
      room,
      id: null,
      origin: null,
      ts,
      user,
      text,
      cid,
      state: 'pending',
      error: null,
      received: null,
    })
    this.messages = next
  }

  /** The node acknowledged our send: it is stored under `id`. */
  acknowledge(userId: string, cid: string, id: string, ts: number): void {
    this.#update(userId, cid, (m) =>
      m.id
        ? m
        : { ...m, id, ts, origin: id.slice(0, id.lastIndexOf(':')), state: 'sent', error: null },
    )
  }

  fail(userId: string, cid: string, error: string): void {
    this.#update(userId, cid, (m) => (m.state === 'pending' ? { ...m, state: 'failed', error } : m))
  }

  retry(userId: string, cid: string): void {
    this.#update(userId, cid, (m) =>
      m.state === 'failed' ? { ...m, state: 'pending', error: null } : m,
    )
  }

  /** Our sends the node has not acknowledged, oldest first. */
  pending(): TimelineMessage[] {
    return this.messages.filter((m) => m.state === 'pending')
  }

  /** Forgets everything the node sent (after a resume with a hole); keeps our unsent messages. */
  resetFromNode(): void {
    const kept = this.messages.filter((m) => m.id === null)
    this.messages = kept
    this.#ids.clear()
    this.#vector.clear()
    this.#cids.clear()
    for (const m of kept) this.#cids.set(byCid(m.user.id, m.cid), m.key)
  }

  #update(userId: string, cid: string, change: (m: TimelineMessage) => TimelineMessage): void {
    const key = this.#cids.get(byCid(userId, cid))
    const at = this.messages.findIndex((m) => m.key === key)
    const current = this.messages[at]
    if (!current) return
    const changed = change(current)
    if (changed === current) return
    const next = [...this.messages]
    next.splice(at, 1)
    insertSorted(next, changed)
    this.messages = next
  }
}

/** Inserts in `(ts, origin)` order (binary search; equal keys keep arrival order). */
function insertSorted(list: TimelineMessage[], message: TimelineMessage): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(list[mid] as TimelineMessage, message) <= 0) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, message)
}
