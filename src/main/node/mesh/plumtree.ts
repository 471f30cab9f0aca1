/**
 * Dissemination along a tree: the state of Plumtree (Leitão, Pereira and Rodrigues, "Epidemic
 * Broadcast Trees", SRDS 2007) for the relay, with no sockets and no timers (docs/protocol.md,
 * "Dissemination along a tree").
 *
 * There is one tree per origin (as riak_core's broadcast keeps one per root): for each origin,
 * each link is eager (the origin's events are pushed on it) or lazy (they are only announced,
 * in batched `ihave` frames). Every link starts eager for every origin; a duplicate of an
 * origin's event that comes over an eager link makes the link lazy for that origin at both ends
 * (`prune`), so each origin's eager links settle into a spanning tree rooted at it, along the
 * paths its events came fastest, and each event crosses about one link per node. One tree
 * shared by all origins would not settle while several nodes write at once: a duplicate of one
 * origin's event cuts a link another origin's events needed, and grafts and prunes go on for as
 * long as the writing does. An event announced by a lazy link that has not come by the tree
 * within `graftTimeoutMs` is asked of its announcer with `graft`, which also makes the link
 * eager again for that origin: the tree repairs itself where a node or link went away.
 *
 * Announcements name, per origin, the highest seq the sender holds: a node holds each origin's
 * events with no gap below (the relay's in-order rule), so "origin up to seq" names every event
 * id below it at once, and a batch is bounded by origins, not events.
 *
 * A peer that does not speak `tree` (an older node) is eager forever and is sent none of these
 * frames. Nothing here decides what a node holds: the relay's per-origin seq check keeps loops
 * out, and the periodic `sync` stays the backstop for anything an announcement or graft lost.
 */
import { MAX_WANT_SEQS } from '../../../shared/peer-protocol.ts'

/** Default of `meshTimings.ihaveIntervalMs`: announcements to a lazy link wait at most this. */
export const IHAVE_INTERVAL_MS = 100
/**
 * Default of `meshTimings.graftTimeoutMs`: an announced event not come by the tree within this
 * is grafted from its announcer (and from the next announcer after as long again). Far above a
 * LAN's delivery time along a tree, so that a slow path is not taken for a broken one (each
 * graft costs an event sent twice and a prune); a broken path costs this much delay once.
 */
export const GRAFT_TIMEOUT_MS = 1_000
/** Default of `ihaveMaxOrigins`: origins one `ihave` names; a fuller batch goes out at once. */
export const DEFAULT_IHAVE_MAX_ORIGINS = 256
/** Origins whose announced events are awaited at once; announcements of more are ignored. */
export const MAX_MISSING_ORIGINS = 1_000
/** Links remembered per awaited origin, to graft from in turn. */
export const MAX_ANNOUNCERS = 4
/**
 * Origins for which one link is lazy. A link lazy for this many origins is eager for the others
 * (they are pushed: more frames, never fewer events).
 */
export const MAX_LAZY_ORIGINS_PER_LINK = 4_096
/**
 * Duplicates of one origin's events in a row, with no first copy between them, that make an
 * eager link lazy. One, as in the paper, prunes on a race: while several of an origin's events
 * are in flight, which link brings each first changes from one event to the next, and a node
 * that prunes the link that was first for one event and the link that was first for the next
 * is off the tree until a graft.
 */
export const DUPLICATES_TO_PRUNE = 2

export interface TreeSettings {
  ihaveIntervalMs: number
  graftTimeoutMs: number
  /** Origins per `ihave` frame (at most MAX_IHAVE_ORIGINS). */
  ihaveMaxOrigins: number
}

interface TreeLink {
  /** The peer speaks `tree`: only then can the link be lazy. */
  speaks: boolean
  /** The origins whose events are announced on this link rather than pushed. */
  lazy: Set<string>
  /** Per origin, the duplicates in a row that came over this link (while eager). */
  duplicates: Map<string, number>
  /** Announcements not sent yet: per origin, the highest seq. */
  batch: Map<string, number>
  /** When the batch goes out. */
  flushAt: number
}

