/**
 * Peer frames on a byte stream: a 4-byte unsigned big-endian length N (1 ≤ N ≤ limit), then N
 * bytes of UTF-8 JSON. The decoder takes chunks cut anywhere and yields whole frames.
 */
import { MAX_PEER_FRAME_BYTES, type PeerFrameInput } from '../../../shared/peer-protocol.ts'

export class FrameError extends Error {
  override name = 'FrameError'
}

const HEADER_BYTES = 4

/**
 * Encodes one peer frame (typed: only a frame of the protocol gets through). Encode once, write
 * the same buffer to every link.
 */
export function encodeFrame(frame: PeerFrameInput): Buffer {
  return encodeRawFrame(frame)
}

/**
 * Encodes any JSON value as a frame, for tests that play a hostile peer. Throws `FrameError`
 * past the frame limit.
 */
export function encodeRawFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8')
  if (body.length > MAX_PEER_FRAME_BYTES)
    throw new FrameError(`frame of ${body.length} bytes is over the limit`)
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length)
  out.writeUInt32BE(body.length, 0)
  body.copy(out, HEADER_BYTES)
  return out
}

/**
 * Like `encodeFrame`, but undefined for a frame over the limit: for a frame passed on as it was
 * received, whose encoding may come out longer than the bytes it arrived as.
 */
export function tryEncodeFrame(frame: PeerFrameInput): Buffer | undefined {
  try {
    return encodeFrame(frame)
  } catch (error) {
    if (error instanceof FrameError) return undefined
    throw error
  }
}

export class FrameDecoder {
  /** The largest payload accepted now; lowered before a link is authenticated. */
  maxFrameBytes: number
  #chunks: Buffer[] = []
  #buffered = 0

  constructor(maxFrameBytes = MAX_PEER_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
  }

  /**
   * The next whole frame parsed as JSON, or undefined until more bytes come. One at a time, so
   * that a limit changed after a frame (authentication) applies to the very next one.
   * @throws FrameError on a zero or oversize length, or a payload that is not JSON
   */
  read(): unknown {
    if (this.#buffered < HEADER_BYTES) return undefined
    const length = this.#peek(HEADER_BYTES).readUInt32BE(0)
    if (length === 0 || length > this.maxFrameBytes) {
      throw new FrameError(`frame length ${length} is outside 1..${this.maxFrameBytes}`)
    }
    if (this.#buffered < HEADER_BYTES + length) return undefined
    const body = this.#take(HEADER_BYTES + length).subarray(HEADER_BYTES)
    try {
      return JSON.parse(body.toString('utf8'))
    } catch {
      throw new FrameError('frame is not JSON')
    }
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer
    if (first.length >= n) return first
    this.#chunks = [Buffer.concat(this.#chunks)]
    return this.#chunks[0] as Buffer
  }

  #take(n: number): Buffer {
    const whole = this.#peek(n)
    const taken = whole.subarray(0, n)
    const rest = whole.subarray(n)
    this.#chunks[0] = rest
    if (rest.length === 0) this.#chunks.shift()
    this.#buffered -= n
    return taken
  }
}
