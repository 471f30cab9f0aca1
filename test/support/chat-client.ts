/**
 * A WebSocket client for tests that speaks the client protocol frame by frame and lets a test
 * wait on the frames it expects (never on a fixed sleep).
 */
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import type { ClientFrame, ServerFrame, User } from '../../src/shared/protocol.ts'

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>

export function randomUser(name = 'tester'): User {
  return { id: `u${randomBytes(6).toString('hex')}`, name }
}

export class ChatClient {
  readonly ws: WebSocket
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: (() => void)[] = []
  #cursor = 0

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame)
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

  /** Opens a session and says hello; resolves once welcomed. */
  static async connect(
    url: string,
    user: User = randomUser(),
    token?: string,
  ): Promise<ChatClient> {
    const client = await ChatClient.open(url)
    client.send({ type: 'hello', protocol: 1, user, ...(token === undefined ? {} : { token }) })
    await client.next('welcome')
    return client
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
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

  /** Joins and resolves with the backlog and the `joined` frame. */
  async join(
    room: string,
    since?: Record<string, number>,
  ): Promise<{ backlog: FrameOf<'message'>[]; joined: FrameOf<'joined'> }> {
    const ref = `join-${room}-${randomBytes(3).toString('hex')}`
    const start = this.frames.length
    this.send({ type: 'join', room, ref, ...(since ? { since } : {}) })
    const { frame, index: end } = await this.waitFor(
      (f) => f.type === 'joined' && f.ref === ref,
      start,
    )
    const joined = frame as FrameOf<'joined'>
    const backlog = this.frames
      .slice(start, end)
      .filter((f): f is FrameOf<'message'> => f.type === 'message' && f.room === room)
    return { backlog, joined }
  }

  /** Sends a message and resolves with its ack (or rejects with the error frame's code). */
  async say(
    room: string,
    text: string,
    cid = `c${randomBytes(6).toString('hex')}`,
  ): Promise<FrameOf<'ack'>> {
    const ref = `send-${cid}`
    const from = this.frames.length
    this.send({ type: 'send', room, text, cid, ref })
    const { frame } = await this.waitFor(
      (f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref,
      from,
    )
    if (frame.type === 'error') throw new Error(`send failed: ${frame.code}: ${frame.message}`)
    return frame as FrameOf<'ack'>
  }

  close(): void {
    this.ws.close()
  }
}
