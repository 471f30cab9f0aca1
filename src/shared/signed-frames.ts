/**
 * Schemas of what carries keys and signatures (docs/protocol.md, "Keys and signatures"): keys,
 * signatures and node ids, the keyed `user`, the client's `hello`, `prove` and `send` and the
 * node's `challenge`, and the open event envelope. The peer frames that carry them are in
 * peer-protocol.ts. A schema checks shapes only: whether a key owns an id and a
 * signature verifies is for signatures.ts, and a keyless `hello` with an id of the keyed form is
 * the session's to refuse (with `unauthorized`, not `bad_request`).
 *
 * Schemas are loose objects like the others: receivers ignore fields they do not know, and an
 * event keeps them (its signature covers them).
 */
import { z } from 'zod'
import { base64urlLength, decodeBase64url } from './base64url.ts'
import { without, type Without } from './canonical.ts'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './ed25519.ts'
import { NODE_ID_PATTERN } from './keys.ts'
import {
  cidSchema,
  eventId,
  roomSchema,
  seqSchema,
  textSchema,
  userIdSchema,
  userNameSchema,
} from './fields.ts'
import { MAX_TEXT_LENGTH, PROTOCOL_VERSION } from './limits.ts'
import { MESSAGE_KIND, type SignedEvent } from './signatures.ts'

/** A challenge nonce is base64url of 16 to 64 bytes (the protocol asks for at least 16). */
export const MIN_NONCE_BYTES = 16
export const MAX_NONCE_BYTES = 64
/** The fields a `message` frame adds to its event's: a message event has neither. */
const MESSAGE_FRAME_FIELDS = ['type', 'id'] as const
/** An event kind: 1-64 of [A-Za-z0-9_.-]. Kinds this node does not know are kept and relayed. */
export const EVENT_KIND_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

export const publicKeySchema = z
  .string()
  .refine(
    (text) => decodeBase64url(text, PUBLIC_KEY_BYTES) !== null,
    'a key is the base64url (no padding) of 32 bytes',
  )
export const signatureSchema = z
  .string()
  .refine(
    (text) => decodeBase64url(text, SIGNATURE_BYTES) !== null,
    'a signature is the base64url (no padding) of 64 bytes',
  )
export const nonceSchema = z
  .string()
  .min(base64urlLength(MIN_NONCE_BYTES))
  .max(base64urlLength(MAX_NONCE_BYTES))
  .refine((text) => decodeBase64url(text) !== null, 'a nonce is base64url (no padding)')
/** A node id: the first 40 hex digits of SHA-256 of the node's public key. */
export const nodeIdSchema = z
  .string()
  .regex(NODE_ID_PATTERN, 'a node id is 40 lowercase hex digits')
/** Integer microseconds, 1 to 2^53 − 1. */
export const tsSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

/**
 * `user: {id, name, key?}`. Replaces protocol.ts's `userSchema`. An id of the keyed form passes
 * here with or without a key: the receiver refuses what the protocol refuses.
 */
export const chatUserSchema = z.looseObject({
  id: userIdSchema,
  name: userNameSchema,
  key: publicKeySchema.optional(),
})
export type ChatUser = z.infer<typeof chatUserSchema>

/**
 * What is shown of a user (in events a node makes, presence, typing): `{id, name}`, and `key`
 * for a keyed user; any other field a client or a peer added stays out.
 */
export function shownUser(user: { id: string; name: string; key?: unknown }): {
  id: string
  name: string
  key?: string
} {
  const { id, name, key } = user
  return typeof key === 'string' ? { id, name, key } : { id, name }
}

const refSchema = z.string().max(64).optional()

// --- client → node

export const helloFrameSchema = z.looseObject({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  user: chatUserSchema,
  token: z.string().max(1024).optional(),
  ref: refSchema,
})
export const proveFrameSchema = z.looseObject({
  type: z.literal('prove'),
  sig: signatureSchema,
  ref: refSchema,
})
export const sendFrameSchema = z.looseObject({
  type: z.literal('send'),
  room: roomSchema,
  text: textSchema,
  cid: cidSchema,
  usig: signatureSchema.optional(),
  ref: refSchema,
})

// --- node → client

export const challengeFrameSchema = z.looseObject({
  type: z.literal('challenge'),
  node: z.looseObject({ id: nodeIdSchema }),
  nonce: nonceSchema,
})

// --- events

const messageTextSchema = textSchema.max(MAX_TEXT_LENGTH)

/**
 * The open event envelope `{kind, origin, seq, ts, key, room, user, cid, …kind's fields, usig?,
 * sig}`. Every kind passes; a `message` (the one kind whose fields a node checks) must also have a
 * valid `text`, and no field named like those its `message` frame adds.
 */
export const openEventSchema = z
  .looseObject({
    kind: z.string().regex(EVENT_KIND_PATTERN, 'a kind is 1-64 of [A-Za-z0-9_.-]'),
    origin: nodeIdSchema,
    seq: seqSchema,
    ts: tsSchema,
    key: publicKeySchema,
    room: roomSchema,
    user: chatUserSchema,
    cid: cidSchema,
    usig: signatureSchema.optional(),
    sig: signatureSchema,
  })
  .superRefine((event, ctx) => {
    if (event.kind !== MESSAGE_KIND) return
    // A client gets a message as a `message` frame with the event's fields beside `type` and
    // `id`: an event of its own with either field could not be told apart from the frame's.
    for (const reserved of MESSAGE_FRAME_FIELDS) {
      if (Object.hasOwn(event, reserved))
        ctx.addIssue({ code: 'custom', message: `a message has no ${reserved}`, path: [reserved] })
    }
    const text = messageTextSchema.safeParse(event.text)
    for (const issue of text.success ? [] : text.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['text'] })
    }
  })
export type OpenEvent = z.infer<typeof openEventSchema>

/**
 * The fields of a client-side `message` for a stored event of kind `message`: every field of the
 * event but `kind`, and its `id`. `eventFromMessage` (signatures.ts) undoes it.
 */
export function messageFromEvent<T extends SignedEvent & { seq: number }>(
  event: T,
): Without<T, 'kind'> & { id: string } {
  return { ...without(event, ['kind']), id: eventId(event.origin, event.seq) }
}
