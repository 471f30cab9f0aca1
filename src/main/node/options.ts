/**
 * A node's options: one defaults object and one `normalizeOptions()` that merges and checks
 * them. The CLI, the desktop app's config and tests all go through it, so a bad value gets the
 * same clear error wherever it comes from.
 */
import { z } from 'zod'
import {
  HANDSHAKE_TIMEOUT_MS,
  MAX_IHAVE_ORIGINS,
  meshNameSchema,
  peerAddrSchema,
} from '../../shared/peer-protocol.ts'
import type { Logger } from './logger.ts'
import { silentLogger } from './logger.ts'
import { LINK_SILENCE_MS, PING_INTERVAL_MS } from './mesh/link.ts'
import { PRESENCE_ANNOUNCE_MS, PRESENCE_MIN_GAP_MS, PRESENCE_TTL_MS } from './mesh/presence.ts'
import { SYNC_INTERVAL_MS } from './mesh/relay.ts'
import { DEFAULT_ACTIVE_VIEW_SIZE, DEFAULT_PASSIVE_VIEW_SIZE } from './mesh/overlay.ts'
import { DEFAULT_IHAVE_MAX_ORIGINS, GRAFT_TIMEOUT_MS, IHAVE_INTERVAL_MS } from './mesh/plumtree.ts'

export const DEFAULT_CLIENT_PORT = 8080
export const DEFAULT_PEER_PORT = 9080
export const DEFAULT_MESH = 'default'

/** Frames a session may send per second on average, and in one burst. */
export const DEFAULT_RATE_PER_SECOND = 50
export const DEFAULT_RATE_BURST = 100
/**
 * `typing` frames a session may send per second on average, and in one burst (on top of the
 * frame rate): typing is fanned out to a room and the whole mesh, and the bundled UI sends one
 * every 2.5 s at most. Past it, typing frames are dropped without a reply.
 */
export const DEFAULT_TYPING_FRAMES_PER_SECOND = 1
export const DEFAULT_TYPING_BURST_FRAMES = 4
/**
 * Messages a session's `join` backlogs and `history` pages may read from the store per second
 * on average, and in one burst. A read starts while the budget is not spent and its messages
 * are then taken from it; past it, the session's frames wait (its socket is not read) until the
 * budget refills. So a loop of 1000-message backlogs is slowed to the budget instead of stalling
 * every other session of the node, and a client that joins many rooms at once is answered a
 * little later, never refused.
 */
export const DEFAULT_BACKLOG_MESSAGES_PER_SECOND = 1_000
export const DEFAULT_BACKLOG_BURST_MESSAGES = 1_000
/** A session whose unsent frames exceed this is closed (1013); it resumes with `since`. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** Rooms one session may be joined to at once; a join past it gets `bad_request`. */
export const DEFAULT_MAX_ROOMS_PER_SESSION = 100
/**
 * Distinct rooms with members on this node; a join that would add one more gets `rate_limited`
 * (a join of a room that has members here always passes).
 */
export const DEFAULT_MAX_ROOMS = 10_000
/** Chat sessions open at once (welcomed or not); an upgrade past it gets HTTP 503. */
export const DEFAULT_MAX_CLIENTS = 1_000
/**
 * Connections to the client port from one address that are not (yet) welcomed chat sessions:
 * HTTP requests in progress or kept alive, and sessions before `welcome`. A connection past it
 * is closed as soon as it is accepted. The bench opens 50 at a time from one address.
 */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64
/**
 * Timeouts of the client port's HTTP server, so that a client that sends a request slowly
 * (slowloris) or keeps a connection idle cannot hold a socket: all of a request's headers must
 * come within HTTP_HEADERS_TIMEOUT_MS of its start, the whole request within
 * HTTP_REQUEST_TIMEOUT_MS, and an idle kept-alive connection is closed after
 * HTTP_KEEP_ALIVE_TIMEOUT_MS. The first two are checked every HTTP_TIMEOUT_CHECK_MS.
 */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000
