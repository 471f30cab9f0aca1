/**
 * Everything the protocol signs, one section per thing (docs/protocol.md, "Keys and signatures",
 * "The user's signature", "Handshake" and "Test vectors"): the exact bytes signed, and a function
 * that signs them and one that checks them. Keys and signatures are base64url text here, as on the
 * wire. The checks take frames of the shape the schemas of signed-frames.ts give, and never throw:
 * a key, a signature or a string that is malformed (a lone surrogate has no canonical form) simply
 * does not verify.
 *
 * Each check takes the Ed25519 implementation to use, pure JavaScript by default; the node passes
 * its node:crypto one (src/main/node/signing-native.ts), which accepts exactly the same signatures.
 */
import { encodeBase64url } from './base64url.ts'
import { canonicalBytes, signedBytes, without } from './canonical.ts'
import { nobleEd25519, type Ed25519, type Signer } from './ed25519.ts'
import {
  decodeKey,
  decodeSignature,
  encodeKey,
  encodeSignature,
  isKeyedUserId,
  keyOwnsNodeId,
  keyOwnsUserId,
} from './keys.ts'

const utf8 = new TextEncoder()

/** Random bytes in a session `challenge`'s nonce (the protocol asks for at least 16). */
export const NONCE_BYTES = 32
/** The kind of a chat message: a `message` frame carries an event of this kind. */
export const MESSAGE_KIND = 'message'

/** Checks one signature given as wire text. False for text that is not a key or a signature. */
function verifyText(ed: Ed25519, key: string, sig: string, bytes: Uint8Array): boolean {
  const rawKey = decodeKey(key)
  const rawSig = decodeSignature(sig)
  return rawKey !== null && rawSig !== null && ed.verify(rawSig, bytes, rawKey)
}

/** Runs a check that computes canonical bytes: a value without a canonical form is not verified. */
function safely(check: () => boolean): boolean {
  try {
    return check()
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------
// The link handshake's `sig` (peer `auth`)

/** What a link signature is bound to: the mesh, the TLS session and the signer's node id. */
export interface LinkBinding {
  mesh: string
  /** Lowercase hex of the link's 32 bytes of TLS keying material. */
  exporter: string
  /** The id of the node that signs (its own id, as its `hello` gives it). */
  nodeId: string
}

/** The UTF-8 of `"palaver-v1-link|" + mesh + "|" + exporter + "|" + nodeId`. */
export function linkSignedBytes({ mesh, exporter, nodeId }: LinkBinding): Uint8Array {
  return utf8.encode(`palaver-v1-link|${mesh}|${exporter}|${nodeId}`)
}

export function signLink(signer: Signer, binding: LinkBinding): string {
  return encodeSignature(signer.sign(linkSignedBytes(binding)))
}

/** Whether `nodeId` is the hash of `key` and `sig` is that key's signature of the binding. */
export function verifyLink(
  binding: LinkBinding,
  key: string,
  sig: string,
  ed: Ed25519 = nobleEd25519,
): boolean {
  return safely(
    () => keyOwnsNodeId(key, binding.nodeId) && verifyText(ed, key, sig, linkSignedBytes(binding)),
  )
}

// ---------------------------------------------------------------------------------------------
// A keyed user's session proof (client `challenge` / `prove`)

/** A fresh `challenge` nonce: base64url of `NONCE_BYTES` random bytes. */
export function makeNonce(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)))
}

/** The UTF-8 of `"palaver-v1-session|" + nodeId + "|" + nonce`. */
export function sessionSignedBytes(nodeId: string, nonce: string): Uint8Array {
  return utf8.encode(`palaver-v1-session|${nodeId}|${nonce}`)
}

/** The `sig` of a `prove` frame, answering the `challenge` of node `nodeId`. */
export function signSessionProof(signer: Signer, nodeId: string, nonce: string): string {
  return encodeSignature(signer.sign(sessionSignedBytes(nodeId, nonce)))
}

/**
 * Whether `sig` is the signature of user key `key` over this node's challenge. (That the user's id
 * is the hash of `key` is checked at `hello`, with `keyOwnsUserId`.)
 */
export function verifySessionProof(
  nodeId: string,
  nonce: string,
  key: string,
  sig: string,
  ed: Ed25519 = nobleEd25519,
): boolean {
  return safely(() => verifyText(ed, key, sig, sessionSignedBytes(nodeId, nonce)))
}

