/**
 * The mesh: this node's TLS links to other nodes and what flows over them.
 *
 * - A TLS server on the peer port takes links from other nodes (at most
 *   `maxPendingPeersPerAddress` unauthenticated at a time from one address); a dialer per
 *   configured peer keeps one to it, redialling forever with capped exponential backoff and
 *   jitter, and at once when the peer is heard of through another link.
 * - One link per pair of nodes: when two are up, the one opened by the smaller id stays.
 * - Chat events go through the relay; presence, typing and the list of nodes are flooded with
 *   a version or counter per origin, so none of them loops either.
 * - Everything is bounded (docs/protocol.md, "Limits"), and every timer and frame handler runs
 *   inside `contain()`: an error closes a link or is counted, never ends the node.
 */
import { createServer, type Server, type TLSSocket, connect as tlsConnect } from 'node:tls'
import type { AddressInfo, Socket } from 'node:net'
import { backoffDelay } from '../../../shared/backoff.ts'
import { isClientUrl } from '../../../shared/client-url.ts'
import {
  MAX_PRESENCE_LINKS,
  type NodeRecord,
  type PeerFrame,
  type PeerFrameOf,
} from '../../../shared/peer-protocol.ts'
import {
  checkEvent,
  EVENT_REFUSALS,
  verifyNodeRecord,
  verifyPresence,
  verifyTyping,
} from '../../../shared/signatures.ts'
import type { MeshNode, OnlineUser, PeerStatus, User } from '../../../shared/protocol.ts'
import { contain } from '../containment.ts'
import type { NodeCore } from '../node-core.ts'
import { PendingConnections } from '../pending-connections.ts'
import type { ChatEvent } from '../store.ts'
import { DIRECTORY_REFRESH_MS, NodeDirectory, nodesFrames } from './directory.ts'
import { encodeFrame, tryEncodeFrame } from './framing.ts'
import { type NodeInfo, PeerLink } from './link.ts'
import type { MeshTimings } from '../options.ts'
import { announcedRooms, PRESENCE_MIN_GAP_MS, PresenceTable } from './presence.ts'
import { Relay } from './relay.ts'
import { nativeEd25519 } from '../signing-native.ts'
import { Throttle } from './throttle.ts'
import type { TlsIdentity } from './tls-identity.ts'

export const REDIAL_BASE_MS = 500
/** How long a dial may take to reach an encrypted connection. */
const DIAL_TIMEOUT_MS = 5_000
/** Unauthenticated connections on the peer port from all addresses together. */
export const MAX_PENDING_PEERS = 256
/** Origins whose last typing counter is remembered (the oldest is forgotten past this). */
export const MAX_TYPING_ORIGINS = 1_000
/** Nodes a client is told of (`welcome`, `nodes`): this one, those up, then others. */
export const MAX_LISTED_NODES = 100
/** Clients hear that the list of nodes changed at most this often. */
export const NODES_PUBLISH_MIN_GAP_MS = 1_000

/** What a peer sent that failed verification (the label of `palaver_mesh_refused_total`). */
type RefusedKind = 'event' | 'presence' | 'typing' | 'record'
/** A refused frame is logged at most this often (they are all counted). */
const REFUSAL_LOG_GAP_MS = 60_000

/** A configured peer address and the link this node keeps to it. */
interface Dialer {
  addr: string
  host: string
  port: number
  state: PeerStatus['state']
  attempt: number
  timer: NodeJS.Timeout | undefined
  socket: TLSSocket | undefined
  link: PeerLink | undefined
  /** The node at this address, once a link was made. */
  remoteId: string | undefined
  lastError: string | null
  /** When the last dial started (`Date.now()`), so that hearing of the peer cannot storm it. */
  lastDialAt: number
  stopped: boolean
}

export interface MeshOptions {
  core: NodeCore
  identity: TlsIdentity
  /** This node's peer address as others should dial it (`host:port`). */
  peerAddr: () => string
  /** How often the mesh pings, syncs and announces, and when it gives up on silence. */
  timings: MeshTimings
}

