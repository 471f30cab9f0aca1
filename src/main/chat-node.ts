/**
 * `chat-node`: a Palaver node without the desktop app, for always-on machines. Loaded by its
 * entry point, `cli.ts`, once the Node.js version is known to be new enough.
 *
 *   chat-node --name ServerA --port 8080 --peer-port 9080 --peer otherhost:9080
 *   chat-node 8080 9080 ServerA localhost:9081 localhost:9082   (client port, peer port, name, peers)
 *
 * Prints one line when it is ready (and a warning after it when any node that reaches the peer
 * port can join); stops cleanly on SIGINT or SIGTERM. Bad flags exit with 2.
 */
import { existsSync } from 'node:fs'
import { homedir, hostname } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { runDoctor } from './doctor-cli.ts'
import { ChatNode } from './node/node.ts'
import {
  DEFAULT_CLIENT_PORT,
  type MeshTimings,
  type NodeOptionsInput,
  OptionsError,
  openMeshWarning,
} from './node/options.ts'
import { ProcessErrorPolicy, guardProcess } from './process-errors.ts'

const USAGE = `Usage: chat-node [flags]
       chat-node CLIENT_PORT PEER_PORT NAME [PEER ...]
       chat-node doctor [--url URL] [--token T]   what a running node sees of the network

Flags:
  --name NAME            node name shown to users (default: this machine's host name)
  --host ADDR            address to listen on (default 0.0.0.0)
  --port N               client port: web UI, /health, /metrics, WebSocket (default 8080)
  --peer-port N          peer port for the TLS mesh (default 9080)
  --peer HOST:PORT       a peer to link to (repeatable)
  --data DIR             data directory (default ~/.palaver/NAME)
  --mesh NAME            mesh name (default "default")
  --secret S             mesh secret (or PALAVER_MESH_SECRET); without one, any node that
                         reaches the peer port can join
  --token T              access token clients must give (or PALAVER_TOKEN); needs --secret
  --require-keys         take only keyed users (who prove their key); refuse unverified ones
  --allow-origin URL     a browser origin allowed to open chat sessions (repeatable)
  --advertise-host HOST  host name or address other machines use to reach this node
  --no-discovery         do not announce this node on the LAN nor listen for others, and
                         dial only the --peer addresses (a node on loopback announces nothing)
  --discovery-port N     UDP port of LAN announcements (default 9081)
  --web DIR              folder of the web UI to serve at / (default: the built UI)
  --log-level LEVEL      debug, info, warn or error (default info)
  --limit NAME=N         change one of the node's limits (repeatable): max-clients (1000),
                         max-rooms (10000), max-rooms-per-session (100),
                         max-pending-per-address (64), max-buffered-bytes (4194304),
                         max-pending-peers-per-address (16), presence-max-rooms (1000),
                         redial-max-ms (3000), active-view-size (5),
                         passive-view-size (30; 0: dial only --peer), ihave-max-origins (256),
                         and the mesh's timings in ms: ping-interval-ms (5000),
                         link-silence-ms (15000), handshake-timeout-ms (5000),
                         sync-interval-ms (30000), presence-announce-ms (10000),
                         presence-ttl-ms (30000), ihave-interval-ms (100),
                         graft-timeout-ms (1000), discovery-announce-ms (5000);
                         see docs/protocol.md, "Limits"
  -h, --help             show this help
`

const TOKEN_NEEDS_SECRET =
  'an access token (--token or PALAVER_TOKEN) needs a mesh secret too (--secret or PALAVER_MESH_SECRET): without one, anyone who reaches the peer port can read every room.'

class UsageError extends Error {}