export const HTTP_REQUEST_TIMEOUT_MS = 30_000
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000
export const HTTP_TIMEOUT_CHECK_MS = 1_000
/**
 * How wrong access tokens (at `hello`, or in an `Authorization: Bearer` header) are slowed down,
 * per remote address: the first DEFAULT_TOKEN_FREE_FAILURES wrong tokens cost nothing (a typo),
 * then each one makes the address wait before its next token is even checked, first
 * DEFAULT_TOKEN_FIRST_WAIT_MS, doubling up to DEFAULT_TOKEN_MAX_WAIT_MS. An address's failures are
 * forgotten DEFAULT_TOKEN_FAILURE_MEMORY_MS after its last one; at most
 * DEFAULT_TOKEN_MAX_ADDRESSES addresses are remembered (the oldest is forgotten first).
 */
export const DEFAULT_TOKEN_FREE_FAILURES = 3
export const DEFAULT_TOKEN_FIRST_WAIT_MS = 1_000
export const DEFAULT_TOKEN_MAX_WAIT_MS = 60_000
export const DEFAULT_TOKEN_FAILURE_MEMORY_MS = 15 * 60_000
export const DEFAULT_TOKEN_MAX_ADDRESSES = 10_000
/** How often the node pings chat sessions; one that missed the last ping is dropped. */
export const CLIENT_HEARTBEAT_MS = 30_000
/** How long `stop()` waits for sessions to close before cutting them. */
export const STOP_GRACE_MS = 2_000

/** Default of `redialMaxMs`: on a LAN a peer that is back is redialled within 3 s. */
export const DEFAULT_REDIAL_MAX_MS = 3_000
/** Default of `maxPendingPeersPerAddress`: handshakes under way from one address. */
export const DEFAULT_MAX_PENDING_PEERS_PER_ADDRESS = 16
/** Default of `presenceMaxRooms`: rooms one presence announcement names. */
export const DEFAULT_PRESENCE_MAX_ROOMS = 1_000
/** Default of `discoveryPort`: the UDP port of LAN announcements (9080 + 1, beside the peer port). */
export const DEFAULT_DISCOVERY_PORT = 9081
/** Default of `discoveryAnnounceMs`: a node announces itself on the LAN every 5 s. */
export const DEFAULT_DISCOVERY_ANNOUNCE_MS = 5_000

const portSchema = z.number().int().min(0).max(65_535)
/** A token bucket: `perSecond` on average (the unit is the option's), `burst` at once. */
const rateSchema = z.object({ perSecond: z.number().positive(), burst: z.number().int().min(1) })
/** A timing of the mesh, in ms: at least `min`, at most an hour. */
const meshTimingSchema = (min: number, fallback: number) =>
  z.number().int().min(min).max(3_600_000).default(fallback)

/**
 * The mesh's timings, in ms (docs/protocol.md, "Limits"). Every field has its default, so that
 * one can be changed alone. Every node of a mesh should use the same ones: a node pings at its
 * own interval, and its peer closes the link after its own silence limit.
 */
export const meshTimingsSchema = z
  .object({
    /** Each end of a link pings this often. Default 5 s. */
    pingIntervalMs: meshTimingSchema(100, PING_INTERVAL_MS),
    /** A link on which nothing arrived for this long is closed at the next ping. Default 15 s. */
    linkSilenceMs: meshTimingSchema(200, LINK_SILENCE_MS),
    /** A link not authenticated this long after TLS is up is closed. Default 5 s. */
    handshakeTimeoutMs: meshTimingSchema(100, HANDSHAKE_TIMEOUT_MS),
    /** Each end of each link sends `sync` this often. Default 30 s. */
    syncIntervalMs: meshTimingSchema(100, SYNC_INTERVAL_MS),
    /** The node announces its presence this often; expiry runs every half of it. Default 10 s. */
    presenceAnnounceMs: meshTimingSchema(2 * PRESENCE_MIN_GAP_MS, PRESENCE_ANNOUNCE_MS),
    /** Another node's presence not heard for this long is forgotten. Default 30 s. */
    presenceTtlMs: meshTimingSchema(2 * PRESENCE_MIN_GAP_MS, PRESENCE_TTL_MS),
    /** Announcements (`ihave`) to a lazy link wait at most this, to go in one frame. Default 100. */
    ihaveIntervalMs: meshTimingSchema(1, IHAVE_INTERVAL_MS),
    /** An announced event not come by the tree within this is grafted. Default 1,000. */
    graftTimeoutMs: meshTimingSchema(10, GRAFT_TIMEOUT_MS),
  })
  .refine((t) => t.linkSilenceMs > t.pingIntervalMs, {
    message: 'linkSilenceMs must be longer than pingIntervalMs, or a quiet link is closed',
    path: ['linkSilenceMs'],
  })
  .refine((t) => t.presenceTtlMs > t.presenceAnnounceMs, {
    message: 'presenceTtlMs must be longer than presenceAnnounceMs, or presence flickers',
    path: ['presenceTtlMs'],
  })
  .prefault({})
