/**
 * A WebSocket client for tests that speaks the client protocol frame by frame and lets a test
 * wait on the frames it expects (never on a fixed sleep). It can be a keyed user: it answers the
 * node's challenge and signs its sends, as the bundled UI does.
 */
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { nobleEd25519, type Signer } from '../../src/shared/ed25519.ts'
import { encodeKey, generateSecretKey, userIdFromKey } from '../../src/shared/keys.ts'
import type { ClientFrameInput, ServerFrame, User } from '../../src/shared/protocol.ts'
import { MESSAGE_KIND, signAsUser, signSessionProof } from '../../src/shared/signatures.ts'

export type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>

/** How fast `sendMany` writes: under the node's default 50 frames/s, burst 100, with a margin. */
export interface Pace {
  perSecond: number
  burst: number
}
export const SAFE_PACE: Pace = { perSecond: 40, burst: 80 }

export function randomUser(name = 'tester'): User {
  return { id: `u${randomBytes(6).toString('hex')}`, name }
}

/** A keyed user: the user its `hello` names (the id is the hash of `key`) and its key's signer. */
export interface KeyedUser {
  user: { id: string; name: string; key: string }
  signer: Signer
}

/**
 * A keyed user with a fresh key pair. It signs with the pure-JavaScript Ed25519 the browser
 * uses, while the node checks with node:crypto: so each test also checks that the two agree.
 */
export function keyedUser(name = 'tester'): KeyedUser {
  const signer = nobleEd25519.signer(generateSecretKey())
  const key = encodeKey(signer.publicKey)
  return { user: { id: userIdFromKey(signer.publicKey), name, key }, signer }
}

function isKeyed(who: User | KeyedUser): who is KeyedUser {
  return 'signer' in who
}

/** `keyed`'s signature of the message `text` to `room` with `cid`: the `usig` of its `send`. */
export function usigOf(keyed: KeyedUser, room: string, text: string, cid: string): string {
  return signAsUser(keyed.signer, { kind: MESSAGE_KIND, room, cid, text, user: keyed.user })
}

/** `keyed`'s `prove` frame for a `challenge`. */
export function proveFrame(keyed: KeyedUser, challenge: FrameOf<'challenge'>): ClientFrameInput {
  return { type: 'prove', sig: signSessionProof(keyed.signer, challenge.node.id, challenge.nonce) }
}

/** An `error` frame a request was answered with. */
export class ReplyError extends Error {
  override name = 'ReplyError'
  readonly code: FrameOf<'error'>['code']

  constructor(frame: FrameOf<'error'>, message: string) {
    super(message)
    this.code = frame.code
  }
}

export class ChatClient {
  readonly ws: WebSocket
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: (() => void)[] = []
  readonly #listeners = new Set<(frame: ServerFrame) => void>()
  #cursor = 0
  /** `sendMany`'s token bucket, mirroring the node's limiter for this session. */
  #tokens: number | undefined
  #tokensAt = 0
  /** The keyed user this session proved, whose key signs `say` and `sendMany`. */
  #keyed: KeyedUser | undefined

