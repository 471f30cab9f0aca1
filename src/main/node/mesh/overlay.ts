/**
 * The bounded overlay: which links this node keeps and which nodes it dials to replace a lost
 * one, in the manner of HyParView (Leitão, Pereira and Rodrigues, "HyParView: a membership
 * protocol for reliable gossip-based broadcast", DSN 2007), with no sockets and no timers
 * (docs/protocol.md, "A bounded overlay").
 *
 * - The active view is the node's links: at most `activeViewSize` of them, except that links
 *   to configured peers are always kept (on top if need be), and so are links the other node
 *   keeps (its configured peer) or needs (its only link).
 * - The passive view is a bounded list of other nodes (`passiveViewSize`) with the address to
 *   dial them at, from their signed node records (and later from discovery). While the active
 *   view has room, the node dials passive nodes, those heard from lately first; one that fails
 *   or refuses waits before it is tried again.
 * - Both ends say, once the link is up and whenever it changes, whether they keep the link
 *   whatever happens and whether it is their only link (`neighbor`). A node over its size
 *   closes the newest link that neither end keeps nor needs, saying `disconnect` first, so the
 *   other end does not take it for a failure and dial it straight back. A request from a node
 *   with no other link is never the one closed (HyParView's high priority).
 *
 * HyParView's join, forward-join and shuffle spread knowledge of nodes through random walks
 * because its nodes know only their views. Here every node already receives every other node's
 * signed record (`nodes` frames reach the whole mesh, at most 1,000 records): the passive view
 * is filled from those, so those walks are not needed for the mesh sizes Palaver is for.
 */
import type { PeerFrameInput } from '../../../shared/peer-protocol.ts'

/** How a dial ended: linked to a node (maybe another than the one expected), or not. */
export type DialOutcome = { linkedTo: string } | { error: string }

/** Default of `activeViewSize`: links a node keeps, configured peers aside. */
export const DEFAULT_ACTIVE_VIEW_SIZE = 5
/** Default of `passiveViewSize`: known nodes kept to replace a lost link (0: none). */
export const DEFAULT_PASSIVE_VIEW_SIZE = 30
/** A node that closed a link for want of room, or whose link this node closed, rests this long. */
export const OVERLAY_REFUSED_REST_MS = 60_000
/** A node whose dial failed rests this long, doubled at each failure in a row up to the cap. */
export const OVERLAY_FAILED_REST_MS = 1_000
export const OVERLAY_FAILED_REST_MAX_MS = 60_000
/** Dials of passive nodes under way at once. */
export const MAX_OVERLAY_DIALS = 2

export type OverlayFrame = PeerFrameInput & { type: 'neighbor' | 'disconnect' }

interface Neighbor<L> {
  link: L
  /** Where to dial the node, when known: it goes back to the passive view with it. */
  addr: string | undefined
  /** The peer speaks `overlay`: it says whether it keeps or needs the link, and hears why not. */
  speaks: boolean
  /**
   * Whether the peer keeps or needs this link: from its last `neighbor` (undefined until one
   * comes), or, for a peer that does not speak `overlay`, whether it opened the link (an older
   * node dials only its configured peers, and dials them again).
   */
  theyHold: boolean | undefined
  /** What this node last told the peer, as `keep` and `priority`. */
  told: string | undefined
  /** This node closes the link (for want of room), or the peer said `disconnect`. */
  parting: boolean
  /** When the link came up, in order: the newest is closed first. */
  order: number
}

interface Known {
  addr: string
  /** Dials in a row that failed. */
  failures: number
  /** Not dialled before this time. */
  restUntil: number
}

export interface OverlayOptions<L> {
  activeViewSize: number
  passiveViewSize: number
  /** This node's id (never in its own views). */
  ownId: string
  /** Whether `id` is a configured peer of this node (its link is kept whatever happens). */
  isConfigured: (id: string) => boolean
  /** Whether `id` was removed from this node's peers: it is neither kept nor dialled. */
  isExcluded: (id: string) => boolean
  /** Whether `id` was heard from lately (its presence is held): such nodes are dialled first. */
  isUp: (id: string) => boolean
  /** Dials `addr` once, then `onEnd` says how it ended. False when no dial can start now. */
  dial: (addr: string, onEnd: (outcome: DialOutcome) => void) => boolean
  send: (link: L, frame: OverlayFrame) => void
  close: (link: L, reason: string) => void
  /** The passive view's size changed (for the metric). */
  onPassiveChanged?: (size: number) => void
  now?: () => number
  random?: () => number
}

