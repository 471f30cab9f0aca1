/**
 * The clients of a chaos run, behaving as docs/protocol.md asks a client to:
 *
 * - a writer sends one message after another (a few in flight), and when its node dies or stops
 *   answering it fails over to the next node and resends every unacknowledged message with the
 *   same `cid`;
 * - a reader stays joined to the room, records every message each of its sessions gets, in
 *   order, and when its node dies, stops answering pings or a `hop` fault moves it, resumes on
 *   another node with `since` (the highest seq it has seen of each origin).
 *
 * Both find nodes through `urls()`, which the harness keeps current; a node that is down just
 * fails and the client tries the next one. Every loop ends at `deadline` at the latest.
 */
import WebSocket from 'ws'
import type { ServerFrame, User } from '../../src/shared/protocol.ts'
import type { Ack, Delivery, ReaderSession } from './chaos-check.ts'
import { ChatClient } from './chat-client.ts'
import { waitUntil } from './wait.ts'

/** Opening a session and joining may take this long before the node counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3_000
/** A writer whose oldest unacknowledged message waited this long fails over. */
export const ACK_TIMEOUT_MS = 5_000
/** A reader pings its node this often and moves on when a pong takes longer than the timeout. */
export const READER_PING_MS = 2_000
export const READER_PONG_TIMEOUT_MS = 6_000
/** After trying every node once without success, wait this long before the next round. */
const RETRY_PAUSE_MS = 250

/** A sleep that `wake()` ends early (a hop, a close). */
class Nap {
  #wake: (() => void) | undefined

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#wake = done
    })
  }

  wake(): void {
    this.#wake?.()
  }
}

interface ClientOptions {
  user: User
  room: string
  /** The nodes' current client URLs, by node index. */
  urls: () => readonly string[]
  /** The node to try first. */
  node: number
  /** Every loop ends by then (epoch ms). */
  deadline: number
}

/** Opens a session on one node and joins `room`; `onFrame` sees every frame from the start. */
async function openSession(
  url: string,
  options: ClientOptions,
  since: Record<string, number> | undefined,
  onFrame: (client: ChatClient, frame: ServerFrame) => void,
): Promise<{ client: ChatClient; truncated: boolean }> {
  const client = await ChatClient.connect(url, options.user, undefined, CONNECT_TIMEOUT_MS)
  try {
    client.onFrame((frame) => onFrame(client, frame))
    const reply = await client.request(
      { type: 'join', room: options.room, ...(since ? { since } : {}) },
      CONNECT_TIMEOUT_MS,
    )
    if (reply.type !== 'joined') throw new Error(`join answered ${JSON.stringify(reply)}`)
    return { client, truncated: reply.truncated }
  } catch (error) {
    client.ws.terminate()
    throw error
  }
}

/** Base of writer and reader: a session that is reopened on the next node when it fails. */
abstract class FailoverClient {
  protected readonly options: ClientOptions
  protected node: number
  protected client: ChatClient | undefined
  protected closed = false
  protected readonly nap = new Nap()
  /** Sessions opened after the first. */
  failovers = 0
  #loop: Promise<void> | undefined

  constructor(options: ClientOptions) {
    this.options = options
    this.node = options.node
  }

  get name(): string {
    return this.options.user.name
  }

  /** Whether a session was opened (and its room joined) at least once. */
  get joined(): boolean {
    return this.client !== undefined
  }

  protected get live(): boolean {
    return !this.closed && Date.now() < this.options.deadline
  }

  start(): void {
    this.#loop = this.#run()
  }

  async close(): Promise<void> {
    this.closed = true
    this.nap.wake()
    this.client?.ws.terminate()
    await this.#loop
  }

  /** Opens a session on `node`; resolves once joined. */
  protected abstract open(url: string): Promise<ChatClient>
  /** Uses the session until it fails or should be left; resolves then. */
  protected abstract use(client: ChatClient): Promise<void>
  /** The node to go to next. */
  protected nextNode(): number {
    return (this.node + 1) % this.options.urls().length
  }

  async #run(): Promise<void> {
    for (let session = 0; this.live; session++) {
      const client = await this.#connect()
      if (!client) return
      if (session > 0) this.failovers++
      this.client = client
      await this.use(client)
      client.ws.terminate()
      this.node = this.nextNode()
    }
  }

  async #connect(): Promise<ChatClient | undefined> {
    const count = this.options.urls().length
    for (let tries = 1; this.live; tries++) {
      const url = this.options.urls()[this.node] ?? ''
      try {
        return await this.open(url)
      } catch {
        this.node = (this.node + 1) % count
        if (tries % count === 0) await this.nap.sleep(RETRY_PAUSE_MS)
      }
    }
    return undefined
  }
}

interface Pending {
  text: string
  /** When it was last sent (performance.now()), on the current session. */
  sentAt: number
}

export interface WriterOptions extends ClientOptions {
  /** New messages per second. */
  perSecond: number
  /** Unacknowledged messages at most. */
  window: number
}

