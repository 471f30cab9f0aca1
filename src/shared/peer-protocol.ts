/**
 * The peer protocol of docs/protocol.md ("Peer protocol") as schemas and types: the frames nodes
 * exchange over their TLS links. Used by the node's mesh and by the tests that play a peer.
 */
import { z } from 'zod'
import { roomSchema, seqSchema } from './fields.ts'
import {
  chatUserSchema,
  nodeIdSchema,
  openEventSchema,
  publicKeySchema,
  signatureSchema,
  tsSchema,
} from './signed-frames.ts'

/** A peer frame's payload is 1 byte to 4 MiB. */
export const MAX_PEER_FRAME_BYTES = 4 * 1024 * 1024
/** Before a link is authenticated, frames are at most 4 KiB. */
export const MAX_PREAUTH_FRAME_BYTES = 4 * 1024
/** A handshake that takes longer than this closes the link. */
export const HANDSHAKE_TIMEOUT_MS = 5_000
/** The label of the TLS exporter the mesh proof is bound to. */
export const EXPORTER_LABEL = 'EXPORTER-palaver-mesh-v1'

export const meshNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a mesh name is 1-64 of [A-Za-z0-9._-]')
/** A peer's address as configured: `HOST:PORT` (an IPv6 host in brackets). */
export const peerAddrSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'a peer is HOST:PORT')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65_535, 'a port is 0-65535')
/**
 * Origins a `sync` vector may name. Higher than a client's `since` allows (1024): a mesh
 * whose store came to hold more origins must still sync, and 40,000 origins fit a frame.
 */
export const MAX_SYNC_ORIGINS = 40_000
/** Node ids a `presence` frame's `links` may name. */
export const MAX_PRESENCE_LINKS = 1024
/** The most seqs one `want` is answered with (docs/protocol.md, "Steady state"). */
export const MAX_WANT_SEQS = 1_000
/** Origins one `ihave` frame may name. */
export const MAX_IHAVE_ORIGINS = 1_024
/** Entries of `hello.features`, and the characters of each. */
export const MAX_FEATURES = 16
export const MAX_FEATURE_LENGTH = 32
/**
 * What a node of this version speaks beyond protocol 1, as its `hello.features` says:
 * - `tree`: dissemination along a tree (`ihave`, `graft`, `prune`);
 * - `overlay`: the bounded overlay (`neighbor`, `disconnect`).
 * A peer whose `hello` does not name one is sent none of its frames (docs/protocol.md,
 * "A bounded overlay" and "Dissemination along a tree").
 */
export const FEATURE_TREE = 'tree'
export const FEATURE_OVERLAY = 'overlay'
export const FEATURES: readonly string[] = [FEATURE_TREE, FEATURE_OVERLAY]

/**
 * Per origin, the highest seq held with no gap below it. Parsed into a plain object: turn it
 * into a Map (`vectorFromWire`), never read it by key.
 */
const peerVectorSchema = vectorOf(MAX_SYNC_ORIGINS)