// ---------------------------------------------------------------------------------------------
// A keyed user's signature of an event (`usig`)

/** The fields an event's origin node adds; what a user signs is the event without them. */
export const ORIGIN_FIELDS = ['origin', 'seq', 'ts', 'key', 'usig', 'sig'] as const

/** The user part of an event, as far as signatures are concerned. */
export type SigningUser = { id: string; key?: string | undefined }

/**
 * The bytes a user signs: `canonical` of the event without `ORIGIN_FIELDS`, whatever its kind.
 * For a message that is `canonical({kind: "message", room, cid, text, user: {id, name, key}})`.
 * Throws `CanonicalError` for a value without a canonical form.
 */
export function userSignedBytes(event: Readonly<Record<string, unknown>>): Uint8Array {
  return canonicalBytes(without(event, ORIGIN_FIELDS))
}

/** The `usig` of an event (or of the body of a `send`), by the user's signer. */
export function signAsUser(signer: Signer, event: Readonly<Record<string, unknown>>): string {
  return encodeSignature(signer.sign(userSignedBytes(event)))
}

/**
 * Whether `event.usig` is a valid signature of `event.user.key` over the event and the user's id
 * is the hash of that key. False for a user without a key.
 */
export function verifyUserSignature(
  event: Readonly<Record<string, unknown>> & { user: SigningUser; usig?: string | undefined },
  ed: Ed25519 = nobleEd25519,
): boolean {
  const signature = userSignatureToVerify(event)
  const { key, id } = event.user
  return (
    signature !== undefined &&
    key !== undefined &&
    safely(() => keyOwnsUserId(key, id)) &&
    verifies(signature, ed)
  )
}

// ---------------------------------------------------------------------------------------------
// What a node signs: events, presence, typing and node records

/**
 * `fields` with the signer's public key as `key` and its signature as `sig`: the signature covers
 * `canonical` of everything but `sig`, `key` included (for an event, a user's `usig` too).
 */
export function signAsNode<T extends Readonly<Record<string, unknown>>>(
  signer: Signer,
  fields: T,
): T & { key: string; sig: string } {
  const keyed = { ...fields, key: encodeKey(signer.publicKey) }
  return { ...keyed, sig: encodeSignature(signer.sign(signedBytes(keyed))) }
}

/** An object signed by the node it belongs to. */
export type NodeSigned = Readonly<Record<string, unknown>> & { key: string; sig: string }

/**
 * Whether `record` is signed by node `ownerId`: its `key` hashes to `ownerId` and its `sig` is
 * that key's signature over `canonical` of the record without `sig`.
 */
export function verifyNodeSigned(
  record: NodeSigned,
  ownerId: string,
  ed: Ed25519 = nobleEd25519,
): boolean {
  return safely(
    () =>
      keyOwnsNodeId(record.key, ownerId) &&
      verifyText(ed, record.key, record.sig, signedBytes(record)),
  )
}

/** A peer `presence` frame is signed by the node it describes (`node`); `type` is signed too. */
export function verifyPresence(
  frame: NodeSigned & { node: string },
  ed: Ed25519 = nobleEd25519,
): boolean {
  return verifyNodeSigned(frame, frame.node, ed)
}

/** A peer `typing` frame is signed by its origin node; `type` is signed too. */
export function verifyTyping(
  frame: NodeSigned & { origin: string },
  ed: Ed25519 = nobleEd25519,
): boolean {
  return verifyNodeSigned(frame, frame.origin, ed)
}

/** An entry of a peer `nodes` frame is signed by the node it describes (`id`). */
export function verifyNodeRecord(
  record: NodeSigned & { id: string },
  ed: Ed25519 = nobleEd25519,
): boolean {
  return verifyNodeSigned(record, record.id, ed)
}

/** Why `checkEvent` refused an event, for logs. */
export const EVENT_REFUSALS = {
  origin_key: "the event's key does not hash to its origin",
  keyed_id_without_key: 'the user has an id of the keyed form but no key',
  user_key: "the user's id is not the hash of the user's key",
  usig_missing: 'a keyed user without a usig',
  usig_without_key: 'a usig for a user without a key',
  sig: "the origin's signature does not verify",
  usig: "the user's signature does not verify",
} as const
export type EventRefusal = keyof typeof EVENT_REFUSALS

