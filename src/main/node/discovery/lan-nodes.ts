/**
 * The nodes heard on the LAN (announcements and mDNS), bounded and forgotten when they fall
 * silent, and the per-source rate limit every datagram passes first. Hostile datagrams can
 * neither grow this table past its bound nor make the node do more than a bounded amount of
 * work per sender.
 */
import type { DiscoverySource } from '../../../shared/discovery-status.ts'
import { RateLimiter } from '../rate-limiter.ts'

/** Nodes kept; a new one past this pushes out the one heard longest ago. */
export const MAX_LAN_NODES = 256
/** Addresses kept per node (IPv4 and IPv6 on a few interfaces); the oldest goes first. */
export const MAX_ADDRS_PER_LAN_NODE = 4
/**
 * Datagrams one source address may have handled per second on average, and in one burst. A
 * node sends per interface two announcements (broadcast, multicast) and one mDNS question per
 * announcement interval, and at most one mDNS answer a second: 4 a second at a 1 s interval.
 * Past this, datagrams from that source are dropped unread.
 */
export const DATAGRAMS_PER_SECOND_PER_SOURCE = 10
export const DATAGRAM_BURST_PER_SOURCE = 20
/** Sources whose rate is tracked; the one seen longest ago is forgotten first. */
export const MAX_RATE_LIMITED_SOURCES = 1_024

/** What one datagram said about a node. */
export interface Heard {
  id: string
  meshHash: string
  /** `host:port` of its peer port. */
  addr: string
  source: Extract<DiscoverySource, 'announce' | 'mdns'>
  instance?: string
}

export interface LanNode {
  id: string
  meshHash: string
  instance: string | undefined
  /** Addresses, oldest first, each with when it was last heard. */
  addrs: Map<string, number>
  /** When each source last told of the node. */
  sources: Map<Heard['source'], number>
  heardAt: number
}

export interface LanNodesOptions {
  /** A node not heard of for this long is forgotten. */
  ttlMs: number
  now?: () => number
}

export class LanNodes {
  /** By node id, the one heard longest ago first. */
  readonly #nodes = new Map<string, LanNode>()
  readonly #ttlMs: number
  readonly #now: () => number

  constructor(options: LanNodesOptions) {
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? Date.now
  }

  get size(): number {
    return this.#nodes.size
  }

  /** Takes in what a datagram said; a node that restarted (new instance) loses its old addresses. */
  heard(heard: Heard): void {
    const now = this.#now()
    let node = this.#nodes.get(heard.id)
    if (node && node.meshHash !== heard.meshHash) node = undefined // it moved to another mesh
    if (node && heard.instance !== undefined && node.instance !== heard.instance) {
      if (node.instance !== undefined) node.addrs.clear()
      node.instance = heard.instance
    }
    node ??= {
      id: heard.id,
      meshHash: heard.meshHash,
      instance: heard.instance,
      addrs: new Map(),
      sources: new Map(),
      heardAt: now,
    }
    node.addrs.delete(heard.addr) // re-inserted last: heard most recently
    node.addrs.set(heard.addr, now)
    for (const addr of node.addrs.keys()) {
      if (node.addrs.size <= MAX_ADDRS_PER_LAN_NODE) break
      node.addrs.delete(addr)
    }
    node.sources.set(heard.source, now)
    node.heardAt = now
    this.#nodes.delete(heard.id)
    this.#nodes.set(heard.id, node)
    for (const id of this.#nodes.keys()) {
      if (this.#nodes.size <= MAX_LAN_NODES) break
      this.#nodes.delete(id)
    }
  }

  /** Forgets nodes, addresses and sources not heard of within the TTL. */
  expire(): void {
    const cutoff = this.#now() - this.#ttlMs
    for (const [id, node] of this.#nodes) {
      if (node.heardAt < cutoff) {
        this.#nodes.delete(id)
        continue
      }
      for (const [addr, at] of node.addrs) if (at < cutoff) node.addrs.delete(addr)
      for (const [source, at] of node.sources) if (at < cutoff) node.sources.delete(source)
    }
  }

  get(id: string): LanNode | undefined {
    return this.#nodes.get(id)
  }

  values(): IterableIterator<LanNode> {
    return this.#nodes.values()
  }
}

/** A token bucket per source address, for at most MAX_RATE_LIMITED_SOURCES sources. */
export class SourceRateLimits {
  readonly #limiters = new Map<string, RateLimiter>()
  readonly #now: (() => number) | undefined

  constructor(now?: () => number) {
    this.#now = now
  }

  /** Whether a datagram from `source` may be handled now (it takes a token when so). */
  admit(source: string): boolean {
    let limiter = this.#limiters.get(source)
    if (limiter) this.#limiters.delete(source)
    limiter ??= new RateLimiter(
      DATAGRAMS_PER_SECOND_PER_SOURCE,
      DATAGRAM_BURST_PER_SOURCE,
      this.#now,
    )
    this.#limiters.set(source, limiter) // last: seen most recently
    for (const key of this.#limiters.keys()) {
      if (this.#limiters.size <= MAX_RATE_LIMITED_SOURCES) break
      this.#limiters.delete(key)
    }
    return limiter.take()
  }
}
