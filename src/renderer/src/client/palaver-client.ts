/**
 * The chat client under the UI: it speaks the client protocol to one node at a time and keeps
 * the protocol's promises when nodes fail.
 *
 * - Every send gets a fresh `cid`, is shown at once as pending and kept in an outbox (persisted
 *   when storage is given) until the node acknowledges it; after a reconnect, what was never
 *   acknowledged is sent again with the same `cid`, so the node stores it once.
 * - Each room keeps the highest seq seen per origin; a reconnect joins with it as `since` and
 *   gets exactly what is missing, from the same node or any other.
 * - A keyed user (one with `user.key` and a `signer`) answers the node's `challenge` with `prove`
 *   and signs every send (`usig`); messages from the node keep every field they came with, so
 *   that the UI can check their signatures itself (authenticity.ts).
 * - When its node is unreachable it retries with backoff and jitter, trying the other nodes of
 *   the mesh (from `welcome.nodes` / `nodes`), reachable ones first.
 * - Failed over to another node, it goes back to the chosen one as soon as that answers again:
 *   checked at once when the mesh says it is up, and with backoff meanwhile. The check is a
 *   session of its own that takes over once welcomed, so the user is never without a connection.
 *
 * No React and no DOM beyond the standard WebSocket: it runs the same in a page and in Node.
 */
import { backoffDelay } from '../../../shared/backoff.ts'
import { isClientUrl } from '../../../shared/client-url.ts'
import type {
  ChatMessage,
  MeshNode,
  OnlineUser,
  ServerFrame,
  User,
} from '../../../shared/protocol.ts'
import type { z } from 'zod'
import type { ChatUser, challengeFrameSchema } from '../../../shared/signed-frames.ts'
import {
  CLOSE_UNAUTHORIZED,
  DEFAULT_ROOM,
  HISTORY_DEFAULT_LIMIT,
  MAX_TEXT_LENGTH,
  PROTOCOL_VERSION,
} from '../../../shared/limits.ts'
import { isSendableText } from '../../../shared/text.ts'
import { vectorToWire } from '../../../shared/vector.ts'
import { authenticityOf } from './authenticity.ts'
import type { UserSigner } from './keyed-user.ts'
import { Timeline, type TimelineMessage } from './timeline.ts'

export type ConnectionStatus =
  'connecting' | 'connected' | 'reconnecting' | 'unauthorized' | 'stopped'

export interface ConnectionState {
  status: ConnectionStatus
  /** The node this client is connected to, or was last. */
  node: { id: string; name: string; url: string } | null
  /** The URL being connected to or retried, while not connected. */
  target: string | null
  /** The node URL the user chose. */
  homeUrl: string
  /** Connected (now) to another node than the chosen one, because that one could not be reached. */
  failedOver: boolean
  /** The mesh's nodes, as the last node told. */
  nodes: readonly MeshNode[]
  /** Messages written but not yet acknowledged by a node. */
  unsent: number
  /** Failed connection attempts in a row. */
  attempt: number
  lastError: string | null
  /**
   * While `unauthorized`, what the node refused: the access token (at `hello`), or this
   * browser's identity (its `prove`, after the token was taken).
   */
  refused: 'token' | 'identity' | null
}

export interface RoomState {
  name: string
  /** Joined at least once: before that an empty room is not known to be empty. */
  loaded: boolean
  /** Joined on the current connection: its messages and who is online are live. */
  joined: boolean
  /** Why the node refused the last join (for people), or null. */
  refused: string | null
  messages: readonly TimelineMessage[]
  users: readonly OnlineUser[]
  typing: readonly User[]
  unread: number
  /** Older messages exist than the oldest shown. */
  hasMore: boolean
  loadingOlder: boolean
}

export interface ClientState {
  connection: ConnectionState
  rooms: readonly RoomState[]
}

