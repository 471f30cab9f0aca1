/**
 * The write path of the node: numbers this node's events, takes other origins' events in seq
 * order, and has the store's writer (a worker thread, store-writer.ts) commit both in groups.
 *
 * Group commit: one commit is on disk at a time; every event written meanwhile waits in the next
 * batch, which goes to the writer the moment the commit before it is done. A burst of sends
 * costs one fsync rather than one each, and the event loop never waits on the disk: pongs,
 * presence, peer links and reads go on while a commit is in flight. `onCommitted` runs after
 * each commit, in seq order per origin: that is where the node acks, fans out and relays, so
 * nothing is acknowledged or shown before it is durable.
 */
import type { HybridClock } from './clock.ts'
import type { ChatEvent, Store } from './store.ts'
import type { EventWriter } from './store-writer.ts'
import { HeldSends } from './held-sends.ts'
import { MESSAGE_KIND } from '../../shared/signatures.ts'
import { type ChatUser, shownUser } from '../../shared/signed-frames.ts'

/**
 * Events written but not yet committed, at most: past it, sends are refused (`unavailable`) and
 * peers' events wait for the next sync, until the disk catches up.
 */
export const MAX_UNCOMMITTED_EVENTS = 10_000

export interface EventLogOptions {
  /** Read by the log (seqs, earlier sends); told of each commit (`recordCommitted`). */
  store: Store
  /** Commits the batches, off the event loop. */
  writer: EventWriter
  clock: HybridClock
  /** Events written but not yet committed, at most (default MAX_UNCOMMITTED_EVENTS). */
  maxUncommittedEvents?: number
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

/**
 * What became of a peer's event: `deferred` when the log holds MAX_UNCOMMITTED_EVENTS already
 * (the event comes again with the next sync).
 */
export type Accept = 'accepted' | 'duplicate' | 'early' | 'deferred'

/** The error a send is refused with while the disk is behind. */
export class LogFullError extends Error {
  constructor() {
    super('too many events wait for the disk')
  }
}

/**
 * An event as the log queues it: another origin's, signed; or one of this node's, which the
 * store's writer thread signs as it commits it (signing is not the event loop's work).
 */
export type Written = ChatEvent | UnsignedEvent
export type UnsignedEvent = Pick<
  ChatEvent,
  'kind' | 'origin' | 'seq' | 'ts' | 'room' | 'user' | 'cid' | 'usig'
> &
  Readonly<Record<string, unknown>> & { sig?: undefined }

interface Waiter {
  resolve: (event: ChatEvent) => void
  reject: (error: unknown) => void
}

export class EventLog {
  readonly #options: EventLogOptions
  readonly #store: Store
  /** Per origin, the highest seq taken, committed or not. */
  readonly #accepted = new Map<string, number>()
  readonly #maxUncommitted: number
  /** Events waiting for the commit in flight to end, and their waiters. */
  #batch: Written[] = []
  #waiters: Waiter[] = []
  /** The commit on disk now, if any; at most one at a time. */
  #committing: Promise<void> | undefined
  /** Events handed to the writer and not yet committed. */
  #inFlight = 0
  /**
   * Events not yet committed, local sends and peers' events alike, by user id and cid: the first
   * of each, which is the one clients will be shown. A quick resend waits for it.
   */
  readonly #pendingSends = new Map<string, Promise<ChatEvent>>()
  /** The sends the store may hold: a new cid needs no query. */
  readonly #heldSends = new HeldSends()

  constructor(options: EventLogOptions) {
    this.#options = options
    this.#store = options.store
    this.#maxUncommitted = options.maxUncommittedEvents ?? MAX_UNCOMMITTED_EVENTS
    this.#heldSends.fill((after, limit) => this.#store.sendsPage(after, limit))
  }

  /** Whether the log holds as many uncommitted events as it may. */
  get #full(): boolean {
    return this.#batch.length + this.#inFlight >= this.#maxUncommitted
  }

  get nodeId(): string {
    return this.#store.nodeId
  }

