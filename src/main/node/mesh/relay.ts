/**
 * Chat events across the mesh (docs/protocol.md, "Loop prevention and relaying" and
 * "Dissemination along a tree").
 *
 * For each link the relay keeps what the peer is known to hold: its last `sync` vector, raised
 * by every event sent to it or received from it, and by what it announces. A committed event is
 * pushed on each eager link whose peer holds exactly the seq before it (a peer further behind is
 * caught up by streaming from the store, paced by the socket's drain) and announced on each lazy
 * one; which links are eager is the tree's business (plumtree.ts). An event is accepted only as
 * its origin's next seq: a duplicate is dropped and never forwarded (no loops in any topology,
 * and it prunes an eager link), an early one is kept aside (bounded, see early-events.ts) and
 * its hole asked for with `want`. A `want` or `graft` is answered with exactly the seqs it asks
 * for, at most `MAX_WANT_SEQS`, paced by the socket too.
 */
import {
  FEATURE_TREE,
  MAX_WANT_SEQS,
  type PeerFrameInput,
  type PeerFrameOf,
} from '../../../shared/peer-protocol.ts'
import type { Vector } from '../../../shared/protocol.ts'
import type { EventCheck, EventRefusal } from '../../../shared/signatures.ts'
import { vectorFromWire, vectorToWire } from '../../../shared/vector.ts'
import { MAX_CLOCK_AHEAD_MS, type HybridClock } from '../clock.ts'
import { contain, type ErrorSink } from '../containment.ts'
import type { EventLog } from '../event-log.ts'
import type { ChatEvent, Store } from '../store.ts'
import { EarlyEvents } from './early-events.ts'
import { encodeFrame } from './framing.ts'
import type { PeerLink } from './link.ts'
import { Plumtree, type TreeAction, type TreeSettings } from './plumtree.ts'

/**
 * Default of `meshTimings.syncIntervalMs`: each end of a link sends `sync` this often, to repair
 * anything a link lost.
 */
export const SYNC_INTERVAL_MS = 30_000
/** Events read from the store per step of a catch-up stream or a `want` answer. */
const STREAM_BATCH = 500
/** A `want` for the same origin on the same link is not repeated sooner than this. */
const WANT_REPEAT_MS = 2_000
/** `want`s waiting for their answer on one link; past this a `want` is dropped (sync repairs). */
export const MAX_QUEUED_WANTS = 64
/** Origins whose clock skew is remembered for `/health`. */
export const MAX_SKEWED_ORIGINS = 1_000
/** Events of one link in verification at once; at this many the link is not read from. */
export const MAX_EVENTS_IN_CHECK_PER_LINK = 256

/** An event from a peer in verification, and its result once known. */
interface InCheck {
  link: PeerLink
  event: ChatEvent
  check: EventCheck | undefined
}

interface WantedRange {
  origin: string
  from: number
  to: number
}

interface PeerView {
  /** Per origin, the highest seq the peer is known to hold. */
  known: Map<string, number>
  /**
   * The peer's first `sync` came. Until then what it holds is unknown: nothing is forwarded or
   * streamed to it (its sync answer brings it all), rather than its whole history on a guess.
   */
  synced: boolean
  /** A catch-up stream is running for this link. */
  streaming: boolean
  /** `want`s not answered yet, oldest first, and whether they are being answered. */
  wants: WantedRange[]
  answering: boolean
  /** Per origin, when a `want` was last sent on this link. */
  wantedAt: Map<string, number>
}

export interface RelayOptions {
  log: EventLog
  store: Store
  /** This node's clock: a ts too far ahead of it is reported as the origin's skew. */
  clock: HybridClock
  /** Where contained errors and the early-event gauges go. */
  sink: ErrorSink
  /** Counts event frames written to a link (for the mesh-frames-per-message figure). */
  onEventSent: (link: PeerLink, count: number) => void
  /** Whether an event's signatures hold (`checkEvent`), found off the event loop. */
  check: (event: ChatEvent) => Promise<EventCheck>
  /** An event from `link` failed verification and was dropped. */
  onRefused: (link: PeerLink, event: ChatEvent, reason: EventRefusal) => void
  /** The tree's batch and timeouts (`ihaveMaxOrigins`, `meshTimings`). */
  tree: TreeSettings
}

