/**
 * Chat events across the mesh (docs/protocol.md, "Loop prevention and relaying").
 *
 * For each link the relay keeps what the peer is known to hold: its last `sync` vector, raised
 * by every event sent to it or received from it. A committed event goes to each peer that holds
 * exactly the seq before it; a peer further behind is caught up by streaming from the store,
 * paced by the socket's drain. An event is accepted only as its origin's next seq: a duplicate
 * is dropped and never forwarded (no loops in any topology), an early one is kept aside and its
 * hole asked for with `want`.
 */
import type { PeerFrameOf, WireEvent } from '../../../shared/peer-protocol.ts'
import type { Vector } from '../../../shared/protocol.ts'
import type { EventLog } from '../event-log.ts'
import type { Logger } from '../logger.ts'
import type { ChatEvent, Store } from '../store.ts'
import { encodeFrame } from './framing.ts'
import type { PeerLink } from './link.ts'

/** Early events kept aside, across all origins; past this they are dropped (sync repairs). */
export const MAX_EARLY_EVENTS = 10_000
/** Events read from the store per step of a catch-up stream. */
const CATCH_UP_BATCH = 500
/** A `want` for the same origin on the same link is not repeated sooner than this. */
const WANT_REPEAT_MS = 2_000
/** The largest range one `want` may ask for. */
const MAX_WANT_RANGE = 100_000

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
  /** Per origin, when a `want` was last sent on this link. */
  wantedAt: Map<string, number>
}

export interface RelayOptions {
  log: EventLog
  store: Store
  logger: Logger
  /** Counts event frames written to a link (for the mesh-frames-per-message figure). */
  onEventSent: (link: PeerLink, count: number) => void
}

export class Relay {
  readonly #options: RelayOptions
  readonly #views = new Map<PeerLink, PeerView>()
  readonly #early = new Map<string, Map<number, ChatEvent>>()
  #earlyCount = 0

  constructor(options: RelayOptions) {
    this.#options = options
  }

  /** A link came up: tell the peer what this node holds. */
  linkUp(link: PeerLink): void {
    this.#views.set(link, {
      known: new Map(),
      synced: false,
      streaming: false,
      wantedAt: new Map(),
    })
    this.sendSync(link)
  }

  linkDown(link: PeerLink): void {
    this.#views.delete(link)
  }

  sendSync(link: PeerLink): void {
    link.send(encodeFrame({ type: 'sync', vector: this.#options.store.vector() }))
  }

  /** The peer's vector: stream it everything it lacks. */
  onSync(link: PeerLink, vector: Vector): void {
    const view = this.#views.get(link)
    if (!view) return
    view.known = new Map(Object.entries(vector))
    view.synced = true
    void this.#catchUp(link, view)
  }

  /** The peer asks for seqs [from, to] of an origin. */
  onWant(link: PeerLink, frame: PeerFrameOf<'want'>): void {
    const view = this.#views.get(link)
    if (!view?.synced || frame.to < frame.from || frame.to - frame.from > MAX_WANT_RANGE) return
    const known = view.known.get(frame.origin) ?? 0
    view.known.set(frame.origin, Math.min(known, frame.from - 1))
    void this.#catchUp(link, view)
  }

  onEvent(link: PeerLink, wire: WireEvent): void {
    const view = this.#views.get(link)
    if (!view) return
    const event: ChatEvent = {
      origin: wire.origin,
      seq: wire.seq,
      ts: wire.ts,
      room: wire.room,
      user: { id: wire.user.id, name: wire.user.name },
      text: wire.text,
      cid: wire.cid,
    }
    // The peer holds this event, so it holds every seq below it too.
    if ((view.known.get(event.origin) ?? 0) < event.seq) view.known.set(event.origin, event.seq)
    // Our own events come back only as duplicates; a higher one would mean a reused id.
    if (event.origin === this.#options.store.nodeId) return

    const log = this.#options.log
    switch (log.accept(event)) {
      case 'accepted':
        this.#acceptEarly(event.origin)
        return
      case 'duplicate':
        return
      case 'early':
        this.#keepEarly(event)
        this.#want(link, view, event.origin, log.acceptedSeq(event.origin) + 1, event.seq - 1)
    }
  }

  /** Events just committed: forward each to the peers that hold the seq before it. */
  forward(events: readonly ChatEvent[]): void {
    if (this.#views.size === 0) return
    const sent = new Map<PeerLink, number>()
    for (const event of events) {
      let frame: Buffer | undefined
      for (const [link, view] of this.#views) {
        if (!view.synced) continue
        const known = view.known.get(event.origin) ?? 0
        if (known >= event.seq) continue
        if (known === event.seq - 1 && !view.streaming) {
          frame ??= eventFrame(event)
          link.send(frame)
          view.known.set(event.origin, event.seq)
          sent.set(link, (sent.get(link) ?? 0) + 1)
        } else {
          void this.#catchUp(link, view)
        }
      }
    }
    for (const [link, count] of sent) this.#options.onEventSent(link, count)
  }

  /** Streams from the store every committed event the peer lacks, paced by the socket. */
  async #catchUp(link: PeerLink, view: PeerView): Promise<void> {
    if (view.streaming) return
    view.streaming = true
    const store = this.#options.store
    try {
      for (;;) {
        let progressed = false
        for (const [origin, held] of Object.entries(store.vector())) {
          const known = view.known.get(origin) ?? 0
          if (known >= held) continue
          const events = store.range(origin, known + 1, Math.min(held, known + CATCH_UP_BATCH))
          for (const event of events) link.send(eventFrame(event))
          const last = events.at(-1)
          if (last) view.known.set(origin, last.seq)
          this.#options.onEventSent(link, events.length)
          progressed ||= events.length > 0
          if (!link.writable) break
        }
        if (!progressed || link.state === 'closed' || this.#views.get(link) !== view) return
        await link.drained()
      }
    } finally {
      view.streaming = false
    }
  }

  #want(link: PeerLink, view: PeerView, origin: string, from: number, to: number): void {
    const now = Date.now()
    if (now - (view.wantedAt.get(origin) ?? 0) < WANT_REPEAT_MS) return
    view.wantedAt.set(origin, now)
    link.send(encodeFrame({ type: 'want', origin, from, to: Math.min(to, from + MAX_WANT_RANGE) }))
  }

  #keepEarly(event: ChatEvent): void {
    let byOrigin = this.#early.get(event.origin)
    if (byOrigin?.has(event.seq)) return
    if (this.#earlyCount >= MAX_EARLY_EVENTS) return
    if (!byOrigin) this.#early.set(event.origin, (byOrigin = new Map()))
    byOrigin.set(event.seq, event)
    this.#earlyCount++
  }

  /** After an origin's next seq was accepted, takes whatever early events now follow it. */
  #acceptEarly(origin: string): void {
    const byOrigin = this.#early.get(origin)
    if (!byOrigin) return
    const log = this.#options.log
    for (;;) {
      const next = byOrigin.get(log.acceptedSeq(origin) + 1)
      if (!next || log.accept(next) !== 'accepted') break
    }
    const held = log.acceptedSeq(origin)
    for (const seq of byOrigin.keys()) {
      if (seq <= held) {
        byOrigin.delete(seq)
        this.#earlyCount--
      }
    }
    if (byOrigin.size === 0) this.#early.delete(origin)
  }
}

function eventFrame(event: ChatEvent): Buffer {
  return encodeFrame({ type: 'event', event: { kind: 'message', ...event } })
}
