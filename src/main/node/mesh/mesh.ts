/**
 * The mesh: this node's links to other nodes and what flows over them, put together from
 * - `PeerConnections` (connections.ts): the peer port, the dialled peers, one link per node;
 * - `Overlay` (overlay.ts): which links to keep beyond the configured peers, and which known
 *   nodes to dial to replace a lost one (a bounded active view, a passive view);
 * - `Relay` (relay.ts): chat events, in seq order per origin, verified, never looping, pushed
 *   along a tree of the links and announced on the others (plumtree.ts);
 * - `PresenceExchange` (presence-exchange.ts): who is online and who is typing, signed;
 * - `NodeRecords` (node-records.ts): the nodes of the mesh, signed records, for failover lists;
 * - `routeFrame` (router.ts): which of them each frame goes to.
 * Discovery (../discovery) hands it candidates (`learnCandidate`): nodes of its mesh join the
 * overlay's passive view, from which it dials when its active view has room.
 * Everything is bounded (docs/protocol.md, "Limits"), and every timer and frame handler runs
 * inside `contain()`: an error closes a link or is counted, never ends the node.
 */
import { FEATURE_OVERLAY, type NodeRecord, type PeerFrame } from '../../../shared/peer-protocol.ts'
import type { MeshNode, OnlineUser, PeerStatus, User } from '../../../shared/protocol.ts'
import { EVENT_REFUSALS } from '../../../shared/signatures.ts'
import type { ChatUser } from '../../../shared/signed-frames.ts'
import type { HybridClock } from '../clock.ts'
import { contain, type ErrorSink } from '../containment.ts'
import type { EventLog } from '../event-log.ts'
import type { NodeIdentity } from '../node-identity.ts'
import type { MeshTimings } from '../options.ts'
import { checkEventInPool } from '../signing-native.ts'
import type { Candidate } from '../discovery/candidate.ts'
import type { ChatEvent, Store } from '../store.ts'
import { PeerConnections } from './connections.ts'
import { DIRECTORY_REFRESH_MS } from './directory.ts'
import type { PeerLink } from './link.ts'
import { NodeRecords } from './node-records.ts'
import { type DialOutcome, Overlay } from './overlay.ts'
import { PresenceExchange } from './presence-exchange.ts'
import { PRESENCE_MIN_GAP_MS } from './presence.ts'
import { refusals } from './refusals.ts'
import { setRecent } from '../recent-map.ts'
import { Relay } from './relay.ts'
import { type FrameHandlers, routeFrame } from './router.ts'
import { Throttle } from './throttle.ts'
import { encodeFrame } from './framing.ts'
import type { TlsIdentity } from './tls-identity.ts'

/** Clients hear that the list of nodes changed at most this often. */
export const NODES_PUBLISH_MIN_GAP_MS = 1_000
/** The overlay is brought back within its bounds this often (rests that ended, lost dials). */
export const OVERLAY_MAINTAIN_MS = 1_000
/** Peers removed (`removePeer`) that are remembered as not to be linked (the oldest is forgotten). */
export const MAX_REMOVED_PEERS = 1_024
/** Addresses whose last failed dial is remembered for the doctor (the oldest is forgotten). */
export const MAX_DIAL_ERRORS = 1_024

export interface MeshOptions {
  /** The node's Ed25519 identity: its id, and what it signs with. */
  identity: NodeIdentity
  /** The key pair and certificate TLS runs with. */
  tls: TlsIdentity
  /** The node's display name, mesh name and mesh secret (docs/protocol.md, "Handshake"). */
  name: string
  mesh: string
  secret: string
  /** Peers dialled from the start (`host:port`). */
  peers: readonly string[]
  /** The longest wait between two dials of one peer. */
  redialMaxMs: number
  maxPendingPeersPerAddress: number
  /** Rooms of this node's presence one announcement names at most. */
  presenceMaxRooms: number
  /** Links kept beyond the configured peers' (`activeViewSize`), and known nodes kept aside. */
  activeViewSize: number
  passiveViewSize: number
  /** Origins one `ihave` names at most. */
  ihaveMaxOrigins: number
  /** How often the mesh pings, syncs and announces, and when it gives up on silence. */
  timings: MeshTimings
  /** This node's client WebSocket URL and peer address, as others should dial them. */
  clientUrl: () => string
  peerAddr: () => string
  log: EventLog
  store: Store
  clock: HybridClock
  /** Where contained errors, logs and metrics go. */
  sink: ErrorSink
  /** Who is online on this node, by room. */
  localRooms: () => ReadonlyMap<string, User[]>
  /** The online users of `room` on other nodes changed. */
  onRoomPresence: (room: string) => void
  /** Someone on another node is typing in `room`. */
  onTyping: (room: string, user: ChatUser) => void
  /** The list of nodes clients may fail over to changed. */
  onNodes: (nodes: MeshNode[]) => void
  /** Records of these nodes came in, new or newer (discovery dials their addresses). */
  onRecordsLearned?: (records: readonly NodeRecord[]) => void
}

