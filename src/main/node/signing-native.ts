/**
 * Ed25519 through node:crypto (OpenSSL), behind the same interface as the pure-JavaScript one in
 * src/shared/ed25519.ts, for the node: over ten times faster at signing and verifying
 * (bench/signing.ts). It signs the same bytes (Ed25519 is deterministic) and accepts exactly the
 * same signatures: the protocol's encoding rules run first, and OpenSSL's equation is the
 * cofactorless one that the shared implementation also uses.
 *
 * Parsing a public key into a KeyObject costs about a seventh of a verification (bench/signing.ts),
 * and a mesh checks the keys of its few nodes and users over and over: the KeyObjects of the
 * `KEY_OBJECT_CACHE_SIZE` keys used last are kept. A key checked once (a session's proof at
 * `hello`) is verified through `nativeEd25519Once`, which does not keep it: a KeyObject holds
 * about half a kilobyte, and an idle session should not.
 *
 * `checkEventInPool` verifies an event's signatures on libuv's thread pool: verification was the
 * largest share of a node's event loop at load (about 40 % of its busy time at 400 msg/s on
 * three nodes), and there it held up fan-out and every other link.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import {
  type EventCheck,
  eventSignatures,
  type SignatureToVerify,
  type SignedEvent,
} from '../../shared/signatures.ts'
import {
  passesEncodingRules,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  type Ed25519,
} from '../../shared/ed25519.ts'
import { setRecent } from './recent-map.ts'

/** DER headers that wrap a raw Ed25519 key (RFC 8410): PKCS #8 for a seed, SPKI for a public key. */
const PKCS8_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex')

function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/** Public keys whose KeyObject is kept (the least recently used goes first). */
export const KEY_OBJECT_CACHE_SIZE = 4096

const keyObjects = new Map<string, KeyObject>()

/** How many KeyObjects are kept (for tests). */
export function keptKeyObjects(): number {
  return keyObjects.size
}

/** The KeyObject of a raw public key that passed the encoding rules; kept if `keep`. */
function keyObjectOf(publicKey: Uint8Array, keep: boolean): KeyObject {
  const id = Buffer.from(publicKey).toString('base64')
  const keyObject =
    keyObjects.get(id) ??
    createPublicKey({ key: Buffer.concat([SPKI_HEADER, publicKey]), format: 'der', type: 'spki' })
  if (keep) setRecent(keyObjects, id, keyObject, KEY_OBJECT_CACHE_SIZE)
  return keyObject
}

/**
 * The KeyObject to verify `signature` with, or undefined when the pair fails the protocol's
 * encoding rules (or is not there), in which case the signature does not hold.
 */
function verifyingKey(
  signature: Uint8Array | undefined,
  publicKey: Uint8Array | undefined,
  keep: boolean,
): KeyObject | undefined {
  try {
    if (!signature || !publicKey || !passesEncodingRules(signature, publicKey)) return undefined
    return keyObjectOf(publicKey, keep)
  } catch {
    return undefined
  }
}

function verifyNative(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  keep: boolean,
): boolean {
  const key = verifyingKey(signature, publicKey, keep)
  try {
    return key !== undefined && verify(null, message, key, signature)
  } catch {
    return false
  }
}

export const nativeEd25519: Ed25519 = {
  signer(secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('a secret key is 32 bytes')
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_HEADER, secretKey]),
      format: 'der',
      type: 'pkcs8',
    })
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
    return {
      publicKey: Uint8Array.from(spki.subarray(spki.length - PUBLIC_KEY_BYTES)),
      sign: (message) => bytesOf(sign(null, message, privateKey)),
    }
  },
  verify: (signature, message, publicKey) => verifyNative(signature, message, publicKey, true),
}

/** `nativeEd25519` for keys checked once: it uses a kept KeyObject but keeps none it makes. */
export const nativeEd25519Once: Ed25519 = {
  signer: nativeEd25519.signer,
  verify: (signature, message, publicKey) => verifyNative(signature, message, publicKey, false),
}

/** Whether one signature holds, verified on the thread pool; never rejects. */
export function verifyInPool({
  signature,
  message,
  publicKey,
}: SignatureToVerify): Promise<boolean> {
  const key = verifyingKey(signature, publicKey, true)
  if (!key || !signature || !message) return Promise.resolve(false)
  return new Promise((resolve) => {
    try {
      verify(null, message, key, signature, (error, valid) => resolve(!error && valid))
    } catch {
      resolve(false)
    }
  })
}

/** `checkEvent` with the native Ed25519, its signatures verified on libuv's thread pool. */
export async function checkEventInPool(event: SignedEvent): Promise<EventCheck> {
  const signatures = eventSignatures(event)
  if (typeof signatures === 'string') return { ok: false, reason: signatures }
  const valid = await Promise.all(signatures.map(verifyInPool))
  const failed = signatures.find((_, i) => !valid[i])
  return failed ? { ok: false, reason: failed.refusal } : { ok: true }
}