export class ChaosWriter extends FailoverClient {
  readonly #writerOptions: WriterOptions
  readonly acks: Ack[] = []
  /** Error frames other than the retryable ones: a node misbehaving. */
  readonly incidents: string[] = []
  /** Messages written (distinct cids). */
  sent = 0
  /** Sends repeated with the same cid after a failover or a retryable error. */
  resends = 0
  readonly #pending = new Map<string, Pending>()
  #writing = true

  constructor(options: WriterOptions) {
    super(options)
    this.#writerOptions = options
  }

  /** Messages sent and not acknowledged yet. */
  get unacked(): number {
    return this.#pending.size
  }

  /** Stops writing new messages; unacknowledged ones are still resent until acknowledged. */
  stopWriting(): void {
    this.#writing = false
  }

  /** Resolves once every message is acknowledged; rejects after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    await waitUntil(() => this.#pending.size === 0, timeoutMs, `${this.options.user.name} acked`)
  }

  protected async open(url: string): Promise<ChatClient> {
    const { client } = await openSession(url, this.options, undefined, (c, f) =>
      this.#onFrame(c, f),
    )
    // Everything not acknowledged goes again, with the same cid.
    for (const [cid, pending] of this.#pending) {
      this.#send(client, cid, pending.text)
      this.resends++
    }
    return client
  }

  protected async use(client: ChatClient): Promise<void> {
    const { perSecond, window } = this.#writerOptions
    while (this.live && client.ws.readyState === WebSocket.OPEN) {
      const now = performance.now()
      const oldest = Math.min(...[...this.#pending.values()].map((p) => p.sentAt))
      if (now - oldest > ACK_TIMEOUT_MS) return // the node stopped answering
      if (this.#writing && this.#pending.size < window) {
        const cid = `m${this.sent++}`
        this.#send(client, cid, `${this.options.user.name} ${cid}`)
      }
      // Pacing a load, not waiting on state.
      await this.nap.sleep(1000 / perSecond)
    }
  }

  #send(client: ChatClient, cid: string, text: string): void {
    this.#pending.set(cid, { text, sentAt: performance.now() })
    client.send({ type: 'send', room: this.options.room, text, cid, ref: cid })
  }

  #onFrame(client: ChatClient, frame: ServerFrame): void {
    if (frame.type === 'ack') {
      this.acks.push({ userId: this.options.user.id, cid: frame.cid, id: frame.id })
      this.#pending.delete(frame.cid)
    } else if (frame.type === 'error' && frame.ref !== undefined) {
      const pending = this.#pending.get(frame.ref)
      if (!pending) return
      if (frame.code === 'unavailable' || frame.code === 'rate_limited') {
        this.#send(client, frame.ref, pending.text)
        this.resends++
      } else {
        this.incidents.push(
          `${this.options.user.name}: ${frame.code} for ${frame.ref}: ${frame.message}`,
        )
        this.#pending.delete(frame.ref)
      }
    }
  }
}

export class ChaosReader extends FailoverClient {
  readonly sessions: ReaderSession[] = []
  /** The highest seq seen of each origin, over all sessions: the next `since`. */
  readonly vector = new Map<string, number>()
  #hopTo: number | undefined

  /** Leaves the current node and resumes on `node`. */
  hop(node: number): void {
    this.#hopTo = node
    this.nap.wake()
    this.client?.ws.terminate()
  }

  protected override nextNode(): number {
    const hop = this.#hopTo
    this.#hopTo = undefined
    return hop ?? super.nextNode()
  }

  protected async open(url: string): Promise<ChatClient> {
    const session: ReaderSession = {
      node: `node ${this.node}`,
      since: Object.fromEntries(this.vector),
      truncated: false,
      deliveries: [],
    }
    // Recorded before the join, so that a session that delivered a little and then failed
    // counts: what it got is in the vector the next one resumes from.
    this.sessions.push(session)
    const opened = await openSession(url, this.options, session.since, (_, frame) => {
      if (frame.type !== 'message' || frame.room !== this.options.room) return
      const delivery: Delivery = {
        id: frame.id,
        origin: frame.origin,
        seq: frame.seq,
        userId: frame.user.id,
        cid: frame.cid,
      }
      session.deliveries.push(delivery)
      this.vector.set(frame.origin, Math.max(this.vector.get(frame.origin) ?? 0, frame.seq))
    }).catch((error: unknown) => {
      // A node that could not be reached gave nothing: not a session worth checking.
      if (session.deliveries.length === 0) this.sessions.pop()
      throw error
    })
    session.truncated = opened.truncated
    return opened.client
  }

  protected async use(client: ChatClient): Promise<void> {
    while (this.live && this.#hopTo === undefined && client.ws.readyState === WebSocket.OPEN) {
      try {
        await client.request({ type: 'ping' }, READER_PONG_TIMEOUT_MS)
      } catch {
        return // closed, or the node stopped answering
      }
      await this.nap.sleep(READER_PING_MS)
    }
  }
}
