/**
 * A keyed user as the client protocol knows it (docs/protocol.md, "Shared terms"): an Ed25519
 * key pair, the id derived from its public key, and the two things the user signs, a session's
 * `prove` and each send's `usig`. Made from a `Signer`, which keeps the secret key to itself.
 */
import type { Signer } from '../../../shared/ed25519.ts'
import { encodeKey, userIdFromKey } from '../../../shared/keys.ts'
import type { ChatUser } from '../../../shared/signed-frames.ts'
import { MESSAGE_KIND, signAsUser, signSessionProof } from '../../../shared/signatures.ts'

/** A user with a key pair: `key` is the public key, `id` is derived from it. */
export type KeyedUser = ChatUser & { key: string }

/** A keyed user's signatures, all a client needs of its key pair. */
export interface UserSigner {
  /** The `sig` of a `prove`: the answer to node `nodeId`'s `challenge` with `nonce`. */
  signSession(nodeId: string, nonce: string): string
  /**
   * The `usig` of a send: the user's signature over the message event the node makes of it,
   * `{kind: "message", room, cid, text, user: {id, name, key}}`, with the user's `name`.
   */
  signSend(send: { room: string; cid: string; text: string; name: string }): string
}

export interface KeyedUserSigner extends UserSigner {
  /** "k" and the first 40 hex digits of SHA-256 of the public key. */
  readonly id: string
  /** The public key as the wire spells it (base64url of 32 bytes). */
  readonly key: string
  /** The user as `hello` names it. */
  user(name: string): KeyedUser
}

export function keyedUserSigner(signer: Signer): KeyedUserSigner {
  const key = encodeKey(signer.publicKey)
  const id = userIdFromKey(signer.publicKey)
  const user = (name: string): KeyedUser => ({ id, name, key })
  return {
    id,
    key,
    user,
    signSession: (nodeId, nonce) => signSessionProof(signer, nodeId, nonce),
    // Exactly the event the node makes of the send, without the fields the node adds to it.
    signSend: ({ room, cid, text, name }) =>
      signAsUser(signer, { kind: MESSAGE_KIND, room, cid, text, user: user(name) }),
  }
}
