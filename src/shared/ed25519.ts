/**
 * Ed25519 signing and verification behind one small interface, so that the browser (pure
 * JavaScript, which needs only `crypto.getRandomValues`) and the node (which may use
 * node:crypto, src/main/node/signing-native.ts) sign the same bytes and accept exactly the same
 * signatures.
 *
 * Why "exactly the same" needs care: Ed25519 libraries disagree on crafted signatures (small-order
 * or mixed-order points, non-canonical encodings, the cofactored or cofactorless equation). If
 * two nodes disagreed on one event, one would store it and the other would wait for it forever,
 * and every later event of that origin would stall behind it. So the protocol fixes one rule
 * (docs/protocol.md, "Which signatures verify"), the same as libsodium's and OpenSSL 3's:
 * 1. the public key A and the signature's R are canonical encodings (y < p) of points that are
 *    not of small order;
 * 2. the signature's S is below the group order L;
 * 3. the cofactorless equation holds on encodings: encode([S]B − [k]A) equals R byte for byte,
 *    with k = SHA-512(R ‖ A ‖ message) mod L.
 * Rules 1 and 2 are byte comparisons (`passesEncodingRules`) that every implementation runs
 * first, so that what a library would accept beyond them never matters.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, concatBytes, equalBytes } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'

export const PUBLIC_KEY_BYTES = 32
export const SECRET_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

/** Signs with one secret key, which it keeps to itself: nothing reads the key back out. */
export interface Signer {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array
  /** The 64-byte Ed25519 signature of `message` (deterministic: the same bytes every time). */
  sign(message: Uint8Array): Uint8Array
}

export interface Ed25519 {
  /** A signer for a 32-byte secret key (an RFC 8032 seed). Throws if the key is not 32 bytes. */
  signer(secretKey: Uint8Array): Signer
  /**
   * Whether `signature` is `publicKey`'s signature of `message` under the protocol's rule (see
   * the top of this file). Never throws: anything malformed is `false`.
   */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
}

/** Little-endian bytes of p = 2^255 − 19, the field order. */
const FIELD_ORDER_LE = hexBytes('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
/** Little-endian bytes of L = 2^252 + 27742317777372353535851937790883648493, the group order. */
const GROUP_ORDER_LE = hexBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
/**
 * The y coordinates (sign bit clear) of the eight points of small order: the identity (y = 1),
 * the point of order 2 (y = p − 1), the two of order 4 (y = 0) and the four of order 8 (two
 * values of y, each with both signs of x).
 */
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
].map(hexBytes)

/**
 * Rules 1 and 2 of the verification rule, on bytes alone: both lengths right, A and R canonical
 * encodings of points not of small order, S < L. Whether the points lie on the curve is left to
 * the verification itself.
 */
export function passesEncodingRules(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  return (
    isUsablePointEncoding(publicKey) &&
    isUsablePointEncoding(signature.subarray(0, 32)) &&
    lessThanLittleEndian(signature.subarray(32), GROUP_ORDER_LE)
  )
}

function isUsablePointEncoding(encoded: Uint8Array): boolean {
  const y = Uint8Array.from(encoded)
  y[31] = (y[31] ?? 0) & 0x7f // the top bit is the sign of x, not part of y
  return lessThanLittleEndian(y, FIELD_ORDER_LE) && !SMALL_ORDER_Y.some((s) => equalBytes(s, y))
}

/** a < b, both 32-byte little-endian numbers. */
function lessThanLittleEndian(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x < y
  }
  return false
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16))
}

const { Point } = ed25519

/**
 * The cofactorless check of rule 3 with noble's audited point arithmetic (noble's own `verify`
 * uses the cofactored equation, which accepts signatures that OpenSSL and libsodium refuse).
 */
function verifyCofactorless(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  const r = signature.subarray(0, 32)
  const s = bytesToNumberLE(signature.subarray(32))
  let a
  try {
    a = Point.fromBytes(publicKey)
  } catch {
    return false // not a point of the curve
  }
  const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, publicKey, message))))
  const expectedR = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k))
  return equalBytes(expectedR.toBytes(), r)
}

/** Ed25519 in pure JavaScript (@noble/curves): the browser's, and the reference for the node's. */
export const nobleEd25519: Ed25519 = {
  signer(secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('a secret key is 32 bytes')
    const key = Uint8Array.from(secretKey)
    const publicKey = ed25519.getPublicKey(key)
    return {
      publicKey,
      sign: (message) => ed25519.sign(message, key),
    }
  },
  verify(signature, message, publicKey) {
    try {
      return (
        passesEncodingRules(signature, publicKey) &&
        verifyCofactorless(signature, message, publicKey)
      )
    } catch {
      return false
    }
  },
}