export class Mesh {
  readonly #options: MeshOptions
  readonly #connections: PeerConnections
  readonly #relay: Relay
  readonly #presence: PresenceExchange
  readonly #records: NodeRecords
  readonly #overlay: Overlay<PeerLink>
  /** Peers removed and not added again, by address: the node each was, never linked again. */
  readonly #removedPeers = new Map<string, string>()
  /** Why the last dial of each address failed, least recent first (see `dialError`). */
  readonly #dialErrors = new Map<string, string>()
  readonly #handlers: FrameHandlers
  #timers: NodeJS.Timeout[] = []
  #lastNodesSent = ''
  readonly #presenceAnnouncement: Throttle
  readonly #nodesPublication: Throttle
  #closed = false

  constructor(options: MeshOptions) {
    this.#options = options
    const { identity, sink, clock } = options
    const refuse = refusals(sink)
    const flood = (frame: Buffer, except?: PeerLink) => this.#connections.flood(frame, except)
    this.#connections = new PeerConnections({
      tls: options.tls,
      self: () => ({
        id: identity.id,
        key: identity.key,
        name: options.name,
        url: options.clientUrl(),
      }),
      signer: identity.signer,
      mesh: options.mesh,
      secret: options.secret,
      timings: options.timings,
      redialMaxMs: options.redialMaxMs,
      maxPendingPeersPerAddress: options.maxPendingPeersPerAddress,
      sink,
      describe: (id) => ({ name: this.#records.nameOf(id) ?? null, ...this.#skewOf(id) }),
      onLinkUp: (link) => this.#linkUp(link),
      onLinkDown: (link, replaced) => this.#linkDown(link, replaced),
      onFrame: (link, frame) => this.#onFrame(link, frame),
    })
    this.#relay = new Relay({
      log: options.log,
      store: options.store,
      clock,
      sink,
      onEventSent: (link, count) =>
        sink.metrics.meshEventsSent.inc({ peer: link.remote?.id ?? '' }, count),
      check: checkEventInPool,
      onRefused: (link, event, reason) =>
        refuse(link, 'event', EVENT_REFUSALS[reason], event.origin),
      tree: {
        ihaveIntervalMs: options.timings.ihaveIntervalMs,
        graftTimeoutMs: options.timings.graftTimeoutMs,
        ihaveMaxOrigins: options.ihaveMaxOrigins,
      },
    })
    this.#overlay = new Overlay({
      activeViewSize: options.activeViewSize,
      passiveViewSize: options.passiveViewSize,
      ownId: identity.id,
      isConfigured: (id) => this.#connections.isConfigured(id),
      isExcluded: (id) => this.#isRemoved(id),
      isUp: (id) => this.#presence.has(id),
      dial: (addr, onEnd) =>
        !this.#closed &&
        this.#connections.dialCandidate(addr, (outcome) => {
          this.#dialOutcome(addr, outcome)
          onEnd(outcome)
        }),
      send: (link, frame) => link.send(encodeFrame(frame)),
      close: (link, reason) => link.close(reason),
      onPassiveChanged: (size) => sink.metrics.passiveView.set(size),
    })
    this.#presence = new PresenceExchange({
      identity,
      clock,
      logger: sink.logger,
      maxRooms: options.presenceMaxRooms,
      ttlMs: options.timings.presenceTtlMs,
      localRooms: options.localRooms,
      linkedIds: () => this.#connections.linkedIds(),
      flood,
      refuse,
      onRoomsChanged: (rooms) => {
        for (const room of rooms) options.onRoomPresence(room)
        this.#nodesMaybeChanged() // a node with nobody online going silent changes only that
      },
      onTyping: options.onTyping,
      onHeardOf: (id) => this.#connections.heardOf(id),
    })
    this.#records = new NodeRecords({
      identity,
      clock,
      name: options.name,
      clientUrl: options.clientUrl,
      peerAddr: options.peerAddr,
      isLinked: (id) => this.#connections.isLinked(id),
      isUp: (id) => this.#connections.isLinked(id) || this.#presence.has(id),
      flood,
      refuse,
      onLearned: (records) => {
        for (const record of records) this.#connections.heardOf(record.id, record.peerAddr)
        // Their addresses reach the overlay through discovery's gossip layer (learnCandidate),
        // which also leaves out those that cannot be reached from here; with discovery off, a
        // node dials only its configured peers.
        options.onRecordsLearned?.(records)
        this.#nodesMaybeChanged()
      },
    })
    this.#handlers = {
      sync: (link, frame) => this.#relay.onSync(link, frame.vector),
      event: (link, frame) => this.#relay.onEvent(link, frame.event),
      want: (link, frame) => this.#relay.onWant(link, frame),
      presence: (link, frame) => this.#presence.onPresence(link, frame),
      typing: (link, frame) => this.#presence.onTyping(link, frame),
      nodes: (link, frame) => this.#records.learn(link, frame.nodes),
      ihave: (link, frame) => this.#relay.onIhave(link, frame),
      graft: (link, frame) => this.#relay.onGraft(link, frame),
      prune: (link, frame) => this.#relay.onPrune(link, frame),
      neighbor: (link, frame) => this.#overlay.onNeighbor(remoteId(link), link, frame),
      disconnect: (link) => this.#overlay.onDisconnect(remoteId(link), link),
    }
    this.#presenceAnnouncement = new Throttle(PRESENCE_MIN_GAP_MS, () =>
      contain(sink, 'timer', 'presence announcement', () => this.#announcePresence()),
    )
    this.#nodesPublication = new Throttle(NODES_PUBLISH_MIN_GAP_MS, () =>
      contain(sink, 'timer', 'list of nodes', () => this.#publishNodes()),
    )
  }

  /** Listens on the peer port and starts dialling the configured peers. Resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    const bound = await this.#connections.listen(host, port)
    const { syncIntervalMs, presenceAnnounceMs } = this.#options.timings
    this.#timers = [
      this.#every(syncIntervalMs, 'periodic sync', () => {
        for (const link of this.#connections.links())
          contain(this.#options.sink, 'timer', 'periodic sync', () => this.#relay.sendSync(link))
      }),
      this.#every(presenceAnnounceMs, 'presence announcement', () => {
        this.#presenceAnnouncement.ran()
        this.#announcePresence()
      }),
      this.#every(presenceAnnounceMs / 2, 'expiry', () => this.#expire()),
      this.#every(DIRECTORY_REFRESH_MS, 'own record renewal', () => this.#records.renewOwn()),
      this.#every(OVERLAY_MAINTAIN_MS, 'overlay', () => this.#overlay.maintain()),
    ]
    for (const addr of this.#options.peers) this.addPeer(addr)
    return bound
  }

  /** A repeating timer whose errors are contained (and counted) one run at a time. */
  #every(ms: number, what: string, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(() => contain(this.#options.sink, 'timer', what, fn), ms)
    timer.unref()
    return timer
  }

  /** Starts keeping a link to `addr` (`host:port`); a no-op when it is already a peer. */
  addPeer(addr: string): void {
    if (this.#closed) return
    this.#removedPeers.delete(addr) // added again: it may be linked again
    this.#connections.addPeer(addr)
    this.#overlay.maintain() // peers learn that this node keeps their link now
  }

  /** Stops keeping a link to `addr`: its link closes and is not redialled. */
  removePeer(addr: string): boolean {
    const id = this.#connections.nodeAt(addr)
    const removed = this.#connections.removePeer(addr)
    if (id !== undefined) {
      // A removed peer stays unlinked: neither dialled from the overlay's views nor let in.
      setRecent(this.#removedPeers, addr, id, MAX_REMOVED_PEERS)
      this.#overlay.forget(id)
    }
    this.#overlay.maintain()
    return removed
  }

  /** Whether node `id` was removed from the peers (and not configured again). */
  #isRemoved(id: string): boolean {
    if (this.#connections.isConfigured(id)) return false
    for (const removed of this.#removedPeers.values()) if (removed === id) return true
    return false
  }

  peers(): PeerStatus[] {
    return this.#connections.statuses()
  }

  // ---- discovered nodes

  /** A node discovery heard of: dialled when it is of this mesh (its proof still decides). */
  learnCandidate(candidate: Candidate): void {
    if (this.#closed || candidate.mesh !== 'same' || candidate.id === undefined) return
    this.#overlay.learn(candidate.id, candidate.addr)
  }

  isLinked(id: string): boolean {
    return this.#connections.isLinked(id)
  }

  /**
   * Why the last dial of node `id` failed, while it is not linked (for the doctor): the dial of
   * the address the overlay knows it at.
   */
  dialError(id: string): string | null {
    if (this.#connections.isLinked(id)) return null
    const addr = this.#overlay.addrOf(id)
    return addr === undefined ? null : (this.#dialErrors.get(addr) ?? null)
  }

  /** Remembers why a dial of `addr` failed (bounded), or forgets it once the dial links. */
  #dialOutcome(addr: string, outcome: DialOutcome): void {
    if ('error' in outcome) setRecent(this.#dialErrors, addr, outcome.error, MAX_DIAL_ERRORS)
    else this.#dialErrors.delete(addr)
  }

  /** The signed node records held (their peer addresses are what gossip dials). */
  records(): NodeRecord[] {
    return this.#records.all()
  }

  /** `{ skewMs }` when the node's events come too far ahead of this node's clock. */
  #skewOf(id: string): { skewMs?: number } {
    const skewMs = this.#relay.skewMs(id)
    return skewMs === undefined ? {} : { skewMs }
  }

  #linkUp(link: PeerLink): void {
    const id = remoteId(link)
    if (this.#isRemoved(id)) return link.close('a peer removed from this node')
    this.#relay.linkUp(link)
    this.#overlay.linkUp(id, link, {
      speaks: link.remoteFeatures.has(FEATURE_OVERLAY),
      openedHere: link.initiator,
    })
    // Presence goes to every link on the next turn: the new peer learns who is here, and the
    // others learn of the new link (for mesh maps).
    this.localPresenceChanged()
    // The new peer gets the whole directory, nodes that are up first (a full directory on
    // the other end takes no more); the others only what changed.
    for (const frame of this.#records.framesForNewLink()) link.send(frame)
    this.#nodesMaybeChanged()
  }

  #linkDown(link: PeerLink, replaced: boolean): void {
    this.#relay.linkDown(link)
    if (replaced) return // the node is still linked: what came over the old link still holds
    this.#overlay.linkDown(remoteId(link), link)
    this.#presence.linkDown(link)
    this.localPresenceChanged()
  }

  /** A frame on an authenticated link (the link runs this inside `contain()`). */
  #onFrame(link: PeerLink, frame: PeerFrame): void {
    routeFrame(this.#handlers, link, frame)
  }

  /** Events just committed on this node: pass them on. */
  forward(events: readonly ChatEvent[]): void {
    this.#relay.forward(events)
  }

  /** Forgets what was not heard of for too long: presence, early events, node records. */
  #expire(): void {
    this.#presence.expire()
    this.#relay.expire()
    if (this.#records.expire()) this.#nodesMaybeChanged()
  }

  // ---- presence and typing

  /**
   * Local presence changed: announce it soon, at most once per PRESENCE_MIN_GAP_MS (a burst of
   * joins, one frame).
   */
  localPresenceChanged(): void {
    if (!this.#closed) this.#presenceAnnouncement.request()
  }

  #announcePresence(): void {
    if (this.#connections.linkedIds().length > 0) this.#presence.announce()
  }

  remoteUsers(room: string): OnlineUser[] {
    return this.#presence.usersIn(room)
  }

  typing(room: string, user: User): void {
    this.#presence.typing(room, user)
  }

  // ---- the nodes of the mesh

  /** The nodes clients are told of, this one first (see NodeRecords.forClients). */
  nodes(): MeshNode[] {
    return this.#records.forClients()
  }

  /** The mesh's links as pairs of node ids (each once), from this node's and others' reports. */
  links(): [string, string][] {
    const pairs = new Map<string, [string, string]>()
    const add = (a: string, b: string) => {
      const pair: [string, string] = a < b ? [a, b] : [b, a]
      pairs.set(pair.join(' '), pair)
    }
    const own = this.#options.identity.id
    for (const id of this.#connections.linkedIds()) add(own, id)
    for (const [node, links] of this.#presence.links()) for (const id of links) add(node, id)
    return [...pairs.values()]
  }

  /** Tells clients, soon, if the list of nodes or their reachability changed. */
  #nodesMaybeChanged(): void {
    if (!this.#closed) this.#nodesPublication.request()
  }

  #publishNodes(): void {
    this.#options.sink.metrics.directoryRecords.set(this.#records.size)
    const nodes = this.nodes()
    const text = JSON.stringify(nodes)
    if (text === this.#lastNodesSent) return
    this.#lastNodesSent = text
    this.#options.onNodes(nodes)
  }

  /** Closes every link and stops listening and dialling. */
  async close(): Promise<void> {
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#relay.close()
    this.#presenceAnnouncement.cancel()
    this.#nodesPublication.cancel()
    await this.#connections.close()
  }
}

/** The id of the node at the other end of an authenticated link. */
function remoteId(link: PeerLink): string {
  return link.remote?.id ?? ''
}