export type EventCheck = { ok: true } | { ok: false; reason: EventRefusal }

/** The fields of an event that `checkEvent` reads; every other field is signed all the same. */
export type SignedEvent = NodeSigned & {
  origin: string
  user: SigningUser
  usig?: string | undefined
}

/** A signature an event's check verifies, and the refusal when it does not hold. */
export interface SignatureToVerify {
  refusal: EventRefusal
  /** Undefined when the text does not decode, or the bytes have no canonical form: it fails. */
  signature: Uint8Array | undefined
  message: Uint8Array | undefined
  publicKey: Uint8Array | undefined
}

/**
 * The part of `checkEvent` that verifies no signature: a refusal, or the signatures left to
 * verify, in the order `checkEvent` verifies them. A node verifies them off its event loop.
 */
export function eventSignatures(event: SignedEvent): EventRefusal | SignatureToVerify[] {
  const { usig } = event
  const { id: userId, key: userKey } = event.user
  if (!safely(() => keyOwnsNodeId(event.key, event.origin))) return 'origin_key'
  if (userKey === undefined) {
    if (isKeyedUserId(userId)) return 'keyed_id_without_key'
    if (usig !== undefined) return 'usig_without_key'
    return [toVerify('sig', event.key, event.sig, () => signedBytes(event))]
  }
  if (!safely(() => keyOwnsUserId(userKey, userId))) return 'user_key'
  if (usig === undefined) return 'usig_missing'
  return [
    toVerify('sig', event.key, event.sig, () => signedBytes(event)),
    toVerify('usig', userKey, usig, () => userSignedBytes(event)),
  ]
}

/**
 * A keyed user's `usig` of an event (or of the message a `send` makes), to verify; undefined when
 * the user has no key or the event no `usig`. That the user's id is its key's is not checked.
 */
export function userSignatureToVerify(
  event: Readonly<Record<string, unknown>> & { user: SigningUser; usig?: string | undefined },
): SignatureToVerify | undefined {
  const { key } = event.user
  const { usig } = event
  if (key === undefined || usig === undefined) return undefined
  return toVerify('usig', key, usig, () => userSignedBytes(event))
}

function toVerify(
  refusal: EventRefusal,
  key: string,
  sig: string,
  bytes: () => Uint8Array,
): SignatureToVerify {
  let message: Uint8Array | undefined
  try {
    message = bytes()
  } catch {
    message = undefined // no canonical form
  }
  return {
    refusal,
    signature: decodeSignature(sig) ?? undefined,
    message,
    publicKey: decodeKey(key) ?? undefined,
  }
}

/**
 * Whether a node may accept an event (docs/protocol.md, "Verification and limits"): `key` hashes
 * to `origin` and `sig` verifies; a keyed user's id is the hash of the user's key and `usig`
 * verifies; a user without a key has an id not of the keyed form and no `usig`. The cheap checks
 * come first.
 */
export function checkEvent(event: SignedEvent, ed: Ed25519 = nobleEd25519): EventCheck {
  const signatures = eventSignatures(event)
  if (typeof signatures === 'string') return { ok: false, reason: signatures }
  const failed = signatures.find((signature) => !verifies(signature, ed))
  return failed ? { ok: false, reason: failed.refusal } : { ok: true }
}

/** Whether a signature to verify holds: one that did not decode never does. */
function verifies({ signature, message, publicKey }: SignatureToVerify, ed: Ed25519): boolean {
  return (
    signature !== undefined &&
    message !== undefined &&
    publicKey !== undefined &&
    ed.verify(signature, message, publicKey)
  )
}

/**
 * The event a client-side `message` (a `message` frame, or an entry of `history.messages`) carries:
 * the message's fields without `type` and `id`, with `kind: "message"`. The node builds the
 * message from the event the other way round (`messageFromEvent` in signed-frames.ts), keeping
 * every field, so that a client can check the event's signatures itself.
 */
export function eventFromMessage(message: SignedEvent): SignedEvent {
  return { ...without(message, ['type', 'id', 'kind']), kind: MESSAGE_KIND }
}

/** `checkEvent` of the event a client-side `message` carries. */
export function checkMessage(message: SignedEvent, ed: Ed25519 = nobleEd25519): EventCheck {
  return checkEvent(eventFromMessage(message), ed)
}
