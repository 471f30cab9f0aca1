/**
 * One authenticated TLS link to another node: the handshake of docs/protocol.md (hello, auth with
 * the mesh-secret proof bound to this TLS session), the pre-auth limits, framing, liveness
 * (ping every few seconds; silent for `linkSilenceMs`, 15 s by default, means dead) and round-trip time. What the frames
 * mean once the link is up is the mesh's business.
 *
 * Every frame handler, callback and timer of a link runs inside `contain()`: an unexpected
 * error closes this link (and is logged and counted), never the node.
 */
import type { TLSSocket } from 'node:tls'
import {
  EXPORTER_LABEL,
  FEATURES,
  MAX_PEER_FRAME_BYTES,
  MAX_PREAUTH_FRAME_BYTES,
  type PeerFrame,
  peerFrameSchema,
  unknownFrameType,
} from '../../../shared/peer-protocol.ts'
import { PROTOCOL_VERSION } from '../../../shared/protocol.ts'
import { contain, type ErrorSink } from '../containment.ts'
import type { Logger } from '../logger.ts'
import { encodeFrame, FrameDecoder, FrameError } from './framing.ts'
import { meshProof, proofMatches } from './proof.ts'
import type { Signer } from '../../../shared/ed25519.ts'
import { keyOwnsNodeId } from '../../../shared/keys.ts'
import { signLink, verifyLink } from '../../../shared/signatures.ts'
import { nativeEd25519 } from '../signing-native.ts'

/** TLS 1.3 treats no exporter context and an empty one alike (RFC 8446, 7.5). */
const NO_CONTEXT = Buffer.alloc(0)

/** Default of `meshTimings.pingIntervalMs`: each end of a link pings this often. */
export const PING_INTERVAL_MS = 5_000
/** Default of `meshTimings.linkSilenceMs`: a link silent this long is closed at the next ping. */
export const LINK_SILENCE_MS = 15_000
/** A link whose unsent bytes pass this is too slow to keep; it is closed and redialled. */
export const MAX_LINK_BUFFERED_BYTES = 64 * 1024 * 1024

export interface NodeInfo {
  id: string
  name: string
  /** The node's client WebSocket URL. */
  url: string
  /** The node's public key (base64url): `id` is its hash. */
  key: string
}

/** The link's timings, in ms (the node's `meshTimings`). */
export interface LinkTimings {
  pingIntervalMs: number
  linkSilenceMs: number
  handshakeTimeoutMs: number
}

export interface LinkOptions {
  socket: TLSSocket
  timings: LinkTimings
  /** True when this node dialled the link. */
  initiator: boolean
  self: NodeInfo
  /** Signs with this node's key (the handshake's `sig`). */
  signer: Signer
  mesh: string
  secret: string
  logger: Logger
  /** Where an unexpected error in this link is logged and counted. */
  sink: ErrorSink
  /** The peer proved it knows the mesh secret. */
  onUp: (link: PeerLink) => void
  /** A frame on an authenticated link. */
  onFrame: (link: PeerLink, frame: PeerFrame) => void
  /** The link is closed (for any reason; called once). */
  onClose: (link: PeerLink, reason: string) => void
  /** A frame of any type was written to the socket (for the metrics). */
  onFrameSent?: () => void
  /** A frame of a type this version does not know came after the handshake and was dropped. */
  onUnknownFrame?: (type: string) => void
}

export class PeerLink {
  readonly initiator: boolean
  /** The remote `host:port` of the socket. */
  readonly addr: string
  remote: NodeInfo | undefined
  /** What the peer speaks beyond protocol 1, from its `hello` (see FEATURES). */
  remoteFeatures: ReadonlySet<string> = new Set()
  state: 'handshake' | 'up' | 'closed' = 'handshake'
  rttMs: number | null = null
  readonly #options: LinkOptions
  readonly #socket: TLSSocket
  readonly #decoder = new FrameDecoder(MAX_PREAUTH_FRAME_BYTES)
  readonly #exporter: string
  #lastHeard = Date.now()
  readonly #handshakeTimer: NodeJS.Timeout
  #pingTimer: NodeJS.Timeout | undefined