  private constructor(ws: WebSocket) {
    this.ws = ws
    // A protocol error after the socket opened (say the node cut a frame short) ends in
    // `closed`; without a listener it would crash the test process instead.
    ws.on('error', () => {})
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame
      this.frames.push(frame)
      for (const listener of this.#listeners) listener(frame)
      this.#wake()
    })
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        this.#wake()
      }),
    )
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  /** Opens a socket (no hello yet). Rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options)
      const client = new ChatClient(ws)
      ws.once('open', () => resolve(client))
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
      ws.once('error', reject)
    })
  }

  /**
   * Opens a session and says hello; resolves once welcomed. A keyed user (`keyedUser()`) also
   * answers the node's challenge, and then signs every `say` and `sendMany`. Rejects when the
   * upgrade or the welcome takes longer than `timeoutMs` (a node that is paused accepts TCP and
   * says nothing).
   */
  static async connect(
    url: string,
    who: User | KeyedUser = randomUser(),
    token?: string,
    timeoutMs = 10_000,
  ): Promise<ChatClient> {
    const client = await ChatClient.open(url, { handshakeTimeout: timeoutMs })
    const keyed = isKeyed(who) ? who : undefined
    const user = isKeyed(who) ? who.user : who
    try {
      client.send({ type: 'hello', protocol: 1, user, ...(token === undefined ? {} : { token }) })
      if (keyed) {
        client.send(proveFrame(keyed, await client.next('challenge', () => true, timeoutMs)))
        client.#keyed = keyed
      }
      await client.next('welcome', () => true, timeoutMs)
    } catch (error) {
      client.ws.terminate()
      throw error
    }
    return client
  }

  /**
   * Calls `listener` with every frame received from now on, in order, as it arrives (for
   * clients that record a whole session). Returns a function that removes it.
   */
  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  send(frame: ClientFrameInput | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data)
  }

  /**
   * Resolves with the first frame at index `from` or later that satisfies `match`, waiting for
   * it if needed. Rejects after `timeoutMs`, or when the socket closes first.
   */
  async waitFor(
    match: (frame: ServerFrame) => boolean,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<{ frame: ServerFrame; index: number }> {
    const deadline = Date.now() + timeoutMs
    let i = from
    for (;;) {
      for (; i < this.frames.length; i++) {
        const frame = this.frames[i] as ServerFrame
        if (match(frame)) return { frame, index: i }
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /**
   * Waits for the next frame of `type` (after those already taken by `next`) that satisfies
   * `match`, skipping others.
   */
  async next<T extends ServerFrame['type']>(
    type: T,
    match: (frame: FrameOf<T>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<FrameOf<T>> {
    const { frame, index } = await this.waitFor(
      (f) => f.type === type && match(f as FrameOf<T>),
      this.#cursor,
      timeoutMs,
    ).catch((error: Error) => {
      throw new Error(`waiting for ${type}: ${error.message}`)
    })
    this.#cursor = index + 1
    return frame as FrameOf<T>
  }

  /** Waits until `count` message frames of `room` have arrived in total; returns them all. */
  async messages(room: string, count: number, timeoutMs = 10_000): Promise<FrameOf<'message'>[]> {
    const inRoom = () =>
      this.frames.filter((f): f is FrameOf<'message'> => f.type === 'message' && f.room === room)
    let seen = 0
    await this.waitFor(
      (f) => f.type === 'message' && f.room === room && ++seen >= count,
      0,
      timeoutMs,
    ).catch(() => {
      throw new Error(`${inRoom().length} of ${count} messages in ${room} within ${timeoutMs} ms`)
    })
    return inRoom()
  }

  /**
   * Joins and resolves with the backlog (its messages, and its `event` frames: events of other
   * kinds) and the `joined` frame; rejects on an `error` reply.
   */
  async join(
    room: string,
    since?: Record<string, number>,
  ): Promise<{
    backlog: FrameOf<'message'>[]
    events: FrameOf<'event'>[]
    joined: FrameOf<'joined'>
  }> {
    // Not the room in the ref: a ref is at most 64 characters, and so is a room.
    const ref = `join-${randomBytes(6).toString('hex')}`
    const start = this.frames.length
    this.send({ type: 'join', room, ref, ...(since ? { since } : {}) })
    const { frame, index: end } = await this.waitFor(
      (f) => (f.type === 'joined' || f.type === 'error') && f.ref === ref,
      start,
    )
    if (frame.type === 'error') {
      throw new ReplyError(frame, `join ${room}: ${frame.code}: ${frame.message}`)
    }
    const joined = frame as FrameOf<'joined'>
    const frames = this.frames.slice(start, end)
    const backlog = frames.filter(
      (f): f is FrameOf<'message'> => f.type === 'message' && f.room === room,
    )
    const events = frames.filter(
      (f): f is FrameOf<'event'> => f.type === 'event' && f.room === room,
    )
    return { backlog, events, joined }
  }

  /** Sends a message and resolves with its ack (or rejects with the error frame's code). */
  async say(
    room: string,
    text: string,
    cid = `c${randomBytes(6).toString('hex')}`,
  ): Promise<FrameOf<'ack'>> {
    const ref = `send-${cid}`
    const from = this.frames.length
    this.send({ type: 'send', room, text, cid, ref, ...this.#usig(room, text, cid) })
    const { frame } = await this.waitFor(
      (f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref,
      from,
    )
    if (frame.type === 'error') throw new Error(`send failed: ${frame.code}: ${frame.message}`)
    return frame as FrameOf<'ack'>
  }

  /**
   * Sends `frame` with a fresh `ref` (unless it has one) and resolves with the first reply that
   * echoes it (`ack`, `joined`, `left`, `history`, `pong` or `error`).
   */
  async request(frame: Record<string, unknown>, timeoutMs = 10_000): Promise<ServerFrame> {
    const ref = typeof frame.ref === 'string' ? frame.ref : `r${randomBytes(4).toString('hex')}`
    const from = this.frames.length
    this.send({ ...frame, ref })
    const { frame: reply } = await this.waitFor(
      (f) => (f as { ref?: unknown }).ref === ref,
      from,
      timeoutMs,
    )
    return reply
  }

  /**
   * Sends one message per text to `room` and resolves with their acks, in order. Paces itself
   * under the node's rate limit (`pace`; the first call assumes a fresh session), so a test can
   * write thousands of messages through one session. Rejects on any error reply.
   */
  async sendMany(
    room: string,
    texts: readonly string[],
    pace: Pace = SAFE_PACE,
    timeoutMs = 30_000,
  ): Promise<FrameOf<'ack'>[]> {
    const cids = texts.map(() => `c${randomBytes(8).toString('hex')}`)
    const index = new Map(cids.map((cid, i) => [cid, i]))
    const acks: FrameOf<'ack'>[] = []
    let acked = 0
    let failure: FrameOf<'error'> | undefined
    const from = this.frames.length
    const done = this.waitFor(
      (f) => {
        const i = index.get((f as { ref?: string }).ref ?? '')
        if (i === undefined) return false
        if (f.type === 'error') failure = f
        else if (f.type === 'ack') acks[i] = f
        return failure !== undefined || ++acked === texts.length
      },
      from,
      timeoutMs,
    )
    for (const [i, text] of texts.entries()) {
      await this.#takeToken(pace)
      const cid = cids[i] as string
      this.send({ type: 'send', room, text, cid, ref: cid, ...this.#usig(room, text, cid) })
    }
    if (texts.length > 0) await done
    if (failure) throw new Error(`send failed: ${failure.code}: ${failure.message}`)
    return acks
  }

  /** `{usig}` for a keyed session's send, nothing for a keyless one. */
  #usig(room: string, text: string, cid: string): { usig?: string } {
    return this.#keyed ? { usig: usigOf(this.#keyed, room, text, cid) } : {}
  }

  async #takeToken({ perSecond, burst }: Pace): Promise<void> {
    const now = performance.now()
    const tokens = Math.min(
      burst,
      (this.#tokens ?? burst) + ((now - this.#tokensAt) * perSecond) / 1000,
    )
    this.#tokensAt = now
    if (tokens >= 1) {
      this.#tokens = tokens - 1
      return
    }
    // Pacing, not waiting on state: the node's limiter is a clock.
    const waitMs = ((1 - tokens) * 1000) / perSecond
    await new Promise((r) => setTimeout(r, waitMs))
    this.#tokens = 0
    this.#tokensAt = performance.now()
  }

  close(): void {
    this.ws.close()
  }
}

/** Sessions a test opens, closed together after it (`closeAll` in an `afterEach`). */
export class OpenedSessions {
  readonly #clients: ChatClient[] = []

  /** A session on `node` as `user` (a random one by default), joined to `room` when given. */
  async open(
    node: { wsUrl: string; name: string },
    room?: string,
    user?: User,
  ): Promise<ChatClient> {
    const client = this.keep(
      await ChatClient.connect(node.wsUrl, user ?? randomUser(`on-${node.name}`)),
    )
    if (room !== undefined) await client.join(room)
    return client
  }

  /** Closes `client` with the others. */
  keep(client: ChatClient): ChatClient {
    this.#clients.push(client)
    return client
  }

  closeAll(): void {
    for (const client of this.#clients.splice(0)) client.close()
  }
}
