/**
 * Schemas of the frames that carry keys and signatures (docs/protocol.md, "Keys and signatures"):
 * the keyed `user`, the client's `hello`, `prove` and `send` and the node's `challenge`; the open
 * event envelope; the peer `hello`, `auth`, `event`, `presence`, `typing` and `nodes` frames.
 * Each replaces the schema of the same frame in protocol.ts or peer-protocol.ts; the frames these
 * files do not name are unchanged. A schema checks shapes only: whether a key owns an id and a
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
import { meshNameSchema, peerNodeSchema } from './peer-protocol.ts'
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
 * valid `text`. Replaces peer-protocol.ts's `chatEventSchema`.
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

// --- node ↔ node

export const peerHelloFrameSchema = z.looseObject({
  type: z.literal('hello'),
  protocol: z.number(),
  node: peerNodeSchema.extend({ id: nodeIdSchema, key: publicKeySchema }),
  mesh: meshNameSchema,
})
export const peerAuthFrameSchema = z.looseObject({
  type: z.literal('auth'),
  proof: z.string().regex(/^[0-9a-f]{64}$/, 'a proof is 64 lowercase hex digits'),
  sig: signatureSchema,
})
export const peerEventFrameSchema = z.looseObject({
  type: z.literal('event'),
  event: openEventSchema,
})
/** The bounds of today's peer-protocol.ts, kept until the frames' new bounds replace them. */
const MAX_PRESENCE_ROOMS = 10_000
const MAX_PRESENCE_ROOM_USERS = 10_000
const MAX_PRESENCE_LINKS = 1024
const MAX_NODE_RECORDS = 1024

/** One node's whole local presence, signed by that node (`type` included). */
export const presenceFrameSchema = z.looseObject({
  type: z.literal('presence'),
  node: nodeIdSchema,
  version: tsSchema,
  key: publicKeySchema,
  rooms: z
    .record(roomSchema, z.array(chatUserSchema).max(MAX_PRESENCE_ROOM_USERS))
    .refine(
      (rooms) => Object.keys(rooms).length <= MAX_PRESENCE_ROOMS,
      `at most ${MAX_PRESENCE_ROOMS} rooms`,
    ),
  links: z.array(nodeIdSchema).max(MAX_PRESENCE_LINKS).optional(),
  sig: signatureSchema,
})
/** Someone is typing, signed by the origin node (`type` included). */
export const typingFrameSchema = z.looseObject({
  type: z.literal('typing'),
  origin: nodeIdSchema,
  eseq: seqSchema,
  room: roomSchema,
  user: chatUserSchema,
  key: publicKeySchema,
  sig: signatureSchema,
})
/** One entry of `nodes`, signed by the node it describes. */
export const nodeRecordSchema = z.looseObject({
  id: nodeIdSchema,
  name: z.string().min(1).max(64),
  url: z.string().max(512),
  peerAddr: z.string().max(300),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  key: publicKeySchema,
  sig: signatureSchema,
})
export const nodesFrameSchema = z.looseObject({
  type: z.literal('nodes'),
  nodes: z.array(nodeRecordSchema).max(MAX_NODE_RECORDS),
})
