/**
 * Discovery in layers (docs/protocol.md, "Discovery"), each of which can fail without the
 * others:
 * - UDP announcements on every LAN interface (announcer.ts), every `announceIntervalMs` and at
 *   once when the interfaces change;
 * - DNS-SD over mDNS (mdns.ts);
 * - gossip: the peer addresses in the signed node records the mesh already holds.
 * Each turns what it learns into candidates for the mesh, which dials those of its own mesh.
 * Nodes of other meshes are only listed (`status()`), for the node panel and the doctor.
 *
 * A node listening on loopback only has no interface to announce on: it sends nothing.
 */
import type { RemoteInfo } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type {
  DiscoveredNode,
  DiscoveryInterface,
  DiscoveryStatus,
} from '../../../shared/discovery-status.ts'
import { contain, type ErrorSink } from '../containment.ts'
import { isLoopbackHost } from '../options.ts'
import { decodeAnnouncement, encodeAnnouncement, meshHash, newInstanceId } from './announcement.ts'
import { Announcer, type InterfaceCounts, newCounts } from './announcer.ts'
import { type Candidate, joinHostPort } from './candidate.ts'
import {
  announcingInterfaces,
  type InterfaceTable,
  interfaceKey,
  interfaceOf,
  type LanInterface,
} from './interfaces.ts'
import { type Heard, LanNodes, SourceRateLimits } from './lan-nodes.ts'
import { MdnsDiscovery } from './mdns.ts'

/** How often the interfaces are looked at for changes (a new address, a cable plugged in). */
export const NETWORK_POLL_MS = 2_000
/** A node heard on the LAN is forgotten after this many announcement intervals of silence. */
export const LAN_NODE_TTL_INTERVALS = 3

/** What discovery needs to know of the mesh. */
export interface MeshView {
  isLinked: (id: string) => boolean
  /** Why the last dial of this node failed, if it is not linked. */
  dialError: (id: string) => string | null
  /** The configured peers whose node is known. */
  manual: () => readonly { id: string; addr: string }[]
  /** The node records held (their `peerAddr` is the gossip layer). */
  records: () => readonly { id: string; peerAddr: string }[]
}

export interface DiscoveryOptions {
  /** This node's id, mesh name and listen address. */
  nodeId: string
  mesh: string
  host: string
  /** The bound peer port, announced. */
  peerPort: number
  /** The UDP port of announcements. */
  port: number
  /** How often the node announces itself and asks for others over mDNS. */
  announceIntervalMs: number
  sink: ErrorSink
  meshView: MeshView
  /** A node to dial (of this mesh) or to list (of another) was heard of. */
  onCandidate: (candidate: Candidate) => void
  /** The interface table; `os.networkInterfaces` by default (tests pass their own). */
  networkInterfaces?: () => InterfaceTable
}

export class Discovery {
  readonly #options: DiscoveryOptions
  readonly #meshHash: string
  readonly #instance = newInstanceId()
  readonly #lanNodes: LanNodes
  readonly #limits = new SourceRateLimits()
  readonly #announcer: Announcer
  readonly #mdns: MdnsDiscovery
  /** Counts per interface address, by `interfaceKey`. */
  readonly #counts = new Map<string, InterfaceCounts>()
  #lans: LanInterface[] = []
  #lansKey = ''
  #broken = false
  #lastError: string | null = null
  #dropped = 0
  #timers: NodeJS.Timeout[] = []

