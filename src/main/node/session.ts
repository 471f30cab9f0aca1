/**
 * One chat session: a WebSocket from a UI, a browser tab or a bot, speaking the client protocol.
 *
 * A session never throws into the server: a bad frame gets an `error` and changes nothing, and
 * a failure inside a handler is logged and answered with `internal`. A session that cannot keep
 * up (its unsent frames pass `maxBufferedBytes`) is closed, so that one slow reader never grows
 * the node's memory; the client reconnects and resumes exactly with `since`.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { ClientFrame, ErrorCode, ServerFrame, User } from '../../shared/protocol.ts'
import {
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
  HISTORY_DEFAULT_LIMIT,
  JOIN_BACKLOG,
  MAX_RESUME_BACKLOG,
  PROTOCOL_VERSION,
  eventId,
  parseClientFrame,
  parseEventId,
} from '../../shared/protocol.ts'
import type { NodeCore } from './node-core.ts'
import { RateLimiter } from './rate-limiter.ts'
import type { Member } from './rooms.ts'
import type { Page } from './store.ts'

/** After a close for slowness, how long the peer gets to finish the close handshake. */
const SLOW_CLOSE_GRACE_MS = 1_000
/** How far bounded replies (backlogs, history pages) may raise a session's unsent bound. */
const MAX_REPLY_ALLOWANCE_BYTES = 16 * 1024 * 1024

type Frame<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>

export class Session implements Member {
  readonly #ws: WebSocket
  readonly #core: NodeCore
  readonly #limiter: RateLimiter
  readonly #rooms = new Set<string>()
  #user: User | undefined
  /** Set by the heartbeat; cleared by each pong. */
  awaitingPong = false
  /** Bytes of bounded replies queued since the session was last within its bound. */
  #replyAllowance = 0

