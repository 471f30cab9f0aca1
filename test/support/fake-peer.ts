/**
 * A mesh peer played by hand: a TLS connection with a fresh identity on which a test sends and
 * reads peer frames one at a time (docs/protocol.md, "Peer protocol"). It can act as a legitimate
 * node (the right secret, then events) or a hostile one (a wrong proof, a replayed proof, bytes
 * that are not frames), and lets the test wait on the frames the other end sends back.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type TLSSocket } from 'node:tls'
import { encodeRawFrame, FrameDecoder } from '../../src/main/node/mesh/framing.ts'
import { meshProof } from '../../src/main/node/mesh/proof.ts'
import { nodeIdentity, type NodeIdentity } from '../../src/main/node/node-identity.ts'
import { signedBytes } from '../../src/shared/canonical.ts'
import { encodeSignature } from '../../src/shared/keys.ts'
import { signLink } from '../../src/shared/signatures.ts'
import { loadOrCreateIdentity, type TlsIdentity } from '../../src/main/node/mesh/tls-identity.ts'
import {
  EXPORTER_LABEL,
  type PeerFrame,
  type PeerFrameOf,
  peerFrameSchema,
} from '../../src/shared/peer-protocol.ts'

export interface FakeNode {
  id: string
  name: string
  /** Its client WebSocket URL, as a `hello` carries it. */
  url: string
  /** Its public key, as a `hello` carries it. */
  key: string
}

export interface FakePeerOptions {
  /** 127.0.0.1 by default. */
  host?: string
  port: number
  /** Who the peer says it is; by default who its identity makes it. */
  node?: Partial<FakeNode>
  /** The key it signs with; a fresh one by default. */
  keys?: NodeIdentity
  /** A fresh identity by default. */
  identity?: TlsIdentity
  /** How long the TLS connection may take. */
  timeoutMs?: number
}

/** A fresh node key pair, and the id it makes. */
export function testIdentity(): NodeIdentity {
  return nodeIdentity(randomBytes(32))
}

/** A fresh node id, of a key nobody keeps. */
export function randomNodeId(): string {
  return testIdentity().id
}

