/**
 * One chat session: a WebSocket from a UI, a browser tab or a bot, speaking the client protocol.
 *
 * A session never throws into the server: a bad frame gets an `error` and changes nothing, and
 * a failure inside a handler is logged, counted, answered with `internal` and closes this
 * session (1011), never another one or the node. A session that cannot keep up (its unsent
 * frames pass `maxBufferedBytes`) is closed, so that one slow reader never grows the node's
 * memory; the client reconnects and resumes exactly with `since`.
 *
 * Everything a session can make the node do is bounded: frames, typing frames and messages read
 * for backlogs per second (token buckets), rooms per session and per node, and the time it may
 * take to be welcomed.
 *
 * A keyed user (docs/protocol.md, "Shared terms") is welcomed only once it has answered the
 * node's `challenge` with a `prove` its key verifies, and each of its `send`s must carry its
 * `usig`; a keyless `hello` with an id of the keyed form is refused, and so is every keyless
 * `hello` on a node that requires keys. Signatures are checked with node:crypto.
 */
import type { Socket } from 'node:net'
import { type RawData, WebSocket } from 'ws'
import { isKeyedUserId, keyOwnsUserId } from '../../shared/keys.ts'
import type {
  ClientFrame,
  ErrorCode,
  MeshNode,
  OnlineUser,
  ServerFrame,
} from '../../shared/protocol.ts'
import {
  CLOSE_HELLO_TIMEOUT,
  CLOSE_INTERNAL_ERROR,
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
  HELLO_TIMEOUT_MS,
  HISTORY_DEFAULT_LIMIT,
  JOIN_BACKLOG,
  MAX_RESUME_BACKLOG,
  PROTOCOL_VERSION,
  eventId,
  parseClientFrame,
  parseEventId,
} from '../../shared/protocol.ts'
import {
  MESSAGE_KIND,
  makeNonce,
  userSignatureToVerify,
  verifySessionProof,
} from '../../shared/signatures.ts'
import type { ChatUser } from '../../shared/signed-frames.ts'
import type { TokenCheck } from './access.ts'
import { contain, type ErrorSink } from './containment.ts'
import type { EventLog } from './event-log.ts'
import type { NodeOptions } from './options.ts'
import { RateLimiter } from './rate-limiter.ts'
import type { Member, Rooms } from './rooms.ts'
import { chatMessage, clientFrame, encodeServerFrame } from './client-events.ts'
import { nativeEd25519Once, verifyInPool } from './signing-native.ts'
import type { Page, Store } from './store.ts'

/** After the node closes a session, how long the peer gets to finish the close handshake. */
const CLOSE_GRACE_MS = 1_000
/** How far bounded replies (backlogs, history pages) may raise a session's unsent bound. */
const MAX_REPLY_ALLOWANCE_BYTES = 16 * 1024 * 1024

type Frame<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>

/** A keyed user's `hello` that waits for its `prove`: the user it named and the nonce sent. */
interface Challenge {
  user: ChatUser & { key: string }
  nonce: string
}

/** The node options a session applies (see options.ts for each). */
export type SessionLimits = Pick<
  NodeOptions,
  | 'name'
  | 'rateLimit'
  | 'typingRateLimit'
  | 'backlogRateLimit'
  | 'maxBufferedBytes'
  | 'maxRoomsPerSession'
  | 'requireKeys'
>

/** What a session reads of the store: backlogs, history pages and what the node holds. */
export type StoreReader = Pick<Store, 'latest' | 'before' | 'missing' | 'get' | 'seqOf'>

/**
 * What sessions need of the node that serves them: one object shared by every session of a
 * client port, so that a session holds no closures or options of its own.
 */
