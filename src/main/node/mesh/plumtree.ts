/**
 * Dissemination along a tree: the state of Plumtree (Leitão, Pereira and Rodrigues, "Epidemic
 * Broadcast Trees", SRDS 2007) for the relay, with no sockets and no timers (docs/protocol.md,
 * "Dissemination along a tree").
 *
 * Each link is eager (events are pushed on it) or lazy (only announced, in batched `ihave`
 * frames). Every link starts eager; a duplicate that comes over an eager link makes it lazy at
 * both ends (`prune`), so the eager links settle into a spanning tree and each event crosses
 * about one link per node. An event announced by a lazy link that has not come by the tree
 * within `graftTimeoutMs` is asked of its announcer with `graft`, which also makes that link
 * eager again: the tree repairs itself where a node or link went away.
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
 * is grafted from its announcer (and from the next announcer after as long again).
 */
export const GRAFT_TIMEOUT_MS = 500
/** Default of `ihaveMaxOrigins`: origins one `ihave` names; a fuller batch goes out at once. */
export const DEFAULT_IHAVE_MAX_ORIGINS = 256
/** Origins whose announced events are awaited at once; announcements of more are ignored. */
export const MAX_MISSING_ORIGINS = 1_000
/** Links remembered per awaited origin, to graft from in turn. */
export const MAX_ANNOUNCERS = 4

export interface TreeSettings {
  ihaveIntervalMs: number
  graftTimeoutMs: number
  /** Origins per `ihave` frame (at most MAX_IHAVE_ORIGINS). */
  ihaveMaxOrigins: number
}

interface TreeLink {
  /** The peer speaks `tree`: only then can the link be lazy. */
  speaks: boolean
  eager: boolean
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

  constructor(settings: TreeSettings, now: () => number = Date.now) {
    this.#settings = settings
    this.#now = now
  }

  /** A link came up: eager, as every link starts. */
  linkUp(link: L, speaks: boolean): void {
    this.#links.set(link, { speaks, eager: true, batch: new Map(), flushAt: Infinity })
  }

  linkDown(link: L): void {
    this.#links.delete(link)
    for (const [origin, awaited] of this.#awaited) {
      awaited.announcers = awaited.announcers.filter((l) => l !== link)
      if (awaited.announcers.length === 0) this.#awaited.delete(origin)
    }
  }

  /** Whether events are pushed on `link` (an unknown link counts as eager: it is never lazy). */
  isEager(link: L): boolean {
    return this.#links.get(link)?.eager ?? true
  }

  /** Whether `link`'s peer speaks `tree`. */
  speaks(link: L): boolean {
    return this.#links.get(link)?.speaks ?? false
  }

  /** How many links are eager now. */
  get eagerCount(): number {
    let count = 0
    for (const state of this.#links.values()) if (state.eager) count++
    return count
  }

  /**
   * A copy of an event held already came over `link`. True when the link was eager and can be
   * lazy: it is lazy now, and the relay sends `prune`.
   */
  duplicate(link: L): boolean {
    const state = this.#links.get(link)
    if (!state?.speaks || !state.eager) return false
    state.eager = false
    return true
  }

  /** A new event (`origin`, `seq`) came over `link`: the link is on the tree, eager. */
  received(link: L, origin: string, seq: number): void {
    const state = this.#links.get(link)
    if (state) state.eager = true
    const awaited = this.#awaited.get(origin)
    if (awaited && awaited.seq <= seq) this.#awaited.delete(origin)
  }

  /** The peer sent `prune`: announce to it from now on. */
  pruned(link: L): void {
    const state = this.#links.get(link)
    if (state?.speaks) state.eager = false
  }

  /** The peer sent `graft`: push to it from now on. */
  grafted(link: L): void {
    const state = this.#links.get(link)
    if (state) state.eager = true
  }

  /** Announces `origin` up to `seq` on lazy `link`, in its next batch. */
  announce(link: L, origin: string, seq: number): void {
    const state = this.#links.get(link)
    if (!state || state.eager) return
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
   * lacking (each from its next announcer, which becomes eager). `held` says what this node
   * holds of an origin.
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
      this.grafted(link)
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