export type MeshTimings = z.output<typeof meshTimingsSchema>

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
  /**
   * Refuse users without a key: a `hello` with no `key` (an unverified user: a script, a bot)
   * gets `unauthorized` and close 4001, and only keyed users, who prove their key, chat here.
   * Default false: unverified users are welcome (UIs mark them as such).
   */
  requireKeys: z.boolean().default(false),
  /** Browser origins allowed to open chat sessions besides the node's own and its mesh's. */
  allowOrigins: z.array(originSchema).max(64).default([]),
  /** Host name or address put in this node's URLs for others; default: a LAN address. */
  advertiseHost: z.string().min(1).optional(),
  /** Folder of the web UI served at `/`; nothing is served when it is missing. */
  staticDir: z.string().optional(),
  /** Frames a session may send: `perSecond` on average, `burst` at once. Default 50/s, 100. */
  rateLimit: rateSchema.default({ perSecond: DEFAULT_RATE_PER_SECOND, burst: DEFAULT_RATE_BURST }),
  /** `typing` frames a session may send (beyond `rateLimit`). Default 1/s, burst 4. */
  typingRateLimit: rateSchema.default({
    perSecond: DEFAULT_TYPING_FRAMES_PER_SECOND,
    burst: DEFAULT_TYPING_BURST_FRAMES,
  }),
  /** Messages a session's backlogs and history pages may read. Default 1000/s, burst 1000. */
  backlogRateLimit: rateSchema.default({
    perSecond: DEFAULT_BACKLOG_MESSAGES_PER_SECOND,
    burst: DEFAULT_BACKLOG_BURST_MESSAGES,
  }),
  /** Unsent bytes past which a session is closed (1013). Default 4 MiB. */
  maxBufferedBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(DEFAULT_MAX_BUFFERED_BYTES),
  /** Rooms one session may be in at once. Default 100. */
  maxRoomsPerSession: z.number().int().min(1).default(DEFAULT_MAX_ROOMS_PER_SESSION),
  /** Distinct rooms with members on this node. Default 10,000. */
  maxRooms: z.number().int().min(1).default(DEFAULT_MAX_ROOMS),
  /** Chat sessions open at once. Default 1,000. */
  maxClients: z.number().int().min(1).default(DEFAULT_MAX_CLIENTS),
  /** Connections from one address that are not welcomed chat sessions. Default 64. */
  maxPendingPerAddress: z.number().int().min(1).default(DEFAULT_MAX_PENDING_PER_ADDRESS),
  /**
   * How wrong access tokens are slowed down per address (see DEFAULT_TOKEN_FREE_FAILURES):
   * `freeFailures` 3, `firstWaitMs` 1 s doubling to `maxWaitMs` 60 s, `failureMemoryMs` 15 min,
   * `maxAddresses` 10,000.
   */
  tokenThrottle: z
    .object({
      freeFailures: z.number().int().min(0),
      firstWaitMs: z.number().int().min(1),
      maxWaitMs: z.number().int().min(1),
      failureMemoryMs: z.number().int().min(1),
      maxAddresses: z.number().int().min(1),
    })
    .default({
      freeFailures: DEFAULT_TOKEN_FREE_FAILURES,
      firstWaitMs: DEFAULT_TOKEN_FIRST_WAIT_MS,
      maxWaitMs: DEFAULT_TOKEN_MAX_WAIT_MS,
      failureMemoryMs: DEFAULT_TOKEN_FAILURE_MEMORY_MS,
      maxAddresses: DEFAULT_TOKEN_MAX_ADDRESSES,
    }),

  // ---- the mesh's bounds (docs/protocol.md, "Limits")
  /**
   * The longest wait, in ms, before redialling a configured peer that is down (the backoff's
   * cap; a peer heard of through another link is redialled at once). Default 3,000.
   */
  redialMaxMs: z.number().int().min(500).max(3_600_000).default(DEFAULT_REDIAL_MAX_MS),
  /**
   * Connections to the peer port from one address that have not authenticated yet; more are
   * closed at once. Default 16.
   */
  maxPendingPeersPerAddress: z
    .number()
    .int()
    .min(1)
    .max(1_024)
    .default(DEFAULT_MAX_PENDING_PEERS_PER_ADDRESS),
  /**
   * The most rooms one presence announcement names, the busiest first: users of rooms past it
   * are not shown online on other nodes. Default 1,000.
   */
  presenceMaxRooms: z.number().int().min(1).max(20_000).default(DEFAULT_PRESENCE_MAX_ROOMS),
  /**
   * The links a node keeps besides those to its configured peers (which are always kept, and
   * count towards it): past it, the newest links neither end keeps are closed; under it, known
   * nodes are dialled. Default 5.
   */
  activeViewSize: z.number().int().min(1).max(256).default(DEFAULT_ACTIVE_VIEW_SIZE),
  /**
   * Known nodes (from their signed records) kept to replace a lost link. 0: the node dials only
   * its configured peers (and keeps the links others open). Default 30.
   */
  passiveViewSize: z.number().int().min(0).max(1_000).default(DEFAULT_PASSIVE_VIEW_SIZE),
  /** Origins one `ihave` announcement names at most; a fuller batch goes at once. Default 256. */
  ihaveMaxOrigins: z
    .number()
    .int()
    .min(1)
    .max(MAX_IHAVE_ORIGINS)
    .default(DEFAULT_IHAVE_MAX_ORIGINS),
  /** The mesh's timings (pings, liveness, handshake, sync, presence); see `meshTimingsSchema`. */
  meshTimings: meshTimingsSchema,

  // ---- discovery (docs/protocol.md, "Discovery")
  /**
   * Whether the node finds other nodes by itself: it announces itself on the LAN (UDP and
   * mDNS) and listens for others' announcements, and dials the nodes of its mesh it hears of
   * there and in node records. Default true. A node listening on loopback only announces
   * nothing whatever this says. False: only configured peers (and nodes that dial this one) link.
   */
  discovery: z.boolean().default(true),
  /** The UDP port announcements go to and are listened for on. Default 9081. */
  discoveryPort: z.number().int().min(1).max(65_535).default(DEFAULT_DISCOVERY_PORT),
  /** How often, in ms, the node announces itself and asks for others. Default 5,000. */
  discoveryAnnounceMs: z
    .number()
    .int()
    .min(250)
    .max(600_000)
    .default(DEFAULT_DISCOVERY_ANNOUNCE_MS),
})

