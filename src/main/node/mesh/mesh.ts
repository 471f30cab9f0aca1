/**
 * The mesh: this node's TLS links to other nodes and what flows over them.
 *
 * - A TLS server on the peer port takes links from other nodes; a dialer per configured peer
 *   keeps one to it, redialling forever with capped exponential backoff and jitter.
 * - One link per pair of nodes: when two are up, the one opened by the smaller id stays.
 * - Chat events go through the relay; presence, typing and the list of nodes are flooded with
 *   a version or counter per origin, so none of them loops either.
 */
import { createServer, type Server, type TLSSocket, connect as tlsConnect } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { backoffDelay } from '../../../shared/backoff.ts'
import type { PeerFrame, PeerFrameOf } from '../../../shared/peer-protocol.ts'
import type { MeshNode, OnlineUser, PeerStatus, User } from '../../../shared/protocol.ts'
import type { NodeCore } from '../node-core.ts'
import type { ChatEvent } from '../store.ts'
import { encodeFrame } from './framing.ts'
import { type NodeInfo, PeerLink } from './link.ts'
import { PRESENCE_ANNOUNCE_MS, PresenceTable } from './presence.ts'
import { Relay } from './relay.ts'
import type { TlsIdentity } from './tls-identity.ts'

/** Each end of a link sends `sync` this often, to repair anything a link lost. */
export const SYNC_INTERVAL_MS = 30_000
export const REDIAL_BASE_MS = 500
export const REDIAL_MAX_MS = 30_000
/** How long a dial may take to reach an encrypted connection. */
const DIAL_TIMEOUT_MS = 5_000

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
  stopped: boolean
}

interface DirectoryEntry {
  id: string
  name: string
  url: string
  peerAddr: string
  /** The node's clock when it made this entry (0: not from the node itself). */
  version: number
}

export interface MeshOptions {
  core: NodeCore
  identity: TlsIdentity
  /** This node's peer address as others should dial it (`host:port`). */
  peerAddr: () => string
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
  readonly #presence = new PresenceTable()
  readonly #typingSeen = new Map<string, number>()
  readonly #directory = new Map<string, DirectoryEntry>()
  /** This node's directory entry's version: its content is fixed for the mesh's lifetime. */
  readonly #version: number
  #timers: NodeJS.Timeout[] = []
  #lastNodesSent = ''
  #presenceScheduled = false
  #closed = false