export interface SessionHost {
  /** This node's id (in `welcome`, and what a keyed user's `prove` signs). */
  nodeId: string
  limits: SessionLimits
  /** Where contained errors, logs and the delivery metrics go. */
  sink: ErrorSink
  rooms: Rooms
  store: StoreReader
  /** Writes a message (EventLog.send): resolves once it is committed. */
  write: EventLog['send']
  /** Who is online in `room` across the mesh. */
  roomUsers: (room: string) => OnlineUser[]
  /** The nodes a client may use, this one first. */
  meshNodes: () => MeshNode[]
  /** A session joined or left `room` and changed who is online there. */
  presenceChanged: (room: string) => void
  /** The session's user is typing in `room`. */
  typing: (room: string, user: ChatUser) => void
  /** Called once, when `session` is welcomed (it no longer counts as pending). */
  welcomed: (session: Session) => void
  /** Called once, when `session`'s socket has closed. */
  closed: (session: Session) => void
  /** Checks the access token `session`'s `hello` gives (`undefined`: none), for its address. */
  checkToken: (session: Session, given: string | undefined) => TokenCheck
}

/**
 * The WebSocket of a chat session (the client port's server makes its sockets of this class): it
 * carries its session, so that one listener function per event serves every session's socket.
 * A closure per event and session would cost each idle session about 250 bytes.
 */
export class SessionSocket extends WebSocket {
  session: Session | undefined = undefined
}

/** The session `ws` carries; ws calls its listeners with the socket as `this`. */
function sessionOf(ws: WebSocket): Session | undefined {
  return ws instanceof SessionSocket ? ws.session : undefined
}

export class Session implements Member {
  readonly #ws: SessionSocket
  /** The TCP connection under `#ws`: corked for bursts, and what the client port counts. */
  readonly socket: Socket
  readonly #host: SessionHost
  /**
   * Frames of any type. Each token bucket is made when first used and dropped by the heartbeat
   * once full again (a full bucket acts as a new one): an idle session holds none.
   */
  #limiter: RateLimiter | undefined
  /** `typing` frames, on top of `#limiter`. */
  #typingLimiter: RateLimiter | undefined
  /** Messages read from the store for backlogs and history pages (charged once read). */
  #backlogLimiter: RateLimiter | undefined
  readonly #rooms = new Set<string>()
  /**
   * Frames waiting, in order, for the backlog budget to refill (the first one reads backlog);
   * at most `rateLimit.burst`. The socket is not read meanwhile. Made when a frame must wait,
   * dropped when none does.
   */
  #waiting: ClientFrame[] | undefined
  #waitTimer: NodeJS.Timeout | undefined
  /** The session's user, once welcomed: `{id, name}`, and `key` for a keyed user. */
  #user: ChatUser | undefined
  #challenge: Challenge | undefined
  #helloTimer: NodeJS.Timeout | undefined
  /** The last signed send in verification: the next is written after it (none while idle). */
  #sending: Promise<void> | undefined
  /** A handler failed: the session is closing (1011). */
  #failed = false
  /** Set by the heartbeat's ping; cleared by each pong. */
  #pinged = false
  /** Bytes of bounded replies queued since the session was last within its bound. */
  #replyAllowance = 0

  constructor(ws: SessionSocket, socket: Socket, host: SessionHost) {
    this.#ws = ws
    this.socket = socket
    this.#host = host
    this.#helloTimer = setTimeout(() => this.#helloTimedOut(), HELLO_TIMEOUT_MS)
    ws.session = this
    ws.on('message', Session.#socketMessage)
    ws.on('pong', Session.#socketPong)
    ws.on('close', Session.#socketClose)
    ws.on('error', Session.#socketError)
  }

  // The listeners of every session's socket (see SessionSocket).

  static #socketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    // With binaryType 'nodebuffer' (ws's default), ws hands over a Buffer.
    const session = sessionOf(this)
    if (session) session.#onMessage(data as Buffer, isBinary)
  }

  static #socketPong(this: WebSocket): void {
    const session = sessionOf(this)
    if (session) session.#pinged = false
  }

  static #socketClose(this: WebSocket): void {
    const session = sessionOf(this)
    if (session) session.#contain('closing a chat session', () => session.#onClose())
  }

  static #socketError(this: WebSocket, error: Error): void {
    const session = sessionOf(this)
    if (session) session.#host.sink.logger.debug({ err: error }, 'chat session socket error')
  }

