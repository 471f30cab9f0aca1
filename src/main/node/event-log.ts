/**
 * The write path of the node: numbers this node's events, takes other origins' events in seq
 * order, and commits both to the store in groups.
 *
 * Group commit: every event written during one turn of the event loop is committed in one
 * transaction on the next turn (or at once when a batch is full), so a burst of sends costs one
 * fsync rather than one each. `onCommitted` runs after each commit, in seq order per origin:
 * that is where the node fans events out, so nothing is shown before it is durable and no
 * commit happens on the fan-out path.
 */
import type { HybridClock } from './clock.ts'
import type { ChatEvent, Store } from './store.ts'
import { MESSAGE_KIND } from '../../shared/signatures.ts'
import { type ChatUser, shownUser } from '../../shared/signed-frames.ts'

/** A batch this large is committed at once instead of waiting for the next turn. */
export const MAX_BATCH_EVENTS = 2_000

export interface EventLogOptions {
  store: Store
  clock: HybridClock
  /**
   * Called after each commit with the events it made durable, in order, and those of them that
   * clients are not shown (another copy of the same send was stored first).
   */
  onCommitted: (events: readonly ChatEvent[], hidden: ReadonlySet<ChatEvent>) => void
  /** Called with how long each commit took, in seconds (for metrics). */
  onCommitTimed?: (seconds: number) => void
  /** Called when a commit fails; the batch's events are dropped and their waiters rejected. */
  onCommitFailed?: (error: unknown) => void
}

export type Accept = 'accepted' | 'duplicate' | 'early'

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

export class EventLog {
  readonly #options: EventLogOptions
  readonly #store: Store
  /** Per origin, the highest seq taken, committed or not. */
  readonly #accepted = new Map<string, number>()
  #batch: ChatEvent[] = []
  #waiters: Waiter[] = []
  #flushScheduled: NodeJS.Immediate | undefined
  /**
   * Events not yet committed, local sends and peers' events alike, by user id and cid: the first
   * of each, which is the one clients will be shown. A quick resend waits for it.
   */
  readonly #pendingSends = new Map<string, Promise<ChatEvent>>()

  constructor(options: EventLogOptions) {
    this.#options = options
    this.#store = options.store
  }

  get nodeId(): string {
    return this.#store.nodeId
  }

  /** The highest seq taken from `origin`, including events not yet committed. */
  acceptedSeq(origin: string): number {
    return this.#accepted.get(origin) ?? this.#store.seqOf(origin)
  }

  /**
   * Writes a message from a local client, signed by this node, and resolves with it once it is
   * committed. A send with a `(user.id, cid)` already held resolves with the first event and
   * writes nothing. `usig` is a keyed user's signature of the message, checked by the session
   * and kept in the event. A keyed user's message without one, or a keyless user's with one, is
   * refused (the promise rejects) and never numbered: every node would refuse that event, and
   * the origin's later events would wait behind it forever.
   */
  send(room: string, user: ChatUser, text: string, cid: string, usig?: string): Promise<ChatEvent> {
    if ((user.key === undefined) !== (usig === undefined)) {
      return Promise.reject(new Error("a keyed user's message, and only one, carries a usig"))
    }
    const key = `${user.id}\n${cid}`
    const pending = this.#pendingSends.get(key)
    if (pending) return pending
    let existing: ChatEvent | undefined
    try {
      existing = this.#store.findByCid(user.id, cid)
    } catch (error) {
      return Promise.reject(error)
    }
    if (existing) return Promise.resolve(existing)

    const identity = this.#store.identity
    // Exactly the fields the protocol names: what the user signed, and what the node adds.
    const event: ChatEvent = identity.sign({
      kind: MESSAGE_KIND,
      origin: identity.id,
      seq: this.acceptedSeq(identity.id) + 1,
      ts: this.#options.clock.now(),
      room,
      user: shownUser(user),
      text,
      cid,
      ...(usig === undefined ? {} : { usig }),
    })
    return this.#pending(event)
  }

  /**
   * Queues `event` and returns the promise of its commit, kept by (user.id, cid) until then, so
   * that a resend meanwhile (also while a peer's copy of the same send waits in the batch) is
   * answered with the event the node shows clients rather than written again.
   */
  #pending(event: ChatEvent): Promise<ChatEvent> {
    const key = `${event.user.id}\n${event.cid}`
    const written = this.#enqueue(event).then(() => event)
    if (!this.#pendingSends.has(key)) {
      this.#pendingSends.set(key, written)
      const forget = () => this.#pendingSends.delete(key)
      written.then(forget, forget)
    }
    return written
  }

  /**
   * Takes another origin's event: only the origin's next seq is accepted; a lower seq is a
   * duplicate and a higher one is early (the caller asks for the hole). An accepted event is
   * committed with the next batch and then passed to `onCommitted`.
   */
  accept(event: ChatEvent): Accept {
    const held = this.acceptedSeq(event.origin)
    if (event.seq <= held) return 'duplicate'
    if (event.seq > held + 1) return 'early'
    this.#options.clock.observe(event.ts)
    // A failed commit is reported by onCommitFailed; the event comes again with the next sync.
    this.#pending(event).catch(() => {})
    return 'accepted'
  }

  #enqueue(event: ChatEvent): Promise<void> {
    this.#accepted.set(event.origin, event.seq)
    this.#batch.push(event)
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    if (this.#batch.length >= MAX_BATCH_EVENTS) this.flush()
    else this.#flushScheduled ??= setImmediate(() => this.flush())
    return done
  }

  /** Commits everything written so far. Called by the log itself; `close()` calls it last. */
  flush(): void {
    if (this.#flushScheduled) clearImmediate(this.#flushScheduled)
    this.#flushScheduled = undefined
    const events = this.#batch
    const waiters = this.#waiters
    if (events.length === 0) return
    this.#batch = []
    this.#waiters = []

    const started = performance.now()
    let hidden: ReadonlySet<ChatEvent>
    try {
      hidden = this.#store.append(events)
    } catch (error) {
      // Nothing of the batch was written: forget its seqs so they are taken again.
      this.#accepted.clear()
      this.#options.onCommitFailed?.(error)
      for (const w of waiters) w.reject(error)
      return
    }
    this.#options.onCommitTimed?.((performance.now() - started) / 1000)
    this.#accepted.clear()
    // The events are durable whatever happens next: settle the waiters first. Their callbacks
    // (acks) run after this turn, so members still see a message before its sender's ack.
    for (const w of waiters) w.resolve()
    this.#options.onCommitted(events, hidden)
  }
}