export class Overlay<L> {
  readonly #options: OverlayOptions<L>
  readonly #now: () => number
  readonly #random: () => number
  readonly #active = new Map<string, Neighbor<L>>()
  readonly #passive = new Map<string, Known>()
  /** Passive nodes being dialled, by id. */
  readonly #dialing = new Set<string>()
  #order = 0
  #maintaining = false

  constructor(options: OverlayOptions<L>) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
  }

  /** The address node `id` is known at (active or passive view), if any. */
  addrOf(id: string): string | undefined {
    return this.#active.get(id)?.addr ?? this.#passive.get(id)?.addr
  }

  /** Forgets node `id` from the passive view (it was removed from the peers). */
  forget(id: string): void {
    if (this.#passive.delete(id)) this.#passiveChanged()
  }

  /** The ids of the passive view (for tests and maps). */
  passiveIds(): string[] {
    return [...this.#passive.keys()]
  }

  /**
   * A node and the address to dial it at, from its signed record (or discovery). Kept in the
   * passive view unless it is linked, configured or this node; a full view makes room by
   * forgetting the node that failed most, else one at random.
   */
  learn(id: string, addr: string): void {
    const { ownId, isConfigured, isExcluded } = this.#options
    if (addr === '' || id === ownId || isConfigured(id) || isExcluded(id)) return
    const neighbor = this.#active.get(id)
    if (neighbor) {
      neighbor.addr = addr
      return
    }
    const known = this.#passive.get(id)
    if (known) {
      if (known.addr !== addr) Object.assign(known, { addr, failures: 0, restUntil: 0 })
      return
    }
    this.#keep(id, { addr, failures: 0, restUntil: 0 })
    this.maintain()
  }

  /** A link to `id` came up (or replaced the one held). */
  linkUp(id: string, link: L, how: { speaks: boolean; openedHere: boolean }): void {
    this.#active.set(id, {
      link,
      addr: this.#passive.get(id)?.addr ?? this.#active.get(id)?.addr,
      speaks: how.speaks,
      theyHold: how.speaks ? undefined : !how.openedHere,
      told: undefined,
      parting: false,
      order: this.#order++,
    })
    if (this.#passive.delete(id)) this.#passiveChanged()
    this.maintain()
  }

  /**
   * The link to `id` is gone. The node goes back to the passive view: resting a while if the
   * link was closed for want of room (at either end), else as a failure.
   */
  linkDown(id: string, link: L): void {
    const neighbor = this.#active.get(id)
    if (neighbor?.link !== link) return
    this.#active.delete(id)
    const { isConfigured, isExcluded } = this.#options
    if (neighbor.addr !== undefined && !isConfigured(id) && !isExcluded(id)) {
      const known: Known = { addr: neighbor.addr, failures: 0, restUntil: 0 }
      if (neighbor.parting) known.restUntil = this.#now() + OVERLAY_REFUSED_REST_MS
      else this.#failed(known)
      this.#keep(id, known)
    }
    this.maintain()
  }

  /** The peer's `neighbor`: whether it keeps or needs the link. */
  onNeighbor(id: string, link: L, frame: { keep: boolean; priority: 'high' | 'low' }): void {
    const neighbor = this.#active.get(id)
    if (neighbor?.link !== link) return
    neighbor.theyHold = frame.keep || frame.priority === 'high'
    this.maintain()
  }

  /** The peer's `disconnect`: it closes the link for want of room. */
  onDisconnect(id: string, link: L): void {
    const neighbor = this.#active.get(id)
    if (neighbor?.link === link) neighbor.parting = true
  }

  /** The dial of passive node `id` ended. */
  #dialEnded(id: string, outcome: DialOutcome): void {
    this.#dialing.delete(id)
    const known = this.#passive.get(id)
    if ('error' in outcome) {
      if (known) this.#failed(known)
    } else if (outcome.linkedTo !== id && this.#passive.delete(id)) {
      this.#passiveChanged() // another node answers at that address now
    }
    this.maintain()
  }

  /**
   * Brings the views back within their bounds: tells each peer what changed of this node's
   * stance, closes the links past `activeViewSize` that neither end holds (newest first), and
   * dials passive nodes while the active view has room. Safe to call at any time (the mesh calls
   * it every second, so that rests that are over are seen).
   */
  maintain(): void {
    if (this.#maintaining) return // a link closed below comes back here
    this.#maintaining = true
    try {
      this.#tell()
      this.#trim()
      this.#fill()
    } finally {
      this.#maintaining = false
    }
  }

  /** Sends `neighbor` to each peer that speaks `overlay` whose view of this node changed. */
  #tell(): void {
    const only = this.#active.size === 1
    for (const [id, neighbor] of this.#active) {
      if (!neighbor.speaks) continue
      const keep = this.#options.isConfigured(id)
      const priority = only ? 'high' : 'low'
      const told = `${keep} ${priority}`
      if (neighbor.told === told) continue
      neighbor.told = told
      this.#options.send(neighbor.link, { type: 'neighbor', keep, priority })
    }
  }

  /**
   * Closes the newest links past `activeViewSize` that neither end holds. A newer link whose
   * peer has not said yet whether it holds it stands in the line too: nothing older is closed in
   * its place before its `neighbor` comes (it is most often the one to go).
   */
  #trim(): void {
    const { activeViewSize, isConfigured } = this.#options
    const excess = this.#active.size - activeViewSize
    if (excess <= 0) return
    const line = [...this.#active]
      .filter(([id, n]) => !n.parting && n.theyHold !== true && !isConfigured(id))
      .sort(([, a], [, b]) => b.order - a.order)
      .slice(0, excess)
    for (const [, neighbor] of line) {
      if (neighbor.theyHold === undefined) continue
      neighbor.parting = true
      if (neighbor.speaks) this.#options.send(neighbor.link, { type: 'disconnect' })
      this.#options.close(neighbor.link, 'overlay: active view full')
    }
  }

  #fill(): void {
    const { activeViewSize } = this.#options
    while (
      this.#active.size + this.#dialing.size < activeViewSize &&
      this.#dialing.size < MAX_OVERLAY_DIALS
    ) {
      const next = this.#pick()
      if (!next) return
      const [id, known] = next
      if (!this.#options.dial(known.addr, (outcome) => this.#dialEnded(id, outcome))) return
      this.#dialing.add(id)
    }
  }

  /** A passive node to dial: not resting nor being dialled, one heard from lately if any. */
  #pick(): [string, Known] | undefined {
    const now = this.#now()
    const ready = [...this.#passive].filter(
      ([id, known]) =>
        known.restUntil <= now && !this.#dialing.has(id) && !this.#options.isConfigured(id),
    )
    const up = ready.filter(([id]) => this.#options.isUp(id))
    const from = up.length > 0 ? up : ready
    return from[Math.floor(this.#random() * from.length)]
  }

  #failed(known: Known): void {
    known.failures++
    const rest = OVERLAY_FAILED_REST_MS * 2 ** Math.min(known.failures - 1, 16)
    known.restUntil = this.#now() + Math.min(OVERLAY_FAILED_REST_MAX_MS, rest)
  }

  /** Puts `id` in the passive view, making room if it is full; not when its size is 0. */
  #keep(id: string, known: Known): void {
    const size = this.#options.passiveViewSize
    if (size === 0) return
    if (!this.#passive.has(id) && this.#passive.size >= size) this.#forgetOne()
    this.#passive.set(id, known)
    this.#passiveChanged()
  }

  /** Forgets the passive node that failed most in a row, else one at random. */
  #forgetOne(): void {
    const entries = [...this.#passive]
    const worst = entries.reduce<[string, Known] | undefined>(
      (w, e) => (e[1].failures > (w?.[1].failures ?? 0) ? e : w),
      undefined,
    )
    const victim = worst ?? entries[Math.floor(this.#random() * entries.length)]
    if (victim) this.#passive.delete(victim[0])
  }

  #passiveChanged(): void {
    this.#options.onPassiveChanged?.(this.#passive.size)
  }
}
