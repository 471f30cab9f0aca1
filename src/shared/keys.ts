/**
 * Public keys, signatures and the ids derived from keys (docs/protocol.md, "Keys and signatures"
 * and "Shared terms"): a node id is the first 40 hex digits of SHA-256 of the node's raw public
 * key, a keyed user's id is "k" and the same 40 digits of the user's key. Runs in Node and in the
 * browser. Nothing here throws on input from the wire.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { decodeBase64url, encodeBase64url } from './base64url.ts'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './ed25519.ts'

/** How many hex digits of the key's SHA-256 an id keeps (160 bits). */
export const ID_HEX_DIGITS = 40
/** A node id: 40 lowercase hex digits. */
export const NODE_ID_PATTERN = /^[0-9a-f]{40}$/
/** The keyed form of a user id: "k" and 40 lowercase hex digits. */
export const KEYED_USER_ID_PATTERN = /^k[0-9a-f]{40}$/

/**
 * A new random secret key (a 32-byte Ed25519 seed) from `crypto.getRandomValues`, which browsers
 * offer also to pages that are not a secure context (WebCrypto's `subtle` is missing there).
 */
export function generateSecretKey(): Uint8Array {
  return ed25519.utils.randomSecretKey()
}

/** The first 40 lowercase hex digits of SHA-256 of a raw public key. */
function keyDigest(publicKey: Uint8Array): string {
  return bytesToHex(sha256(publicKey)).slice(0, ID_HEX_DIGITS)
}

export function nodeIdFromKey(publicKey: Uint8Array): string {
  return keyDigest(publicKey)
}

export function userIdFromKey(publicKey: Uint8Array): string {
  return `k${keyDigest(publicKey)}`
}

/**
 * Whether a user id has the keyed form. Only a user holding the key may use such an id: a keyless
 * `hello` with one is refused, and so is an event whose user has such an id and no key.
 */
export function isKeyedUserId(id: string): boolean {
  return KEYED_USER_ID_PATTERN.test(id)
}

export function encodeKey(publicKey: Uint8Array): string {
  return encodeBase64url(publicKey)
}

/** The raw 32 bytes of a public key as the wire spells it, or null if it is not one. */
export function decodeKey(text: string): Uint8Array | null {
  return decodeBase64url(text, PUBLIC_KEY_BYTES)
}

export function encodeSignature(signature: Uint8Array): string {
  return encodeBase64url(signature)
}

/** The raw 64 bytes of a signature as the wire spells it, or null if it is not one. */
export function decodeSignature(text: string): Uint8Array | null {
  return decodeBase64url(text, SIGNATURE_BYTES)
}

/** Whether `nodeId` is the id of the public key `key` (base64url, as on the wire). */
export function keyOwnsNodeId(key: string, nodeId: string): boolean {
  const raw = decodeKey(key)
  return raw !== null && nodeIdFromKey(raw) === nodeId
}

/** Whether `userId` is the keyed user id of the public key `key` (base64url, as on the wire). */
export function keyOwnsUserId(key: string, userId: string): boolean {
  const raw = decodeKey(key)
  return raw !== null && userIdFromKey(raw) === userId
}
