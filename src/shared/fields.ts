/**
 * The fields the protocol's frames are built of (docs/protocol.md, "Shared terms"): node and user
 * ids, rooms, names, texts, cids, seqs, vectors and event ids. Apart from the frames, so that the
 * client frames (protocol.ts), the peer frames (peer-protocol.ts) and the signed frames
 * (signed-frames.ts) all build on them without importing one another in a circle.
 */
import { z } from 'zod'
import { CONTROL_CHARACTER, MAX_NAME_LENGTH, MAX_VECTOR_ORIGINS, ROOM_PATTERN } from './limits.ts'
import { hasVisibleCharacter, isWellFormedText } from './text.ts'

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

export function eventId(origin: string, seq: number): string {
  return `${origin}:${seq}`
}

/** Splits an event id checked by `eventIdSchema`. */
export function parseEventId(id: string): { origin: string; seq: number } {
  const at = id.lastIndexOf(':')
  return { origin: id.slice(0, at), seq: Number(id.slice(at + 1)) }
}