  /** The highest seq taken from `origin`, including events not yet committed. */
  acceptedSeq(origin: string): number {
    return this.#accepted.get(origin) ?? this.#store.seqOf(origin)
  }

  /**
   * Writes a message from a local client, signed by this node (in the writer thread), and
   * resolves with it once it is committed. A send with a `(user.id, cid)` already held resolves
   * with the first event and writes nothing. `usig` is a keyed user's signature of the message,
   * checked by the session and kept in the event. A keyed user's message without one, or a keyless user's with one, is
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
      if (this.#heldSends.mayHold(user.id, cid)) existing = this.#store.findByCid(user.id, cid)
    } catch (error) {
      return Promise.reject(error)
    }
    if (existing) return Promise.resolve(existing)
    if (this.#full) return Promise.reject(new LogFullError())

    const origin = this.#store.nodeId
    // Exactly the fields the protocol names: what the user signed, and what the node adds.
    return this.#pending({
      kind: MESSAGE_KIND,
      origin,
      seq: this.acceptedSeq(origin) + 1,
      ts: this.#options.clock.now(),
      room,
      user: shownUser(user),
      text,
      cid,
      ...(usig === undefined ? {} : { usig }),
    })
  }

  /**
   * Queues `event` and returns the promise of its commit, kept by (user.id, cid) until then, so
   * that a resend meanwhile (also while a peer's copy of the same send waits in the batch) is
   * answered with the event the node shows clients rather than written again.
   */
  #pending(event: Written): Promise<ChatEvent> {
    const key = `${event.user.id}\n${event.cid}`
    const written = this.#enqueue(event)
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
    if (this.#full) return 'deferred'
    this.#options.clock.observe(event.ts)
    // A failed commit is reported by onCommitFailed; the event comes again with the next sync.
    this.#pending(event).catch(() => {})
    return 'accepted'
  }

  #enqueue(event: Written): Promise<ChatEvent> {
    this.#accepted.set(event.origin, event.seq)
    this.#batch.push(event)
    const done = new Promise<ChatEvent>((resolve, reject) =>
      this.#waiters.push({ resolve, reject }),
    )
    this.#commitNext()
    return done
  }

  /** Resolves once everything written so far is committed (or its commit failed). */
  async flush(): Promise<void> {
    while (this.#committing) await this.#committing
  }

  /**
   * Hands the waiting batch to the writer, unless a commit is in flight (its end calls this
   * again), on the next turn: a burst written in one turn goes in one commit.
   */
  #commitNext(): void {
    if (this.#committing || this.#batch.length === 0) return
    this.#committing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#commit())
      .finally(() => {
        this.#committing = undefined
        this.#commitNext()
      })
  }

  async #commit(): Promise<void> {
    const events = this.#batch
    const waiters = this.#waiters
    this.#batch = []
    this.#waiters = []
    this.#inFlight = events.length
    let stored: ChatEvent[]
    let hidden: ReadonlySet<ChatEvent>
    try {
      const commit = await this.#options.writer.append(events)
      this.#options.onCommitTimed?.(commit.seconds)
      stored = commit.events
      hidden = new Set(commit.hidden.map((i) => stored[i]).filter((e) => e !== undefined))
    } catch (error) {
      this.#inFlight = 0
      // Nothing of the batch was written, and the events written since may follow its seqs:
      // drop them too and forget every seq taken, so that they are taken again.
      const later = this.#waiters
      this.#batch = []
      this.#waiters = []
      this.#accepted.clear()
      this.#options.onCommitFailed?.(error)
      for (const w of [...waiters, ...later]) w.reject(error)
      return
    }
    this.#inFlight = 0
    this.#store.recordCommitted(stored)
    for (const e of stored) {
      if (this.#accepted.get(e.origin) === e.seq) this.#accepted.delete(e.origin)
      this.#heldSends.add(e.user.id, e.cid)
    }
    // The events are durable whatever happens next: settle the waiters first. Their callbacks
    // (acks) run after this turn, so members still see a message before its sender's ack.
    waiters.forEach((w, i) => w.resolve(stored[i] as ChatEvent))
    this.#options.onCommitted(stored, hidden)
  }
}