export class Mesh {
  readonly #core: NodeCore
  readonly #options: MeshOptions
  readonly #server: Server
  readonly #dialers = new Map<string, Dialer>()
  /** Authenticated links by the remote node's id. */
  readonly #links = new Map<string, PeerLink>()
  /** Every link in any state, so that `close()` reaches all of them. */
  readonly #allLinks = new Set<PeerLink>()
  readonly #relay: Relay
  readonly #presence: PresenceTable
  /** Per origin, the newest typing counter seen; least recently updated first. */
  readonly #typingSeen = new Map<string, number>()
  readonly #directory: NodeDirectory
  /** Inbound connections not authenticated yet, counted per remote address ... */
  readonly #pending: PendingConnections<Socket>
  /** ... and by `address:port`, so that a link's authentication releases its socket. */
  readonly #pendingSockets = new Map<string, Socket>()
  /** The version of this node's own directory record: renewed every DIRECTORY_REFRESH_MS. */
  #version: number
  #timers: NodeJS.Timeout[] = []
  #lastNodesSent = ''
  readonly #presenceAnnouncement = new Throttle(PRESENCE_MIN_GAP_MS, () =>
    contain(this.#core, 'timer', 'presence announcement', () => this.#announcePresence()),
  )
  readonly #nodesPublication = new Throttle(NODES_PUBLISH_MIN_GAP_MS, () =>
    contain(this.#core, 'timer', 'list of nodes', () => this.#publishNodes()),
  )
  /** When a refused frame of each kind was last logged. */
  readonly #refusalLoggedAt = new Map<RefusedKind, number>()
  /** Rooms the last announcement left out (logged when that starts). */
  #roomsOmitted = 0
  #closed = false

