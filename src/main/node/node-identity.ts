/**
 * The node's Ed25519 identity (docs/protocol.md, "Keys and signatures"): its id, the first 40 hex
 * digits of SHA-256 of its public key, and what it signs with. The secret key is made with the
 * data directory and kept in the store (store.ts); here it only signs.
 */
import type { Signer } from '../../shared/ed25519.ts'
import { encodeKey, nodeIdFromKey } from '../../shared/keys.ts'
import { signAsNode } from '../../shared/signatures.ts'
import { nativeEd25519 } from './signing-native.ts'

export interface NodeIdentity {
  /** The node id: 40 lowercase hex digits of SHA-256 of the public key. */
  readonly id: string
  /** The public key as the wire spells it (base64url of 32 bytes). */
  readonly key: string
  readonly signer: Signer
  /** `fields` with this node's `key` and its signature `sig` over everything else. */
  sign<T extends Readonly<Record<string, unknown>>>(fields: T): T & { key: string; sig: string }
}

export function nodeIdentity(secretKey: Uint8Array): NodeIdentity {
  const signer = nativeEd25519.signer(secretKey)
  return {
    id: nodeIdFromKey(signer.publicKey),
    key: encodeKey(signer.publicKey),
    signer,
    sign: (fields) => signAsNode(signer, fields),
  }
}