export type NodeOptionsInput = z.input<typeof nodeOptionsSchema> & { logger?: Logger }
export type NodeOptions = z.output<typeof nodeOptionsSchema> & { logger: Logger }

export class OptionsError extends Error {
  override name = 'OptionsError'
  /** `token_needs_secret` for that refusal (callers say it in their own words), else `invalid`. */
  readonly code: 'invalid' | 'token_needs_secret'
  constructor(message: string, code: OptionsError['code'] = 'invalid') {
    super(message)
    this.code = code
  }
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
  // Without a secret anyone who reaches the peer port links and is sent every room's history:
  // the token would guard the front door while the back door stands open.
  if (result.data.token !== undefined && result.data.secret === '') {
    throw new OptionsError(
      'token, secret: a node with an access token needs a mesh secret too, or anyone who reaches its peer port reads every room',
      'token_needs_secret',
    )
  }
  return { ...result.data, logger: logger ?? silentLogger }
}

/** Whether `host` (a listen address) is this machine only: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
  )
}

/**
 * The warning for a node whose peer port takes any node: it listens beyond this machine and
 * has no mesh secret. `undefined` when there is nothing to warn about.
 */
export function openMeshWarning(options: Pick<NodeOptions, 'host' | 'secret'>): string | undefined {
  if (options.secret !== '' || isLoopbackHost(options.host)) return undefined
  return `the peer port listens on ${options.host} with no mesh secret: anyone who can reach it can join the mesh and read every room`
}