  constructor(options: MeshOptions) {
    this.#options = options
    this.#core = options.core
    this.#version = this.#core.clock.now()
    this.#presence = new PresenceTable({ ttlMs: options.timings.presenceTtlMs })
    this.#directory = new NodeDirectory({ pinned: (id) => this.#links.has(id) })
    this.#pending = new PendingConnections(this.#core.options.maxPendingPeersPerAddress)
    this.#relay = new Relay({
      log: this.#core.log,
      store: this.#core.store,
      clock: this.#core.clock,
      sink: this.#core,
      onEventSent: (link, count) =>
        this.#core.metrics.meshEventsSent.inc({ peer: link.remote?.id ?? '' }, count),
      verify: (event) => checkEvent(event, nativeEd25519),
      onRefused: (link, event, reason) =>
        this.#refused(link, 'event', EVENT_REFUSALS[reason], event.origin),
    })
    this.#server = createServer({
      key: options.identity.key,
      cert: options.identity.cert,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: 5_000,
    })
    this.#server.on('connection', (socket: Socket) => this.#admit(socket))
    this.#server.on('secureConnection', (socket) =>
      contain(
        this.#core,
        'link',
        'taking a peer link',
        () => this.#adopt(socket, false),
        () => socket.destroy(),
      ),
    )
    this.#server.on('tlsClientError', (error, socket) => {
      this.#core.logger.debug(
        { err: error.message, addr: socket.remoteAddress },
        'refused a peer connection before TLS',
      )
      socket.destroy()
    })
  }

  get #self(): NodeInfo {
    const { id, key } = this.#core.store.identity
    return { id, key, name: this.#core.options.name, url: this.#core.clientUrl }
  }

  /**
   * A frame from `link` failed verification and was dropped (counted, and logged at most once a
   * minute per kind: a hostile peer must not fill the log).
   */
  #refused(link: PeerLink, what: RefusedKind, reason: string, claimed: string): void {
    this.#core.metrics.meshRefused.inc({ what })
    const now = Date.now()
    if (now - (this.#refusalLoggedAt.get(what) ?? -Infinity) < REFUSAL_LOG_GAP_MS) return
    this.#refusalLoggedAt.set(what, now)
    this.#core.logger.warn(
      { peer: link.remote?.id, what, claimed, reason },
      'dropped a frame whose signature does not hold (more of its kind are only counted for a minute)',
    )
  }

  /** Listens on the peer port and starts dialling the configured peers. Resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.#server.once('error', onError)
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    const { syncIntervalMs, presenceAnnounceMs } = this.#options.timings
    this.#timers = [
      this.#every(syncIntervalMs, 'periodic sync', () => {
        for (const link of this.#links.values())
          contain(this.#core, 'timer', 'periodic sync', () => this.#relay.sendSync(link))
      }),
      this.#every(presenceAnnounceMs, 'presence announcement', () => {
        this.#presenceAnnouncement.ran()
        this.#announcePresence()
      }),
      this.#every(presenceAnnounceMs / 2, 'expiry', () => this.#expire()),
      this.#every(DIRECTORY_REFRESH_MS, 'own record renewal', () => this.#renewOwnRecord()),
    ]
    for (const addr of this.#core.options.peers) this.addPeer(addr)
    return (this.#server.address() as AddressInfo).port
  }

  /** A repeating timer whose errors are contained (and counted) one run at a time. */
  #every(ms: number, what: string, fn: () => void): NodeJS.Timeout {
    const timer = setInterval(() => contain(this.#core, 'timer', what, fn), ms)
    timer.unref()
    return timer
  }

  /**
   * Counts a new connection to the peer port as unauthenticated until its link is up or it
   * closes; past the bounds it is closed at once. The TLS handshake (5 s) and the link's own
   * handshake (5 s) bound how long each may stay so.
   */
  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? ''
    if (this.#pendingSockets.size >= MAX_PENDING_PEERS || !this.#pending.admit(socket, address)) {
      this.#core.logger.debug({ addr: address }, 'refused a peer connection: too many handshakes')
      socket.destroy()
      return
    }
    const key = `${address}:${socket.remotePort}`
    this.#pendingSockets.set(key, socket)
    socket.once('close', () => this.#releasePending(key, socket))
  }

  /** The connection `address:port` authenticated (or closed): it no longer counts as pending. */
  #releasePending(key: string, socket = this.#pendingSockets.get(key)): void {
    if (!socket || this.#pendingSockets.get(key) !== socket) return
    this.#pendingSockets.delete(key)
    this.#pending.release(socket)
  }

  // ---- peers, links and the one-link-per-pair rule

  /** Starts keeping a link to `addr` (`host:port`); a no-op when it is already a peer. */
  addPeer(addr: string): void {
    if (this.#closed || this.#dialers.has(addr)) return
    const at = addr.lastIndexOf(':')
    const host = addr.slice(0, at).replace(/^\[(.*)\]$/, '$1')
    const dialer: Dialer = {
      addr,
      host,
      port: Number(addr.slice(at + 1)),
      state: 'connecting',
      attempt: 0,
      timer: undefined,
      socket: undefined,
      link: undefined,
      remoteId: undefined,
      lastError: null,
      lastDialAt: 0,
      stopped: false,
    }
    this.#dialers.set(addr, dialer)
    this.#dial(dialer)
  }

  /** Stops keeping a link to `addr`: its link closes and is not redialled. */
  removePeer(addr: string): boolean {
    const dialer = this.#dialers.get(addr)
    if (!dialer) return false
    this.#dialers.delete(addr)
    dialer.stopped = true
    clearTimeout(dialer.timer)
    dialer.socket?.destroy()
    dialer.link?.close('peer removed')
    const covering = dialer.remoteId ? this.#links.get(dialer.remoteId) : undefined
    covering?.close('peer removed')
    return true
  }

  peers(): PeerStatus[] {
    const statuses: PeerStatus[] = []
    const covered = new Set<PeerLink>()
    for (const d of this.#dialers.values()) {
      const link = d.remoteId ? this.#links.get(d.remoteId) : undefined
      const up = d.state === 'up' && link !== undefined
      if (up) covered.add(link)
      statuses.push({
        id: d.remoteId ?? null,
        name: d.remoteId ? (this.#directory.get(d.remoteId)?.name ?? null) : null,
        addr: d.addr,
        state: up ? 'up' : d.state === 'up' ? 'down' : d.state,
        rttMs: up ? link.rttMs : null,
        lastError: d.lastError,
        ...this.#skewOf(d.remoteId),
      })
    }
    for (const link of this.#links.values()) {
      if (covered.has(link) || !link.remote) continue
      statuses.push({
        id: link.remote.id,
        name: link.remote.name,
        addr: link.addr,
        state: 'up',
        rttMs: link.rttMs,
        lastError: null,
        ...this.#skewOf(link.remote.id),
      })
    }
    return statuses
  }

  /** `{ skewMs }` when the node's events come too far ahead of this node's clock. */
  #skewOf(id: string | undefined): { skewMs?: number } {
    const skewMs = id === undefined ? undefined : this.#relay.skewMs(id)
    return skewMs === undefined ? {} : { skewMs }
  }

  #dial(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'connecting'
    dialer.lastDialAt = Date.now()
    let socket: TLSSocket
    try {
      socket = tlsConnect({
        host: dialer.host,
        port: dialer.port,
        key: this.#options.identity.key,
        cert: this.#options.identity.cert,
        minVersion: 'TLSv1.3',
        // Certificates are self-signed: who may link is decided by the mesh-secret proof.
        rejectUnauthorized: false,
      })
    } catch (error) {
      // An address the socket layer refuses outright (port 0, say): retried like any failure.
      dialer.lastError = (error as Error).message
      return this.#redialLater(dialer)
    }
    dialer.socket = socket
    const timeout = setTimeout(
      () => socket.destroy(new Error('no TLS connection in time')),
      DIAL_TIMEOUT_MS,
    )
    // A dial given up (peer removed, mesh closed) destroys the socket without an error.
    socket.once('close', () => clearTimeout(timeout))
    const failed = (error: Error) => {
      clearTimeout(timeout)
      if (dialer.socket !== socket) return
      dialer.socket = undefined
      dialer.lastError = error.message
      contain(this.#core, 'timer', 'scheduling a redial', () => this.#redialLater(dialer))
    }
    socket.once('error', failed)
    socket.once('secureConnect', () => {
      clearTimeout(timeout)
      socket.off('error', failed)
      dialer.socket = undefined
      if (dialer.stopped || this.#closed) return void socket.destroy()
      contain(
        this.#core,
        'link',
        'taking a dialled link',
        () => (dialer.link = this.#adopt(socket, true, dialer)),
        () => {
          socket.destroy()
          this.#redialLater(dialer)
        },
      )
    })
  }

  #redialLater(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'down'
    const delay = backoffDelay(dialer.attempt++, REDIAL_BASE_MS, this.#core.options.redialMaxMs)
    clearTimeout(dialer.timer)
    dialer.timer = setTimeout(
      () => contain(this.#core, 'timer', 'redial', () => this.#dial(dialer)),
      delay,
    )
    dialer.timer.unref()
  }

  /**
   * A node was heard of through another link, so it is alive: a dialer of it that is waiting
   * out its backoff dials now, with its backoff reset (a healed partition heals at once). At
   * most one such dial per REDIAL_BASE_MS, however often the node is heard of.
   */
  #heardOf(id: string, peerAddr = ''): void {
    for (const d of this.#dialers.values()) {
      if (d.remoteId !== id && (peerAddr === '' || d.addr !== peerAddr)) continue
      if (d.state !== 'down' || d.socket || d.link) continue
      if (Date.now() - d.lastDialAt < REDIAL_BASE_MS) continue
      clearTimeout(d.timer)
      d.attempt = 0
      this.#dial(d)
    }
  }

  #adopt(socket: TLSSocket, initiator: boolean, dialer?: Dialer): PeerLink {
    const link = new PeerLink({
      socket,
      timings: this.#options.timings,
      initiator,
      self: this.#self,
      signer: this.#core.store.identity.signer,
      mesh: this.#core.options.mesh,
      secret: this.#core.options.secret,
      logger: this.#core.logger,
      sink: this.#core,
      onUp: (l) => this.#linkUp(l, dialer),
      onFrame: (l, frame) => this.#onFrame(l, frame),
      onClose: (l, reason) => this.#linkClosed(l, reason, dialer),
      onFrameSent: () => this.#core.metrics.meshFramesSent.inc(),
      onUnknownFrame: (type) => {
        this.#core.metrics.meshUnknownFrames.inc()
        this.#core.logger.debug(
          { peer: link.remote?.id, type },
          'dropped a frame of an unknown type',
        )
      },
    })
    this.#allLinks.add(link)
    return link
  }

  #linkUp(link: PeerLink, dialer: Dialer | undefined): void {
    if (!link.initiator) this.#releasePending(link.addr)
    const remote = link.remote
    if (!remote || this.#closed) return link.close('mesh closed')
    const existing = this.#links.get(remote.id)
    if (existing && !this.#prefer(link, existing, remote.id)) {
      // Covered first, so that closing this link does not make its dialer redial.
      if (dialer) this.#covered(dialer, remote.id)
      link.close('another link to this node stays')
      return
    }
    this.#links.set(remote.id, link)
    if (existing) {
      this.#relay.linkDown(existing)
      existing.close('replaced by a preferred link to the same node')
    }
    if (dialer) this.#covered(dialer, remote.id)
    // A node we dial may also dial us: its dialer shows the link we keep as up.
    for (const d of this.#dialers.values())
      if (d.remoteId === remote.id) this.#covered(d, remote.id)
    this.#core.metrics.linksUp.set(this.#links.size)
    this.#core.logger.info({ peer: remote.id, name: remote.name, addr: link.addr }, 'peer link up')

    this.#relay.linkUp(link)
    // Presence goes to every link on the next turn: the new peer learns who is here, and the
    // others learn of the new link (for mesh maps).
    this.localPresenceChanged()
    // The new peer gets the whole directory, nodes that are up first (a full directory on
    // the other end takes no more); the others only what changed.
    const records = this.#recordsUpFirst().map(({ record }) => record)
    for (const frame of nodesFrames([this.#ownRecord(), ...records])) link.send(frame)
    this.#nodesMaybeChanged()
  }

  /**
   * The one-link-per-pair rule: keep the link opened by the smaller node id; when the same
   * node opened both (a redial racing a dying link), keep the newer.
   */
  #prefer(candidate: PeerLink, existing: PeerLink, remoteId: string): boolean {
    const opener = this.#core.nodeId < remoteId ? this.#core.nodeId : remoteId
    const candidateWins = candidate.openerId === opener
    const existingWins = existing.openerId === opener
    return candidateWins || !existingWins
  }

  #covered(dialer: Dialer, remoteId: string): void {
    dialer.remoteId = remoteId
    dialer.state = 'up'
    dialer.attempt = 0
    dialer.lastError = null
  }

  #linkClosed(link: PeerLink, reason: string, dialer: Dialer | undefined): void {
    this.#allLinks.delete(link)
    const remoteId = link.remote?.id
    if (dialer?.link === link) dialer.link = undefined
    if (remoteId && this.#links.get(remoteId) === link) {
      this.#links.delete(remoteId)
      this.#relay.linkDown(link)
      this.#core.metrics.linksUp.set(this.#links.size)
      this.#core.logger.info({ peer: remoteId, reason }, 'peer link down')
      this.#presenceChanged(this.#presence.dropVia(link))
      this.localPresenceChanged()
    }
    if (this.#closed) return
    // Redial every configured peer that this link stood for.
    for (const d of this.#dialers.values()) {
      const stoodFor = d === dialer || (remoteId !== undefined && d.remoteId === remoteId)
      if (!stoodFor || d.link || d.socket) continue
      if (d.remoteId && this.#links.has(d.remoteId)) continue // still covered by another link
      if (d === dialer) d.lastError = reason
      this.#redialLater(d)
    }
  }

  // ---- frames

  /** A frame on an authenticated link (the link runs this inside `contain()`). */
  #onFrame(link: PeerLink, frame: PeerFrame): void {
    if (this.#links.get(link.remote?.id ?? '') !== link) return // a link on its way out
    switch (frame.type) {
      case 'sync':
        return this.#relay.onSync(link, frame.vector)
      case 'event':
        return this.#relay.onEvent(link, frame.event)
      case 'want':
        return this.#relay.onWant(link, frame)
      case 'presence':
        return this.#onPresence(link, frame)
      case 'typing':
        return this.#onTyping(link, frame)
      case 'nodes':
        return this.#learn(link, frame.nodes)
    }
  }

  /** Events just committed on this node: pass them on. */
  forward(events: readonly ChatEvent[]): void {
    this.#relay.forward(events)
  }

  #flood(frame: Buffer, except?: PeerLink): void {
    for (const link of this.#links.values()) if (link !== except) link.send(frame)
  }

  /** Forgets what was not heard of for too long: presence, early events, node records. */
  #expire(): void {
    this.#presenceChanged(this.#presence.expire())
    this.#relay.expire()
    if (this.#directory.expire()) this.#nodesMaybeChanged()
  }

  // ---- presence

  /**
   * Local presence changed: announce it soon, at most once per PRESENCE_MIN_GAP_MS (a burst of
   * joins, one frame).
   */
  localPresenceChanged(): void {
    if (!this.#closed) this.#presenceAnnouncement.request()
  }

  #announcePresence(): void {
    if (this.#links.size === 0) return
    const { rooms, omitted } = announcedRooms(
      this.#core.rooms.snapshot(),
      this.#core.options.presenceMaxRooms,
    )
    if (omitted > 0 && this.#roomsOmitted === 0) {
      this.#core.logger.warn(
        { omitted, announced: Object.keys(rooms).length },
        'too many rooms to announce: users of the quietest are not shown online on other nodes',
      )
    }
    this.#roomsOmitted = omitted
    const frame = this.#core.store.identity.sign({
      type: 'presence',
      node: this.#core.nodeId,
      // The clock is strictly increasing, even across restarts: every announcement is newer.
      version: this.#core.clock.now(),
      rooms,
      links: [...this.#links.keys()].slice(0, MAX_PRESENCE_LINKS),
    })
    this.#flood(encodeFrame(frame))
  }

  #onPresence(link: PeerLink, frame: PeerFrameOf<'presence'>): void {
    if (frame.node === this.#core.nodeId) return
    if (!this.#presence.isNewer(frame.node, frame.version)) return
    if (!verifyPresence(frame, nativeEd25519)) {
      return this.#refused(link, 'presence', 'not signed by the node it describes', frame.node)
    }
    const changed = this.#presence.apply(frame.node, frame.version, frame.rooms, link, frame.links)
    if (!changed) return
    // Passed on as received; one whose encoding would pass the frame limit goes no further.
    const forwarded = tryEncodeFrame(frame)
    if (forwarded) this.#flood(forwarded, link)
    this.#heardOf(frame.node)
    this.#presenceChanged(changed)
  }

  /**
   * Presence was applied, expired or dropped: the rooms that changed hear of it, and clients of
   * the list of nodes (a node with nobody online going silent changes only that).
   */
  #presenceChanged(rooms: Set<string>): void {
    for (const room of rooms) this.#core.publishPresence(room)
    this.#nodesMaybeChanged()
  }

  remoteUsers(room: string): OnlineUser[] {
    return this.#presence.usersIn(room)
  }

  // ---- typing

  typing(room: string, user: User): void {
    const eseq = this.#core.clock.now()
    const { identity } = this.#core.store
    this.#flood(
      encodeFrame(identity.sign({ type: 'typing', origin: identity.id, eseq, room, user })),
    )
  }

  #onTyping(link: PeerLink, frame: PeerFrameOf<'typing'>): void {
    if (frame.origin === this.#core.nodeId) return
    if ((this.#typingSeen.get(frame.origin) ?? 0) >= frame.eseq) return
    if (!verifyTyping(frame, nativeEd25519)) {
      return this.#refused(link, 'typing', 'not signed by its origin', frame.origin)
    }
    this.#typingSeen.delete(frame.origin) // re-inserted last: the most recently updated
    this.#typingSeen.set(frame.origin, frame.eseq)
    if (this.#typingSeen.size > MAX_TYPING_ORIGINS) {
      const oldest = this.#typingSeen.keys().next()
      if (!oldest.done) this.#typingSeen.delete(oldest.value)
    }
    const forwarded = tryEncodeFrame(frame)
    if (forwarded) this.#flood(forwarded, link)
    // Clients get what they show, as with presence: a user's other fields stay between nodes.
    const { id, name, key } = frame.user
    this.#core.publishTyping(frame.room, key === undefined ? { id, name } : { id, name, key })
  }

  // ---- the nodes of the mesh

  /** This node's record, signed. */
  #ownRecord(): NodeRecord {
    const { id, name, url } = this.#self
    const record = { id, name, url, peerAddr: this.#options.peerAddr(), version: this.#version }
    return this.#core.store.identity.sign(record)
  }

  /** A new version of this node's record, so that other nodes keep it past their TTL. */
  #renewOwnRecord(): void {
    this.#version = this.#core.clock.now()
    for (const frame of nodesFrames([this.#ownRecord()])) this.#flood(frame)
  }

  /**
   * Takes in records of other nodes from `link`: only a record signed by the node it describes
   * is believed, and it replaces only an older one (so nobody can rewrite another node's URL).
   * The new and newer ones go on to every link, as they are (what changed, not the whole
   * directory), and make a waiting dialer of that node dial now.
   */
  #learn(link: PeerLink, records: readonly NodeRecord[]): void {
    const own = this.#core.nodeId
    const fresh: NodeRecord[] = []
    for (const record of records) {
      if (record.id === own || !this.#directory.isNewer(record)) continue
      if (verifyNodeRecord(record, nativeEd25519)) fresh.push(record)
      else this.#refused(link, 'record', 'not signed by the node it describes', record.id)
    }
    const changed = this.#directory.learn(fresh)
    if (changed.length === 0) return
    for (const frame of nodesFrames(changed)) this.#flood(frame)
    for (const entry of changed) this.#heardOf(entry.id, entry.peerAddr)
    this.#nodesMaybeChanged()
  }

  /**
   * The nodes clients are told of: this one, then those up (linked or heard from lately), then
   * others, at most MAX_LISTED_NODES, so that records nobody can reach never crowd out the
   * nodes a client can fail over to.
   */
  nodes(): MeshNode[] {
    const self = this.#self
    return [
      { id: self.id, name: self.name, url: self.url, up: true },
      // Only records with a URL a client may dial reach its failover list.
      ...this.#recordsUpFirst()
        .filter(({ record }) => isClientUrl(record.url))
        .map(({ record: { id, name, url }, up }) => ({ id, name, url, up })),
    ].slice(0, MAX_LISTED_NODES)
  }

  /** The directory's records, those of nodes up (linked or heard from lately) first. */
  #recordsUpFirst(): { record: NodeRecord; up: boolean }[] {
    const all = this.#directory.values().map((record) => ({
      record,
      up: this.#links.has(record.id) || this.#presence.has(record.id),
    }))
    return [...all.filter((r) => r.up), ...all.filter((r) => !r.up)]
  }

  /** The mesh's links as pairs of node ids (each once), from this node's and others' reports. */
  links(): [string, string][] {
    const pairs = new Map<string, [string, string]>()
    const add = (a: string, b: string) => {
      const pair: [string, string] = a < b ? [a, b] : [b, a]
      pairs.set(pair.join(' '), pair)
    }
    for (const id of this.#links.keys()) add(this.#core.nodeId, id)
    for (const [node, links] of this.#presence.links()) for (const id of links) add(node, id)
    return [...pairs.values()]
  }

  /** Tells clients, soon, if the list of nodes or their reachability changed. */
  #nodesMaybeChanged(): void {
    if (!this.#closed) this.#nodesPublication.request()
  }

  #publishNodes(): void {
    this.#core.metrics.directoryRecords.set(this.#directory.size)
    const nodes = this.nodes()
    const text = JSON.stringify(nodes)
    if (text === this.#lastNodesSent) return
    this.#lastNodesSent = text
    this.#core.publishNodes(nodes)
  }

  /** Closes every link and stops listening and dialling. */
  async close(): Promise<void> {
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#presenceAnnouncement.cancel()
    this.#nodesPublication.cancel()
    for (const dialer of this.#dialers.values()) {
      dialer.stopped = true
      clearTimeout(dialer.timer)
      dialer.socket?.destroy()
    }
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const link of this.#allLinks) link.close('node stopping')
    await closed
  }
}
