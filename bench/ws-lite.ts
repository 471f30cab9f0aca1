/**
 * A minimal WebSocket client for the load generator: one TCP socket, no per-frame objects or
 * events. Incoming frames are handed over as (chunk, start, end) views of the bytes read, so a
 * delivery costs a few comparisons and no allocation. It speaks just what a Palaver node sends:
 * unfragmented text frames, ping (answered), close. Frames it sends are masked, as RFC 6455 asks.
 *
 * The `ws` package does the same job with about a third more CPU per delivery; with hundreds of
 * sockets on a two-core machine that CPU is taken from the node being measured.
 */
import { createHash, randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const OP_TEXT = 0x1
const OP_CLOSE = 0x8
const OP_PING = 0x9
const OP_PONG = 0xa
/** One read buffer for every socket: each read is handled completely before the next one. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

export interface WsLiteHandlers {
  /** One text frame: its payload is `chunk[start, end)`, valid only during the call. */
  frame(chunk: Buffer, start: number, end: number): void
  /** The socket ended; `code` is the close code the server gave (1006 when none). */
  close(code: number): void
}

export class WsLite {
  readonly #socket: Socket
  readonly #handlers: WsLiteHandlers
  readonly #mask = randomBytes(4)
  #pending: Buffer | undefined
  #closed = false
  #closeCode = 1006

  private constructor(socket: Socket, handlers: WsLiteHandlers) {
    this.#socket = socket
    this.#handlers = handlers
  }

  get open(): boolean {
    return !this.#closed
  }

  /** Connects and upgrades to `ws://host:port/`; resolves once the server answered 101. */
  static connect(host: string, port: number, handlers: WsLiteHandlers): Promise<WsLite> {
    return new Promise((resolve, reject) => {
      let ws: WsLite | undefined = undefined
      let head = Buffer.alloc(0)
      const key = randomBytes(16).toString('base64')
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64')
      const onHead = (end: number) => {
        const chunk = READ_BUFFER.subarray(0, end)
        head = Buffer.concat([head, chunk])
        const at = head.indexOf('\r\n\r\n')
        if (at < 0) {
          if (head.length > 16_384) socket.destroy(new Error('upgrade response too long'))
          return
        }
        const text = head.toString('latin1', 0, at)
        if (!/^HTTP\/1\.1 101 /.test(text) || !text.includes(accept)) {
          socket.destroy()
          return reject(new Error(`upgrade refused: ${text.split('\r\n')[0]}`))
        }
        const open = new WsLite(socket, handlers)
        ws = open
        resolve(open)
        if (at + 4 < head.length) open.#read(head, at + 4, head.length)
      }
      // Reads land in the shared buffer: no allocation and no stream events per read.
      const socket = connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (n) => {
            if (ws) ws.#read(READ_BUFFER, 0, n)
            else onHead(n)
            return true
          },
        },
      })
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
      socket.on('error', (error) => {
        if (!ws) reject(error)
      })
      socket.once('close', () => {
        if (ws) ws.#ended()
        else reject(new Error('socket closed during the upgrade'))
      })
    })
  }

  /** Sends one text frame. */
  send(text: string): void {
    if (!this.open) return
    const payload = Buffer.from(text, 'utf8')
    const len = payload.length
    const headLen = len < 126 ? 6 : len < 65_536 ? 8 : 14
    const frame = Buffer.allocUnsafe(headLen + len)
    frame[0] = 0x80 | OP_TEXT
    if (len < 126) {
      frame[1] = 0x80 | len
    } else if (len < 65_536) {
      frame[1] = 0x80 | 126
      frame.writeUInt16BE(len, 2)
    } else {
      frame[1] = 0x80 | 127
      frame.writeBigUInt64BE(BigInt(len), 2)
    }
    this.#mask.copy(frame, headLen - 4)
    this.#write(frame, payload, headLen)
  }

  /** Ends the connection at once (no close handshake). */
  terminate(): void {
    this.#socket.destroy()
  }

  #write(frame: Buffer, payload: Buffer, at: number, op = -1): void {
    if (op >= 0) frame[0] = 0x80 | op
    const mask = this.#mask
    for (let i = 0; i < payload.length; i++) frame[at + i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0)
    this.#socket.write(frame)
  }

  #control(op: number, payload: Buffer): void {
    if (!this.open || payload.length > 125) return
    const frame = Buffer.allocUnsafe(6 + payload.length)
    frame[1] = 0x80 | payload.length
    this.#mask.copy(frame, 2)
    this.#write(frame, payload, 6, op)
  }

  /** Handles the bytes `data[from, to)` read from the socket. */
  #read(data: Buffer, from: number, to: number): void {
    let buf = data
    let p = from
    let n = to
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, data.subarray(from, to)])
      this.#pending = undefined
      p = 0
      n = buf.length
    }
    while (n - p >= 2) {
      const b0 = buf[p] ?? 0
      const b1 = buf[p + 1] ?? 0
      let len = b1 & 0x7f
      let head = 2
      if (len === 126) {
        if (n - p < 4) break
        len = buf.readUInt16BE(p + 2)
        head = 4
      } else if (len === 127) {
        if (n - p < 10) break
        len = Number(buf.readBigUInt64BE(p + 2))
        head = 10
      }
      if (b1 & 0x80) return this.#fail('masked frame from the server')
      if (n - p < head + len) break
      const start = p + head
      const end = start + len
      p = end
      const op = b0 & 0x0f
      if ((b0 & 0x80) === 0 || op === 0) return this.#fail('fragmented frames are not supported')
      if (op === OP_TEXT) this.#handlers.frame(buf, start, end)
      else if (op === OP_PING) this.#control(OP_PONG, buf.subarray(start, end))
      else if (op === OP_CLOSE) {
        if (len >= 2) this.#closeCode = buf.readUInt16BE(start)
        this.#control(OP_CLOSE, buf.subarray(start, Math.min(end, start + 2)))
        this.#socket.end()
        return
      }
    }
    if (p < n) this.#pending = Buffer.from(buf.subarray(p, n))
  }

  #fail(reason: string): void {
    this.#closeCode = 1002
    this.#socket.destroy(new Error(reason))
  }

  #ended(): void {
    if (this.#closed) return
    this.#closed = true
    this.#handlers.close(this.#closeCode)
  }
}