function vectorOf(maxOrigins: number) {
  return z
    .record(nodeIdSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
    .refine(
      (v) => Object.keys(v).length <= maxOrigins,
      `a vector names at most ${maxOrigins} origins`,
    )
}

export const peerNodeSchema = z.looseObject({
  id: nodeIdSchema,
  name: z.string().min(1).max(64),
  url: z.string().max(512),
  key: publicKeySchema,
})

/** Node records in one `nodes` frame. */
export const MAX_NODES_PER_FRAME = 1024

/** One entry of `nodes`, signed by the node it describes (docs/protocol.md, "Steady state"). */
export const nodeRecordSchema = z.looseObject({
  id: nodeIdSchema,
  name: z.string().min(1).max(64),
  url: z.string().max(512),
  peerAddr: z.string().max(300),
  /** The node's clock when it signed the record: a newer record replaces an older one. */
  version: tsSchema,
  key: publicKeySchema,
  sig: signatureSchema,
})
export type NodeRecord = z.infer<typeof nodeRecordSchema>

export const peerFrameSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('hello'),
    protocol: z.number(),
    node: peerNodeSchema,
    mesh: meshNameSchema,
    /** Optional (added in v1): what the sender speaks beyond protocol 1 (see FEATURES). */
    features: z.array(z.string().max(MAX_FEATURE_LENGTH)).max(MAX_FEATURES).optional(),
  }),
  z.looseObject({
    type: z.literal('auth'),
    proof: z.string().regex(/^[0-9a-f]{64}$/, 'a proof is 64 lowercase hex digits'),
    sig: signatureSchema,
  }),
  z.looseObject({
    type: z.literal('error'),
    code: z.string().max(64),
    message: z.string().max(1024),
  }),
  z.looseObject({ type: z.literal('sync'), vector: peerVectorSchema }),
  z.looseObject({ type: z.literal('event'), event: openEventSchema }),
  z.looseObject({
    type: z.literal('want'),
    origin: nodeIdSchema,
    from: seqSchema,
    to: seqSchema,
  }),
  /** One node's whole local presence, signed by that node (`type` included). */
  z.looseObject({
    type: z.literal('presence'),
    node: nodeIdSchema,
    version: tsSchema,
    key: publicKeySchema,
    /**
     * Parsed into a plain object: take it in with Object.entries, never read it by key. No
     * count bound here (the frame limit bounds it): a receiver keeps what fits its own bounds
     * and does not close the link over a node's many rooms.
     */
    rooms: z.record(roomSchema, z.array(chatUserSchema)),
    /** Optional (added in v1): the ids of the nodes this node has links to, for mesh maps. */
    links: z.array(nodeIdSchema).max(MAX_PRESENCE_LINKS).optional(),
    sig: signatureSchema,
  }),
  /** Someone is typing, signed by the origin node (`type` included). */
  z.looseObject({
    type: z.literal('typing'),
    origin: nodeIdSchema,
    eseq: seqSchema,
    room: roomSchema,
    user: chatUserSchema,
    key: publicKeySchema,
    sig: signatureSchema,
  }),
  z.looseObject({
    type: z.literal('nodes'),
    nodes: z.array(nodeRecordSchema).max(MAX_NODES_PER_FRAME),
  }),
  /**
   * Dissemination along a tree (feature `tree`): "I hold these origins' events up to these
   * seqs", sent in batches to the links events are not pushed to. Parsed into a plain object:
   * turn it into a Map, never read it by key.
   */
  z.looseObject({ type: z.literal('ihave'), vector: vectorOf(MAX_IHAVE_ORIGINS) }),
  /** "Send me these seqs of that origin, and push me its events from now on" (feature `tree`). */
  z.looseObject({
    type: z.literal('graft'),
    origin: nodeIdSchema,
    from: seqSchema,
    to: seqSchema,
  }),
  /** "Announce this origin's events to me rather than push them" (feature `tree`). */
  z.looseObject({ type: z.literal('prune'), origin: nodeIdSchema }),
  /**
   * The overlay (feature `overlay`), sent once a link is up and again when `keep` changes:
   * `keep`, the sender keeps this link whatever happens (a configured peer); `priority`
   * `high`, the sender has no other link and asks to be taken even into a full active view.
   */
  z.looseObject({
    type: z.literal('neighbor'),
    keep: z.boolean(),
    priority: z.enum(['high', 'low']),
  }),
  /** "My active view is full: I close this link" (feature `overlay`); the link closes next. */
  z.looseObject({ type: z.literal('disconnect') }),
  z.looseObject({ type: z.literal('ping'), t: z.number() }),
  z.looseObject({ type: z.literal('pong'), t: z.number() }),
])

/** The frame types this version knows. */
export const PEER_FRAME_TYPES: ReadonlySet<string> = new Set(
  peerFrameSchema.options.map((option) => option.shape.type.value),
)
/** A `type` longer than this is a bad frame, never a frame type this version does not know. */
export const MAX_PEER_FRAME_TYPE_LENGTH = 64

/**
 * The `type` of a frame of a type this version does not know (a string of 1 to
 * MAX_PEER_FRAME_TYPE_LENGTH characters), or undefined: a known type, or no valid type at all.
 * After the handshake such a frame is ignored, so that the protocol can grow new frame types.
 */
export function unknownFrameType(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const type: unknown = (value as { type?: unknown }).type
  if (typeof type !== 'string' || type.length === 0) return undefined
  if (type.length > MAX_PEER_FRAME_TYPE_LENGTH || PEER_FRAME_TYPES.has(type)) return undefined
  return type
}

export type PeerFrame = z.infer<typeof peerFrameSchema>
/** A peer frame as it is written to the wire. */
export type PeerFrameInput = z.input<typeof peerFrameSchema>
export type PeerFrameOf<T extends PeerFrame['type']> = Extract<PeerFrame, { type: T }>
