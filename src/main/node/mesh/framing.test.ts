import { describe, expect, it } from 'vitest'
import { MAX_PEER_FRAME_BYTES, MAX_PREAUTH_FRAME_BYTES } from '../../../shared/peer-protocol.ts'
import { encodeFrame, encodeRawFrame, FrameDecoder, FrameError } from './framing.ts'

/** A small seeded PRNG (mulberry32), so a failing random split can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Pushes every chunk and reads whatever whole frames each one completes. */
function decodeAll(chunks: Buffer[], decoder = new FrameDecoder()): unknown[] {
  const out: unknown[] = []
  for (const chunk of chunks) {
    decoder.push(chunk)
    for (let value = decoder.read(); value !== undefined; value = decoder.read()) out.push(value)
  }
  return out
}

/** A header announcing `length` payload bytes, followed by `body`. */
function rawFrame(length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(length, 0)
  return Buffer.concat([header, body])
}

const hello = { type: 'hello', protocol: 1, node: { id: 'abcdefgh1', name: 'A', url: '' } }

describe('encodeRawFrame', () => {
  it('writes a 4-byte big-endian length, then the UTF-8 JSON', () => {
    const frame = { type: 'ping', t: 1, text: 'é€😀' }
    const buf = encodeRawFrame(frame)
    const body = Buffer.from(JSON.stringify(frame), 'utf8')
    expect(buf.readUInt32BE(0)).toBe(body.length)
    expect(buf.subarray(4)).toEqual(body)
  })

  it('takes a payload of exactly 4 MiB and refuses one byte more', () => {
    // `{"s":"…"}` is 8 bytes around the string.
    const exact = { s: 'a'.repeat(MAX_PEER_FRAME_BYTES - 8) }
    expect(encodeRawFrame(exact).length).toBe(4 + MAX_PEER_FRAME_BYTES)
    const over = { s: 'a'.repeat(MAX_PEER_FRAME_BYTES - 7) }
    expect(() => encodeRawFrame(over)).toThrow(FrameError)
    // The limit is in bytes, not characters: 2 Mi euro signs are 6 MiB of UTF-8.
    expect(() => encodeRawFrame({ s: '€'.repeat(2 * 1024 * 1024) })).toThrow(FrameError)
  })
})

describe('encodeFrame', () => {
  it('encodes a frame of the protocol the same way', () => {
    const ping = { type: 'ping' as const, t: 1.5 }
    expect(encodeFrame(ping)).toEqual(encodeRawFrame(ping))
  })
})

describe('FrameDecoder, chunking', () => {
  it('reads nothing until a frame is whole', () => {
    const decoder = new FrameDecoder()
    expect(decoder.read()).toBeUndefined()
    decoder.push(Buffer.alloc(0))
    expect(decoder.read()).toBeUndefined()
    decoder.push(encodeRawFrame(hello).subarray(0, 3))
    expect(decoder.read()).toBeUndefined()
  })

  it('survives one byte at a time', () => {
    const frames = [hello, { type: 'ping', t: 1.5 }, { type: 'x', text: 'naïve – 日本語 – 🎉' }]
    const bytes = Buffer.concat(frames.map((f) => encodeRawFrame(f)))
    const chunks = [...bytes].map((b) => Buffer.from([b]))
    expect(decodeAll(chunks)).toEqual(frames)
  })

  it('reads many frames from one chunk, one per read()', () => {
    const frames = Array.from({ length: 50 }, (_, i) => ({ type: 'ping', t: i }))
    const decoder = new FrameDecoder()
    decoder.push(Buffer.concat(frames.map((f) => encodeRawFrame(f))))
    for (const frame of frames) expect(decoder.read()).toEqual(frame)
    expect(decoder.read()).toBeUndefined()
  })

  it('joins a frame split across three chunks, the header itself cut in two', () => {
    const frame = { type: 'event', text: 'x'.repeat(300) }
    const bytes = encodeRawFrame(frame)
    const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 150), bytes.subarray(150)]
    expect(decodeAll(chunks)).toEqual([frame])
  })

  it('reads ~200 frames of varied sizes and characters cut at random points', () => {
    const rand = random(0x5eed)
    const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', 'ß', '€', '中', '😀', '👩‍👩‍👧']
    const frames = Array.from({ length: 200 }, (_, i) => {
      const length = Math.floor(rand() ** 3 * 20_000) // mostly small, some large
      let text = ''
      while (text.length < length) text += alphabet[Math.floor(rand() * alphabet.length)]
      return { type: 'event', i, text }
    })
    const bytes = Buffer.concat(frames.map((f) => encodeRawFrame(f)))
    for (let round = 0; round < 5; round++) {
      const chunks: Buffer[] = []
      for (let at = 0; at < bytes.length;) {
        // Cuts from 1 byte to ~30 KB: inside headers, inside multi-byte characters, across frames.
        const size = 1 + Math.floor(rand() ** 2 * 30_000)
        chunks.push(bytes.subarray(at, at + size))
        at += size
      }
      expect(decodeAll(chunks)).toEqual(frames)
    }
  })
})

