/**
 * A node's options: one defaults object and one `normalizeOptions()` that merges and checks
 * them. The CLI, the desktop app's config and tests all go through it, so a bad value gets the
 * same clear error wherever it comes from.
 */
import { z } from 'zod'
import { meshNameSchema, peerAddrSchema } from '../../shared/peer-protocol.ts'
import type { Logger } from './logger.ts'
import { silentLogger } from './logger.ts'

export const DEFAULT_CLIENT_PORT = 8080
export const DEFAULT_PEER_PORT = 9080
export const DEFAULT_MESH = 'default'

/** Frames a session may send per second on average, and in one burst. */
export const DEFAULT_RATE_PER_SECOND = 50
export const DEFAULT_RATE_BURST = 100
/** A session whose unsent frames exceed this is closed (1013); it resumes with `since`. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** How often the node pings chat sessions; one that missed the last ping is dropped. */
export const CLIENT_HEARTBEAT_MS = 30_000
/** How long `stop()` waits for sessions to close before cutting them. */
export const STOP_GRACE_MS = 2_000

const portSchema = z.number().int().min(0).max(65_535)
const originSchema = z.string().transform((s, ctx) => {
  try {
    const url = new URL(s)
    if (url.origin !== 'null') return url.origin
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: `not an origin URL: ${s}` })
  return z.NEVER
})

export const nodeOptionsSchema = z.object({
  /** The node's display name. */
  name: z.string().trim().min(1).max(64),
  /** Where the node keeps its store, its id and (with the mesh) its TLS key. */
  dataDir: z.string().min(1),
  /** Address both servers listen on. Default `0.0.0.0` (every interface). */
  host: z.string().min(1).default('0.0.0.0'),
  /** Client port (HTTP + WebSocket). Default 8080; 0 picks a free port. */
  port: portSchema.default(DEFAULT_CLIENT_PORT),
  /** Peer port (TLS mesh). Default 9080; 0 picks a free port. */
  peerPort: portSchema.default(DEFAULT_PEER_PORT),
  /** Peers to dial, as `HOST:PORT`. */
  peers: z.array(peerAddrSchema).max(256).default([]),
  /** Mesh name: only nodes of the same mesh link. Default `default`. */
  mesh: meshNameSchema.default(DEFAULT_MESH),
  /** The mesh secret; empty means anyone may link (the link is still encrypted). */
  secret: z.string().max(1024).default(''),
  /** When set, clients must give this token in `hello`. */
  token: z.string().min(1).max(1024).optional(),
  /** Browser origins allowed to open chat sessions besides the node's own and its mesh's. */
  allowOrigins: z.array(originSchema).max(64).default([]),
  /** Host name or address put in this node's URLs for others; default: a LAN address. */
  advertiseHost: z.string().min(1).optional(),
  /** Folder of the web UI served at `/`; nothing is served when it is missing. */
  staticDir: z.string().optional(),
  rateLimit: z
    .object({ perSecond: z.number().positive(), burst: z.number().int().min(1) })
    .default({ perSecond: DEFAULT_RATE_PER_SECOND, burst: DEFAULT_RATE_BURST }),
  maxBufferedBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(DEFAULT_MAX_BUFFERED_BYTES),
})

export type NodeOptionsInput = z.input<typeof nodeOptionsSchema> & { logger?: Logger }
export type NodeOptions = z.output<typeof nodeOptionsSchema> & { logger: Logger }

export class OptionsError extends Error {
  override name = 'OptionsError'
}

/** Checks a peer address (`HOST:PORT`); throws `OptionsError`. */
export function parsePeer(addr: unknown): string {
  const result = peerAddrSchema.safeParse(addr)
  if (!result.success)
    throw new OptionsError(`peer: ${result.error.issues[0]?.message ?? 'invalid'}`)
  return result.data
}

/** Merges defaults into `input` and checks every field; throws `OptionsError` naming the field. */
export function normalizeOptions(input: NodeOptionsInput): NodeOptions {
  const { logger, ...rest } = input
  const result = nodeOptionsSchema.safeParse(rest)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue?.path.join('.') || 'options'
    throw new OptionsError(`${where}: ${issue?.message ?? 'invalid'}`)
  }
  return { ...result.data, logger: logger ?? silentLogger }
}