interface Awaited<L> {
  /** The highest seq announced. */
  seq: number
  /** Who announced it, to graft from in turn, first heard first. */
  announcers: L[]
  /** When to graft from the next announcer. */
  graftAt: number
}

/** What the relay must send now. */
export type TreeAction<L> =
  | { type: 'ihave'; link: L; vector: Map<string, number> }
  | { type: 'graft'; link: L; origin: string; from: number; to: number }

export class Plumtree<L> {
  readonly #settings: TreeSettings
  readonly #now: () => number
  readonly #links = new Map<L, TreeLink>()
  readonly #awaited = new Map<string, Awaited<L>>()
  /** Per origin, the link its latest new event came over first. */
  readonly #firstFrom = new Map<string, L>()

  constructor(settings: TreeSettings, now: () => number = Date.now) {
    this.#settings = settings
    this.#now = now
  }

  /** A link came up: eager for every origin, as every link starts. */
  linkUp(link: L, speaks: boolean): void {
    this.#links.set(link, {
      speaks,
      lazy: new Set(),
      duplicates: new Map(),
      batch: new Map(),
      flushAt: Infinity,
    })
  }

  linkDown(link: L): void {
    this.#links.delete(link)
    for (const [origin, first] of this.#firstFrom)
      if (first === link) this.#firstFrom.delete(origin)
    for (const [origin, awaited] of this.#awaited) {
      awaited.announcers = awaited.announcers.filter((l) => l !== link)
      if (awaited.announcers.length === 0) this.#awaited.delete(origin)
    }
  }

  /** Whether `origin`'s events are pushed on `link` (always, on a link the tree does not know). */
  isEager(link: L, origin: string): boolean {
    return !this.#links.get(link)?.lazy.has(origin)
  }

  /** Whether `link`'s peer speaks `tree`. */
  speaks(link: L): boolean {
    return this.#links.get(link)?.speaks ?? false
  }

  /** (link, origin) pairs that are lazy now. */
  get lazyCount(): number {
    let count = 0
    for (const state of this.#links.values()) count += state.lazy.size
    return count
  }

  /**
   * A copy of one of `origin`'s events held already came over `link`. True when the link was
   * eager for the origin and can be lazy: it is lazy now, and the relay sends `prune`. That is
   * at the DUPLICATES_TO_PRUNE-th duplicate in a row from the link.
   *
   * A duplicate does not count when its first copy came over this same link (a catch-up stream
   * sending again what the tree pushed), nor when it came over a link that is lazy for the
   * origin (a push sent before that link heard of its prune, or a catch-up stream): then no
   * other eager link brought it, and this one is the origin's path here.
   */
  duplicate(link: L, origin: string): boolean {
    const state = this.#links.get(link)
    if (!state?.speaks || state.lazy.has(origin)) return false
    const first = this.#firstFrom.get(origin)
    if (first !== undefined && (first === link || !this.isEager(first, origin))) return false
    const inARow = (state.duplicates.get(origin) ?? 0) + 1
    if (inARow < DUPLICATES_TO_PRUNE) {
      state.duplicates.set(origin, inARow)
      return false
    }
    return this.#makeLazy(state, origin)
  }

  /**
   * A new event (`origin`, `seq`) came over `link`: its duplicates in a row start again from
   * none. The link stays eager or lazy: a lazy link brings a new event when this node grafted
   * it (eager already), or in a catch-up stream, which says nothing of the tree.
   */
  received(link: L, origin: string, seq: number): void {
    this.#firstFrom.set(origin, link)
    this.#links.get(link)?.duplicates.delete(origin)
    const awaited = this.#awaited.get(origin)
    if (awaited && awaited.seq <= seq) this.#awaited.delete(origin)
  }

  /** The peer sent `prune` for `origin`: announce that origin's events to it from now on. */
  pruned(link: L, origin: string): void {
    const state = this.#links.get(link)
    if (state?.speaks) this.#makeLazy(state, origin)
  }

  /** The peer sent `graft` for `origin` (or this node did): push its events from now on. */
  grafted(link: L, origin: string): void {
    this.#links.get(link)?.lazy.delete(origin)
  }

  #makeLazy(state: TreeLink, origin: string): boolean {
    state.duplicates.delete(origin)
    if (state.lazy.size >= MAX_LAZY_ORIGINS_PER_LINK) return false
    state.lazy.add(origin)
    return true
  }

  /** Announces `origin` up to `seq` on lazy `link`, in its next batch. */
  announce(link: L, origin: string, seq: number): void {
    const state = this.#links.get(link)
    if (!state?.lazy.has(origin)) return
    if ((state.batch.get(origin) ?? 0) >= seq) return
    if (state.batch.size === 0) state.flushAt = this.#now() + this.#settings.ihaveIntervalMs
    state.batch.set(origin, seq)
    if (state.batch.size >= this.#settings.ihaveMaxOrigins) state.flushAt = this.#now()
  }

  /**
   * `link` announced that it holds these origins up to these seqs. What this node lacks
   * (`held` says what it holds) is awaited: grafted after `graftTimeoutMs` if the tree has not
   * brought it by then. Bounded: MAX_MISSING_ORIGINS origins, MAX_ANNOUNCERS links each.
   */
  announced(
    link: L,
    vector: Iterable<readonly [string, number]>,
    held: (origin: string) => number,
  ): void {
    if (!this.#links.has(link)) return
    for (const [origin, seq] of vector) {
      if (seq <= held(origin)) continue
      const awaited = this.#awaited.get(origin)
      if (!awaited) {
        if (this.#awaited.size >= MAX_MISSING_ORIGINS) continue
        const graftAt = this.#now() + this.#settings.graftTimeoutMs
        this.#awaited.set(origin, { seq, announcers: [link], graftAt })
        continue
      }
      awaited.seq = Math.max(awaited.seq, seq)
      if (!awaited.announcers.includes(link) && awaited.announcers.length < MAX_ANNOUNCERS)
        awaited.announcers.push(link)
    }
  }

  /**
   * What is due now: batches whose time came, and grafts of what was announced and is still
   * lacking (each from its next announcer, which becomes eager for that origin). `held` says
   * what this node holds of an origin.
   */
  due(held: (origin: string) => number): TreeAction<L>[] {
    const now = this.#now()
    const actions: TreeAction<L>[] = []
    for (const [link, state] of this.#links) {
      if (state.flushAt > now) continue
      if (state.batch.size > 0) actions.push({ type: 'ihave', link, vector: state.batch })
      state.batch = new Map()
      state.flushAt = Infinity
    }
    for (const [origin, awaited] of this.#awaited) {
      const from = held(origin) + 1
      if (from > awaited.seq) {
        this.#awaited.delete(origin)
        continue
      }
      if (awaited.graftAt > now) continue
      const link = awaited.announcers.shift()
      if (link === undefined) {
        this.#awaited.delete(origin) // every announcer was asked: the periodic sync repairs
        continue
      }
      this.grafted(link, origin)
      const to = Math.min(awaited.seq, from + MAX_WANT_SEQS - 1)
      actions.push({ type: 'graft', link, origin, from, to })
      awaited.graftAt = now + this.#settings.graftTimeoutMs
    }
    return actions
  }

  /** When something is due next (a `Date.now()` time), or undefined when nothing waits. */
  nextDue(): number | undefined {
    let next = Infinity
    for (const state of this.#links.values()) next = Math.min(next, state.flushAt)
    for (const awaited of this.#awaited.values()) next = Math.min(next, awaited.graftAt)
    return next === Infinity ? undefined : next
  }
}