/** The part of `localStorage` the client uses. */
export interface KeyValueStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export interface ClientOptions {
  /** The node to chat through (`ws://host:port/`). */
  url: string
  /** Who says hello: a keyed user has its public key as `key` and needs a `signer`. */
  user: ChatUser
  /** Signs for a keyed user. Without it the user is keyless, unverified. */
  signer?: UserSigner
  /** The node's access token, when it requires one. */
  token?: string
  /** Where the joined rooms and unsent messages survive a reload; in memory when absent. */
  storage?: KeyValueStorage
  /** Rooms to join when nothing is stored. Default: `general`. */
  defaultRooms?: string[]
  /** Give up on a connection attempt without a `welcome` after this long. */
  connectTimeoutMs?: number
}

type ChallengeFrame = z.infer<typeof challengeFrameSchema>
/** What a node sends a client: the frames of protocol.ts, and a keyed user's `challenge`. */
type NodeFrame = ServerFrame | ChallengeFrame

const RECONNECT_BASE_MS = 300
const RECONNECT_MAX_MS = 10_000
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** Someone's typing indicator lasts this long after their last `typing`. */
const TYPING_SHOWN_MS = 5_000
/** We tell the room we are typing at most this often. */
const TYPING_SEND_EVERY_MS = 2_500
/** A send or join refused for a rate limit is tried again after this long. */
const RATE_LIMITED_RETRY_MS = 1_000
/**
 * Failed over, the client checks whether the chosen node answers again first after about this
 * long, then backing off to at most `HOME_CHECK_MAX_MS` between checks (a failed check on a LAN
 * costs one refused connection).
 */
const HOME_CHECK_BASE_MS = 2_000
const HOME_CHECK_MAX_MS = 10_000

interface OutboxEntry {
  room: string
  text: string
  cid: string
  ts: number
  failed?: string
}

interface Room {
  name: string
  timeline: Timeline
  users: OnlineUser[]
  typing: Map<string, { user: User; until: number }>
  unread: number
  hasMore: boolean
  loadingOlder: boolean
  /** Joined on the current connection. */
  joined: boolean
  /** Joined on any connection so far. */
  loaded: boolean
  refused: string | null
  /** Between `join` and `joined`: the backlog, held until we know whether it has a hole. */
  backlog: ChatMessage[] | undefined
  resuming: boolean
  lastTypingSent: number
  view: RoomState | undefined
}

export class PalaverClient {
  #user: ChatUser
  readonly #signer: UserSigner | undefined
  #token: string | undefined
  readonly #options: ClientOptions
  readonly #storage: KeyValueStorage | undefined
  readonly #rooms = new Map<string, Room>()
  readonly #outbox = new Map<string, OutboxEntry>()
  /** Cids this client took out of its outbox: kept out of the stored one (see `#saveOutbox`). */
  readonly #settled = new Set<string>()
  readonly #listeners = new Set<() => void>()
  #ws: WebSocket | undefined
  #homeUrl: string
  #homeNodeId: string | undefined
  #lastUrl: string
  #status: ConnectionStatus = 'connecting'
  #node: ConnectionState['node'] = null
  #nodes: readonly MeshNode[] = []
  #attempt = 0
  #lastError: string | null = null
  #refused: 'token' | 'identity' | null = null
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  /** A session to the chosen node opened while failed over: it replaces `#ws` once welcomed. */
  #homeCheck: WebSocket | undefined
  #homeCheckTimer: ReturnType<typeof setTimeout> | undefined
  #homeCheckAttempt = 0
  #typingTimer: ReturnType<typeof setInterval> | undefined
  #emitScheduled = false
  /** Resends and joins waiting out a rate limit, cleared by `stop()`. */
  readonly #resendTimers = new Set<ReturnType<typeof setTimeout>>()
  #state: ClientState | undefined
  #activeRoom: string | undefined
  #visible = true

