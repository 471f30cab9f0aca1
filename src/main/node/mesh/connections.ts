/**
 * This node's TLS connections to other nodes: who may connect, who is dialled, and which link
 * stands for each node.
 *
 * - A TLS server on the peer port takes links from other nodes (at most
 *   `maxPendingPeersPerAddress` unauthenticated at a time from one address, `MAX_PENDING_PEERS`
 *   in all); a dialer per configured peer keeps one to it, redialling forever with capped
 *   exponential backoff and jitter, and at once when the peer is heard of through another link.
 * - One link per pair of nodes: when two are up, the one opened by the smaller id stays; a link
 *   is forgotten only if it is the one held.
 * - A candidate (`dialCandidate`) is dialled once, not redialled: which nodes to link to beyond
 *   the configured peers is the overlay's business (overlay.ts), told how each dial ended.
 * What flows over a link once it is up is the mesh's business (`onLinkUp`, `onFrame`).
 */
import type { AddressInfo, Socket } from 'node:net'
import { createServer, type Server, type TLSSocket, connect as tlsConnect } from 'node:tls'
import { backoffDelay } from '../../../shared/backoff.ts'
import type { Signer } from '../../../shared/ed25519.ts'
import type { PeerFrame } from '../../../shared/peer-protocol.ts'
import type { PeerStatus } from '../../../shared/protocol.ts'
import { contain, type ErrorSink } from '../containment.ts'
import type { MeshTimings } from '../options.ts'
import { PendingConnections } from '../pending-connections.ts'
import { type NodeInfo, PeerLink } from './link.ts'
import type { DialOutcome } from './overlay.ts'
import type { TlsIdentity } from './tls-identity.ts'

export const REDIAL_BASE_MS = 500
/** How long a dial may take to reach an encrypted connection. */
const DIAL_TIMEOUT_MS = 5_000
/** How long a TLS handshake on the peer port may take. */
const TLS_HANDSHAKE_TIMEOUT_MS = 5_000
/** Unauthenticated connections on the peer port from all addresses together. */
export const MAX_PENDING_PEERS = 256
/** Candidate dials (`dialCandidate`) under way at once; more are refused until one ends. */
export const MAX_CANDIDATE_DIALS = 8

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

export interface PeerConnectionsOptions {
  /** The key pair and certificate TLS runs with. */
  tls: TlsIdentity
  /** Who this node says it is in each handshake. */
  self: () => NodeInfo
  /** Signs the handshake with this node's key. */
  signer: Signer
  mesh: string
  secret: string
  timings: MeshTimings
  /** The longest wait between two dials of one peer (`redialMaxMs`). */
  redialMaxMs: number
  maxPendingPeersPerAddress: number
  /** Where contained errors, logs and the link metrics go. */
  sink: ErrorSink
  /** What `/health` shows of a linked node besides its link: its name and clock skew. */
  describe: (id: string) => Pick<PeerStatus, 'name'> & { skewMs?: number }
  /** A link became the one that stands for its node. */
  onLinkUp: (link: PeerLink) => void
  /**
   * The link that stood for its node is gone: it closed, or (`replaced`) a preferred link to the
   * same node took its place.
   */
  onLinkDown: (link: PeerLink, replaced: boolean) => void
  /** A frame on a link that stands for its node. */
  onFrame: (link: PeerLink, frame: PeerFrame) => void
}

export class PeerConnections {
  readonly #options: PeerConnectionsOptions
  readonly #sink: ErrorSink
  readonly #server: Server
  readonly #dialers = new Map<string, Dialer>()
  /** Authenticated links by the remote node's id. */
  readonly #links = new Map<string, PeerLink>()
  /** Every link in any state, so that `close()` reaches all of them. */
  readonly #allLinks = new Set<PeerLink>()
  /** Inbound connections not authenticated yet, counted per remote address ... */
  readonly #pending: PendingConnections<Socket>
  /** ... and by `address:port`, so that a link's authentication releases its socket. */
  readonly #pendingSockets = new Map<string, Socket>()
  /** Candidate dials under way (sockets until TLS is up, then links until they are). */
  #candidateDials = 0
  /** The sockets of candidate dials before TLS is up, so that `close()` reaches them. */
  readonly #candidateSockets = new Set<TLSSocket>()
  #closed = false