describe('FrameDecoder, limits and bad payloads', () => {
  it('throws FrameError on a zero length', () => {
    const decoder = new FrameDecoder()
    decoder.push(rawFrame(0))
    expect(() => decoder.read()).toThrow(FrameError)
  })

  it('throws FrameError on a length over 4 MiB as soon as the header is in', () => {
    const decoder = new FrameDecoder()
    decoder.push(rawFrame(MAX_PEER_FRAME_BYTES + 1, Buffer.from('{')))
    expect(() => decoder.read()).toThrow(FrameError)
    const huge = new FrameDecoder()
    huge.push(rawFrame(0xffffffff))
    expect(() => huge.read()).toThrow(/outside 1\.\.4194304/)
  })

  it('takes a payload of exactly 4 MiB', () => {
    const frame = { s: 'a'.repeat(MAX_PEER_FRAME_BYTES - 8) }
    expect(decodeAll([encodeRawFrame(frame)])).toEqual([frame])
  })

  it('applies a lowered limit (4 KiB) to each frame when it is read', () => {
    const decoder = new FrameDecoder(MAX_PREAUTH_FRAME_BYTES)
    const atLimit = { s: 'a'.repeat(MAX_PREAUTH_FRAME_BYTES - 8) }
    const big = { s: 'b'.repeat(10_000) }
    // A small frame, one at the limit, then a big one, all in the same chunk (as after `auth`).
    decoder.push(
      Buffer.concat([encodeRawFrame(hello), encodeRawFrame(atLimit), encodeRawFrame(big)]),
    )
    expect(decoder.read()).toEqual(hello)
    expect(decoder.read()).toEqual(atLimit)
    expect(() => decoder.read()).toThrow(FrameError)
  })

  it('lets a big frame through once the limit is raised, even one already buffered', () => {
    const decoder = new FrameDecoder(MAX_PREAUTH_FRAME_BYTES)
    const big = { s: 'b'.repeat(100_000) }
    decoder.push(Buffer.concat([encodeRawFrame(hello), encodeRawFrame(big)]))
    expect(decoder.read()).toEqual(hello)
    decoder.maxFrameBytes = MAX_PEER_FRAME_BYTES
    expect(decoder.read()).toEqual(big)
    expect(decoder.read()).toBeUndefined()
  })

  it('refuses a 4 KiB + 1 header with the lowered limit before the body arrives', () => {
    const decoder = new FrameDecoder(MAX_PREAUTH_FRAME_BYTES)
    decoder.push(rawFrame(MAX_PREAUTH_FRAME_BYTES + 1))
    expect(() => decoder.read()).toThrow(FrameError)
  })

  it.each([
    ['not JSON', Buffer.from('hello there')],
    ['truncated JSON', Buffer.from('{"type":"ping"')],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('throws FrameError on a payload that is %s', (_, body) => {
    const decoder = new FrameDecoder()
    decoder.push(rawFrame(body.length, body))
    expect(() => decoder.read()).toThrow(FrameError)
  })

  it('returns any JSON value; checking it is a frame is the caller’s job', () => {
    const body = Buffer.from('[1,2]')
    expect(decodeAll([rawFrame(body.length, body)])).toEqual([[1, 2]])
  })
})