  constructor(options: ClientOptions) {
    this.#options = options
    const { id, name, key } = options.user
    if (key !== undefined && options.signer === undefined)
      throw new TypeError('a keyed user needs a signer')
    this.#user = key === undefined ? { id, name } : { id, name, key }
    this.#signer = key === undefined ? undefined : options.signer
    this.#token = options.token
    this.#storage = options.storage
    this.#homeUrl = options.url
    this.#lastUrl = options.url
    const stored = this.#load<string[]>('rooms')
    for (const room of stored ?? options.defaultRooms ?? [DEFAULT_ROOM]) this.#addRoom(room)
    for (const entry of this.#load<OutboxEntry[]>('outbox') ?? []) {
      const room = this.#rooms.get(entry.room)
      if (!room) continue
      this.#outbox.set(entry.cid, entry)
      room.timeline.addPending(entry.room, this.#user, entry.text, entry.cid, entry.ts)
      if (entry.failed) room.timeline.fail(this.#user.id, entry.cid, entry.failed)
    }
  }

  get user(): ChatUser {
    return this.#user
  }

  /** The access token said in `hello`, if any. */
  get token(): string | undefined {
    return this.#token
  }

  // ---- observing (bound, so they can be handed to React's useSyncExternalStore as they are)

  /** Calls `listener` after every change (coalesced). Returns the unsubscribe function. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** An immutable snapshot, the same object until something changes. */
  readonly getState = (): ClientState => {
    this.#state ??= {
      connection: {
        status: this.#status,
        node: this.#node,
        target: this.#status === 'connected' ? null : this.#lastUrl,
        homeUrl: this.#homeUrl,
        failedOver: this.#status === 'connected' && this.#failedOver(),
        nodes: this.#nodes,
        unsent: [...this.#outbox.values()].filter((e) => !e.failed).length,
        attempt: this.#attempt,
        lastError: this.#lastError,
        refused: this.#status === 'unauthorized' ? this.#refused : null,
      },
      rooms: [...this.#rooms.values()].map((room) => (room.view ??= viewOf(room))),
    }
    return this.#state
  }

  // ---- connection

  start(): void {
    if (this.#status === 'stopped') this.#status = 'connecting'
    this.#connect(this.#lastUrl)
  }

  stop(): void {
    this.#status = 'stopped'
    clearTimeout(this.#retryTimer)
    this.#cancelHomeCheck()
    for (const timer of this.#resendTimers) clearTimeout(timer)
    this.#resendTimers.clear()
    clearInterval(this.#typingTimer)
    this.#typingTimer = undefined
    const ws = this.#ws
    this.#ws = undefined
    ws?.close(1000)
    this.#changed()
  }

  /**
   * Chats through another node from now on (the user's choice), with its access token when
   * given. Rooms resume exactly where they were, from the other node.
   */
  switchNode(url: string, token?: string): void {
    if (token !== undefined) this.#token = token === '' ? undefined : token
    this.#homeUrl = url
    this.#homeNodeId = undefined
    this.#reconnect(url)
  }

  /**
   * A new display name or access token: says hello again on a fresh session of the same node,
   * keeping rooms, their positions, unsent messages and the mesh's nodes.
   */
  setIdentity(name: string, token?: string): void {
    this.#user = { ...this.#user, name }
    this.#token = token === '' ? undefined : token
    if (this.#status !== 'stopped') this.#reconnect(this.#lastUrl)
  }

  /**
   * Failed over: goes back to the chosen node now if it answers (the user asked); the current
   * connection stays until it does.
   */
  returnHome(): void {
    this.#homeCheckAttempt = 0
    this.#checkHome()
  }

  #reconnect(url: string): void {
    this.#attempt = 0
    clearTimeout(this.#retryTimer)
    const ws = this.#ws
    this.#ws = undefined
    ws?.close(1000)
    this.#markDisconnected()
    this.#status = 'connecting'
    this.#connect(url)
  }

  /** What a lost session takes with it: room joins, their pending backlogs, typing. */
  #markDisconnected(): void {
    this.#cancelHomeCheck()
    for (const room of this.#rooms.values()) {
      room.joined = false
      room.backlog = undefined
      room.loadingOlder = false
      if (room.typing.size > 0) room.typing.clear()
      room.view = undefined
    }
  }

  /**
   * Opens a session to `url`. As a home check (`homeCheck`), it runs beside the current
   * connection and replaces it only once welcomed; failing, it just schedules the next check.
   */
  #connect(url: string, homeCheck = false): void {
    if (!homeCheck) {
      clearTimeout(this.#retryTimer)
      this.#lastUrl = url
    }
    let ws: WebSocket
    try {
      ws = new WebSocket(url)
    } catch (error) {
      if (homeCheck) return this.#scheduleHomeCheck()
      this.#lastError = `cannot open ${url}: ${(error as Error).message}`
      return this.#retry()
    }
    if (homeCheck) this.#homeCheck = ws
    else {
      this.#ws = ws
      this.#changed()
    }
    let welcomed = false
    /** A challenge came, so the token (if any) was taken: a refusal now is of the key. */
    let proving = false
    const timeout = setTimeout(() => {
      if (!welcomed) ws.close()
    }, this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS)
    ws.onopen = () => {
      const hello: Record<string, unknown> = {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        user: this.#user,
      }
      if (this.#token !== undefined) hello.token = this.#token
      ws.send(JSON.stringify(hello))
    }
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return
      let frame: NodeFrame
      try {
        frame = JSON.parse(event.data) as NodeFrame
      } catch {
        return
      }
      // A home check proves itself like any session, before it is welcomed.
      if (frame.type === 'challenge') {
        proving = true
        return this.#prove(ws, frame)
      }
      if (ws === this.#homeCheck && frame.type === 'welcome') this.#takeOver(ws, url)
      if (this.#ws !== ws) return
      if (frame.type === 'welcome') {
        welcomed = true
        clearTimeout(timeout)
      }
      this.#onFrame(frame, url)
    }
    ws.onclose = (event: CloseEvent) => {
      clearTimeout(timeout)
      if (ws === this.#homeCheck) {
        // The chosen node does not answer yet: stay where we are, and check again later.
        this.#homeCheck = undefined
        return this.#scheduleHomeCheck()
      }
      if (this.#ws !== ws) return
      this.#ws = undefined
      this.#markDisconnected()
      if (this.#status === 'stopped') return
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.#status = 'unauthorized'
        this.#refused = proving ? 'identity' : 'token'
        // An identity refusal keeps the node's own words (its `error` frame came first).
        if (!proving) this.#lastError = 'this node needs an access token'
        return this.#changed()
      }
      this.#lastError = event.reason || (welcomed ? 'connection lost' : `cannot reach ${url}`)
      this.#retry()
    }
  }

  /**
   * Answers a keyed hello's `challenge` with the user's signature over it. A keyless client was
   * not challenged by a node that keeps the protocol: it does not answer, and the node closes.
   */
  #prove(ws: WebSocket, challenge: ChallengeFrame): void {
    const { node, nonce } = challenge
    if (!this.#signer || typeof node?.id !== 'string' || typeof nonce !== 'string') return
    if (ws.readyState !== WebSocket.OPEN) return
    ws.send(JSON.stringify({ type: 'prove', sig: this.#signer.signSession(node.id, nonce) }))
  }

  /** Tries again after a backoff: the same node first, then the mesh's other nodes. */
  #retry(): void {
    this.#status = 'reconnecting'
    const candidates = [
      this.#lastUrl,
      ...this.#nodes.filter((n) => n.up).map((n) => n.url),
      ...this.#nodes.filter((n) => !n.up).map((n) => n.url),
      this.#homeUrl,
    ].filter((url, i, all) => url && all.indexOf(url) === i)
    const url = candidates[this.#attempt % candidates.length] ?? this.#homeUrl
    const delay = backoffDelay(this.#attempt, RECONNECT_BASE_MS, RECONNECT_MAX_MS)
    this.#attempt++
    this.#retryTimer = setTimeout(() => this.#connect(url), delay)
    this.#changed()
  }

  #failedOver(): boolean {
    if (!this.#node) return false
    if (this.#homeNodeId !== undefined) return this.#node.id !== this.#homeNodeId
    return this.#node.url !== this.#homeUrl
  }

  /** Whether the mesh's list says the chosen node is up. */
  #homeUp(): boolean {
    return this.#nodes.some(
      (n) =>
        n.up &&
        (this.#homeNodeId === undefined ? n.url === this.#homeUrl : n.id === this.#homeNodeId),
    )
  }

  /** Connected elsewhere than the chosen node: checks it again after a backoff. */
  #scheduleHomeCheck(): void {
    clearTimeout(this.#homeCheckTimer)
    if (this.#status !== 'connected' || !this.#failedOver()) return
    const delay = backoffDelay(this.#homeCheckAttempt++, HOME_CHECK_BASE_MS, HOME_CHECK_MAX_MS)
    this.#homeCheckTimer = setTimeout(() => this.#checkHome(), delay)
  }

  #checkHome(): void {
    if (this.#homeCheck || this.#status !== 'connected' || !this.#failedOver()) return
    clearTimeout(this.#homeCheckTimer)
    this.#connect(this.#homeUrl, true)
  }

  /**
   * The chosen node welcomed a home check: its session becomes the connection and the
   * failed-over one closes. Rooms resume from their vectors there, and unacknowledged sends go
   * again with their cids, exactly as after any reconnect.
   */
  #takeOver(ws: WebSocket, url: string): void {
    this.#homeCheck = undefined
    const old = this.#ws
    this.#ws = ws
    this.#lastUrl = url
    this.#markDisconnected()
    old?.close(1000)
  }

  #cancelHomeCheck(): void {
    clearTimeout(this.#homeCheckTimer)
    const check = this.#homeCheck
    this.#homeCheck = undefined
    check?.close(1000)
  }

  // ---- frames from the node

  #onFrame(frame: ServerFrame, url: string): void {
    switch (frame.type) {
      case 'welcome':
        return this.#welcome(frame, url)
      case 'message':
        return this.#message(frame)
      case 'joined':
        return this.#joined(frame)
      case 'history': {
        const room = this.#rooms.get(frame.room)
        if (!room) return
        this.#take(room, frame.messages)
        room.hasMore = frame.hasMore
        room.loadingOlder = false
        return this.#roomChanged(room)
      }
      case 'ack':
        return this.#ack(frame.cid, frame.id, frame.ts)
      case 'presence': {
        const room = this.#rooms.get(frame.room)
        if (!room) return
        room.users = frame.users
        return this.#roomChanged(room)
      }
      case 'typing':
        return this.#typing(frame.room, frame.user)
      case 'nodes': {
        const homeWasUp = this.#homeUp()
        this.#nodes = frame.nodes.filter((node) => isClientUrl(node.url))
        // The chosen node came back to the mesh: try it now rather than at the next check.
        if (!homeWasUp && this.#homeUp()) this.returnHome()
        return this.#changed()
      }
      case 'error':
        return this.#error(frame.code, frame.message, frame.ref)
      case 'left':
      case 'pong':
      case 'event': // events of kinds other than `message`: the UI shows none yet
        return
    }
  }

  #welcome(frame: Extract<ServerFrame, { type: 'welcome' }>, url: string): void {
    this.#status = 'connected'
    this.#attempt = 0
    this.#lastError = null
    this.#node = { id: frame.node.id, name: frame.node.name, url }
    this.#nodes = frame.nodes.filter((node) => isClientUrl(node.url))
    if (url === this.#homeUrl) this.#homeNodeId = frame.node.id
    for (const room of this.#rooms.values()) this.#sendJoin(room)
    this.#homeCheckAttempt = 0
    this.#scheduleHomeCheck()
    this.#changed()
  }

  #sendJoin(room: Room): void {
    // Resume only from what the node sent before: restored unsent messages are not a position.
    room.resuming = room.timeline.vector.size > 0
    room.backlog = []
    room.refused = null
    this.#send({
      type: 'join',
      room: room.name,
      ...(room.resuming ? { since: vectorToWire(room.timeline.vector) } : {}),
      ref: `join:${room.name}`,
    })
  }

  #joined(frame: Extract<ServerFrame, { type: 'joined' }>): void {
    const room = this.#rooms.get(frame.room)
    if (!room || !room.backlog) return
    // Past 1000 missing messages the node sends the newest 1000: what we hold no longer
    // joins up with them, so start over from these (older ones load on scroll).
    if (room.resuming && frame.truncated) room.timeline.resetFromNode()
    const added = this.#take(room, room.backlog)
    if (room.resuming) room.unread += this.#countUnread(room, added)
    room.hasMore = room.resuming ? room.hasMore || frame.truncated : frame.truncated
    room.backlog = undefined
    room.joined = true
    room.loaded = true
    room.users = frame.users
    for (const pending of room.timeline.pending())
      this.#sendMessage(pending.room, pending.text, pending.cid)
    this.#roomChanged(room)
  }

  #message(message: ChatMessage): void {
    const room = this.#rooms.get(message.room)
    if (!room) return
    if (room.backlog) {
      room.backlog.push(message)
      return
    }
    const added = this.#take(room, [message])
    if (added.length === 0) return
    room.unread += this.#countUnread(room, added)
    room.typing.delete(message.user.id)
    this.#roomChanged(room)
  }

  /**
   * Takes messages from the node into a room. One of ours among them is stored, whether or not
   * its ack ever comes (the node sends members the message before the sender's ack, so a link
   * lost in between loses just the ack): it leaves the outbox, once its signatures show that it
   * is ours (`#isOurs`).
   */
  #take(room: Room, messages: readonly ChatMessage[]): ChatMessage[] {
    let settled = false
    for (const m of messages) {
      if (this.#outbox.has(m.cid) && this.#isOurs(m) && this.#unqueue(m.cid)) settled = true
    }
    if (settled) this.#saveOutbox()
    return room.timeline.addFromNode(messages)
  }

  /**
   * Whether a message that claims to be one of our sends is ours: the claim is checked here, at
   * once, rather than when its row is drawn, since it decides whether the send is done. A copy
   * whose signatures fail (only a node that breaks the protocol sends one) neither settles the
   * send nor takes its place on screen.
   */
  #isOurs(message: ChatMessage): boolean {
    return message.user.id === this.#user.id && authenticityOf(message).status !== 'invalid'
  }

  #countUnread(room: Room, added: ChatMessage[]): number {
    if (room.name === this.#activeRoom && this.#visible) return 0
    return added.filter((m) => m.user.id !== this.#user.id).length
  }

  #ack(cid: string, id: string, ts: number): void {
    const entry = this.#outbox.get(cid)
    if (!entry) return
    this.#unqueue(cid)
    this.#saveOutbox()
    const room = this.#rooms.get(entry.room)
    if (room) {
      room.timeline.acknowledge(this.#user.id, cid, id, ts)
      this.#roomChanged(room)
    } else this.#changed()
  }

  #error(code: string, message: string, ref: string | undefined): void {
    const cid = ref?.startsWith('send:') ? ref.slice(5) : undefined
    const entry = cid ? this.#outbox.get(cid) : undefined
    if (cid && entry) {
      if (code === 'rate_limited' || code === 'not_joined') {
        // Not refused for what it says: send it again shortly.
        this.#later(() => {
          if (this.#outbox.get(cid) === entry) this.#sendMessage(entry.room, entry.text, cid)
        })
        return
      }
      entry.failed = message
      this.#saveOutbox()
      const room = this.#rooms.get(entry.room)
      room?.timeline.fail(this.#user.id, cid, message)
      if (room) this.#roomChanged(room)
      return
    }
    const refusedRoom = ref?.startsWith('join:') ? this.#rooms.get(ref.slice(5)) : undefined
    if (refusedRoom?.backlog) {
      refusedRoom.backlog = undefined
      // Too many frames at once, or a node that holds all the rooms it can: ask again shortly.
      // Any other refusal (the session's room limit) is shown in the room, not left loading.
      if (code === 'rate_limited') {
        this.#later(() => {
          if (this.#rooms.get(refusedRoom.name) === refusedRoom && this.#status === 'connected')
            this.#sendJoin(refusedRoom)
        })
      } else {
        refusedRoom.refused = message
        this.#roomChanged(refusedRoom)
      }
      return
    }
    if (ref?.startsWith('history:')) {
      const room = this.#rooms.get(ref.slice(8))
      if (room) {
        room.loadingOlder = false
        this.#roomChanged(room)
      }
    }
    this.#lastError = `${code}: ${message}`
    this.#changed()
  }

  /** Runs `retry` after RATE_LIMITED_RETRY_MS, unless the client stops first. */
  #later(retry: () => void): void {
    const timer = setTimeout(() => {
      this.#resendTimers.delete(timer)
      retry()
    }, RATE_LIMITED_RETRY_MS)
    this.#resendTimers.add(timer)
  }

  #typing(roomName: string, user: User): void {
    const room = this.#rooms.get(roomName)
    if (!room || user.id === this.#user.id) return
    room.typing.set(user.id, { user, until: Date.now() + TYPING_SHOWN_MS })
    this.#typingTimer ??= setInterval(() => this.#expireTyping(), 1_000)
    this.#roomChanged(room)
  }

  #expireTyping(): void {
    const now = Date.now()
    let any = false
    for (const room of this.#rooms.values()) {
      for (const [id, t] of room.typing) {
        if (t.until <= now) {
          room.typing.delete(id)
          this.#roomChanged(room)
        }
      }
      any ||= room.typing.size > 0
    }
    if (!any) {
      clearInterval(this.#typingTimer)
      this.#typingTimer = undefined
    }
  }

  // ---- what the user does

  /** Joins (or creates) a room; it is remembered across reloads. */
  join(name: string): void {
    if (this.#rooms.has(name)) return
    const room = this.#addRoom(name)
    this.#saveRooms()
    if (this.#status === 'connected') this.#sendJoin(room)
    this.#changed()
  }

  leave(name: string): void {
    const room = this.#rooms.get(name)
    if (!room) return
    this.#rooms.delete(name)
    for (const [cid, entry] of this.#outbox) if (entry.room === name) this.#unqueue(cid)
    this.#saveOutbox()
    this.#saveRooms()
    if (room.joined) this.#send({ type: 'leave', room: name })
    this.#changed()
  }

  /**
   * Writes a message: shown at once as pending, sent now if connected, and again after any
   * reconnect until the node acknowledges it. Returns its cid.
   * @throws RangeError when the text is blank (nothing visible), not well-formed, or over 4000
   *   characters: what a node would refuse
   */
  send(roomName: string, text: string): string {
    const room = this.#rooms.get(roomName)
    if (!room) throw new RangeError(`not in room ${roomName}`)
    if (!isSendableText(text))
      throw new RangeError('a message needs a visible character and no lone surrogate')
    if (text.length > MAX_TEXT_LENGTH)
      throw new RangeError(`a message is at most ${MAX_TEXT_LENGTH} characters`)
    const cid = randomId()
    const entry: OutboxEntry = { room: roomName, text, cid, ts: Date.now() * 1000 }
    this.#outbox.set(cid, entry)
    this.#saveOutbox()
    room.timeline.addPending(roomName, this.#user, text, cid, entry.ts)
    if (room.joined) this.#sendMessage(roomName, text, cid)
    this.#roomChanged(room)
    return cid
  }

  /** Sends a failed message again, with its cid. */
  retry(roomName: string, cid: string): void {
    const entry = this.#outbox.get(cid)
    const room = this.#rooms.get(roomName)
    if (!entry || !room) return
    delete entry.failed
    this.#saveOutbox()
    room.timeline.retry(this.#user.id, cid)
    if (room.joined) this.#sendMessage(roomName, entry.text, cid)
    this.#roomChanged(room)
  }

  /** Asks for the page of messages before the oldest shown. */
  loadOlder(roomName: string): void {
    const room = this.#rooms.get(roomName)
    if (!room || !room.joined || !room.hasMore || room.loadingOlder) return
    const before = room.timeline.oldestId
    room.loadingOlder = true
    this.#send({
      type: 'history',
      room: roomName,
      limit: HISTORY_DEFAULT_LIMIT,
      ref: `history:${roomName}`,
      ...(before ? { before } : {}),
    })
    this.#roomChanged(room)
  }

  /** Tells the room we are typing (throttled). */
  typing(roomName: string): void {
    const room = this.#rooms.get(roomName)
    if (!room?.joined || Date.now() - room.lastTypingSent < TYPING_SEND_EVERY_MS) return
    room.lastTypingSent = Date.now()
    this.#send({ type: 'typing', room: roomName })
  }

  /** The room the user looks at: its messages are read as they come. */
  setActiveRoom(name: string | undefined): void {
    this.#activeRoom = name
    this.#markRead()
  }

  /** Whether the window is visible; messages that come while hidden count as unread. */
  setVisible(visible: boolean): void {
    this.#visible = visible
    this.#markRead()
  }

  #markRead(): void {
    const room = this.#activeRoom ? this.#rooms.get(this.#activeRoom) : undefined
    if (room && this.#visible && room.unread > 0) {
      room.unread = 0
      this.#roomChanged(room)
    }
  }

  // ---- plumbing

  /**
   * Sends (or sends again) one message. A keyed user signs it each time, for the name it now says
   * hello with: Ed25519 signatures are deterministic, so a resend under the same name carries the
   * same `usig`, and one after a rename the `usig` the new session's user needs.
   */
  #sendMessage(room: string, text: string, cid: string): void {
    const usig = this.#signer?.signSend({ room, cid, text, name: this.#user.name })
    this.#send({ type: 'send', room, text, cid, ...(usig ? { usig } : {}), ref: `send:${cid}` })
  }

  #send(frame: Record<string, unknown>): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(frame))
  }

  #addRoom(name: string): Room {
    const room: Room = {
      name,
      timeline: new Timeline({ isCopyOfPending: (message) => this.#isOurs(message) }),
      users: [],
      typing: new Map(),
      unread: 0,
      hasMore: false,
      loadingOlder: false,
      joined: false,
      loaded: false,
      refused: null,
      backlog: undefined,
      resuming: false,
      lastTypingSent: 0,
      view: undefined,
    }
    this.#rooms.set(name, room)
    return room
  }

  #roomChanged(room: Room): void {
    room.view = undefined
    this.#changed()
  }

  /** Publishes a new snapshot to listeners, once per turn however many changes came. */
  #changed(): void {
    this.#state = undefined
    if (this.#emitScheduled) return
    this.#emitScheduled = true
    setTimeout(() => {
      this.#emitScheduled = false
      for (const listener of this.#listeners) listener()
    }, 0)
  }

  #key(name: string): string {
    return storageKey(name, this.#user.id)
  }

  #load<T>(name: string): T | undefined {
    try {
      const text = this.#storage?.getItem(this.#key(name))
      return text ? (JSON.parse(text) as T) : undefined
    } catch {
      return undefined
    }
  }

  #save(name: string, value: unknown): void {
    try {
      this.#storage?.setItem(this.#key(name), JSON.stringify(value))
    } catch {
      // storage full or refused: the client keeps working from memory
    }
  }

  #saveRooms(): void {
    this.#save('rooms', [...this.#rooms.keys()])
  }

  /** Takes a message out of the outbox; false when it was not in it. */
  #unqueue(cid: string): boolean {
    if (!this.#outbox.delete(cid)) return false
    this.#settled.add(cid)
    return true
  }

  /**
   * Stores the outbox. Every tab of the same user shares the stored one, so the entries of
   * others are kept (a tab may close before it sends them; the next client to load sends them),
   * all but those this client settled.
   */
  #saveOutbox(): void {
    const entries = new Map<string, OutboxEntry>()
    for (const entry of this.#load<OutboxEntry[]>('outbox') ?? [])
      if (!this.#settled.has(entry.cid)) entries.set(entry.cid, entry)
    for (const entry of this.#outbox.values()) entries.set(entry.cid, entry)
    this.#save('outbox', [...entries.values()])
  }
}

/** What a client keeps in storage for each user id: its rooms and its unsent messages. */
const STORED_STATE = ['rooms', 'outbox'] as const

function storageKey(name: string, userId: string): string {
  return `palaver.${name}.${userId}`
}

/**
 * Moves what clients of user `fromId` kept in storage (rooms, unsent messages) to user `toId`,
 * unless `toId` has its own already.
 */
export function moveUserState(storage: KeyValueStorage, fromId: string, toId: string): void {
  for (const name of STORED_STATE) {
    const from = storageKey(name, fromId)
    const value = storage.getItem(from)
    if (value === null) continue
    if (storage.getItem(storageKey(name, toId)) === null)
      storage.setItem(storageKey(name, toId), value)
    storage.removeItem(from)
  }
}

function viewOf(room: Room): RoomState {
  return {
    name: room.name,
    loaded: room.loaded,
    joined: room.joined,
    refused: room.refused,
    messages: room.timeline.messages,
    users: room.users,
    typing: [...room.typing.values()].map((t) => t.user),
    unread: room.unread,
    hasMore: room.hasMore,
    loadingOlder: room.loadingOlder,
  }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
