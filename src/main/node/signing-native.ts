/**
 * Ed25519 through node:crypto (OpenSSL), behind the same interface as the pure-JavaScript one in
 * src/shared/ed25519.ts, for the node: over ten times faster at signing and verifying
 * (bench/signing.ts). It signs the same bytes (Ed25519 is deterministic) and accepts exactly the
 * same signatures: the protocol's encoding rules run first, and OpenSSL's equation is the
 * cofactorless one that the shared implementation also uses.
 *
 * A public key is parsed into a KeyObject for each verification: that costs under a tenth of the
 * verification itself (bench/signing.ts), too little to be worth a cache.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import {
  passesEncodingRules,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  type Ed25519,
} from '../../shared/ed25519.ts'

/** DER headers that wrap a raw Ed25519 key (RFC 8410): PKCS #8 for a seed, SPKI for a public key. */
const PKCS8_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex')

function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
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
  verify(signature, message, publicKey) {
    try {
      if (!passesEncodingRules(signature, publicKey)) return false
      const keyObject = createPublicKey({
        key: Buffer.concat([SPKI_HEADER, publicKey]),
        format: 'der',
        type: 'spki',
      })
      return verify(null, message, keyObject, signature)
    } catch {
      return false
    }
  },
}
