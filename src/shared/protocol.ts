/**
 * The client protocol of docs/protocol.md as schemas and types: the one place where
 * the node, the renderer's client library and the tests learn what a frame looks like.
 *
 * Schemas are loose objects: receivers ignore fields they do not know (the protocol grows only
 * by optional fields and new frame types).
 */
import { z } from 'zod'
import {
  CONTROL_CHARACTER,
  HISTORY_MAX_LIMIT,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_VECTOR_ORIGINS,
  PROTOCOL_VERSION,
  ROOM_PATTERN,
} from './limits.ts'
import { hasVisibleCharacter, isWellFormedText } from './text.ts'
import { vectorFromWire } from './vector.ts'

export {
  PROTOCOL_VERSION,
  MAX_CLIENT_FRAME_BYTES,
  MAX_TEXT_LENGTH,
  JOIN_BACKLOG,
  MAX_RESUME_BACKLOG,
  MAX_VECTOR_ORIGINS,
  HELLO_TIMEOUT_MS,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  DEFAULT_ROOM,
  DESKTOP_APP_ORIGIN,
  CLOSE_GOING_AWAY,
  CLOSE_HELLO_TIMEOUT,
  CLOSE_TOO_BIG,
  CLOSE_INTERNAL_ERROR,
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
} from './limits.ts'
/** Every error code a node sends, with when it is sent (docs/protocol.md, "Error codes"). */
export const ERROR_CODES = {
  bad_request:
    'not JSON, unknown type, missing or invalid field (a text or name with nothing visible or a lone surrogate), or a join past the rooms a session may be in',
  hello_required: 'a frame other than hello came before hello',
  unauthorized: 'the access token is missing or wrong; the session is closed (4001)',
  not_joined: 'the frame names a room this session has not joined',
  too_long: 'the message text is longer than 4000 characters',
  rate_limited:
    'the session sent frames faster than its rate limit (or more than a burst of them behind a join that waits for its backlog budget), or joined a new room on a node that holds its maximum of rooms; the frame was dropped',
  unavailable: 'the node could not store the message; it is not acknowledged',
  internal: 'the node failed unexpectedly while handling the frame; the session is closed (1011)',
} as const
export type ErrorCode = keyof typeof ERROR_CODES

export const nodeIdSchema = z.string().regex(/^[a-z0-9]{8,64}$/, 'a node id is 8-64 of [a-z0-9]')
export const roomSchema = z
  .string()
  .regex(ROOM_PATTERN, 'a room is 1-64 of [a-z0-9_-], starting with a letter or digit')
export const userIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'a user id is 8-64 of [A-Za-z0-9_-]')
/**
 * A name shows something and is well-formed (a lone surrogate cannot be stored or sent as
 * UTF-8: one copy would hold U+FFFD and another not). The same rule for a `hello` and for a
 * user in a peer's event, presence or typing frame, so that no node stores what another refuses.
 */
export const userNameSchema = z
  .string()
  .min(1, `a name is 1-${MAX_NAME_LENGTH} characters`)
  .max(MAX_NAME_LENGTH, `a name is 1-${MAX_NAME_LENGTH} characters`)
  .refine((name) => !CONTROL_CHARACTER.test(name), 'a name has no control characters')
  .refine(isWellFormedText, 'a name has no lone surrogates')
  .refine(hasVisibleCharacter, 'a name has a visible character')
export const userSchema = z.looseObject({ id: userIdSchema, name: userNameSchema })
export const cidSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a cid is 1-64 of [A-Za-z0-9_-]')
export const seqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
/** Per-origin highest contiguous seq. Bounded so a vector cannot be used to make work. */
export const vectorSchema = z
  .record(nodeIdSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
  .refine(
    (v) => Object.keys(v).length <= MAX_VECTOR_ORIGINS,
    `a vector names at most ${MAX_VECTOR_ORIGINS} origins`,
  )
export const eventIdSchema = z
  .string()
  .regex(/^[a-z0-9]{8,64}:[1-9][0-9]{0,15}$/, 'an event id is "<origin>:<seq>"')
  .refine(
    (id) => Number(id.slice(id.lastIndexOf(':') + 1)) <= Number.MAX_SAFE_INTEGER,
    'seq is too large',
  )
const refSchema = z.string().max(64).optional()

/**
 * The text of a message, from a client's `send` or in a peer's event alike: a text with nothing
 * visible is refused like a blank one, and one with a lone surrogate too (UTF-8 cannot carry
 * it: one copy of the message would hold U+FFFD and another not). Checked apart from the frame
 * so that an over-long text gets `too_long`.
 */
export const textSchema = z
  .string()
  .min(1, 'text is 1-4000 characters')
  .refine(isWellFormedText, 'text has a lone surrogate')
  .refine(hasVisibleCharacter, 'text is not blank (it has no visible character)')

export type User = z.infer<typeof userSchema>
export type Vector = Record<string, number>

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('hello'),
    protocol: z.literal(PROTOCOL_VERSION),
    user: userSchema,
    token: z.string().max(1024).optional(),
    ref: refSchema,
  }),
  z.looseObject({
    type: z.literal('join'),
    room: roomSchema,
    // A Map from here on: its keys come from the wire.
    since: vectorSchema.transform(vectorFromWire).optional(),
    ref: refSchema,
  }),
  z.looseObject({ type: z.literal('leave'), room: roomSchema, ref: refSchema }),
  z.looseObject({
    type: z.literal('send'),
    room: roomSchema,
    text: textSchema,
    cid: cidSchema,
    ref: refSchema,
  }),
  z.looseObject({
    type: z.literal('history'),
    room: roomSchema,
    before: eventIdSchema.optional(),
    limit: z.number().int().min(1).max(HISTORY_MAX_LIMIT).optional(),
    ref: refSchema,
  }),
  z.looseObject({ type: z.literal('typing'), room: roomSchema, ref: refSchema }),
  z.looseObject({ type: z.literal('ping'), ref: refSchema }),
])
/** A client frame as the node holds it once parsed (`join.since` is a Map). */
export type ClientFrame = z.output<typeof clientFrameSchema>
/** A client frame as it is written to the wire. */
export type ClientFrameInput = z.input<typeof clientFrameSchema>