  constructor(options: MeshOptions) {
    this.#options = options
    this.#core = options.core
    this.#version = this.#core.clock.now()
    this.#relay = new Relay({
      log: this.#core.log,
      store: this.#core.store,
      logger: this.#core.logger,
      onEventSent: (link, count) =>
        this.#core.metrics.meshEventsSent.inc({ peer: link.remote?.id ?? '' }, count),
    })
    this.#server = createServer({
      key: options.identity.key,
      cert: options.identity.cert,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: 5_000,
    })
    this.#server.on('secureConnection', (socket) => this.#adopt(socket, false))
    this.#server.on('tlsClientError', (error, socket) => {
      this.#core.logger.debug(
        { err: error.message, addr: socket.remoteAddress },
        'refused a peer connection before TLS',
      )
      socket.destroy()
    })
  }

  get #self(): NodeInfo {
    return { id: this.#core.nodeId, name: this.#core.options.name, url: this.#core.clientUrl }
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
    this.#timers = [
      setInterval(() => {
        for (const link of this.#links.values()) this.#relay.sendSync(link)
      }, SYNC_INTERVAL_MS),
      setInterval(() => this.#announcePresence(), PRESENCE_ANNOUNCE_MS),
      setInterval(() => this.#presenceChanged(this.#presence.expire()), PRESENCE_ANNOUNCE_MS / 2),
    ]
    for (const timer of this.#timers) timer.unref()
    for (const addr of this.#core.options.peers) this.addPeer(addr)
    return (this.#server.address() as AddressInfo).port
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
      })
    }
    return statuses
  }

  #dial(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'connecting'
    const socket = tlsConnect({
      host: dialer.host,
      port: dialer.port,
      key: this.#options.identity.key,
      cert: this.#options.identity.cert,
      minVersion: 'TLSv1.3',
      // Certificates are self-signed: who may link is decided by the mesh-secret proof.
      rejectUnauthorized: false,
    })
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
      this.#redialLater(dialer)
    }
    socket.once('error', failed)
    socket.once('secureConnect', () => {
      clearTimeout(timeout)
      socket.off('error', failed)
      dialer.socket = undefined
      if (dialer.stopped || this.#closed) return void socket.destroy()
      dialer.link = this.#adopt(socket, true, dialer)
    })
  }

  #redialLater(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'down'
    const delay = backoffDelay(dialer.attempt++, REDIAL_BASE_MS, REDIAL_MAX_MS)
    clearTimeout(dialer.timer)
    dialer.timer = setTimeout(() => this.#dial(dialer), delay)
    dialer.timer.unref()
  }

  #adopt(socket: TLSSocket, initiator: boolean, dialer?: Dialer): PeerLink {
    const link = new PeerLink({
      socket,
      initiator,
      self: this.#self,
      mesh: this.#core.options.mesh,
      secret: this.#core.options.secret,
      logger: this.#core.logger,
      onUp: (l) => this.#linkUp(l, dialer),
      onFrame: (l, frame) => this.#onFrame(l, frame),
      onClose: (l, reason) => this.#linkClosed(l, reason, dialer),
      onFrameSent: () => this.#core.metrics.meshFramesSent.inc(),
    })
    this.#allLinks.add(link)
    return link
  }

  #linkUp(link: PeerLink, dialer: Dialer | undefined): void {
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

    // The hello only fills a gap: the node's own versioned entry follows in its `nodes` frame.
    const learned = this.#learn([{ ...remote, peerAddr: '', version: 0 }])
    this.#relay.linkUp(link)
    // Presence goes to every link on the next turn: the new peer learns who is here, and the
    // others learn of the new link (for mesh maps).
    this.localPresenceChanged()
    if (!learned) link.send(this.#nodesFrame())
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
        this.#learn(frame.nodes.map((n) => ({ ...n, version: n.version ?? 0 })))
        return
    }
  }

  /** Events just committed on this node: pass them on. */
  forward(events: readonly ChatEvent[]): void {
    this.#relay.forward(events)
  }

  #flood(frame: Buffer, except?: PeerLink): void {
    for (const link of this.#links.values()) if (link !== except) link.send(frame)
  }

  // ---- presence

  /** Local presence changed: announce it on the next turn (several changes, one frame). */
  localPresenceChanged(): void {
    if (this.#presenceScheduled) return
    this.#presenceScheduled = true
    setImmediate(() => {
      this.#presenceScheduled = false
      this.#announcePresence()
    })
  }

  #presenceFrame(): Buffer {
    return encodeFrame({
      type: 'presence',
      node: this.#core.nodeId,
      // The clock is strictly increasing, even across restarts: every announcement is newer.
      version: this.#core.clock.now(),
      rooms: Object.fromEntries(this.#core.rooms.snapshot()),
      links: [...this.#links.keys()],
    })
  }

  #announcePresence(): void {
    if (this.#links.size > 0) this.#flood(this.#presenceFrame())
  }

  #onPresence(link: PeerLink, frame: PeerFrameOf<'presence'>): void {
    if (frame.node === this.#core.nodeId) return
    const changed = this.#presence.apply(frame.node, frame.version, frame.rooms, link, frame.links)
    if (!changed) return
    this.#flood(encodeFrame(frame), link)
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
    this.#flood(encodeFrame({ type: 'typing', origin: this.#core.nodeId, eseq, room, user }))
  }

  #onTyping(link: PeerLink, frame: PeerFrameOf<'typing'>): void {
    if (frame.origin === this.#core.nodeId) return
    if ((this.#typingSeen.get(frame.origin) ?? 0) >= frame.eseq) return
    this.#typingSeen.set(frame.origin, frame.eseq)
    this.#flood(encodeFrame(frame), link)
    this.#core.publishTyping(frame.room, { id: frame.user.id, name: frame.user.name })
  }

  // ---- the nodes of the mesh

  /**
   * Takes in entries of other nodes; when any is new, sends the whole directory to every link
   * and returns true. A known node's entry is replaced only by a newer one that node made: with
   * "last heard wins", two nodes relaying different entries for the same node at the same moment
   * would swap them with each other forever.
   */
  #learn(entries: readonly DirectoryEntry[]): boolean {
    let changed = false
    for (const { id, name, url, peerAddr, version } of entries) {
      if (id === this.#core.nodeId) continue
      const held = this.#directory.get(id)
      if (held && version <= held.version) continue
      this.#directory.set(id, { id, name, url, peerAddr, version })
      changed = true
    }
    if (!changed) return false
    this.#flood(this.#nodesFrame())
    this.#nodesMaybeChanged()
    return true
  }

  /** Every node this one knows, itself first. */
  #nodesFrame(): Buffer {
    const self = { ...this.#self, peerAddr: this.#options.peerAddr(), version: this.#version }
    return encodeFrame({ type: 'nodes', nodes: [self, ...this.#directory.values()] })
  }

  /** Every node known, this one first; `up` when it is linked or was heard from lately. */
  nodes(): MeshNode[] {
    const self = this.#self
    return [
      { id: self.id, name: self.name, url: self.url, up: true },
      ...[...this.#directory.values()].map((n) => ({
        id: n.id,
        name: n.name,
        url: n.url,
        up: this.#links.has(n.id) || this.#presence.has(n.id),
      })),
    ]
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

  /** Tells clients when the list of nodes or their reachability changed. */
  #nodesMaybeChanged(): void {
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