  constructor(options: LinkOptions) {
    this.#options = options
    this.initiator = options.initiator
    const socket = options.socket
    this.#socket = socket
    this.addr = `${socket.remoteAddress}:${socket.remotePort}`
    this.#exporter = socket.exportKeyingMaterial(32, EXPORTER_LABEL, NO_CONTEXT).toString('hex')
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (error) => this.close(`socket error: ${error.message}`))
    socket.on('close', () => this.close('socket closed'))
    this.#handshakeTimer = setTimeout(
      () => this.#guard('handshake timer', () => this.close('handshake took too long')),
      options.timings.handshakeTimeoutMs,
    )

    const { self, mesh, secret, signer } = options
    const exporter = this.#exporter
    this.send(
      encodeFrame({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        node: { ...self },
        mesh,
        features: [...FEATURES],
      }),
    )
    this.send(
      encodeFrame({
        type: 'auth',
        proof: meshProof(secret, mesh, exporter, self.id),
        sig: signLink(signer, { mesh, exporter, nodeId: self.id }),
      }),
    )
  }

  /** The id of the node that opened this link (for the one-link-per-pair rule). */
  get openerId(): string | undefined {
    return this.initiator ? this.#options.self.id : this.remote?.id
  }

  /** Stops reading the peer's frames (TCP pushes back on it) until `resumeReading`. */
  pauseReading(): void {
    this.#socket.pause()
  }

  resumeReading(): void {
    this.#socket.resume()
  }

  /** Writes an encoded frame. A link that cannot keep up is closed rather than buffered forever. */
  send(frame: Buffer): void {
    if (this.state === 'closed') return
    if (this.#socket.writableLength > MAX_LINK_BUFFERED_BYTES) {
      this.close('peer too slow: unsent frames over the limit')
      return
    }
    this.#socket.write(frame)
    this.#options.onFrameSent?.()
  }

  /** Whether the socket's buffer is empty enough to stream more catch-up events now. */
  get writable(): boolean {
    return this.#socket.writableLength < 1024 * 1024
  }

  /** Resolves once the socket's buffer has drained (or the link closed). */
  drained(): Promise<void> {
    if (this.writable || this.state === 'closed') return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done)
        this.#socket.off('close', done)
        resolve()
      }
      this.#socket.on('drain', done)
      this.#socket.on('close', done)
    })
  }

  /** Closes the link; with `error`, tells the peer why first. Safe to call more than once. */
  close(reason: string, error?: { code: string; message: string }): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearTimeout(this.#handshakeTimer)
    clearInterval(this.#pingTimer)
    if (error) this.#socket.end(encodeFrame({ type: 'error', ...error }))
    else this.#socket.end()
    // Do not wait for a silent peer to finish the TLS close.
    setTimeout(() => this.#socket.destroy(), 1_000).unref()
    this.#options.logger.debug(
      { peer: this.remote?.id, addr: this.addr, reason },
      'peer link closed',
    )
    const { sink, onClose } = this.#options
    contain(sink, 'link', 'closing a peer link', () => onClose(this, reason))
  }

  /** Runs `fn`; an unexpected error in it closes this link. */
  #guard(what: string, fn: () => void): void {
    contain(this.#options.sink, 'link', what, fn, () => this.close(`internal error in ${what}`))
  }

  #onData(chunk: Buffer): void {
    this.#lastHeard = Date.now()
    this.#decoder.push(chunk)
    this.#guard('a peer frame', () => this.#readFrames())
  }

  #readFrames(): void {
    for (;;) {
      if (this.state === 'closed') return
      let value: unknown
      try {
        value = this.#decoder.read()
      } catch (error) {
        if (!(error instanceof FrameError)) throw error
        return this.close(`unreadable stream: ${error.message}`, {
          code: 'bad_frame',
          message: 'frames are a 4-byte length then JSON',
        })
      }
      if (value === undefined) return
      const unknownType = this.state === 'up' ? unknownFrameType(value) : undefined
      if (unknownType !== undefined) {
        // A newer node's frame: ignored, so that the protocol can grow (docs/protocol.md).
        this.#options.onUnknownFrame?.(unknownType)
        continue
      }
      const parsed = peerFrameSchema.safeParse(value)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        return this.close(`bad frame: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`, {
          code: 'bad_frame',
          message: 'a frame broke the peer protocol',
        })
      }
      if (this.state === 'handshake') this.#handshake(parsed.data)
      else this.#steady(parsed.data)
    }
  }

  #handshake(frame: PeerFrame): void {
    const { self, mesh, secret } = this.#options
    switch (frame.type) {
      case 'hello': {
        if (this.remote)
          return this.close('second hello', { code: 'bad_hello', message: 'hello twice' })
        if (frame.protocol !== PROTOCOL_VERSION) {
          return this.close(`protocol ${frame.protocol}`, {
            code: 'protocol',
            message: `this node speaks protocol ${PROTOCOL_VERSION}`,
          })
        }
        if (frame.mesh !== mesh) {
          return this.close(`mesh ${frame.mesh}`, {
            code: 'wrong_mesh',
            message: `this node is in mesh "${mesh}"`,
          })
        }
        if (frame.node.id === self.id) {
          return this.close('own id', { code: 'self', message: 'a node does not link to itself' })
        }
        const { id, name, url, key } = frame.node
        if (!keyOwnsNodeId(key, id)) {
          return this.close('id not of its key', {
            code: 'unauthorized',
            message: 'a node id is the hash of its key',
          })
        }
        this.remote = { id, name, url, key }
        this.remoteFeatures = new Set(frame.features)
        return
      }
      case 'auth': {
        if (!this.remote)
          return this.close('auth before hello', { code: 'bad_hello', message: 'hello first' })
        const binding = { mesh, exporter: this.#exporter, nodeId: this.remote.id }
        if (!verifyLink(binding, this.remote.key, frame.sig, nativeEd25519)) {
          this.#options.logger.warn(
            { addr: this.addr, peer: this.remote.id },
            'peer failed the link signature: it does not hold the key of the id it claims',
          )
          return this.close('wrong signature', {
            code: 'unauthorized',
            message: 'the link signature does not verify',
          })
        }
        if (!proofMatches(frame.proof, secret, mesh, this.#exporter, this.remote.id)) {
          this.#options.logger.warn(
            { addr: this.addr, peer: this.remote.id },
            'peer failed the mesh-secret proof',
          )
          return this.close('wrong proof', { code: 'unauthorized', message: 'wrong mesh secret' })
        }
        clearTimeout(this.#handshakeTimer)
        this.#decoder.maxFrameBytes = MAX_PEER_FRAME_BYTES
        this.state = 'up'
        this.#pingTimer = setInterval(
          () => this.#guard('ping', () => this.#ping()),
          this.#options.timings.pingIntervalMs,
        )
        this.#options.onUp(this)
        this.#ping() // the round-trip time is known from the start
        return
      }
      case 'error':
        return this.close(`peer refused: ${frame.code}: ${frame.message}`)
      default:
        return this.close(`${frame.type} before authentication`, {
          code: 'unauthenticated',
          message: 'authenticate first',
        })
    }
  }

  #steady(frame: PeerFrame): void {
    switch (frame.type) {
      case 'ping':
        return this.send(encodeFrame({ type: 'pong', t: frame.t }))
      case 'pong':
        this.rttMs = Math.max(0, Math.round((performance.now() - frame.t) * 10) / 10)
        return
      case 'error':
        return this.close(`peer error: ${frame.code}: ${frame.message}`)
      case 'hello':
      case 'auth':
        return this.close(`${frame.type} after authentication`, {
          code: 'bad_frame',
          message: 'handshake is over',
        })
      default:
        this.#options.onFrame(this, frame)
    }
  }

  #ping(): void {
    if (Date.now() - this.#lastHeard > this.#options.timings.linkSilenceMs) {
      this.close('silent for too long')
      return
    }
    this.send(encodeFrame({ type: 'ping', t: performance.now() }))
  }
}