/** Turns argv into node options; throws UsageError or OptionsError on bad input. */
function parseCli(argv: string[], env: NodeJS.ProcessEnv): NodeOptionsInput & { logLevel: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'peer-port': { type: 'string' },
      peer: { type: 'string', multiple: true },
      data: { type: 'string' },
      mesh: { type: 'string' },
      secret: { type: 'string' },
      token: { type: 'string' },
      'require-keys': { type: 'boolean' },
      'allow-origin': { type: 'string', multiple: true },
      'advertise-host': { type: 'string' },
      'no-discovery': { type: 'boolean' },
      'discovery-port': { type: 'string' },
      web: { type: 'string' },
      'log-level': { type: 'string' },
      limit: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) throw new UsageError('')

  const [clientPort, peerPort, positionalName, ...positionalPeers] = positionals
  if (positionals.length > 0 && positionals.length < 3) {
    throw new UsageError('the positional form is CLIENT_PORT PEER_PORT NAME [PEER ...]')
  }
  const name = values.name ?? positionalName ?? hostname()
  const logLevel = values['log-level'] ?? 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new UsageError(`--log-level: expected debug, info, warn or error, got "${logLevel}"`)
  }
  return {
    name,
    host: values.host,
    port: port('--port', values.port ?? clientPort),
    peerPort: port('--peer-port', values['peer-port'] ?? peerPort),
    peers: [...positionalPeers, ...(values.peer ?? [])],
    dataDir: resolve(
      values.data ?? join(homedir(), '.palaver', name.replace(/[^A-Za-z0-9._-]/g, '_')),
    ),
    mesh: values.mesh,
    secret: values.secret ?? env.PALAVER_MESH_SECRET,
    token: values.token ?? env.PALAVER_TOKEN,
    requireKeys: values['require-keys'],
    allowOrigins: values['allow-origin'],
    advertiseHost: values['advertise-host'],
    discovery: values['no-discovery'] ? false : undefined,
    discoveryPort: port('--discovery-port', values['discovery-port']),
    staticDir: values.web ? resolve(values.web) : builtWebUi(),
    logLevel,
    ...limits(values.limit ?? []),
  }
}

type LimitOption =
  | 'maxClients'
  | 'maxRooms'
  | 'maxRoomsPerSession'
  | 'maxPendingPerAddress'
  | 'maxBufferedBytes'
  | 'maxPendingPeersPerAddress'
  | 'presenceMaxRooms'
  | 'redialMaxMs'
  | 'discoveryAnnounceMs'
  | 'activeViewSize'
  | 'passiveViewSize'
  | 'ihaveMaxOrigins'

/** The node's limits `--limit NAME=N` may set, by flag name (the values the options check). */
const LIMITS = new Map<string, LimitOption>([
  ['max-clients', 'maxClients'],
  ['max-rooms', 'maxRooms'],
  ['max-rooms-per-session', 'maxRoomsPerSession'],
  ['max-pending-per-address', 'maxPendingPerAddress'],
  ['max-buffered-bytes', 'maxBufferedBytes'],
  ['max-pending-peers-per-address', 'maxPendingPeersPerAddress'],
  ['presence-max-rooms', 'presenceMaxRooms'],
  ['redial-max-ms', 'redialMaxMs'],
  ['discovery-announce-ms', 'discoveryAnnounceMs'],
  ['active-view-size', 'activeViewSize'],
  ['passive-view-size', 'passiveViewSize'],
  ['ihave-max-origins', 'ihaveMaxOrigins'],
])

/** The fields of `meshTimings` `--limit NAME=N` may set, by flag name. */
const MESH_TIMINGS = new Map<string, keyof MeshTimings>([
  ['ping-interval-ms', 'pingIntervalMs'],
  ['link-silence-ms', 'linkSilenceMs'],
  ['handshake-timeout-ms', 'handshakeTimeoutMs'],
  ['sync-interval-ms', 'syncIntervalMs'],
  ['presence-announce-ms', 'presenceAnnounceMs'],
  ['presence-ttl-ms', 'presenceTtlMs'],
  ['ihave-interval-ms', 'ihaveIntervalMs'],
  ['graft-timeout-ms', 'graftTimeoutMs'],
])

/** `--limit` values as options; the option names come from the maps above, never from the flag. */
function limits(
  items: readonly string[],
): Partial<Record<LimitOption, number>> & { meshTimings?: Partial<MeshTimings> } {
  const options: Partial<Record<LimitOption, number>> = {}
  const meshTimings: Partial<MeshTimings> = {}
  for (const item of items) {
    const match = /^([a-z-]+)=(\d{1,12})$/.exec(item)
    const name = match?.[1] ?? ''
    const option = LIMITS.get(name)
    const timing = MESH_TIMINGS.get(name)
    if (!match || (!option && !timing)) {
      const names = [...LIMITS.keys(), ...MESH_TIMINGS.keys()].join(', ')
      throw new UsageError(`--limit: expected NAME=N with NAME one of ${names}, got "${item}"`)
    }
    if (option) options[option] = Number(match[2])
    if (timing) meshTimings[timing] = Number(match[2])
  }
  return Object.keys(meshTimings).length > 0 ? { ...options, meshTimings } : options
}

