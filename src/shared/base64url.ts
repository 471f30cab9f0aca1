/**
 * base64url without padding (RFC 4648, section 5), the text form of keys, signatures and nonces
 * on the wire (docs/protocol.md, "Keys and signatures"). Runs in Node and in the browser.
 *
 * Decoding is strict, so that every byte string has exactly one text form: a key or a signature
 * that two nodes spell differently would make two copies of one event differ.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The 6-bit value of each ASCII character of the alphabet; -1 for any other character. */
const VALUE_OF = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUE_OF[ALPHABET.charCodeAt(i)] = i

/** The length of the unpadded base64url text of `byteLength` bytes. */
export function base64urlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3)
}

export function encodeBase64url(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0
    const b1 = bytes[i + 1] ?? 0
    const b2 = bytes[i + 2] ?? 0
    const left = bytes.length - i
    text += ALPHABET.charAt(b0 >> 2)
    text += ALPHABET.charAt(((b0 & 3) << 4) | (b1 >> 4))
    if (left > 1) text += ALPHABET.charAt(((b1 & 15) << 2) | (b2 >> 6))
    if (left > 2) text += ALPHABET.charAt(b2 & 63)
  }
  return text
}

/**
 * Decodes unpadded base64url. Returns null, never throws, for anything that is not the one
 * encoding `encodeBase64url` gives: a character outside the alphabet (`=`, `+`, `/`, white
 * space), an impossible length, unused low bits that are not zero, or — when `byteLength` is
 * given — another number of bytes.
 */
export function decodeBase64url(text: string, byteLength?: number): Uint8Array | null {
  if (byteLength !== undefined && text.length !== base64urlLength(byteLength)) return null
  const tail = text.length % 4
  if (tail === 1) return null
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let bitCount = 0
  let at = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? (VALUE_OF[code] ?? -1) : -1
    if (value < 0) return null
    bits = ((bits << 6) | value) & 0xffff
    bitCount += 6
    if (bitCount >= 8) {
      bitCount -= 8
      bytes[at++] = (bits >> bitCount) & 0xff
    }
  }
  // The last character's unused low bits must be zero, or two texts would give the same bytes.
  if ((bits & ((1 << bitCount) - 1)) !== 0) return null
  return bytes
}