  /**
   * Runs `fn` for this session: an exception is logged and counted, the client gets `internal`
   * and the session is closed with 1011. Nothing reaches the server or the other sessions.
   */
  #contain(what: string, fn: () => void, ref?: string): void {
    contain(this.#host.sink, 'session', what, fn, () => this.#fail(ref))
  }

  #fail(ref: string | undefined): void {
    // Once: the `internal` frame itself goes through a contained delivery.
    if (this.#failed) return
    this.#failed = true
    this.#error('internal', 'the node failed to handle this frame; reconnect', ref)
    this.#closeSoon(CLOSE_INTERNAL_ERROR, 'internal error')
  }

  /** Closes with `code`, and cuts the socket if the close handshake does not end in time. */
  #closeSoon(code: number, reason: string): void {
    const ws = this.#ws
    ws.close(code, reason)
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
  }

  #helloTimedOut(): void {
    this.#contain('closing a session without hello', () => {
      this.#helloTimer = undefined
      if (this.#user) return
      this.#host.sink.logger.info('closing a chat session that sent no hello in time')
      this.#closeSoon(CLOSE_HELLO_TIMEOUT, `no hello within ${HELLO_TIMEOUT_MS / 1000} s`)
    })
  }

  get user(): ChatUser {
    // Only sessions past hello are ever members of a room.
    if (!this.#user) throw new Error('session has no user before hello')
    return this.#user
  }

  /** Whether the session got its `welcome` (only then does it get broadcasts). */
  get welcomed(): boolean {
    return this.#user !== undefined
  }

  deliver(frames: readonly Buffer[]): void {
    // Called by fan-out for every member of a room: a failure here is this session's alone.
    this.#contain('delivering to a chat session', () => {
      if (!this.#fallenBehind()) this.#write(frames)
    })
  }

  /** Writes frames to the socket corked, so that a burst leaves in one write. */
  #write(frames: readonly Buffer[]): void {
    // ws has no cork of its own; its sends cork per frame, and corks nest.
    this.socket.cork()
    for (const frame of frames) this.#ws.send(frame, { binary: false })
    this.socket.uncork()
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
    const bound = this.#host.limits.maxBufferedBytes
    if (buffered <= bound) {
      this.#replyAllowance = 0
      return false
    }
    if (buffered <= bound + this.#replyAllowance) return false
    this.#host.sink.logger.info({ user: this.#user?.id }, 'closing a chat session that fell behind')
    this.#closeSoon(CLOSE_TOO_SLOW, 'too slow: reconnect and resume with since')
    return true
  }

  /**
   * Queues the frames of one reply together: the session must not be behind before it, and
   * the reply's own size (up to MAX_REPLY_ALLOWANCE_BYTES in all) does not count against it.
   */
  #reply(frames: ServerFrame[]): void {
    if (this.#fallenBehind()) return
    const encoded = frames.map(encodeServerFrame)
    const bytes = encoded.reduce((sum, b) => sum + b.length, 0)
    this.#replyAllowance = Math.min(MAX_REPLY_ALLOWANCE_BYTES, this.#replyAllowance + bytes)
    this.#write(encoded)
  }

  send(frame: ServerFrame): void {
    this.deliver([encodeServerFrame(frame)])
  }

  /**
   * Whether the last ping went unanswered. A session whose frames wait for its backlog budget
   * is not read meanwhile, pongs included (its socket is paused, for a bounded time): it is
   * busy, not dead, and is asked again once it is read.
   */
  get awaitingPong(): boolean {
    return this.#pinged && !this.waitingForBacklog
  }

  /** Its frames wait for the backlog budget, and its socket is not read meanwhile. */
  get waitingForBacklog(): boolean {
    return this.#waitTimer !== undefined
  }

  ping(): void {
    if (this.waitingForBacklog) return
    this.#pinged = true
    this.#ws.ping()
  }

  /** Drops the token buckets that are full again (the heartbeat calls this now and then). */
  dropFullBudgets(): void {
    if (this.#limiter?.isFull()) this.#limiter = undefined
    if (this.#typingLimiter?.isFull()) this.#typingLimiter = undefined
    if (this.#backlogLimiter?.isFull()) this.#backlogLimiter = undefined
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
    // ws still hands over frames that arrive while a close is under way: a session the node
    // refused or closed must not act on them.
    if (this.#ws.readyState !== this.#ws.OPEN) return
    if (isBinary) return this.#error('bad_request', 'frames are JSON text, not binary')
    const parsed = parseClientFrame(data.toString('utf8'))
    if (!parsed.ok) return this.#error(parsed.code, parsed.message, parsed.ref)
    const frame = parsed.frame
    const { perSecond, burst } = this.#host.limits.rateLimit
    this.#limiter ??= new RateLimiter(perSecond, burst)
    if (!this.#limiter.take()) {
      return this.#error('rate_limited', 'too many frames; slow down', frame.ref)
    }
    const waiting = this.#waiting
    if (waiting) {
      // Behind a frame that waits for the budget: in order, after it.
      if (waiting.length >= this.#host.limits.rateLimit.burst) {
        return this.#error('rate_limited', 'too many frames waiting; slow down', frame.ref)
      }
      waiting.push(frame)
      return
    }
    this.#run(frame)
  }

  /**
   * Handles a frame now, or makes it wait when it would read a backlog and the session's budget
   * of messages read is spent: a loop of large backlogs is slowed to the budget, and a client
   * that joins many rooms at once has its joins answered a little later, none refused.
   */
  #run(frame: ClientFrame): void {
    const backlog = this.#backlogLimiter
    if (readsBacklog(frame) && backlog && !backlog.hasToken()) {
      this.#waiting ??= []
      this.#waiting.push(frame)
      this.#ws.pause()
      this.#waitTimer = setTimeout(
        () => this.#contain('frames that waited for the backlog budget', () => this.#drain()),
        backlog.msUntilToken(),
      )
      return
    }
    this.#contain(`a ${frame.type} frame`, () => this.#handle(frame), frame.ref)
  }

  /** Handles the waiting frames in order, until one has to wait again. */
  #drain(): void {
    this.#waitTimer = undefined
    const waiting = this.#waiting ?? []
    this.#waiting = undefined
    for (const [i, frame] of waiting.entries()) {
      this.#run(frame)
      if (this.#waitTimer) {
        // #run made the frame wait again: the rest wait behind it.
        this.#waiting ??= []
        this.#waiting.push(...waiting.slice(i + 1))
        return
      }
    }
    this.#ws.resume()
  }

  #handle(frame: ClientFrame): void {
    if (frame.type === 'hello') return this.#hello(frame)
    if (this.#challenge) {
      if (frame.type === 'prove') return this.#prove(frame, this.#challenge)
      return this.#error('hello_required', 'answer the challenge with prove first', frame.ref)
    }
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
      case 'prove':
        return this.#error('bad_request', 'there is no challenge to answer', frame.ref)
    }
  }

  #hello(frame: Frame<'hello'>): void {
    if (this.#user || this.#challenge) {
      return this.#error('bad_request', 'hello was already said', frame.ref)
    }
    const access = this.#host.checkToken(this, frame.token)
    if (!access.ok) {
      return this.#refuse(
        access.reason === 'wait'
          ? `too many wrong access tokens from your address: try again in ${Math.ceil(access.retryAfterMs / 1000)} s`
          : 'this node needs a valid access token',
        frame.ref,
      )
    }
    const { id, name, key } = frame.user
    if (key === undefined) {
      if (isKeyedUserId(id)) {
        return this.#refuse('this id belongs to a keyed user: say hello with its key', frame.ref)
      }
      if (this.#host.limits.requireKeys) {
        return this.#refuse('this node takes only keyed users: say hello with a key', frame.ref)
      }
      return this.#welcome({ id, name })
    }
    if (!keyOwnsUserId(key, id)) {
      return this.#refuse("the user id is not the hash of the user's key", frame.ref)
    }
    const nonce = makeNonce()
    this.#challenge = { user: { id, name, key }, nonce }
    this.send({ type: 'challenge', node: { id: this.#host.nodeId }, nonce })
  }

  /** A keyed user's answer to its challenge: welcomed if its key signed this node's nonce. */
  #prove(frame: Frame<'prove'>, { user, nonce }: Challenge): void {
    this.#challenge = undefined
    // The key is checked once here: its KeyObject is kept only when the user sends.
    const { nodeId } = this.#host
    if (!verifySessionProof(nodeId, nonce, user.key, frame.sig, nativeEd25519Once)) {
      return this.#refuse("the signature does not prove the user's key", frame.ref)
    }
    this.#welcome(user)
  }

  /** Refuses the session at `hello` or `prove`: `unauthorized`, then close 4001. */
  #refuse(message: string, ref: string | undefined): void {
    this.#error('unauthorized', message, ref)
    this.#ws.close(CLOSE_UNAUTHORIZED, 'unauthorized')
  }

  #welcome(user: ChatUser): void {
    this.#user = user
    clearTimeout(this.#helloTimer)
    this.#helloTimer = undefined
    this.#host.welcomed(this)
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      node: { id: this.#host.nodeId, name: this.#host.limits.name },
      nodes: this.#host.meshNodes(),
    })
  }

  #join(frame: Frame<'join'>): void {
    const { room, since } = frame
    const { rooms, store, limits } = this.#host
    if (!this.#rooms.has(room) && this.#rooms.size >= limits.maxRoomsPerSession) {
      const most = limits.maxRoomsPerSession
      return this.#error('bad_request', `a session may be in ${most} rooms at most`, frame.ref)
    }
    if (!rooms.canJoin(room)) {
      return this.#error('rate_limited', 'this node holds all the rooms it can', frame.ref)
    }
    const held = (origin: string) => store.seqOf(origin)
    if (since && !rooms.canResume(room, this, since, held)) {
      return this.#error(
        'rate_limited',
        'this node is still catching up with what you have seen: join again shortly',
        frame.ref,
      )
    }
    // A null-prototype object: the store looks origins up in it.
    const page: Page = since
      ? store.missing(room, since, MAX_RESUME_BACKLOG)
      : store.latest(room, JOIN_BACKLOG)
    this.#chargeBacklog(page.events.length)
    // The backlog is read, the session joins and the backlog is queued in one turn of the event
    // loop, and events reach rooms only once committed: so backlog and live stream neither
    // overlap nor leave a hole. What `since` covers that this node does not hold yet is kept
    // from the session when it comes later (exact resume for the whole session).
    this.#rooms.add(room)
    const cameOnline = rooms.join(room, this, since, held)
    this.#reply([
      ...page.events.map(clientFrame),
      withRef(
        { type: 'joined', room, users: this.#host.roomUsers(room), truncated: page.more },
        frame.ref,
      ),
    ])
    this.#host.sink.metrics.delivered.inc(page.events.length)
    if (cameOnline) this.#host.presenceChanged(room)
  }

  #leave(frame: Frame<'leave'>): void {
    if (!this.#rooms.delete(frame.room)) {
      return this.#error('not_joined', `not joined to ${frame.room}`, frame.ref)
    }
    const wentOffline = this.#host.rooms.leave(frame.room, this)
    this.send(withRef({ type: 'left', room: frame.room }, frame.ref))
    if (wentOffline) this.#host.presenceChanged(frame.room)
  }

  #send(frame: Frame<'send'>): void {
    if (!this.#rooms.has(frame.room)) {
      return this.#error('not_joined', `join ${frame.room} before sending to it`, frame.ref)
    }
    const user = this.user
    const refusal = usigRefusal(user, frame)
    if (refusal) return this.#error(refusal.code, refusal.message, frame.ref)
    const { room, cid, text, usig } = frame
    const signature = userSignatureToVerify({ kind: MESSAGE_KIND, room, cid, text, user, usig })
    if (!signature) return this.#store(frame, user)
    // A keyed user's usig is verified on the thread pool, and the session's sends still reach
    // the log in the order they came: each waits for the one before.
    const verified = Promise.all([this.#sending, verifyInPool(signature)])
    this.#sending = verified.then(([, valid]) =>
      this.#contain(
        'a signed send',
        () =>
          valid
            ? this.#store(frame, user)
            : this.#error(
                'unauthorized',
                "usig: not the user's signature of this message",
                frame.ref,
              ),
        frame.ref,
      ),
    )
  }

  /** Has the log store a send that passed every check, and answers `ack` or `unavailable`. */
  #store(frame: Frame<'send'>, user: ChatUser): void {
    // Both answers go out through `deliver`, which contains its own failures.
    this.#host.write(frame.room, user, frame.text, frame.cid, frame.usig).then(
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
    const store = this.#host.store
    let page: Page
    // History pages hold messages; events of other kinds reach a client live and in backlogs.
    if (frame.before === undefined) {
      page = store.latest(frame.room, limit, MESSAGE_KIND)
    } else {
      const { origin, seq } = parseEventId(frame.before)
      const before = store.get(origin, seq)
      if (!before) return this.#error('bad_request', `before: no event ${frame.before}`, frame.ref)
      page = store.before(frame.room, before, limit, MESSAGE_KIND)
    }
    this.#chargeBacklog(page.events.length)
    const messages = page.events.map(chatMessage)
    this.#reply([
      withRef({ type: 'history', room: frame.room, messages, hasMore: page.more }, frame.ref),
    ])
  }

  /** Spends `count` messages read of the backlog budget. */
  #chargeBacklog(count: number): void {
    if (count === 0) return
    const { perSecond, burst } = this.#host.limits.backlogRateLimit
    this.#backlogLimiter ??= new RateLimiter(perSecond, burst)
    this.#backlogLimiter.charge(count)
  }

  #typing(frame: Frame<'typing'>): void {
    if (!this.#rooms.has(frame.room)) {
      return this.#error('not_joined', `join ${frame.room} before typing in it`, frame.ref)
    }
    // Typing is a hint that goes to the whole room and mesh: past its small budget it is
    // dropped without a reply (the next one will say the same).
    const { perSecond, burst } = this.#host.limits.typingRateLimit
    this.#typingLimiter ??= new RateLimiter(perSecond, burst)
    if (!this.#typingLimiter.take()) return
    this.#host.typing(frame.room, this.user)
  }

  #onClose(): void {
    clearTimeout(this.#helloTimer)
    clearTimeout(this.#waitTimer)
    this.#waiting = undefined
    this.#host.closed(this)
    const offline = [...this.#rooms].filter((room) => this.#host.rooms.leave(room, this))
    this.#rooms.clear()
    for (const room of offline) this.#host.presenceChanged(room)
  }
}

/**
 * Why a `send` by `user` may not be stored, as far as its `usig` goes, before the signature is
 * verified; undefined when it may. A keyed user signs every send; a user without a key has
 * nothing to sign with, and every node would refuse an event with a `usig` and no key.
 */
function usigRefusal(
  user: ChatUser,
  { usig }: Frame<'send'>,
): { code: ErrorCode; message: string } | undefined {
  if (user.key === undefined && usig !== undefined) {
    return { code: 'bad_request', message: 'usig: a user without a key does not sign' }
  }
  if (user.key !== undefined && usig === undefined) {
    return { code: 'unauthorized', message: 'usig: a keyed user signs each send' }
  }
  return undefined
}

/** Whether handling `frame` reads messages from the store (and spends the backlog budget). */
function readsBacklog(frame: ClientFrame): boolean {
  return frame.type === 'join' || frame.type === 'history'
}

function withRef<T extends ServerFrame>(frame: T, ref: string | undefined): T {
  return ref === undefined ? frame : { ...frame, ref }
}