/** A fresh key pair and self-signed certificate, made the way a node makes its own. */
export async function freshIdentity(nodeId = randomNodeId()): Promise<TlsIdentity> {
  const dir = mkdtempSync(join(tmpdir(), 'palaver-fake-peer-'))
  try {
    return await loadOrCreateIdentity(dir, nodeId)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * A valid chat event as a peer relays it: `origin`'s event `seq` in `room`, by a keyless user,
 * signed by `origin`. `fields` change it before it is signed.
 */
export function wireEvent(
  origin: NodeIdentity,
  seq: number,
  room: string,
  text = `event ${seq}`,
  fields: Record<string, unknown> = {},
) {
  return origin.sign({
    kind: 'message',
    origin: origin.id,
    seq,
    ts: Date.now() * 1000 + seq,
    room,
    user: { id: 'user_eve01', name: 'Eve' },
    text,
    cid: `eve-${origin.id}-${seq}`,
    ...fields,
  })
}

/**
 * The `nodes` record of `keys`'s node, signed by it, as a node makes its own (version: now, in
 * µs). `fields` change it before it is signed.
 */
export function nodeRecord(
  keys: NodeIdentity,
  fields: Partial<{ name: string; url: string; peerAddr: string; version: number }> = {},
) {
  return keys.sign({
    id: keys.id,
    name: 'Fake',
    url: 'ws://127.0.0.1:1/',
    peerAddr: '127.0.0.1:1',
    version: Date.now() * 1000,
    ...fields,
  })
}

/** The whole local presence of `keys`'s node at `version`, signed by it: a `presence` frame. */
export function presenceFrame(
  keys: NodeIdentity,
  version: number,
  rooms: Record<string, { id: string; name: string }[]>,
) {
  return keys.sign({ type: 'presence', node: keys.id, version, rooms })
}

/**
 * `fields` with `key` as its key, signed by `keys`: what a forger that knows another node's
 * public key but not its secret key can make. Its signature does not verify under `key`.
 */
export function forgeSigned<T extends Record<string, unknown>>(
  keys: NodeIdentity,
  fields: T,
  key: string,
): T & { key: string; sig: string } {
  const keyed = { ...fields, key }
  return { ...keyed, sig: encodeSignature(keys.signer.sign(signedBytes(keyed))) }
}

const open = new Set<FakePeer>()

/** Destroys every fake peer still open. Call in afterEach/afterAll. */
export function closeFakePeers(): void {
  for (const peer of open) peer.destroy()
}

export class FakePeer {
  readonly socket: TLSSocket
  readonly node: FakeNode
  /** The key this peer signs with (its own id's, unless the test made it claim another). */
  readonly keys: NodeIdentity
  /** Hex of this TLS session's keying material, the `exporter` a proof is bound to. */
  readonly exporter: string
  /** Every valid frame received, in order. */
  readonly frames: PeerFrame[] = []
  /** Frames received that are JSON but not peer frames (a node should send none). */
  readonly invalid: unknown[] = []
  /** Resolves once the connection is closed, from either end. */
  readonly closed: Promise<void>
  #isClosed = false
  #cursor = 0
  #waiters: (() => void)[] = []
  readonly #decoder = new FrameDecoder()

  /**
   * Takes over a TLS socket that is already encrypted (from `secureConnect`, or from a test's
   * own server's `secureConnection`, to play the listening end).
   */
  constructor(socket: TLSSocket, node: Partial<FakeNode> = {}, keys = testIdentity()) {
    this.socket = socket
    this.keys = keys
    this.node = {
      id: node.id ?? keys.id,
      name: node.name ?? 'Fake',
      url: node.url ?? 'ws://127.0.0.1:1/',
      key: node.key ?? keys.key,
    }
    this.exporter = socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0)).toString('hex')
    // Resets and the like end in `closed`; a test asserts on that, not on the error.
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true
        open.delete(this)
        resolve()
        this.#wake()
      }),
    )
    open.add(this)
  }

  /** Connects with TLS 1.3 (certificates unchecked, as nodes do) and resolves once encrypted. */
  static async connect(options: FakePeerOptions): Promise<FakePeer> {
    const keys = options.keys ?? testIdentity()
    const node = { ...options.node, id: options.node?.id ?? keys.id }
    const identity = options.identity ?? (await freshIdentity(node.id))
    const socket = connect({
      host: options.host ?? '127.0.0.1',
      port: options.port,
      key: identity.key,
      cert: identity.cert,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no TLS connection to ${options.port} in time`))
      }, options.timeoutMs ?? 5_000)
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      socket.once('secureConnect', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    return new FakePeer(socket, node, keys)
  }

  get isClosed(): boolean {
    return this.#isClosed
  }

  /** Encodes and writes one frame (any object: hostile tests send frames that break the rules). */
  send(frame: object): void {
    this.socket.write(encodeRawFrame(frame))
  }

  /** Writes bytes as they are, framed or not. */
  sendRaw(bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** Sends `hello` as `node` (this peer by default) in `mesh`. */
  hello(node: FakeNode = this.node, mesh = 'default'): void {
    this.send({ type: 'hello', protocol: 1, node, mesh })
  }

  /** The proof `nodeId` would give with `secret` on this TLS session. */
  proof(secret: string, mesh = 'default', nodeId = this.node.id): string {
    return meshProof(secret, mesh, this.exporter, nodeId)
  }

  /** The link signature this peer's key makes for `nodeId` on this TLS session. */
  linkSig(mesh = 'default', nodeId = this.node.id): string {
    return signLink(this.keys.signer, { mesh, exporter: this.exporter, nodeId })
  }

  /** Sends `auth` with the proof for `secret` and this peer's link signature on this session. */
  auth(secret: string, mesh = 'default', nodeId = this.node.id): void {
    this.send({
      type: 'auth',
      proof: this.proof(secret, mesh, nodeId),
      sig: this.linkSig(mesh, nodeId),
    })
  }

  /**
   * The whole handshake of a legitimate node: `hello`, `auth`, then the other end's `sync`
   * (sent once it has taken the proof). Resolves with that `sync`.
   */
  async handshake(secret: string, mesh = 'default'): Promise<PeerFrameOf<'sync'>> {
    this.hello(this.node, mesh)
    this.auth(secret, mesh)
    return this.next('sync')
  }

  /**
   * The next frame of `type` (after those already taken by `next`) that satisfies `match`,
   * skipping others. Rejects when the connection closes first, or after `timeoutMs`.
   */
  async next<T extends PeerFrame['type']>(
    type: T,
    match: (frame: PeerFrameOf<T>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<PeerFrameOf<T>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      for (; this.#cursor < this.frames.length; this.#cursor++) {
        const frame = this.frames[this.#cursor] as PeerFrame
        if (frame.type === type && match(frame as PeerFrameOf<T>)) {
          this.#cursor++
          return frame as PeerFrameOf<T>
        }
      }
      if (this.#isClosed) throw new Error(`closed while waiting for ${type}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${type} frame within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Every frame of `type` received so far. */
  all<T extends PeerFrame['type']>(type: T): PeerFrameOf<T>[] {
    return this.frames.filter((f): f is PeerFrameOf<T> => f.type === type)
  }

  /** Ends the connection gracefully. */
  end(): void {
    this.socket.end()
  }

  destroy(): void {
    this.socket.destroy()
  }

  #onData(chunk: Buffer): void {
    this.#decoder.push(chunk)
    try {
      for (let value = this.#decoder.read(); value !== undefined; value = this.#decoder.read()) {
        const parsed = peerFrameSchema.safeParse(value)
        if (parsed.success) this.frames.push(parsed.data)
        else this.invalid.push(value)
      }
    } catch (error) {
      // The other end sent bytes that are not frames: nothing after them can be read.
      this.invalid.push(error)
      this.socket.destroy()
    }
    this.#wake()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