function port(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`${flag}: expected a port number 0-65535, got "${value}"`)
  }
  return Number(value)
}

/**
 * The renderer's build output, whether this file runs built (a chunk in out/main/chunks, loaded
 * by out/main/cli.js) or from source (src/main).
 */
function builtWebUi(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, '../../renderer'), join(here, '../../out/renderer')]
  // Only out/renderer, never a folder that merely has the name renderer.
  return candidates.find(
    (dir) => basename(dirname(dir)) === 'out' && existsSync(join(dir, 'index.html')),
  )
}

async function main(): Promise<void> {
  if (process.argv[2] === 'doctor') {
    process.exitCode = await runDoctor(process.argv.slice(3), process.env, (text) =>
      process.stdout.write(text),
    )
    return
  }
  let input: ReturnType<typeof parseCli>
  let node: ChatNode
  try {
    input = parseCli(process.argv.slice(2), process.env)
    const { logLevel, ...options } = input
    const logger = pino({ name: 'chat-node', level: logLevel }, pino.destination(2))
    node = new ChatNode({ ...options, logger })
    // From here an error that escapes the node is logged and the node keeps serving (see
    // process-errors.ts for when that is safe); a storm of them ends the process with 1.
    guardProcess(new ProcessErrorPolicy(logger), () => process.exit(1))
  } catch (error) {
    if (error instanceof UsageError && error.message === '') {
      process.stdout.write(USAGE)
      return
    }
    const known = error instanceof UsageError || error instanceof OptionsError || isArgError(error)
    if (!known) throw error
    // Each flag is right; together they are not: no usage, one sentence.
    const tokenNeedsSecret = error instanceof OptionsError && error.code === 'token_needs_secret'
    process.stderr.write(
      tokenNeedsSecret
        ? `chat-node: ${TOKEN_NEEDS_SECRET}\n`
        : `chat-node: ${(error as Error).message}\n\n${USAGE}`,
    )
    process.exitCode = 2
    return
  }

  try {
    await node.start()
  } catch (error) {
    process.stderr.write(`chat-node: cannot start: ${describeStartError(error, input)}\n`)
    process.exitCode = 1
    return
  }
  const host = node.options.host
  process.stdout.write(
    `chat-node ${node.options.name} (${node.id}) ready: clients on http://${hostForUrl(host)}:${node.clientPort}/` +
      ` (share ${node.clientUrl?.replace(/^ws/, 'http')}), peers on ${hostForUrl(host)}:${node.peerPort},` +
      ` data in ${node.options.dataDir}\n`,
  )
  const openMesh = openMeshWarning(node.options)
  if (openMesh !== undefined) {
    node.options.logger.warn({ host, peerPort: node.peerPort }, openMesh)
    process.stdout.write(`chat-node: warning: ${openMesh}; give every node --secret\n`)
  }

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) process.exit(130) // a second signal: the user does not want to wait
    stopping = true
    process.stderr.write(`chat-node: ${signal}, stopping\n`)
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`chat-node: stop failed: ${String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

function isArgError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
  )
}

function describeStartError(error: unknown, input: { port?: number; host?: string }): string {
  // The node listens on two ports: name the one that failed (the error carries it).
  const { code, port: failed } = error as { code?: string; port?: number }
  const clientPort = input.port ?? DEFAULT_CLIENT_PORT
  const port = failed ?? clientPort
  const flag = port === clientPort ? '--port' : '--peer-port'
  if (code === 'EADDRINUSE') return `port ${port} is in use (choose another with ${flag})`
  if (code === 'EADDRNOTAVAIL') return `address ${input.host} is not on this machine (see --host)`
  if (code === 'EACCES') return `not allowed to listen on port ${port} (see ${flag})`
  return error instanceof Error ? error.message : String(error)
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost'
  return host.includes(':') ? `[${host}]` : host
}

await main()