export class Relay {
  readonly #options: RelayOptions
  readonly #views = new Map<PeerLink, PeerView>()
  readonly #early = new EarlyEvents()
  /** Per origin, how far ahead of this node's clock its latest event was, when over the bound. */
  readonly #skewMs = new Map<string, number>()
  readonly #tree: Plumtree<PeerLink>
  /** Events in verification, in the order they came. */
  readonly #inCheck: InCheck[] = []
  /** How many of them each link brought. */
  readonly #inCheckBy = new Map<PeerLink, number>()
  /** The timer of the tree's next batch or graft, and when it fires. */
  #treeTimer: NodeJS.Timeout | undefined
  #treeTimerAt = Infinity
  #closed = false

  constructor(options: RelayOptions) {
    this.#options = options
    this.#tree = new Plumtree(options.tree)
  }

  /** A link came up: tell the peer what this node holds. */
  linkUp(link: PeerLink): void {
    this.#tree.linkUp(link, link.remoteFeatures.has(FEATURE_TREE))
    this.#views.set(link, {
      known: new Map(),
      synced: false,
      streaming: false,
      wants: [],
      answering: false,
      wantedAt: new Map(),
    })
    this.sendSync(link)
  }

  linkDown(link: PeerLink): void {
    this.#views.delete(link)
    this.#tree.linkDown(link)
    this.#lazyChanged()
    this.#early.dropVia(link)
    this.#earlyChanged()
  }

  /** Stops the tree's timer (the mesh is closing). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#treeTimer)
  }

  /** Whether `origin`'s events are pushed on `link` (rather than announced). */
  isEager(link: PeerLink, origin: string): boolean {
    return this.#tree.isEager(link, origin)
  }

  sendSync(link: PeerLink): void {
    link.send(encodeFrame({ type: 'sync', vector: this.#options.store.vector() }))
  }

  /** How far ahead of this node's clock `origin`'s latest event was, when over the bound. */
  skewMs(origin: string): number | undefined {
    return this.#skewMs.get(origin)
  }

  /** Forgets early events kept too long and `want` times that no longer matter. */
  expire(): void {
    this.#early.expire()
    this.#earlyChanged()
    const cutoff = Date.now() - WANT_REPEAT_MS
    for (const view of this.#views.values())
      for (const [origin, at] of view.wantedAt) if (at < cutoff) view.wantedAt.delete(origin)
  }

  /** The peer's vector: stream it everything it lacks. */
  onSync(link: PeerLink, vector: Vector): void {
    const view = this.#views.get(link)
    if (!view) return
    view.known = vectorFromWire(vector)
    view.synced = true
    this.#catchUp(link, view)
  }

  /** The peer asks for seqs [from, to] of an origin: it gets those (the first MAX_WANT_SEQS). */
  onWant(link: PeerLink, frame: PeerFrameOf<'want'>): void {
    const view = this.#views.get(link)
    if (view?.synced) this.#answer(link, view, frame)
  }

  /**
   * The peer lacks seqs [from, to] of an origin that this node announced, and wants that
   * origin's events pushed from now on: it gets those seqs as for `want`, and the link is eager
   * for the origin.
   */
  onGraft(link: PeerLink, frame: PeerFrameOf<'graft'>): void {
    const view = this.#views.get(link)
    if (!view?.synced) return
    this.#tree.grafted(link, frame.origin)
    this.#lazyChanged()
    // The answer goes before any later event of the origin: the peer will hold up to `to`, and
    // the next event is pushed, not streamed again from what it held before.
    const sent = Math.min(frame.to, frame.from + MAX_WANT_SEQS - 1)
    const holds = Math.min(sent, this.#options.log.acceptedSeq(frame.origin))
    if (holds >= frame.from) raiseKnownTo(view, frame.origin, holds)
    this.#answer(link, view, frame)
  }

  /**
   * The peer has an origin's events pushed to it by another link: announce them to it from now
   * on. Only for an origin this node holds: made-up origins would grow the tree's state.
   */
  onPrune(link: PeerLink, frame: PeerFrameOf<'prune'>): void {
    if (this.#options.log.acceptedSeq(frame.origin) === 0) return
    this.#tree.pruned(link, frame.origin)
    this.#lazyChanged()
  }

  /**
   * The peer holds these origins up to these seqs: what it holds is not sent to it, and what
   * this node lacks is grafted if the tree does not bring it soon.
   */
  onIhave(link: PeerLink, frame: PeerFrameOf<'ihave'>): void {
    const view = this.#views.get(link)
    if (!view) return
    const log = this.#options.log
    const own = this.#options.store.nodeId
    const announced = vectorFromWire(frame.vector)
    announced.delete(own) // this node's own events are never lacking
    // Raised only for origins this node holds, as for early events: made-up origins would grow
    // `known` without bound.
    for (const [origin, seq] of announced)
      if (log.acceptedSeq(origin) > 0) raiseKnownTo(view, origin, seq)
    this.#tree.announced(link, announced, (origin) => log.acceptedSeq(origin))
    this.#runTree()
  }

  #answer(link: PeerLink, view: PeerView, range: WantedRange): void {
    if (range.to < range.from || view.wants.length >= MAX_QUEUED_WANTS) return
    const to = Math.min(range.to, range.from + MAX_WANT_SEQS - 1)
    view.wants.push({ origin: range.origin, from: range.from, to })
    void this.#pump(link, view, 'answering', () => this.#answerStep(link, view))
  }

  /**
   * An event from a peer. A duplicate is dropped before anything else (the common case in a
   * mesh, and the cheapest); any other is verified before it is kept, early or not, so that
   * nothing unsigned is stored, relayed or delivered (docs/protocol.md, "Verification and
   * limits"). Verification runs off the event loop (`check`); its results are taken in the
   * order the events came, so each link's events keep their order. A link with
   * MAX_EVENTS_IN_CHECK_PER_LINK events in verification is not read from until they are done.
   */
  onEvent(link: PeerLink, event: ChatEvent): void {
    const view = this.#views.get(link)
    if (!view) return
    const log = this.#options.log
    if (event.seq <= log.acceptedSeq(event.origin)) {
      raiseKnown(view, event)
      this.#duplicateFrom(link, event.origin)
      return
    }
    // Our own events come back only as duplicates: a newer one is a forgery or a reused key.
    if (event.origin === this.#options.store.nodeId) return
    const entry: InCheck = { link, event, check: undefined }
    this.#inCheck.push(entry)
    const count = (this.#inCheckBy.get(link) ?? 0) + 1
    this.#inCheckBy.set(link, count)
    if (count === MAX_EVENTS_IN_CHECK_PER_LINK) link.pauseReading()
    void this.#options.check(event).then((check) => {
      entry.check = check
      contain(this.#options.sink, 'link', 'taking checked events', () => this.#takeChecked())
    })
  }

  /** Takes the verified events at the head of the queue, in the order they came. */
  #takeChecked(): void {
    for (let head = this.#inCheck[0]; head?.check; head = this.#inCheck[0]) {
      this.#inCheck.shift()
      const { link, event, check } = head
      const count = (this.#inCheckBy.get(link) ?? 1) - 1
      if (count === 0) this.#inCheckBy.delete(link)
      else this.#inCheckBy.set(link, count)
      if (count === MAX_EVENTS_IN_CHECK_PER_LINK - 1) link.resumeReading()
      if (!check.ok) this.#options.onRefused(link, event, check.reason)
      else this.#take(link, event)
    }
  }

  /** A verified event from `link` (which may have gone meanwhile). */
  #take(link: PeerLink, event: ChatEvent): void {
    const view = this.#views.get(link)
    const log = this.#options.log
    switch (log.accept(event)) {
      case 'accepted':
        this.#noteSkew(event)
        if (view) {
          raiseKnown(view, event)
          this.#tree.received(link, event.origin, event.seq)
          this.#lazyChanged()
        }
        this.#acceptEarly(event.origin)
        return
      case 'duplicate':
        if (!view) return
        raiseKnown(view, event)
        this.#duplicateFrom(link, event.origin)
        return
      case 'early':
        // Kept only from a link that is up: its hole is asked of that link.
        if (!view) return
        // Counted as held only for an origin this node holds: the early events of made-up
        // origins would grow `known` without bound, and nothing of theirs can be sent anyway.
        if (log.acceptedSeq(event.origin) > 0) raiseKnown(view, event)
        if (!this.#early.keep(event, link)) return // the periodic sync repairs it
        this.#earlyChanged()
        this.#want(link, view, event.origin, log.acceptedSeq(event.origin) + 1, event.seq - 1)
        return
      case 'deferred':
        return // the disk is behind; the periodic sync brings the event again
    }
  }

  /**
   * A copy of one of `origin`'s events held already came over `link`: an eager link for the
   * origin there is one too many.
   */
  #duplicateFrom(link: PeerLink, origin: string): void {
    if (!this.#tree.duplicate(link, origin)) return
    this.#options.sink.logger.debug(
      { peer: link.remote?.id, origin },
      'pruning a link for an origin: a duplicate came over it',
    )
    this.#lazyChanged()
    this.#sendTree(link, { type: 'prune', origin })
  }

  /**
   * Events just committed: push each on the eager links whose peer holds the seq before it, and
   * announce it on the lazy links whose peer does not hold it.
   */
  forward(events: readonly ChatEvent[]): void {
    if (this.#views.size === 0) return
    const sent = new Map<PeerLink, number>()
    for (const event of events) {
      let frame: Buffer | undefined
      for (const [link, view] of this.#views) {
        if (!view.synced) continue
        const known = view.known.get(event.origin) ?? 0
        if (known >= event.seq) continue
        if (!this.#tree.isEager(link, event.origin)) {
          this.#tree.announce(link, event.origin, event.seq)
        } else if (known === event.seq - 1 && !view.streaming) {
          frame ??= eventFrame(event)
          link.send(frame)
          view.known.set(event.origin, event.seq)
          sent.set(link, (sent.get(link) ?? 0) + 1)
        } else {
          this.#catchUp(link, view)
        }
      }
    }
    for (const [link, count] of sent) this.#options.onEventSent(link, count)
    this.#runTree()
  }

  /** Sends what the tree has due (batches, grafts) and sets the timer for what comes next. */
  #runTree(): void {
    if (this.#closed) return
    const log = this.#options.log
    for (const action of this.#tree.due((origin) => log.acceptedSeq(origin))) {
      if (action.type === 'graft') {
        const { origin, from, to } = action
        this.#options.sink.logger.debug(
          { peer: action.link.remote?.id, origin, from, to },
          'announced events did not come along the tree in time: grafting them',
        )
      }
      this.#sendTree(action.link, treeFrame(action))
    }
    const next = this.#tree.nextDue()
    if (next === undefined || next >= this.#treeTimerAt) return
    clearTimeout(this.#treeTimer)
    this.#treeTimerAt = next
    this.#treeTimer = setTimeout(
      () => {
        this.#treeTimerAt = Infinity
        contain(this.#options.sink, 'timer', 'dissemination tree', () => this.#runTree())
      },
      Math.max(0, next - Date.now()),
    )
    this.#treeTimer.unref()
  }

  #sendTree(link: PeerLink, frame: PeerFrameInput & { type: 'ihave' | 'graft' | 'prune' }): void {
    if (frame.type === 'graft') this.#lazyChanged()
    link.send(encodeFrame(frame))
    this.#options.sink.metrics.meshTreeFramesSent.inc({ type: frame.type })
  }

  #lazyChanged(): void {
    this.#options.sink.metrics.lazyRoutes.set(this.#tree.lazyCount)
  }

  #catchUp(link: PeerLink, view: PeerView): void {
    void this.#pump(link, view, 'streaming', () => this.#catchUpStep(link, view))
  }

  /**
   * Runs `step` until it has nothing more to send, each step once the socket has drained, one
   * pump of each kind per link. An error in a step closes the link, never the node.
   */
  async #pump(
    link: PeerLink,
    view: PeerView,
    kind: 'streaming' | 'answering',
    step: () => boolean,
  ): Promise<void> {
    if (view[kind]) return
    view[kind] = true
    try {
      for (;;) {
        await link.drained()
        if (link.state === 'closed' || this.#views.get(link) !== view) return
        const more = contain(this.#options.sink, 'link', `peer ${kind}`, step, () =>
          link.close(`internal error while ${kind}`),
        )
        if (!more) return
      }
    } finally {
      view[kind] = false
    }
  }

  /** Sends a batch of every origin the peer lacks; true when there may be more. */
  #catchUpStep(link: PeerLink, view: PeerView): boolean {
    const store = this.#options.store
    let progressed = false
    for (const [origin, held] of Object.entries(store.vector())) {
      const known = view.known.get(origin) ?? 0
      if (known >= held) continue
      const events = store.range(origin, known + 1, Math.min(held, known + STREAM_BATCH))
      for (const event of events) link.send(eventFrame(event))
      const last = events.at(-1)
      if (last) view.known.set(origin, last.seq)
      this.#options.onEventSent(link, events.length)
      progressed ||= events.length > 0
      if (!link.writable) break
    }
    return progressed
  }

  /** Sends a batch of the oldest `want`'s seqs; true while wants are left. */
  #answerStep(link: PeerLink, view: PeerView): boolean {
    const want = view.wants[0]
    if (!want) return false
    const to = Math.min(want.to, want.from + STREAM_BATCH - 1)
    const events = this.#options.store.range(want.origin, want.from, to)
    for (const event of events) link.send(eventFrame(event))
    this.#options.onEventSent(link, events.length)
    if (to >= want.to) view.wants.shift()
    else want.from = to + 1
    return view.wants.length > 0
  }

  #want(link: PeerLink, view: PeerView, origin: string, from: number, to: number): void {
    const now = Date.now()
    if (now - (view.wantedAt.get(origin) ?? 0) < WANT_REPEAT_MS) return
    view.wantedAt.set(origin, now)
    const frame = {
      type: 'want' as const,
      origin,
      from,
      to: Math.min(to, from + MAX_WANT_SEQS - 1),
    }
    link.send(encodeFrame(frame))
  }

  /** After an origin's next seq was accepted, takes whatever early events now follow it. */
  #acceptEarly(origin: string): void {
    const log = this.#options.log
    for (;;) {
      const next = this.#early.take(origin, log.acceptedSeq(origin) + 1)
      if (!next || log.accept(next) !== 'accepted') break
      this.#noteSkew(next)
    }
    this.#early.dropThrough(origin, log.acceptedSeq(origin))
    this.#earlyChanged()
  }

  /**
   * An accepted event's ts too far ahead of this node's clock did not move the clock (see
   * clock.ts): remember by how much, for `/health`, until the origin's events are in bounds.
   */
  #noteSkew(event: ChatEvent): void {
    const ahead = Math.round(this.#options.clock.aheadMs(event.ts))
    if (ahead <= MAX_CLOCK_AHEAD_MS) {
      this.#skewMs.delete(event.origin)
      return
    }
    if (!this.#skewMs.has(event.origin)) {
      if (this.#skewMs.size >= MAX_SKEWED_ORIGINS) return
      this.#options.sink.logger.warn(
        { origin: event.origin, seq: event.seq, aheadMs: ahead },
        'an event is too far ahead of this node’s clock: stored, but the clock does not follow',
      )
    }
    this.#skewMs.set(event.origin, ahead)
  }

  #earlyChanged(): void {
    const { metrics } = this.#options.sink
    metrics.earlyEvents.set(this.#early.count)
    metrics.earlyEventBytes.set(this.#early.bytes)
  }
}

/** The peer holds `event`, so it holds every seq of its origin below it too. */
function raiseKnown(view: PeerView, event: ChatEvent): void {
  raiseKnownTo(view, event.origin, event.seq)
}

function raiseKnownTo(view: PeerView, origin: string, seq: number): void {
  if ((view.known.get(origin) ?? 0) < seq) view.known.set(origin, seq)
}

function treeFrame(action: TreeAction<PeerLink>): PeerFrameInput & { type: 'ihave' | 'graft' } {
  if (action.type === 'ihave') return { type: 'ihave', vector: vectorToWire(action.vector) }
  const { origin, from, to } = action
  return { type: 'graft', origin, from, to }
}

function eventFrame(event: ChatEvent): Buffer {
  return encodeFrame({ type: 'event', event })
}