/**
 * One chat message as clients see it: its event's fields but `kind`, and its `id`. `key` and
 * `sig` are the origin's, `usig` the keyed user's; with them a client checks the event itself.
 */
export interface ChatMessage {
  room: string
  id: string
  origin: string
  seq: number
  ts: number
  user: User & { key?: string | undefined }
  text: string
  cid: string
  key: string
  sig: string
  usig?: string | undefined
}

export interface MeshNode {
  id: string
  name: string
  /** The node's client WebSocket URL, for failover. */
  url: string
  up: boolean
}

export interface OnlineUser {
  id: string
  name: string
  /** The id of the node the user is connected to. */
  node: string
}

/** One peer of a node, as `/health` and the desktop app's node panel show it. */
export interface PeerStatus {
  /** The node at that address, once a link was made. */
  id: string | null
  name: string | null
  /** `host:port` as configured, or the remote address of a link another node opened. */
  addr: string
  state: 'connecting' | 'up' | 'down'
  rttMs: number | null
  /** Why the last attempt or link failed, for people. */
  lastError: string | null
  /**
   * Optional: how far ahead of this node's clock, in ms, the peer's latest event was, present
   * only when over the 5-minute bound (its ts did not move this node's clock).
   */
  skewMs?: number
}

export type ServerFrame =
  | { type: 'welcome'; protocol: 1; node: { id: string; name: string }; nodes: MeshNode[] }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'event'; room: string; event: Readonly<Record<string, unknown>> }
  | { type: 'ack'; cid: string; id: string; ts: number; ref?: string }
  | { type: 'joined'; room: string; users: OnlineUser[]; truncated: boolean; ref?: string }
  | { type: 'left'; room: string; ref?: string }
  | { type: 'history'; room: string; messages: ChatMessage[]; hasMore: boolean; ref?: string }
  | { type: 'presence'; room: string; users: OnlineUser[] }
  | { type: 'typing'; room: string; user: User }
  | { type: 'nodes'; nodes: MeshNode[] }
  | { type: 'pong'; ref?: string }
  | { type: 'error'; code: ErrorCode; message: string; ref?: string }

export type ClientParse =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: 'bad_request' | 'too_long'; message: string; ref?: string }

/**
 * Parses one client text frame. Never throws: anything that is not a valid frame becomes a
 * `bad_request` (or `too_long` for an over-long text) with a message for people.
 */
export function parseClientFrame(data: string): ClientParse {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    return { ok: false, code: 'bad_request', message: 'frame is not JSON' }
  }
  const ref = refOf(value)
  const result = clientFrameSchema.safeParse(value)
  if (result.success) {
    if (result.data.type === 'send' && result.data.text.length > MAX_TEXT_LENGTH) {
      return {
        ok: false,
        code: 'too_long',
        message: `text is longer than ${MAX_TEXT_LENGTH} characters`,
        ref,
      }
    }
    return { ok: true, frame: result.data }
  }
  return { ok: false, code: 'bad_request', message: describeIssue(result.error), ref }
}

function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const ref = (value as { ref?: unknown }).ref
  return typeof ref === 'string' && ref.length <= 64 ? ref : undefined
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid frame'
  const where = issue.path.length > 0 ? issue.path.join('.') : 'frame'
  return `${where}: ${issue.message}`
}

export function eventId(origin: string, seq: number): string {
  return `${origin}:${seq}`
}

/** Splits an event id checked by `eventIdSchema`. */
export function parseEventId(id: string): { origin: string; seq: number } {
  const at = id.lastIndexOf(':')
  return { origin: id.slice(0, at), seq: Number(id.slice(at + 1)) }
}