  constructor(options: DiscoveryOptions) {
    this.#options = options
    this.#meshHash = meshHash(options.mesh)
    this.#lanNodes = new LanNodes({
      ttlMs: LAN_NODE_TTL_INTERVALS * options.announceIntervalMs,
    })
    const counts = (lan: LanInterface) => this.#countsOf(lan)
    this.#announcer = new Announcer({
      port: options.port,
      sink: options.sink,
      counts,
      onDatagram: (datagram, from) => this.#datagram(datagram, from),
      onSocketError: (message, lan) => {
        this.#broken = true // reopened at the next poll
        if (lan) this.#countsOf(lan).lastError = message
        else this.#lastError = message
      },
      onListening: () => (this.#lastError = null),
    })
    this.#mdns = new MdnsDiscovery({
      sink: options.sink,
      offer: () => ({
        id: options.nodeId,
        meshHash: this.#meshHash,
        peerPort: options.peerPort,
        instance: this.#instance,
      }),
      counts,
      admit: (source) => this.#admit(source),
      onHeard: (heard) =>
        this.#heard({
          id: heard.id,
          meshHash: heard.meshHash,
          addr: joinHostPort(heard.host, heard.peerPort),
          source: 'mdns',
          instance: heard.instance,
        }),
    })
  }

  /** Opens the sockets, announces, and keeps doing so until `close()`. */
  start(): void {
    const { announceIntervalMs } = this.#options
    this.#poll()
    this.#timers = [
      this.#every(NETWORK_POLL_MS, 'watching the network', () => {
        if (this.#poll()) this.#announce()
      }),
      this.#every(announceIntervalMs, 'announcing', () => this.#tick()),
    ]
    this.#tick()
  }

  close(): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    this.#announcer.close()
    this.#mdns.close()
  }

  /** Records just learned from the mesh: their addresses become candidates now. */
  gossip(records: readonly { id: string; peerAddr: string }[]): void {
    for (const record of records) {
      const candidate = gossipCandidate(record, this.#options.host)
      if (candidate) this.#options.onCandidate(candidate)
    }
  }

  status(): DiscoveryStatus {
    const { meshView: mesh, port } = this.#options
    const nodes = new Map<string, DiscoveredNode>()
    const now = Date.now()
    const entry = (id: string, hash: string): DiscoveredNode => {
      let node = nodes.get(id)
      if (!node) {
        node = {
          id,
          mesh: hash === this.#meshHash ? 'same' : 'other',
          meshHash: hash,
          sources: [],
          addrs: [],
          linked: mesh.isLinked(id),
          lastError: null,
          heardMsAgo: null,
        }
        nodes.set(id, node)
      }
      return node
    }
    const add = (node: DiscoveredNode, source: DiscoveredNode['sources'][number], addr: string) => {
      if (!node.sources.includes(source)) node.sources.push(source)
      if (!node.addrs.includes(addr)) node.addrs.push(addr)
    }
    for (const lan of this.#lanNodes.values()) {
      const node = entry(lan.id, lan.meshHash) // new: the table holds each id once
      node.heardMsAgo = now - lan.heardAt
      node.sources.push(...lan.sources.keys())
      node.addrs.push(...lan.addrs.keys())
    }
    for (const record of mesh.records())
      add(entry(record.id, this.#meshHash), 'gossip', record.peerAddr)
    for (const peer of mesh.manual()) add(entry(peer.id, this.#meshHash), 'manual', peer.addr)
    for (const node of nodes.values()) if (!node.linked) node.lastError = mesh.dialError(node.id)
    const others = new Set<string>()
    for (const node of nodes.values()) if (node.mesh === 'other') others.add(node.meshHash)
    return {
      enabled: true,
      port,
      interfaces: this.#lans.map((lan) => this.#interfaceStatus(lan)),
      nodes: [...nodes.values()],
      otherMeshes: others.size,
      datagramsDropped: this.#dropped,
      lastError: this.#lastError,
    }
  }

  #interfaceStatus(lan: LanInterface): DiscoveryInterface {
    const { name, family, address } = lan
    return { name, family, address, ...this.#countsOf(lan) }
  }

  #countsOf(lan: LanInterface): InterfaceCounts {
    const key = interfaceKey(lan)
    let counts = this.#counts.get(key)
    if (!counts) {
      counts = newCounts()
      this.#counts.set(key, counts)
    }
    return counts
  }

  /** Looks at the interfaces; when they changed (or a socket broke), reopens; says whether so. */
  #poll(): boolean {
    const table = (this.#options.networkInterfaces ?? networkInterfaces)()
    const lans = announcingInterfaces(this.#options.host, table)
    const key = lans.map(interfaceKey).sort().join('|')
    if (key === this.#lansKey && !this.#broken) return false
    this.#lans = lans
    this.#lansKey = key
    this.#broken = false
    for (const known of this.#counts.keys()) {
      if (!lans.some((lan) => interfaceKey(lan) === known)) this.#counts.delete(known)
    }
    this.#announcer.open(lans)
    this.#mdns.open(lans)
    return true
  }

  #tick(): void {
    this.#lanNodes.expire()
    this.#announce()
    // Records are offered again: an address given up a while ago may be reachable now.
    this.gossip(this.#options.meshView.records())
  }

  #announce(): void {
    if (this.#lans.length === 0) return
    const { nodeId: id, peerPort } = this.#options
    const datagram = encodeAnnouncement({
      id,
      mesh: this.#meshHash,
      peerPort,
      instance: this.#instance,
    })
    this.#announcer.announce(datagram)
    this.#mdns.query()
  }

  #admit(source: string): boolean {
    if (this.#limits.admit(source)) return true
    this.#dropped++
    return false
  }

  #datagram(datagram: Buffer, from: RemoteInfo): void {
    if (!this.#admit(from.address)) return
    const announcement = decodeAnnouncement(datagram)
    if (!announcement) {
      this.#dropped++
      return
    }
    if (announcement.id === this.#options.nodeId) return
    const lan = interfaceOf(from.address, this.#lans)
    if (lan) this.#countsOf(lan).announcementsReceived++
    this.#heard({
      id: announcement.id,
      meshHash: announcement.mesh,
      addr: joinHostPort(from.address, announcement.peerPort),
      source: 'announce',
      instance: announcement.instance,
    })
  }

  #heard(heard: Heard): void {
    this.#lanNodes.heard(heard)
    this.#options.onCandidate({
      addr: heard.addr,
      id: heard.id,
      source: heard.source,
      mesh: heard.meshHash === this.#meshHash ? 'same' : 'other',
    })
  }

  #every(ms: number, what: string, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(() => contain(this.#options.sink, 'timer', what, fn), ms)
    timer.unref()
    return timer
  }
}

/**
 * The candidate a node record's `peerAddr` makes, or undefined when it is not `host:port` or
 * names a loopback or unspecified host while this node listens beyond loopback (such a record
 * is of a node on another machine that cannot be reached at that address).
 */
export function gossipCandidate(
  record: { id: string; peerAddr: string },
  ownHost: string,
): Candidate | undefined {
  const match = /^(\[([0-9a-fA-F:.]+(%[\w.-]+)?)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(
    record.peerAddr,
  )
  if (!match) return undefined
  const host = match[2] ?? match[4] ?? ''
  const port = Number(match[5])
  if (port < 1 || port > 65_535) return undefined
  if (host === '0.0.0.0' || host === '::') return undefined
  if (isLoopbackHost(host) && !isLoopbackHost(ownHost)) return undefined
  return { addr: record.peerAddr, id: record.id, source: 'gossip', mesh: 'same' }
}