  constructor(ws: WebSocket, core: NodeCore) {
    this.#ws = ws
    this.#core = core
    const { perSecond, burst } = core.options.rateLimit
    this.#limiter = new RateLimiter(perSecond, burst)
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary))
    ws.on('pong', () => (this.awaitingPong = false))
    ws.on('close', () => this.#onClose())
    ws.on('error', (error) => core.logger.debug({ err: error }, 'chat session socket error'))
  }

  get user(): User {
    // Only sessions past hello are ever members of a room.
    if (!this.#user) throw new Error('session has no user before hello')
    return this.#user
  }

  /** Whether the session got its `welcome` (only then does it get broadcasts). */
  get welcomed(): boolean {
    return this.#user !== undefined
  }

  deliver(frames: readonly Buffer[]): void {
    if (!this.#fallenBehind()) this.#write(frames)
  }

  /** Writes frames to the socket corked, so that a burst leaves in one write. */
  #write(frames: readonly Buffer[]): void {
    // ws has no cork of its own; its sends cork per frame, and corks nest.
    const socket = (this.#ws as unknown as { _socket?: Socket })._socket
    socket?.cork()
    for (const frame of frames) this.#ws.send(frame, { binary: false })
    socket?.uncork()
  }

  /**
   * Whether the session is closed or has fallen behind, in which case it is closed (1013).
   * The bound is `maxBufferedBytes`, raised by what bounded replies queued (a resume backlog
   * may pass the bound by itself) until the socket drains below it again.
   */
  #fallenBehind(): boolean {
    const ws = this.#ws
    if (ws.readyState !== ws.OPEN) return true
    const buffered = ws.bufferedAmount
    const bound = this.#core.options.maxBufferedBytes
    if (buffered <= bound) {
      this.#replyAllowance = 0
      return false
    }
    if (buffered <= bound + this.#replyAllowance) return false
    this.#core.logger.info({ user: this.#user?.id }, 'closing a chat session that fell behind')
    ws.close(CLOSE_TOO_SLOW, 'too slow: reconnect and resume with since')
    setTimeout(() => ws.terminate(), SLOW_CLOSE_GRACE_MS).unref()
    return true
  }

  /**
   * Queues the frames of one reply together: the session must not be behind before it, and
   * the reply's own size (up to MAX_REPLY_ALLOWANCE_BYTES in all) does not count against it.
   */
  #reply(frames: ServerFrame[]): void {
    if (this.#fallenBehind()) return
    const encoded = frames.map((frame) => Buffer.from(JSON.stringify(frame)))
    const bytes = encoded.reduce((sum, b) => sum + b.length, 0)
    this.#replyAllowance = Math.min(MAX_REPLY_ALLOWANCE_BYTES, this.#replyAllowance + bytes)
    this.#write(encoded)
  }

  send(frame: ServerFrame): void {
    this.deliver([Buffer.from(JSON.stringify(frame))])
  }

  ping(): void {
    this.awaitingPong = true
    this.#ws.ping()
  }

  terminate(): void {
    this.#ws.terminate()
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason)
  }

  #error(code: ErrorCode, message: string, ref?: string): void {
    this.send(
      ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref },
    )
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.#error('bad_request', 'frames are JSON text, not binary')
    const parsed = parseClientFrame(data.toString('utf8'))
    if (!parsed.ok) return this.#error(parsed.code, parsed.message, parsed.ref)
    const frame = parsed.frame
    if (!this.#limiter.take()) {
      return this.#error('rate_limited', 'too many frames; slow down', frame.ref)
    }
    try {
      this.#handle(frame)
    } catch (error) {
      this.#core.logger.error({ err: error, type: frame.type }, 'chat frame failed')
      this.#error('internal', 'the node failed to handle this frame', frame.ref)
    }
  }

  #handle(frame: ClientFrame): void {
    if (frame.type === 'hello') return this.#hello(frame)
    if (!this.#user) return this.#error('hello_required', 'say hello first', frame.ref)
    switch (frame.type) {
      case 'join':
        return this.#join(frame)
      case 'leave':
        return this.#leave(frame)
      case 'send':
        return this.#send(frame)
      case 'history':
        return this.#history(frame)
      case 'typing':
        return this.#typing(frame)
      case 'ping':
        return this.send(withRef({ type: 'pong' }, frame.ref))
    }
  }

  #hello(frame: Frame<'hello'>): void {
    if (this.#user) return this.#error('bad_request', 'hello was already said', frame.ref)
    const token = this.#core.options.token
    if (token !== undefined && !sameSecret(frame.token ?? '', token)) {
      this.#error('unauthorized', 'this node needs a valid access token', frame.ref)
      this.#ws.close(CLOSE_UNAUTHORIZED, 'unauthorized')
      return
    }
    this.#user = { id: frame.user.id, name: frame.user.name }
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      node: { id: this.#core.nodeId, name: this.#core.options.name },
      nodes: this.#core.meshNodes(),
    })
  }

  #join(frame: Frame<'join'>): void {
    const { room, since } = frame
    const store = this.#core.store
    const page: Page = since
      ? store.missing(room, since, MAX_RESUME_BACKLOG)
      : store.latest(room, JOIN_BACKLOG)
    // The backlog is read, the session joins and the backlog is queued in one turn of the event
    // loop, and events reach rooms only once committed: so backlog and live stream neither
    // overlap nor leave a hole.
    this.#rooms.add(room)
    const cameOnline = this.#core.rooms.join(room, this)
    this.#reply([
      ...page.messages.map((message): ServerFrame => ({ type: 'message', ...message })),
      withRef(
        { type: 'joined', room, users: this.#core.roomUsers(room), truncated: page.more },
        frame.ref,
      ),
    ])
    this.#core.metrics.delivered.inc(page.messages.length)
    if (cameOnline) this.#core.presenceChanged(room)
  }

  #leave(frame: Frame<'leave'>): void {
    if (!this.#rooms.delete(frame.room)) {
      return this.#error('not_joined', `not joined to ${frame.room}`, frame.ref)
    }
    const wentOffline = this.#core.rooms.leave(frame.room, this)
    this.send(withRef({ type: 'left', room: frame.room }, frame.ref))
    if (wentOffline) this.#core.presenceChanged(frame.room)
  }

  #send(frame: Frame<'send'>): void {
    if (!this.#rooms.has(frame.room)) {
      return this.#error('not_joined', `join ${frame.room} before sending to it`, frame.ref)
    }
    this.#core.log.send(frame.room, this.user, frame.text, frame.cid).then(
      (event) =>
        this.send(
          withRef(
            { type: 'ack', cid: frame.cid, id: eventId(event.origin, event.seq), ts: event.ts },
            frame.ref,
          ),
        ),
      () =>
        this.#error(
          'unavailable',
          'the node could not store the message; send it again',
          frame.ref,
        ),
    )
  }

  #history(frame: Frame<'history'>): void {
    const limit = frame.limit ?? HISTORY_DEFAULT_LIMIT
    const store = this.#core.store
    let page: Page
    if (frame.before === undefined) {
      page = store.latest(frame.room, limit)
    } else {
      const { origin, seq } = parseEventId(frame.before)
      const before = store.get(origin, seq)
      if (!before) return this.#error('bad_request', `before: no event ${frame.before}`, frame.ref)
      page = store.before(frame.room, before, limit)
    }
    this.#reply([
      withRef(
        { type: 'history', room: frame.room, messages: page.messages, hasMore: page.more },
        frame.ref,
      ),
    ])
  }

  #typing(frame: Frame<'typing'>): void {
    if (!this.#rooms.has(frame.room)) {
      return this.#error('not_joined', `join ${frame.room} before typing in it`, frame.ref)
    }
    this.#core.typing(frame.room, this.user)
  }

  #onClose(): void {
    const offline = [...this.#rooms].filter((room) => this.#core.rooms.leave(room, this))
    this.#rooms.clear()
    this.#core.sessionClosed(this)
    for (const room of offline) this.#core.presenceChanged(room)
  }
}

function withRef<T extends ServerFrame>(frame: T, ref: string | undefined): T {
  return ref === undefined ? frame : { ...frame, ref }
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}
