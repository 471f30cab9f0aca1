/**
 * The client protocol of docs/protocol.md as schemas and types: the one place where
 * the node, the renderer's client library and the tests learn what a frame looks like.
 *
 * Schemas are loose objects: receivers ignore fields they do not know (the protocol grows only
 * by optional fields and new frame types). The frames that carry keys and signatures (`hello`,
 * `prove`, `send`) have their schemas in signed-frames.ts, beside the other signed frames.
 */
import { z } from 'zod'
import { eventIdSchema, roomSchema, type User, vectorSchema } from './fields.ts'
import { HISTORY_MAX_LIMIT, MAX_TEXT_LENGTH } from './limits.ts'
import { helloFrameSchema, proveFrameSchema, sendFrameSchema } from './signed-frames.ts'
import { vectorFromWire } from './vector.ts'

export {
  nodeIdSchema,
  roomSchema,
  userIdSchema,
  userNameSchema,
  userSchema,
  cidSchema,
  seqSchema,
  vectorSchema,
  eventIdSchema,
  textSchema,
  type User,
  type Vector,
  eventId,
  parseEventId,
} from './fields.ts'

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
    'not JSON, unknown type, missing or invalid field (a text or name with nothing visible or a lone surrogate), a join past the rooms a session may be in, a prove with no challenge to answer, or a usig on the send of a user without a key',
  hello_required:
    'a frame other than hello came before hello, or a frame other than prove before a keyed user is welcomed',
  unauthorized:
    "at hello or prove: the access token is missing or wrong, the user id is refused, or the key is not proved (the session is closed, 4001); on send: a keyed user's usig is missing or wrong (the session stays open)",
  not_joined: 'the frame names a room this session has not joined',
  too_long: 'the message text is longer than 4000 characters',
  rate_limited:
    'the session sent frames faster than its rate limit (or more than a burst of them behind a join that waits for its backlog budget), or joined a new room on a node that holds its maximum of rooms; the frame was dropped',
  unavailable: 'the node could not store the message; it is not acknowledged',
  internal: 'the node failed unexpectedly while handling the frame; the session is closed (1011)',
} as const
export type ErrorCode = keyof typeof ERROR_CODES

const refSchema = z.string().max(64).optional()

export const clientFrameSchema = z.discriminatedUnion('type', [
  helloFrameSchema,
  proveFrameSchema,
  z.looseObject({
    type: z.literal('join'),
    room: roomSchema,
    // A Map from here on: its keys come from the wire.
    since: vectorSchema.transform(vectorFromWire).optional(),
    ref: refSchema,
  }),
  z.looseObject({ type: z.literal('leave'), room: roomSchema, ref: refSchema }),
  sendFrameSchema,
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
  /** A keyed user's public key (the node it is connected to checked that the user holds it). */
  key?: string
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
  | { type: 'challenge'; node: { id: string }; nonce: string }
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