  constructor(options: PeerConnectionsOptions) {
    this.#options = options
    this.#sink = options.sink
    this.#pending = new PendingConnections(options.maxPendingPeersPerAddress)
    this.#server = createServer({
      key: options.tls.key,
      cert: options.tls.cert,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    })
    this.#server.on('connection', (socket: Socket) => this.#admit(socket))
    this.#server.on('secureConnection', (socket) =>
      contain(
        this.#sink,
        'link',
        'taking a peer link',
        () => this.#adopt(socket, false),
        () => socket.destroy(),
      ),
    )
    this.#server.on('tlsClientError', (error, socket) => {
      this.#sink.logger.debug(
        { err: error.message, addr: socket.remoteAddress },
        'refused a peer connection before TLS',
      )
      socket.destroy()
    })
  }

  /** Listens on the peer port. Resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.#server.once('error', onError)
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    return (this.#server.address() as AddressInfo).port
  }

  /** The links that stand for their nodes. */
  links(): IterableIterator<PeerLink> {
    return this.#links.values()
  }

  /** The ids of the nodes linked to this one. */
  linkedIds(): string[] {
    return [...this.#links.keys()]
  }

  isLinked(id: string): boolean {
    return this.#links.has(id)
  }

  /** Writes a frame to every link but `except`. */
  flood(frame: Buffer, except?: PeerLink): void {
    for (const link of this.#links.values()) if (link !== except) link.send(frame)
  }

  /**
   * Counts a new connection to the peer port as unauthenticated until its link is up or it
   * closes; past the bounds it is closed at once. The TLS handshake (5 s) and the link's own
   * handshake (5 s) bound how long each may stay so.
   */
  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? ''
    if (this.#pendingSockets.size >= MAX_PENDING_PEERS || !this.#pending.admit(socket, address)) {
      this.#sink.logger.debug({ addr: address }, 'refused a peer connection: too many handshakes')
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

  // ---- configured peers

  /** Starts keeping a link to `addr` (`host:port`); a no-op when it is already a peer. */
  addPeer(addr: string): void {
    if (this.#closed || this.#dialers.has(addr)) return
    const dialer: Dialer = {
      addr,
      ...splitAddr(addr),
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
  /** The node a configured peer address turned out to be, once a link was made. */
  nodeAt(addr: string): string | undefined {
    return this.#dialers.get(addr)?.remoteId
  }

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

  /** Every configured peer and every other link, as `/health` shows them. */
  statuses(): PeerStatus[] {
    const statuses: PeerStatus[] = []
    const covered = new Set<PeerLink>()
    const described = (id: string | undefined) =>
      id === undefined ? { name: null } : this.#options.describe(id)
    for (const d of this.#dialers.values()) {
      const link = d.remoteId ? this.#links.get(d.remoteId) : undefined
      const up = d.state === 'up' && link !== undefined
      if (up) covered.add(link)
      statuses.push({
        id: d.remoteId ?? null,
        addr: d.addr,
        state: up ? 'up' : d.state === 'up' ? 'down' : d.state,
        rttMs: up ? link.rttMs : null,
        lastError: d.lastError,
        ...described(d.remoteId),
      })
    }
    for (const link of this.#links.values()) {
      if (covered.has(link) || !link.remote) continue
      statuses.push({
        id: link.remote.id,
        addr: link.addr,
        state: 'up',
        rttMs: link.rttMs,
        lastError: null,
        ...described(link.remote.id),
        name: link.remote.name,
      })
    }
    return statuses
  }

  #dial(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'connecting'
    dialer.lastDialAt = Date.now()
    let socket: TLSSocket | undefined = undefined
    socket = this.#connect(dialer, {
      failed: (error) => {
        // A socket the dialer gave up on is not its business; `socket` is still unset when the
        // address is refused at once.
        if (socket !== undefined && dialer.socket !== socket) return
        dialer.socket = undefined
        dialer.lastError = error
        contain(this.#sink, 'timer', 'scheduling a redial', () => this.#redialLater(dialer))
      },
      connected: (socket) => {
        dialer.socket = undefined
        if (dialer.stopped || this.#closed) return void socket.destroy()
        contain(
          this.#sink,
          'link',
          'taking a dialled link',
          () => (dialer.link = this.#adopt(socket, true, dialer)),
          () => {
            socket.destroy()
            this.#redialLater(dialer)
          },
        )
      },
    })
    dialer.socket = socket
  }

  /**
   * Dials `addr` (`host:port`) once, for the overlay: no redial, not shown in `/health` until
   * its link is up. `onEnd` is called once, when the link is up (or lost the one-link-per-pair
   * rule to another link to the same node) or when the dial or handshake failed. False (and
   * `onEnd` never called) when MAX_CANDIDATE_DIALS are under way or the mesh is closed.
   */
  dialCandidate(addr: string, onEnd: (outcome: DialOutcome) => void): boolean {
    if (this.#closed || this.#candidateDials >= MAX_CANDIDATE_DIALS) return false
    this.#candidateDials++
    let ended = false
    const end = (outcome: DialOutcome) => {
      if (ended) return
      ended = true
      this.#candidateDials--
      contain(this.#sink, 'link', 'ending a candidate dial', () => onEnd(outcome))
    }
    const socket = this.#connect(splitAddr(addr), {
      failed: (error) => end({ error }),
      connected: (socket) => {
        this.#candidateSockets.delete(socket)
        if (this.#closed) {
          socket.destroy()
          return end({ error: 'mesh closed' })
        }
        contain(
          this.#sink,
          'link',
          'taking a candidate link',
          () => this.#adopt(socket, true, undefined, end),
          (error) => {
            socket.destroy()
            end({ error: String(error) })
          },
        )
      },
    })
    if (socket) {
      this.#candidateSockets.add(socket)
      socket.once('close', () => {
        this.#candidateSockets.delete(socket)
        end({ error: 'connection closed' }) // a no-op when the dial ended otherwise
      })
    }
    return true
  }

  /**
   * Opens a TLS connection to `host:port`, within DIAL_TIMEOUT_MS: `connected` once TLS is up,
   * or `failed` with the reason (not for a socket destroyed on purpose, which just closes).
   */
  #connect(
    to: { host: string; port: number },
    on: { connected: (socket: TLSSocket) => void; failed: (error: string) => void },
  ): TLSSocket | undefined {
    let socket: TLSSocket
    try {
      socket = tlsConnect({
        host: to.host,
        port: to.port,
        key: this.#options.tls.key,
        cert: this.#options.tls.cert,
        minVersion: 'TLSv1.3',
        // Certificates are self-signed: who may link is decided by the mesh-secret proof.
        rejectUnauthorized: false,
      })
    } catch (error) {
      // An address the socket layer refuses outright (port 0, say): a failure like any other.
      on.failed((error as Error).message)
      return undefined
    }
    const timeout = setTimeout(
      () => socket.destroy(new Error('no TLS connection in time')),
      DIAL_TIMEOUT_MS,
    )
    // A dial given up (peer removed, mesh closed) destroys the socket without an error.
    socket.once('close', () => clearTimeout(timeout))
    const failed = (error: Error) => {
      clearTimeout(timeout)
      on.failed(error.message)
    }
    socket.once('error', failed)
    socket.once('secureConnect', () => {
      clearTimeout(timeout)
      socket.off('error', failed)
      on.connected(socket)
    })
    return socket
  }

  #redialLater(dialer: Dialer): void {
    if (dialer.stopped || this.#closed) return
    dialer.state = 'down'
    const delay = backoffDelay(dialer.attempt++, REDIAL_BASE_MS, this.#options.redialMaxMs)
    clearTimeout(dialer.timer)
    dialer.timer = setTimeout(
      () => contain(this.#sink, 'timer', 'redial', () => this.#dial(dialer)),
      delay,
    )
    dialer.timer.unref()
  }

  /** Whether `id` is the node of a configured peer (its link is kept whatever happens). */
  isConfigured(id: string): boolean {
    for (const d of this.#dialers.values()) if (d.remoteId === id) return true
    return false
  }

  /**
   * A node was heard of through another link, so it is alive: a dialer of it that is waiting
   * out its backoff dials now, with its backoff reset (a healed partition heals at once). At
   * most one such dial per REDIAL_BASE_MS, however often the node is heard of.
   */
  heardOf(id: string, peerAddr = ''): void {
    for (const d of this.#dialers.values()) {
      if (d.remoteId !== id && (peerAddr === '' || d.addr !== peerAddr)) continue
      if (d.state !== 'down' || d.socket || d.link) continue
      if (Date.now() - d.lastDialAt < REDIAL_BASE_MS) continue
      clearTimeout(d.timer)
      d.attempt = 0
      this.#dial(d)
    }
  }

  // ---- links

  #adopt(
    socket: TLSSocket,
    initiator: boolean,
    dialer?: Dialer,
    candidate?: (outcome: DialOutcome) => void,
  ): PeerLink {
    const { metrics, logger } = this.#sink
    const link = new PeerLink({
      socket,
      timings: this.#options.timings,
      initiator,
      self: this.#options.self(),
      signer: this.#options.signer,
      mesh: this.#options.mesh,
      secret: this.#options.secret,
      logger,
      sink: this.#sink,
      onUp: (l) => {
        this.#linkUp(l, dialer)
        if (l.remote) candidate?.({ linkedTo: l.remote.id })
      },
      onFrame: (l, frame) => {
        // A link on its way out says nothing more.
        if (this.#links.get(l.remote?.id ?? '') === l) this.#options.onFrame(l, frame)
      },
      onClose: (l, reason) => {
        candidate?.({ error: reason }) // a no-op once the link was up
        this.#linkClosed(l, reason, dialer)
      },
      onFrameSent: () => metrics.meshFramesSent.inc(),
      onUnknownFrame: (type) => {
        metrics.meshUnknownFrames.inc()
        logger.debug({ peer: link.remote?.id, type }, 'dropped a frame of an unknown type')
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
      this.#options.onLinkDown(existing, true)
      existing.close('replaced by a preferred link to the same node')
    }
    if (dialer) this.#covered(dialer, remote.id)
    // A node we dial may also dial us: its dialer shows the link we keep as up.
    for (const d of this.#dialers.values())
      if (d.remoteId === remote.id) this.#covered(d, remote.id)
    this.#sink.metrics.linksUp.set(this.#links.size)
    this.#sink.logger.info({ peer: remote.id, name: remote.name, addr: link.addr }, 'peer link up')
    this.#options.onLinkUp(link)
  }

  /**
   * The one-link-per-pair rule: keep the link opened by the smaller node id; when the same
   * node opened both (a redial racing a dying link), keep the newer.
   */
  #prefer(candidate: PeerLink, existing: PeerLink, remoteId: string): boolean {
    const ownId = this.#options.self().id
    const opener = ownId < remoteId ? ownId : remoteId
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
      this.#sink.metrics.linksUp.set(this.#links.size)
      this.#sink.logger.info({ peer: remoteId, reason }, 'peer link down')
      this.#options.onLinkDown(link, false)
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

  /** Closes every link and stops listening and dialling. */
  async close(): Promise<void> {
    this.#closed = true
    for (const dialer of this.#dialers.values()) {
      dialer.stopped = true
      clearTimeout(dialer.timer)
      dialer.socket?.destroy()
    }
    for (const socket of this.#candidateSockets) socket.destroy()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const link of this.#allLinks) link.close('node stopping')
    await closed
  }
}

/** `host:port` (an IPv6 host in brackets) as the host to dial and the port. */
function splitAddr(addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(':')
  return { host: addr.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(addr.slice(at + 1)) }
}
