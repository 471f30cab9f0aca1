/**
 * Load benchmark: K real `chat-node` processes, N WebSocket sessions in one room, P of them
 * publishing on an open-loop schedule. Measures delivery latency (receive time − scheduled send
 * time), loss, throughput and each process's CPU and memory. See bench/README.md.
 *
 *   npm run bench -- --nodes 1 --clients 300 --publishers 20 --rate 200 --duration 10
 *   npm run bench -- --find-max
 *   npm run bench -- --compare        # Palaver against the plain relay of bench/ws-relay.ts
 *   npm run bench -- --compare --only idle   # only its KB per idle session
 *   npm run bench -- --nodes 24 --topology seeds --rate 20 --clients 48
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { overlaySettled, randomSeeds, startNodesWithPeers } from '../test/support/mesh.ts'
import { cleanupNodes, health, type NodeProcess } from '../test/support/node-process.ts'
import { Prng } from '../test/support/prng.ts'
import { waitUntil } from '../test/support/wait.ts'
import { nativeEd25519 } from '../src/main/node/signing-native.ts'
import type { Signer } from '../src/shared/ed25519.ts'
import { encodeKey, userIdFromKey } from '../src/shared/keys.ts'
import { signAsUser, signSessionProof } from '../src/shared/signatures.ts'
import { heapReportPath } from './heap-report.ts'
import { signingShares } from './profile-share.ts'
import { WsLite } from './ws-lite.ts'

/** The node's per-session limit is 50 frames/s; a publisher stays at or under this. */
const MAX_PER_PUBLISHER = 40
const CONNECT_CONCURRENCY = 50
const CONNECT_TIMEOUT_MS = 60_000
const MESH_UP_TIMEOUT_MS = 15_000
/** With `--topology seeds`: how long the overlay may take to settle before the run. */
const OVERLAY_SETTLE_TIMEOUT_MS = 60_000
/** Nodes started at once (their startups compete with each other for the CPU). */
const NODES_STARTED_AT_ONCE = 6
/** Unmeasured messages each publisher sends first, one round at a time (see `Run.warmUp`). */
const WARM_UP_ROUNDS = 3
/** How long one round of warm-up messages may take to reach every session. */
const WARM_UP_TIMEOUT_MS = 15_000
/** The most nodes a run starts. */
const MAX_NODES = 32
/** --find-max: seconds of sending and of tail at each step (unless --duration, --tail say). */
const FIND_MAX_DURATION_S = 5
const FIND_MAX_TAIL_S = 5
/** --find-max: the rates tried in turn, then up to two bisection steps. */
const FIND_MAX_LADDER = [200, 400, 800, 1200, 1600, 2000, 3000, 4000, 6000, 8000, 12_000]
const FIND_MAX_REFINE_STEPS = 2
const FIND_MAX_BUDGET_MS = 270_000
const FIND_MAX_P99_MS = 100
/** Figures taken while other programs used more CPU than this (% of one core) are unreliable. */
const BUSY_OTHER_CPU_PCT = 20
/** --find-max runs a failed step again this many times when the machine was busy. */
const BUSY_RETRIES = 2
/** --compare: the rates at which both servers' latencies are measured. */
const COMPARE_RATES = [100, 200]
/** --compare: each server's find-max search stops before this, so that the whole run takes ~10 min. */
const COMPARE_FIND_MAX_BUDGET_MS = 200_000
/**
 * --compare: sessions opened and joined before the "before" RSS, so one-time costs are in it.
 * After 50, the next 1,000 sessions still made V8 compile 0.8 KB of code per session for a node
 * (0.5 KB for the relay); after 500, 0.2 KB (0.1 KB).
 */
const IDLE_WARMUP_SESSIONS = 500
/** --compare: idle sessions join rooms of this many (so presence is not an N² storm). */
const IDLE_ROOM_SIZE = 20
/** RSS counts as settled once it moved less than RSS_STABLE_KB over RSS_STABLE_MS. */
const RSS_STABLE_KB = 256
const RSS_STABLE_MS = 3_000
const RSS_POLL_MS = 250
/** ...or when this long has passed; the figure is then flagged as unsettled. */
const RSS_SETTLE_TIMEOUT_MS = 20_000
/**
 * The idle measurement's processes collect their garbage on GC_SIGNAL, so that RSS holds what the
 * sessions hold, not what their joins left behind; and their young generation is kept at 1 MB,
 * since V8 grows it with the rate of allocation (by 10 MB or more during 1000 joins), which is
 * not memory any session holds.
 */
const GC_SIGNAL = 'SIGUSR2'
const IDLE_NODE_OPTIONS = `--max-semi-space-size=1 --expose-gc --import=${resolve(import.meta.dirname, 'gc-on-signal.ts')}`
const RELAY_PROGRAM = resolve(import.meta.dirname, 'ws-relay.ts')
const RELAY_READY_TIMEOUT_MS = 15_000

/** What the sessions connect to: Palaver nodes, or the plain relay of bench/ws-relay.ts. */
type ServerKind = 'palaver' | 'relay'

/** --compare's measurements, in the order it takes them; `--only` picks some of them. */
const COMPARE_PARTS = ['latency', 'idle', 'find-max'] as const
type ComparePart = (typeof COMPARE_PARTS)[number]

interface Config {
  server: ServerKind
  /** Palaver nodes; the relay is always one process. */
  nodes: number
  clients: number
  publishers: number
  rate: number
  duration: number
  room: string
  tail: number
  /** When set, nodes run with `--cpu-prof` into this directory and are stopped gracefully. */
  profileDir: string | undefined
  /** Sessions are keyless users that do not sign (as before keys); keyed users by default. */
  keyless: boolean
  /**
   * `full`: each node has every other as `--peer`. `seeds`: each has `seeds` earlier nodes at
   * random (two for the second node, one for the first), and the overlay does the rest.
   */
  topology: 'full' | 'seeds'
  seeds: number
  /** --compare: idle sessions whose memory is measured. */
  idleSessions: number
  /** --compare: the measurements taken (`--only`; all of them by default). */
  parts: ReadonlySet<ComparePart>
  /**
   * `--node-cli`: the chat-node program the nodes run, another checkout's `src/main/cli.ts` to
   * measure two versions with one generator; this checkout's by default.
   */
  nodeCli: string | undefined
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: 0.1 ms bins up to 60 s, exact values beyond.

const BIN_MS = 0.1
const BINS = 600_000

class Histogram {
  readonly #bins = new Uint32Array(BINS)
  readonly #over: number[] = []
  count = 0
  max = 0

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms
    this.count++
    if (v > this.max) this.max = v
    const bin = Math.floor(v / BIN_MS)
    if (bin < BINS) this.#bins[bin] = (this.#bins[bin] ?? 0) + 1
    else this.#over.push(v)
  }

  /** The value at quantile q (0..1), to the bin's upper edge; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (let i = 0; i < BINS; i++) {
      seen += this.#bins[i] ?? 0
      if (seen >= rank) return Math.min((i + 1) * BIN_MS, this.max)
    }
    const over = [...this.#over].sort((a, b) => a - b)
    return over[rank - seen - 1] ?? this.max
  }
}

// ---------------------------------------------------------------------------------------------
// Process statistics from /proc.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

interface ProcSample {
  cpuSeconds: number
  sysSeconds: number
  rssMb: number
  peakRssMb: number
}

function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const sysSeconds = Number(fields[12]) / CLK_TCK
    const cpuSeconds = Number(fields[11]) / CLK_TCK + sysSeconds
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1])
    return { cpuSeconds, sysSeconds, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

/** CPU seconds the whole machine has spent busy (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    // cpu user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)
    return busy / CLK_TCK
  } catch {
    return NaN
  }
}

/** A node's /metrics, each metric name with the sum of its samples; empty when unreachable. */
async function scrape(server: Server): Promise<Map<string, number>> {
  const sums = new Map<string, number>()
  // The relay has no /metrics: its figures are reported as missing.
  if (!server.node) return sums
  try {
    const res = await fetch(`${server.node.httpUrl}/metrics`)
    for (const line of (await res.text()).split('\n')) {
      const match = /^(([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?) (\S+)$/.exec(line)
      if (!match?.[1] || !match[2]) continue
      const value = Number(match[3])
      sums.set(match[2], (sums.get(match[2]) ?? 0) + value)
      if (match[1] !== match[2]) sums.set(match[1], value)
    }
  } catch {
    // The node is gone; its figures are reported as missing.
  }
  return sums
}

// ---------------------------------------------------------------------------------------------
// The sessions: one lean socket each (ws-lite.ts), parsing only what the benchmark needs.

interface Client {
  readonly index: number
  /** Who the session is: a keyed user, or a keyless one with `--keyless`. */
  readonly user: { id: string; name: string; key?: string }
  /** Signs the session's proof and sends; undefined for a keyless user. */
  readonly signer: Signer | undefined
  ws: WsLite | undefined
  /** One bit per message index: seen by this client. */
  readonly seen: Uint8Array
  joined: boolean
}

/** A frame the bench parses in full (not a delivery, ack or presence). */
interface SlowFrame {
  type?: string
  code?: string
  node?: { id: string }
  nonce?: string
}

/** `{"type":"` — the node writes `type` first in every frame it encodes. */
const TYPE_PREFIX = Buffer.from('{"type":"')
const CH_M = 0x6d // message
const CH_A = 0x61 // ack
const CH_P = 0x70 // presence, pong

class Run {
  readonly cfg: Config
  readonly tag = randomBytes(3).toString('hex')
  readonly total: number
  readonly textMark: Buffer
  readonly cidMark: Buffer
  readonly clients: Client[] = []
  readonly latency = new Histogram()
  readonly ackLatency = new Histogram()
  readonly sendLag = new Histogram()
  readonly errors = new Map<string, number>()
  readonly closes = new Map<number, number>()
  t0 = 0
  sent = 0
  acks = 0
  delivered = 0
  duplicates = 0
  /** Deliveries and acks of messages not of the run (the warm-up's). */
  foreign = 0
  foreignAcks = 0
  lastDeliveryAt = 0
  tearingDown = false

  constructor(cfg: Config) {
    this.cfg = cfg
    this.total = Math.max(1, Math.round(cfg.rate * cfg.duration))
    this.textMark = Buffer.from(`"text":"b${this.tag}:`)
    this.cidMark = Buffer.from(`"cid":"b${this.tag}-`)
  }

  /** Scheduled send time of message i, relative to t0, in ms. */
  scheduled(i: number): number {
    return (i * 1000) / this.cfg.rate
  }

  #count<K>(map: Map<K, number>, key: K): void {
    map.set(key, (map.get(key) ?? 0) + 1)
  }

  /**
   * Opens sessions `from` to `to` (every session by default), says hello and joins each to
   * `roomOf` its index (the run's room by default); resolves when all have `joined`.
   */
  async connect(
    servers: readonly Server[],
    from = 0,
    to = this.cfg.clients,
    roomOf: (index: number) => string = () => this.cfg.room,
  ): Promise<void> {
    const bytes = Math.ceil(this.total / 8)
    let next = from
    const one = (index: number) =>
      new Promise<void>((resolve, reject) => {
        const server = servers[index % servers.length] as Server
        const client = this.#client(index, bytes)
        this.clients[index] = client
        WsLite.connect('127.0.0.1', server.clientPort, {
          frame: (chunk, start, end) => {
            const frame = this.#frame(client, chunk, start, end)
            if (frame?.type === 'challenge' && client.signer && frame.node && frame.nonce) {
              const sig = signSessionProof(client.signer, frame.node.id, frame.nonce)
              client.ws?.send(JSON.stringify({ type: 'prove', sig }))
            } else if (frame?.type === 'welcome') {
              client.ws?.send(`{"type":"join","room":"${roomOf(index)}"}`)
            } else if (client.joined) resolve()
          },
          close: (code) => {
            if (!this.tearingDown) this.#count(this.closes, code)
            reject(new Error(`session ${index} closed with ${code} before joining`))
          },
        }).then((ws) => {
          client.ws = ws
          ws.send(JSON.stringify({ type: 'hello', protocol: 1, user: client.user }))
        }, reject)
      })
    const worker = async () => {
      while (next < to) await one(next++)
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, to - from) }, worker)),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`clients not joined in ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        )
      }),
    ]).finally(() => clearTimeout(timer))
  }

  /** A session's state: a fresh key pair unless `--keyless`. */
  #client(index: number, bytes: number): Client {
    const name = `b${index}`
    const common = { index, ws: undefined, seen: new Uint8Array(bytes), joined: false }
    if (this.cfg.keyless) {
      return { ...common, user: { id: `bench${this.tag}u${index}`, name }, signer: undefined }
    }
    const signer = nativeEd25519.signer(randomBytes(32))
    const user = { id: userIdFromKey(signer.publicKey), name, key: encodeKey(signer.publicKey) }
    return { ...common, user, signer }
  }

  /** Handles one frame, `chunk[start, end)`; returns the frame when it took the slow path. */
  #frame(client: Client, chunk: Buffer, start: number, end: number): SlowFrame | undefined {
    const now = performance.now()
    let fast = end - start > 10
    for (let i = 0; fast && i < 9; i++) fast = chunk[start + i] === TYPE_PREFIX[i]
    if (fast) {
      const c = chunk[start + 9]
      if (c === CH_M) return void this.#message(client, chunk, start, end, now)
      if (c === CH_A) return void this.#ack(chunk, start, end, now)
      if (c === CH_P) return undefined
    }
    let frame: SlowFrame
    try {
      frame = JSON.parse(chunk.toString('utf8', start, end)) as SlowFrame
    } catch {
      this.#count(this.errors, 'unparsable frame')
      return undefined
    }
    if (frame.type === 'joined') client.joined = true
    else if (frame.type === 'error') this.#count(this.errors, frame.code ?? 'error')
    return frame
  }

  #message(client: Client, chunk: Buffer, start: number, end: number, now: number): void {
    const at = chunk.indexOf(this.textMark, start + 10)
    if (at < 0 || at >= end) return void this.foreign++
    const i = this.#digits(chunk, at + this.textMark.length)
    const us = this.#digits(chunk, this.#end + 1)
    if (i >= this.total) return void this.foreign++
    const byte = i >> 3
    const bit = 1 << (i & 7)
    const seen = client.seen[byte] ?? 0
    if (seen & bit) return void this.duplicates++
    client.seen[byte] = seen | bit
    this.delivered++
    this.lastDeliveryAt = now
    this.latency.add(now - (this.t0 + us / 1000))
  }

  /** Where the last `#digits` stopped. */
  #end = 0

  /** Reads the decimal digits of `data` from `at`; sets `#end` to the first non-digit. */
  #digits(data: Buffer, at: number): number {
    let value = 0
    let p = at
    for (let c = data[p] ?? 0; c >= 0x30 && c <= 0x39; c = data[++p] ?? 0)
      value = value * 10 + c - 0x30
    this.#end = p
    return value
  }

  #ack(chunk: Buffer, start: number, end: number, now: number): void {
    const at = chunk.indexOf(this.cidMark, start + 10)
    if (at < 0 || at >= end) return void this.foreignAcks++
    this.acks++
    const i = this.#digits(chunk, at + this.cidMark.length)
    this.ackLatency.add(now - (this.t0 + this.scheduled(i)))
  }

  /**
   * Every `send` frame of the run, written (and signed, for keyed users) before the clock starts,
   * so that the load generator's signing never delays a send or takes CPU from the nodes.
   */
  prepare(publishers: Client[]): string[] {
    return Array.from({ length: this.total }, (_, i) => {
      const publisher = publishers[i % publishers.length] as Client
      const text = `b${this.tag}:${i}:${Math.round(this.scheduled(i) * 1000)}`
      return this.#sendFrame(publisher, text, `b${this.tag}-${i}`)
    })
  }

  /** A `send` frame of `publisher`'s, signed for a keyed user. */
  #sendFrame(publisher: Client, text: string, cid: string): string {
    const { room } = this.cfg
    const usig =
      publisher.signer &&
      signAsUser(publisher.signer, { kind: 'message', room, cid, text, user: publisher.user })
    return JSON.stringify({ type: 'send', room, text, cid, ...(usig ? { usig } : {}) })
  }

  /**
   * Before the clock starts, each publisher sends WARM_UP_ROUNDS messages that are not
   * measured, a round at a time, each round once every session has the one before: with several
   * nodes, a node's first messages build its tree (every link starts eager for an origin, and
   * duplicates in a row prune one), and that is not the steady state. False when a round was
   * not all in within WARM_UP_TIMEOUT_MS.
   */
  async warmUp(publishers: Client[]): Promise<boolean> {
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      for (const publisher of publishers) {
        const id = `${this.tag}:${round}:${publisher.index}`
        publisher.ws?.send(this.#sendFrame(publisher, `w${id}`, `w${id.replaceAll(':', '-')}`))
      }
      const expected = (round + 1) * publishers.length * this.cfg.clients
      const allIn = await waitUntil(() => this.foreign >= expected, WARM_UP_TIMEOUT_MS).then(
        () => true,
        () => false,
      )
      if (!allIn) return false
    }
    return true
  }

  /** Sends every message on its schedule (open loop); resolves after the last one. */
  publish(publishers: Client[], frames: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      const tick = () => {
        const now = performance.now()
        while (this.sent < this.total) {
          const i = this.sent
          const due = this.scheduled(i)
          if (this.t0 + due > now) break
          publishers[i % publishers.length]?.ws?.send(frames[i] as string)
          this.sendLag.add(now - this.t0 - due)
          this.sent++
        }
        if (this.sent >= this.total) return resolve()
        setTimeout(tick, Math.max(0, this.t0 + this.scheduled(this.sent) - performance.now()))
      }
      setTimeout(tick, Math.max(0, this.t0 - performance.now()))
    })
  }

  /** Waits until every delivery and ack is in, or `tail` seconds after the last send. */
  async drain(): Promise<void> {
    const expected = this.sent * this.cfg.clients
    const deadline = performance.now() + this.cfg.tail * 1000
    while (performance.now() < deadline) {
      if (this.delivered >= expected && this.acks >= this.sent) return
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  close(): void {
    this.tearingDown = true
    for (const c of this.clients) c?.ws?.terminate()
  }
}

// ---------------------------------------------------------------------------------------------
// One run: start nodes, connect, publish, measure, tear down.

interface NodeStats {
  name: string
  pid: number
  cpuPct: number
  /** The part of cpuPct spent in the kernel. */
  sysPct: number
  rssMbBefore: number
  rssMbAfter: number
  peakRssMb: number
  loopLagP99Ms: number | undefined
  /** Store commits (one fsync each) in the window, their mean time, and the share of wall time. */
  commits: number | undefined
  commitMeanMs: number | undefined
  commitBusyPct: number | undefined
  /** With `--profile`: % of the node's event-loop busy samples spent signing and verifying. */
  signingPct?: number
}

interface Result {
  server: ServerKind
  /** Sessions were keyed users that signed their sends. */
  keyed: boolean
  /** Processes the sessions were spread over (the relay is one). */
  nodes: number
  clients: number
  publishers: number
  rate: number
  duration: number
  connectSeconds: number
  sent: number
  acks: number
  expected: number
  delivered: number
  lost: number
  duplicates: number
  deliveredPerSec: number
  latencyMs: { p50: number; p99: number; max: number }
  ackLatencyMs: { p50: number; p99: number; max: number }
  sendLagMs: { p99: number; max: number }
  errors: Record<string, number>
  closes: Record<string, number>
  nodeStats: NodeStats[]
  benchCpuPct: number
  benchSysPct: number
  /** CPU used by everything else on the machine during the window (other processes, kernel). */
  otherCpuPct: number
  cores: number
  topology: Config['topology']
  /** Peer links when the run started, and the most of one node. */
  links: { total: number; maxPerNode: number } | null
  meshFramesPerMessage: number | null
  /** The same from `palaver_mesh_events_sent_total` (event frames only). */
  meshEventsPerMessage: number | null
  /** The same from `palaver_mesh_tree_frames_sent_total`, by type. */
  meshTreeFramesPerMessage: { ihave: number; graft: number; prune: number } | null
  wallSeconds: number
}

function publishersFor(cfg: Config): number {
  const needed = Math.ceil(cfg.rate / MAX_PER_PUBLISHER)
  return Math.min(cfg.clients, Math.max(cfg.publishers, needed))
}

/** A process the sessions connect to: a Palaver node, or the plain relay. */
interface Server {
  readonly name: string
  readonly pid: number
  readonly clientPort: number
  /** The Palaver node, with its /health and /metrics; undefined for the relay. */
  readonly node: NodeProcess | undefined
}

/** What `startServers` adds to the processes it starts. */
interface ServerExtras {
  /** More flags for each node's command line. */
  nodeArgs?: readonly string[]
  /** NODE_OPTIONS of each process, node or relay. */
  nodeOptions?: string
}

/**
 * Starts what `cfg.server` names: `cfg.nodes` Palaver nodes meshed with each other (profiled
 * with `cfg.profileDir`), or one relay. Ends with `cleanup()`.
 */
async function startServers(
  cfg: Config,
  log: (line: string) => void,
  { nodeArgs = [], nodeOptions }: ServerExtras = {},
): Promise<Server[]> {
  // The relay is never profiled: the profile's figures are about what a node does.
  if (cfg.server === 'relay') return [await startRelay(nodeOptions)]
  const profile = cfg.profileDir && `--cpu-prof --cpu-prof-dir=${resolve(cfg.profileDir)}`
  const options = [profile, nodeOptions].filter(Boolean).join(' ')
  const env = options ? { NODE_OPTIONS: options } : undefined
  const nodes = await startNodes(cfg, env, nodeArgs)
  if (!(await meshUp(cfg, nodes))) log(`  warning: the mesh was not fully up in time`)
  return nodes.map((node) => ({
    name: node.name,
    pid: node.child.pid ?? -1,
    clientPort: node.clientPort,
    node,
  }))
}

/** The relays started and not yet stopped. */
const relays = new Set<ChildProcess>()

/** Starts bench/ws-relay.ts as a process of its own on 127.0.0.1; resolves once it listens. */
async function startRelay(nodeOptions: string | undefined): Promise<Server> {
  const child = spawn(process.execPath, [RELAY_PROGRAM], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: nodeOptions ? { ...process.env, NODE_OPTIONS: nodeOptions } : process.env,
  })
  relays.add(child)
  const clientPort = await new Promise<number>((ready, reject) => {
    let stdout = ''
    const timer = setTimeout(
      () => reject(new Error(`the relay was not ready in ${RELAY_READY_TIMEOUT_MS} ms`)),
      RELAY_READY_TIMEOUT_MS,
    )
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      const port = /relay ready: ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]
      if (port) {
        clearTimeout(timer)
        ready(Number(port))
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the relay ended (${code ?? signal}) before it was ready`))
    })
  })
  return { name: 'relay', pid: child.pid ?? -1, clientPort, node: undefined }
}

/** Kills (SIGKILL, by pid) every node and relay still running and waits until they ended. */
async function cleanup(): Promise<void> {
  const ended = [...relays].map(
    (child) =>
      new Promise<void>((done) => {
        relays.delete(child)
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once('exit', () => done())
        child.kill('SIGKILL')
      }),
  )
  await Promise.all([cleanupNodes(), ...ended])
}

async function startNodes(
  cfg: Config,
  env: NodeJS.ProcessEnv | undefined,
  nodeArgs: readonly string[],
): Promise<NodeProcess[]> {
  const everyOther = (i: number) =>
    Array.from({ length: cfg.nodes }, (_, j) => j).filter((j) => j !== i)
  const seeds = randomSeeds(cfg.nodes, new Prng(Prng.freshSeed()), cfg.seeds, cfg.seeds)
  return startNodesWithPeers(
    cfg.nodes,
    cfg.topology === 'full' ? everyOther : (i) => seeds[i] ?? [],
    {
      name: (i) => `bench${i + 1}`,
      // With seeds, discovery's gossip layer (signed records' addresses; on loopback nothing
      // is announced) fills the overlay's passive view.
      discovery: cfg.topology === 'seeds',
      logLevel: 'warn',
      env,
      // A mesh of their own: other nodes on this machine, dialling ports that are these nodes'
      // now, would otherwise join it.
      args: ['--secret', randomBytes(16).toString('hex'), ...nodeArgs],
      ...(cfg.nodeCli === undefined ? {} : { cli: cfg.nodeCli }),
      atOnce: NODES_STARTED_AT_ONCE,
      timeoutMs: 60_000,
    },
  )
}

/**
 * Waits (bounded) until the mesh is up: in a full mesh every node reports K − 1 peers up; with
 * seeds, the overlay joins them all and has stopped changing. False if not in time.
 */
async function meshUp(cfg: Config, nodes: NodeProcess[]): Promise<boolean> {
  if (cfg.topology === 'seeds') {
    return overlaySettled(nodes, { timeoutMs: OVERLAY_SETTLE_TIMEOUT_MS }).then(
      () => true,
      () => false,
    )
  }
  const peersUp = async (node: NodeProcess) =>
    (await health(node)).peers.filter((p) => p.state === 'up').length
  const allUp = async () =>
    (await Promise.all(nodes.map(peersUp))).every((n) => n >= nodes.length - 1)
  return waitUntil(allUp, MESH_UP_TIMEOUT_MS).then(
    () => true,
    () => false,
  )
}

/** Peer links of the mesh (each counted once) and the most of one node. */
async function linkCounts(nodes: NodeProcess[]): Promise<{ total: number; maxPerNode: number }> {
  const up = await Promise.all(
    nodes.map(async (n) => (await health(n)).peers.filter((p) => p.state === 'up').length),
  )
  return { total: up.reduce((a, b) => a + b, 0) / 2, maxPerNode: Math.max(...up) }
}

async function runOnce(cfg: Config, log: (line: string) => void): Promise<Result> {
  const r = await measure(cfg, log)
  if (cfg.profileDir && cfg.server === 'palaver') addSigningShares(r, cfg.profileDir)
  return r
}

async function measure(cfg: Config, log: (line: string) => void): Promise<Result> {
  const run = new Run(cfg)
  const servers = await startServers(cfg, log)
  try {
    const nodes = servers.flatMap((s) => (s.node ? [s.node] : []))
    const links = nodes.length > 1 ? await linkCounts(nodes) : null
    const connectStart = performance.now()
    await run.connect(servers)
    const connectSeconds = (performance.now() - connectStart) / 1000
    const publishers = run.clients.slice(0, cfg.publishers)
    const frames = run.prepare(publishers)
    if (!(await run.warmUp(publishers))) log(`  warning: the warm-up messages were not all in`)

    // Before: let the join storm settle, then sample.
    await new Promise((r) => setTimeout(r, 300))
    // (Scraping also resets the node's event-loop lag gauge.)
    const metricsBefore = await Promise.all(servers.map(scrape))
    const before = servers.map((s) => procSample(s.pid))
    const benchBefore = process.cpuUsage()
    const machineBefore = machineBusySeconds()
    const wallBefore = performance.now()
    run.t0 = wallBefore + 100

    await run.publish(publishers, frames)
    await run.drain()

    const wallSeconds = (performance.now() - wallBefore) / 1000
    const benchCpu = process.cpuUsage(benchBefore)
    const machineBusy = machineBusySeconds() - machineBefore
    const after = servers.map((s) => procSample(s.pid))
    const metricsAfter = await Promise.all(servers.map(scrape))
    const delta = (i: number, name: string) => {
      const a = metricsAfter[i]?.get(name)
      return a === undefined ? undefined : a - (metricsBefore[i]?.get(name) ?? 0)
    }

    const nodeStats: NodeStats[] = servers.map((n, i) => {
      const b = before[i]
      const a = after[i]
      const l = metricsAfter[i]?.get('palaver_event_loop_lag_seconds')
      const commits = delta(i, 'palaver_store_commit_seconds_count')
      const commitSeconds = delta(i, 'palaver_store_commit_seconds_sum')
      return {
        name: n.name,
        pid: n.pid,
        cpuPct: a && b ? round(((a.cpuSeconds - b.cpuSeconds) / wallSeconds) * 100, 1) : NaN,
        sysPct: a && b ? round(((a.sysSeconds - b.sysSeconds) / wallSeconds) * 100, 1) : NaN,
        rssMbBefore: round(b?.rssMb ?? NaN, 1),
        rssMbAfter: round(a?.rssMb ?? NaN, 1),
        peakRssMb: round(a?.peakRssMb ?? NaN, 1),
        loopLagP99Ms: l === undefined ? undefined : round(l * 1000, 1),
        commits,
        commitMeanMs:
          commits && commitSeconds !== undefined
            ? round((commitSeconds / commits) * 1000, 2)
            : undefined,
        commitBusyPct:
          commitSeconds === undefined ? undefined : round((commitSeconds / wallSeconds) * 100, 1),
      }
    })
    /** A mesh counter summed over the nodes, per message sent; null when a node lacks it. */
    const perMessage = (name: string): number | null => {
      const deltas = servers.map((_, i) => delta(i, name))
      if (servers.length < 2 || run.sent === 0 || deltas.some((v) => v === undefined)) return null
      return round(deltas.reduce<number>((total, v) => total + (v ?? 0), 0) / run.sent, 2)
    }
    const expected = run.sent * cfg.clients
    const span = Math.max(run.lastDeliveryAt - run.t0, 1) / 1000
    const q = (h: Histogram) => ({
      p50: round(h.quantile(0.5), 1),
      p99: round(h.quantile(0.99), 1),
      max: round(h.max, 1),
    })
    return {
      server: cfg.server,
      keyed: !cfg.keyless,
      nodes: servers.length,
      clients: cfg.clients,
      publishers: cfg.publishers,
      rate: cfg.rate,
      duration: cfg.duration,
      connectSeconds: round(connectSeconds, 2),
      sent: run.sent,
      acks: run.acks,
      expected,
      delivered: run.delivered,
      lost: expected - run.delivered,
      duplicates: run.duplicates,
      deliveredPerSec: Math.round(run.delivered / span),
      latencyMs: q(run.latency),
      ackLatencyMs: q(run.ackLatency),
      sendLagMs: { p99: round(run.sendLag.quantile(0.99), 1), max: round(run.sendLag.max, 1) },
      errors: Object.fromEntries(run.errors),
      closes: Object.fromEntries(run.closes),
      nodeStats,
      benchCpuPct: round(((benchCpu.user + benchCpu.system) / 1e6 / wallSeconds) * 100, 1),
      benchSysPct: round((benchCpu.system / 1e6 / wallSeconds) * 100, 1),
      // Clock-tick rounding can make this slightly negative on an idle machine.
      otherCpuPct: Math.max(
        0,
        round(
          ((machineBusy - (benchCpu.user + benchCpu.system) / 1e6) / wallSeconds) * 100 -
            nodeStats.reduce((sum, st) => sum + st.cpuPct, 0),
          1,
        ),
      ),
      cores: availableParallelism(),
      topology: cfg.topology,
      links,
      meshFramesPerMessage: perMessage('palaver_mesh_frames_sent_total'),
      meshEventsPerMessage: perMessage('palaver_mesh_events_sent_total'),
      meshTreeFramesPerMessage: treePerMessage(perMessage),
      wallSeconds: round(wallSeconds, 2),
    }
  } finally {
    // A profiled node writes its profile only when it exits by itself.
    if (cfg.profileDir) await Promise.all(servers.map((s) => s.node?.kill('SIGINT')))
    // Servers first, so that closing 300 sessions does not cause a presence storm.
    await cleanup()
    run.close()
  }
}

/** Tree frames per message by type; null when a node lacks them. */
function treePerMessage(
  perMessage: (name: string) => number | null,
): Result['meshTreeFramesPerMessage'] {
  const of = (type: string) => perMessage(`palaver_mesh_tree_frames_sent_total{type="${type}"}`)
  const [ihave, graft, prune] = [of('ihave'), of('graft'), of('prune')]
  return ihave === null || graft === null || prune === null ? null : { ihave, graft, prune }
}

/** With `--profile`, each node's share of busy CPU spent on signatures (whole process life). */
function addSigningShares(r: Result, profileDir: string): void {
  const shares = signingShares(
    profileDir,
    r.nodeStats.map((s) => s.pid),
  )
  for (const stats of r.nodeStats) {
    const share = shares.get(stats.pid)
    if (share && share.busySamples > 0)
      stats.signingPct = round((share.signingSamples / share.busySamples) * 100, 1)
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function printResult(r: Result, log: (line: string) => void): void {
  const n = (x: number) => x.toLocaleString('en-US')
  const errors = Object.entries(r.errors)
  const closes = Object.entries(r.closes)
  log(
    r.server === 'relay'
      ? '  server               the plain ws relay (bench/ws-relay.ts), one process'
      : `  nodes                ${r.nodes}${r.nodes > 1 ? `, ${r.topology === 'full' ? 'full mesh' : 'a few seeds each'}` : ''}` +
          (r.links ? ` (${r.links.total} links, at most ${r.links.maxPerNode} per node)` : ''),
  )
  log(
    `  clients              ${r.clients} ${r.keyed ? 'keyed users, signing their sends' : 'keyless users'} (connected and joined in ${r.connectSeconds} s)`,
  )
  log(`  publishers           ${r.publishers} (${round(r.rate / r.publishers, 1)} msg/s each)`)
  log(`  target rate          ${n(r.rate)} msg/s`)
  log(`  duration             ${r.duration} s (measured window ${r.wallSeconds} s incl. tail)`)
  log(`  messages sent        ${n(r.sent)}`)
  log(`  acks                 ${n(r.acks)}`)
  log(`  delivered/s          ${n(r.deliveredPerSec)} deliveries/s (all clients)`)
  log(
    `  deliveries           ${n(r.delivered)} of ${n(r.expected)} expected (loss ${n(r.lost)}, duplicates ${n(r.duplicates)})`,
  )
  log(
    `  latency              p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  max ${r.latencyMs.max} ms (receive − scheduled send)`,
  )
  log(
    `  ack latency          p50 ${r.ackLatencyMs.p50} ms  p99 ${r.ackLatencyMs.p99} ms  max ${r.ackLatencyMs.max} ms`,
  )
  log(`  send lag (bench)     p99 ${r.sendLagMs.p99} ms  max ${r.sendLagMs.max} ms`)
  if (errors.length > 0)
    log(`  errors               ${errors.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  if (closes.length > 0) {
    log(`  sessions closed      ${closes.map(([k, v]) => `code ${k}: ${v}`).join(', ')}`)
  }
  for (const s of r.nodeStats) {
    const lag = s.loopLagP99Ms === undefined ? '' : `  event-loop lag p99 ${s.loopLagP99Ms} ms`
    const signing =
      s.signingPct === undefined
        ? ''
        : `\n    ${s.signingPct}% of its event loop's busy CPU signing and verifying`
    const commits =
      s.commits === undefined
        ? ''
        : `\n    store commits ${s.commits} (${s.commits ? round(r.sent / s.commits, 1) : 0} msgs each), ` +
          `mean ${s.commitMeanMs} ms, a commit on disk ${s.commitBusyPct}% of the window (writer thread)`
    log(
      `  ${r.server === 'relay' ? 'relay' : `node ${s.name}`} (pid ${s.pid})  CPU ${s.cpuPct}% (sys ${s.sysPct}%)  RSS ${s.rssMbBefore} → ${s.rssMbAfter} MB (peak ${s.peakRssMb} MB)${lag}${commits}${signing}`,
    )
  }
  log(`  bench client         CPU ${r.benchCpuPct}% (sys ${r.benchSysPct}%; one core = 100%)`)
  log(
    `  everything else      CPU ${r.otherCpuPct}% of ${r.cores * 100}%` +
      (r.otherCpuPct > BUSY_OTHER_CPU_PCT ? '  (busy machine: figures are not reliable)' : ''),
  )
  if (r.server === 'relay') return
  log(
    r.nodes < 2
      ? '  mesh frames/message  n/a (one node)'
      : `  mesh frames/message  ${r.meshFramesPerMessage ?? 'n/a'} of every type, ${r.meshEventsPerMessage ?? 'n/a'} event frames` +
          (r.meshTreeFramesPerMessage
            ? `, ${r.meshTreeFramesPerMessage.ihave} ihave, ${r.meshTreeFramesPerMessage.graft} graft, ${r.meshTreeFramesPerMessage.prune} prune`
            : ''),
  )
}

function passes(r: Result): boolean {
  return r.lost === 0 && r.latencyMs.p99 < FIND_MAX_P99_MS
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// --find-max: the highest rate that still meets the target.

interface FindMax {
  steps: Result[]
  best: Result | undefined
  firstFail: Result | undefined
  totalSeconds: number
}

/**
 * Steps the rate up the ladder, with fresh servers and sessions at every step, until a step
 * fails; then bisects between the best pass and the first failure. Stops before `budgetMs`.
 */
async function findMax(
  cfg: Config,
  log: (line: string) => void,
  budgetMs: number,
): Promise<FindMax> {
  const started = performance.now()
  const steps: Result[] = []
  let best: Result | undefined
  let firstFail: Result | undefined
  let lastStepMs = 0
  const ladder = FIND_MAX_LADDER.filter((r) => r <= cfg.clients * MAX_PER_PUBLISHER)
  const queue = [...ladder]
  let refinements = 0
  const busyRetries = new Map<number, number>()
  while (queue.length > 0) {
    const rate = queue.shift() as number
    const elapsed = performance.now() - started
    if (elapsed + Math.max(lastStepMs, (cfg.duration + cfg.tail + 10) * 1000) > budgetMs) {
      log(`  stopping: the next step would pass the ${budgetMs / 1000} s budget`)
      break
    }
    const c = withPublishers({ ...cfg, rate }, log)
    log(`step: ${rate} msg/s, ${c.publishers} publishers`)
    const stepStart = performance.now()
    let r: Result
    try {
      r = await runOnce(c, log)
    } catch (error) {
      log(`  step failed: ${(error as Error).message}`)
      break
    }
    lastStepMs = performance.now() - stepStart
    steps.push(r)
    printResult(r, log)
    const ok = passes(r)
    if (!ok && r.otherCpuPct > BUSY_OTHER_CPU_PCT && (busyRetries.get(rate) ?? 0) < BUSY_RETRIES) {
      // Another program took the CPU, not the node: the step says nothing. Try it again.
      busyRetries.set(rate, (busyRetries.get(rate) ?? 0) + 1)
      log(`  => FAIL on a busy machine (other CPU ${r.otherCpuPct}%): running this step again`)
      await new Promise((r) => setTimeout(r, 3_000))
      queue.unshift(rate)
      continue
    }
    log(`  => ${ok ? 'PASS' : 'FAIL'}`)
    if (ok) {
      if (!best || r.rate > best.rate) best = r
    } else if (!firstFail || r.rate < firstFail.rate) {
      firstFail = r
    }
    if (!ok || (firstFail && queue.length === 0)) {
      // Past the first failure: bisect between the best pass and the first failure.
      queue.length = 0
      if (refinements < FIND_MAX_REFINE_STEPS && firstFail) {
        const low = best?.rate ?? 0
        const mid = Math.round((low + firstFail.rate) / 2 / 50) * 50
        if (mid > low && mid < firstFail.rate) {
          refinements++
          queue.push(mid)
        }
      }
    }
  }
  const totalSeconds = round((performance.now() - started) / 1000, 1)
  return { steps, best, firstFail, totalSeconds }
}

function printFindMax(f: FindMax, title: string, log: (line: string) => void): void {
  log('')
  log(`${title} (${f.totalSeconds} s):`)
  for (const r of f.steps) {
    const cpu = r.nodeStats.map((s) => `${s.cpuPct}%`).join('/')
    log(
      `  ${String(r.rate).padStart(6)} msg/s  ${passes(r) ? 'PASS' : 'FAIL'}  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  ` +
        `max ${r.latencyMs.max} ms  loss ${r.lost}  ${r.deliveredPerSec.toLocaleString('en-US')} deliveries/s  ${r.server === 'relay' ? 'relay' : 'node'} CPU ${cpu}  bench CPU ${r.benchCpuPct}%  other CPU ${r.otherCpuPct}%${r.otherCpuPct > BUSY_OTHER_CPU_PCT ? ' (busy machine)' : ''}`,
    )
  }
  log(
    f.best
      ? `  highest rate with p99 < ${FIND_MAX_P99_MS} ms and no loss: ${f.best.rate} msg/s ` +
          `(${f.best.deliveredPerSec.toLocaleString('en-US')} deliveries/s to ${f.best.clients} clients)`
      : `  no rate passed`,
  )
}

/** The JSON line's figures of a search. */
function findMaxJson(cfg: Config, f: FindMax): Record<string, unknown> {
  return {
    server: cfg.server,
    nodes: cfg.server === 'relay' ? 1 : cfg.nodes,
    clients: cfg.clients,
    stepDuration: cfg.duration,
    maxRate: f.best?.rate ?? null,
    firstFailingRate: f.firstFail?.rate ?? null,
    totalSeconds: f.totalSeconds,
    steps: f.steps,
  }
}

// ---------------------------------------------------------------------------------------------
// What an idle session costs a server process.

interface IdleCost {
  server: ServerKind
  /** Idle sessions opened after the warm-up ones. */
  sessions: number
  /** The process's RSS after the warm-up sessions and after the idle ones, in KB. */
  rssKbBefore: number
  rssKbAfter: number
  kbPerSession: number
  /**
   * The same for the V8 heap in use after the collection (bench/gc-on-signal.ts): the objects
   * the sessions hold, without what the allocators keep free. Undefined if not reported.
   */
  heapKbBefore: number | undefined
  heapKbAfter: number | undefined
  heapKbPerSession: number | undefined
  /** Whether RSS had settled both times; if not, the figure is less certain. */
  settled: boolean
  connectSeconds: number
}

/**
 * RSS of one server process (one Palaver node whatever `--nodes` says, or the relay) after
 * IDLE_WARMUP_SESSIONS sessions, so that one-time costs (code compiled on first use, caches) are
 * in the baseline, then after `cfg.idleSessions` more, each welcomed and joined to a room of
 * IDLE_ROOM_SIZE and then left alone: the difference over their number. Each reading waits for
 * RSS to settle (bounded), since the garbage the joins left is collected some time after.
 */
async function idleCost(cfg: Config, log: (line: string) => void): Promise<IdleCost> {
  const total = IDLE_WARMUP_SESSIONS + cfg.idleSessions
  const c: Config = { ...cfg, nodes: 1, clients: total, profileDir: undefined }
  const run = new Run(c)
  const servers = await startServers(c, log, {
    nodeArgs: ['--limit', `max-clients=${total}`],
    nodeOptions: IDLE_NODE_OPTIONS,
  })
  try {
    const pid = (servers[0] as Server).pid
    const roomOf = (index: number) => `idle${Math.floor(index / IDLE_ROOM_SIZE)}`
    await run.connect(servers, 0, IDLE_WARMUP_SESSIONS, roomOf)
    const before = await collectedMemory(pid)
    const connectStart = performance.now()
    await run.connect(servers, IDLE_WARMUP_SESSIONS, total, roomOf)
    const connectSeconds = round((performance.now() - connectStart) / 1000, 2)
    const after = await collectedMemory(pid)
    return {
      server: cfg.server,
      sessions: cfg.idleSessions,
      rssKbBefore: before.kb,
      rssKbAfter: after.kb,
      kbPerSession: round((after.kb - before.kb) / cfg.idleSessions, 2),
      heapKbBefore: before.heapKb,
      heapKbAfter: after.heapKb,
      heapKbPerSession:
        before.heapKb === undefined || after.heapKb === undefined
          ? undefined
          : round((after.heapKb - before.heapKb) / cfg.idleSessions, 2),
      settled: before.settled && after.settled,
      connectSeconds,
    }
  } finally {
    await cleanup()
    run.close()
  }
}

/**
 * The process's RSS in KB after a full garbage collection (SIGUSR2, see bench/gc-on-signal.ts),
 * once it moved less than RSS_STABLE_KB over RSS_STABLE_MS (bounded); and the heap in use it
 * reported after the collection (bench/heap-report.ts), in KB.
 */
async function collectedMemory(
  pid: number,
): Promise<{ kb: number; settled: boolean; heapKb: number | undefined }> {
  const report = heapReportPath(pid)
  rmSync(report, { force: true })
  process.kill(pid, GC_SIGNAL)
  const window = Math.ceil(RSS_STABLE_MS / RSS_POLL_MS) + 1
  const recent: number[] = []
  const deadline = performance.now() + RSS_SETTLE_TIMEOUT_MS
  for (;;) {
    const sample = procSample(pid)
    if (!sample) throw new Error(`process ${pid} ended`)
    const kb = Math.round(sample.rssMb * 1024)
    recent.push(kb)
    if (recent.length > window) recent.shift()
    const settled =
      recent.length === window && Math.max(...recent) - Math.min(...recent) < RSS_STABLE_KB
    if (settled || performance.now() > deadline) return { kb, settled, heapKb: heapKb(report) }
    await new Promise((r) => setTimeout(r, RSS_POLL_MS))
  }
}

/** The heap in use in a report of bench/gc-on-signal.ts, in KB (removed once read). */
function heapKb(report: string): number | undefined {
  try {
    const bytes = Number(readFileSync(report, 'utf8'))
    return Number.isFinite(bytes) ? Math.round(bytes / 1024) : undefined
  } catch {
    return undefined // not written (yet): the figure is missing
  } finally {
    rmSync(report, { force: true })
  }
}

function printIdleCost(idle: IdleCost, log: (line: string) => void): void {
  const kb = (x: number) => `${x.toLocaleString('en-US')} KB`
  log(
    `  RSS ${kb(idle.rssKbBefore)} after ${IDLE_WARMUP_SESSIONS} warm-up sessions, ` +
      `${kb(idle.rssKbAfter)} after ${idle.sessions} more (joined in ${idle.connectSeconds} s): ` +
      `${idle.kbPerSession} KB per idle session` +
      (idle.settled ? '' : ` (RSS had not settled after ${RSS_SETTLE_TIMEOUT_MS / 1000} s)`),
  )
  if (idle.heapKbBefore === undefined || idle.heapKbAfter === undefined) return
  log(
    `  heap in use ${kb(idle.heapKbBefore)}, then ${kb(idle.heapKbAfter)}: ` +
      `${idle.heapKbPerSession} KB of heap per idle session`,
  )
}

// ---------------------------------------------------------------------------------------------
// --compare: Palaver and the plain relay, side by side.

const SERVERS: readonly ServerKind[] = ['palaver', 'relay']
const SERVER_LABELS: Readonly<Record<ServerKind, string>> = { palaver: 'Palaver', relay: 'relay' }

/** One figure for each server; undefined where its measurement failed. */
type PerServer<T> = Record<ServerKind, T | undefined>

/**
 * Measures Palaver (`cfg.nodes` nodes) and the relay (one process) with the same generator:
 * latency at each of COMPARE_RATES, KB per idle session, and the highest sustained rate (a
 * find-max search each); then prints them side by side with ratios, and the JSON line.
 */
async function compare(cfg: Config, log: (line: string) => void): Promise<void> {
  const started = performance.now()
  log(
    `palaver bench --compare: Palaver (${cfg.nodes} node(s)) and the plain ws relay ` +
      `(bench/ws-relay.ts, one process), the same generator, ${cfg.clients} clients`,
  )
  /** A measurement that fails is reported as missing; the comparison goes on. */
  const attempt = async <T>(what: string, measure: () => Promise<T>) => {
    try {
      return await measure()
    } catch (error) {
      log(`  ${what} failed: ${(error as Error).message}`)
      return undefined
    }
  }

  const latency: { rate: number; results: PerServer<Result> }[] = []
  for (const rate of cfg.parts.has('latency') ? COMPARE_RATES : []) {
    const results: PerServer<Result> = { palaver: undefined, relay: undefined }
    for (const server of SERVERS) {
      const c = withPublishers({ ...cfg, server, rate }, log)
      const what = `${SERVER_LABELS[server]} at ${rate} msg/s`
      log(`${what}, ${c.publishers} publishers, ${c.duration} s:`)
      const r = await attempt(what, () => runOnce(c, log))
      if (r) printResult(r, log)
      results[server] = r
    }
    latency.push({ rate, results })
  }

  const idle: PerServer<IdleCost> = { palaver: undefined, relay: undefined }
  for (const server of cfg.parts.has('idle') ? SERVERS : []) {
    const what = `${SERVER_LABELS[server]}: ${cfg.idleSessions} idle sessions`
    log(`${what}:`)
    idle[server] = await attempt(what, () => idleCost({ ...cfg, server }, log))
    const cost = idle[server]
    if (cost) printIdleCost(cost, log)
  }

  const searches: PerServer<FindMax> = { palaver: undefined, relay: undefined }
  const stepCfg = (server: ServerKind): Config => ({
    ...cfg,
    server,
    duration: FIND_MAX_DURATION_S,
    tail: FIND_MAX_TAIL_S,
  })
  for (const server of cfg.parts.has('find-max') ? SERVERS : []) {
    log(`${SERVER_LABELS[server]}: find-max, at most ${COMPARE_FIND_MAX_BUDGET_MS / 1000} s`)
    const f = await findMax(stepCfg(server), log, COMPARE_FIND_MAX_BUDGET_MS)
    printFindMax(f, `${SERVER_LABELS[server]} find-max summary`, log)
    searches[server] = f
  }

  const totalSeconds = round((performance.now() - started) / 1000, 1)
  log('')
  log(
    `compare summary (${totalSeconds} s): Palaver with ${cfg.nodes} node(s) and the plain ws ` +
      `relay (one process), ${cfg.clients} ${cfg.keyless ? 'keyless' : 'keyed'} clients`,
  )
  for (const line of compareTable(latency, idle, searches, cfg.parts)) log(line)
  log(
    JSON.stringify({
      mode: 'compare',
      nodes: cfg.nodes,
      clients: cfg.clients,
      keyed: !cfg.keyless,
      totalSeconds,
      parts: [...cfg.parts],
      latency: latency.map(({ rate, results }) => ({ rate, ...results })),
      idle,
      findMax: {
        palaver: searches.palaver && findMaxJson(stepCfg('palaver'), searches.palaver),
        relay: searches.relay && findMaxJson(stepCfg('relay'), searches.relay),
      },
    }),
  )
}

/** One row of the summary: a figure for each server, and what else ran during their runs. */
interface Row {
  figure: string
  unit: string
  values: PerServer<number>
  otherCpu?: PerServer<number>
}

/** The side-by-side table: each figure for Palaver and the relay, and Palaver ÷ relay. */
function compareTable(
  latency: { rate: number; results: PerServer<Result> }[],
  idle: PerServer<IdleCost>,
  searches: PerServer<FindMax>,
  parts: ReadonlySet<ComparePart>,
): string[] {
  const each = <T>(of: PerServer<T>, pick: (x: T) => number): PerServer<number> => ({
    palaver: of.palaver === undefined ? undefined : pick(of.palaver),
    relay: of.relay === undefined ? undefined : pick(of.relay),
  })
  const rows: Row[] = []
  for (const { rate, results } of latency) {
    const otherCpu = each(results, (r) => r.otherCpuPct)
    const at = `at ${rate} msg/s`
    rows.push(
      { figure: `p50 ${at}`, unit: 'ms', values: each(results, (r) => r.latencyMs.p50), otherCpu },
      { figure: `p99 ${at}`, unit: 'ms', values: each(results, (r) => r.latencyMs.p99), otherCpu },
      { figure: `deliveries lost ${at}`, unit: '', values: each(results, (r) => r.lost) },
      {
        figure: `server CPU ${at}`,
        unit: '%',
        values: each(results, (r) =>
          round(
            r.nodeStats.reduce((sum, s) => sum + s.cpuPct, 0),
            1,
          ),
        ),
      },
    )
  }
  const bests: PerServer<Result> = { palaver: searches.palaver?.best, relay: searches.relay?.best }
  if (parts.has('find-max')) {
    rows.push({
      figure: 'highest sustained rate',
      unit: 'msg/s',
      values: each(bests, (r) => r.rate),
      otherCpu: each(bests, (r) => r.otherCpuPct),
    })
  }
  if (parts.has('idle')) {
    rows.push(
      { figure: 'KB per idle session', unit: 'KB', values: each(idle, (i) => i.kbPerSession) },
      {
        figure: 'KB of heap per idle session',
        unit: 'KB',
        values: {
          palaver: idle.palaver?.heapKbPerSession,
          relay: idle.relay?.heapKbPerSession,
        },
      },
    )
  }

  const show = (x: number | undefined, unit: string) =>
    x === undefined
      ? 'n/a'
      : `${x.toLocaleString('en-US')}${unit === '%' || unit === '' ? unit : ` ${unit}`}`
  const ratio = ({ palaver, relay }: PerServer<number>) =>
    palaver === undefined || relay === undefined || relay === 0
      ? 'n/a'
      : `${round(palaver / relay, 2)}×`
  const other = (o: PerServer<number> | undefined) =>
    o ? `${show(o.palaver, '%')}, ${show(o.relay, '%')}` : ''
  const lines = [
    ['figure', 'Palaver', 'relay', 'Palaver ÷ relay', 'everything else CPU (Palaver, relay)'],
    ...rows.map((r) => [
      r.figure,
      show(r.values.palaver, r.unit),
      show(r.values.relay, r.unit),
      ratio(r.values),
      other(r.otherCpu),
    ]),
  ]
  const widths = [0, 1, 2, 3].map((c) => Math.max(...lines.map((l) => (l[c] ?? '').length)))
  return lines.map((cells) =>
    `  ${cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')}`.trimEnd(),
  )
}

// ---------------------------------------------------------------------------------------------

type Mode = 'run' | 'find-max' | 'compare'

function parseConfig(): { cfg: Config; mode: Mode } {
  const { values } = parseArgs({
    strict: true,
    options: {
      nodes: { type: 'string', default: '3' },
      clients: { type: 'string', default: '300' },
      publishers: { type: 'string', default: '20' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string' },
      room: { type: 'string', default: 'bench' },
      tail: { type: 'string' },
      profile: { type: 'string' },
      keyless: { type: 'boolean', default: false },
      topology: { type: 'string', default: 'full' },
      seeds: { type: 'string', default: '3' },
      'find-max': { type: 'boolean', default: false },
      compare: { type: 'boolean', default: false },
      'idle-sessions': { type: 'string', default: '1000' },
      only: { type: 'string' },
      'node-cli': { type: 'string' },
    },
  })
  if (values['find-max'] && values.compare) throw new Error('--find-max and --compare: pick one')
  if (values.only !== undefined && !values.compare) throw new Error('--only goes with --compare')
  const mode: Mode = values.compare ? 'compare' : values['find-max'] ? 'find-max' : 'run'
  const num = (flag: string, v: string, min: number, max: number) => {
    const x = Number(v)
    if (!Number.isFinite(x) || x < min || x > max) {
      throw new Error(`--${flag}: expected a number ${min}..${max}, got "${v}"`)
    }
    return x
  }
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(values.room)) throw new Error(`--room: not a room name`)
  const findMax = mode === 'find-max'
  const topology = values.topology
  if (topology !== 'full' && topology !== 'seeds')
    throw new Error(`--topology: expected full or seeds, got "${topology}"`)
  const cfg: Config = {
    server: 'palaver',
    nodes: Math.floor(num('nodes', values.nodes, 1, MAX_NODES)),
    clients: Math.floor(num('clients', values.clients, 1, 20_000)),
    publishers: Math.floor(num('publishers', values.publishers, 1, 20_000)),
    rate: num('rate', values.rate, 0.1, 100_000),
    duration: num(
      'duration',
      values.duration ?? String(findMax ? FIND_MAX_DURATION_S : 10),
      0.5,
      600,
    ),
    room: values.room,
    tail: num('tail', values.tail ?? String(findMax ? FIND_MAX_TAIL_S : 10), 0, 120),
    profileDir: values.profile,
    keyless: values.keyless,
    topology,
    seeds: Math.floor(num('seeds', values.seeds, 1, MAX_NODES)),
    idleSessions: Math.floor(num('idle-sessions', values['idle-sessions'], 1, 10_000)),
    parts: compareParts(values.only),
    nodeCli: values['node-cli'] && resolve(values['node-cli']),
  }
  if (cfg.nodeCli !== undefined && !existsSync(cfg.nodeCli)) {
    throw new Error(`--node-cli: no such file "${cfg.nodeCli}"`)
  }
  cfg.publishers = Math.min(cfg.publishers, cfg.clients)
  return { cfg, mode }
}

/** `--only a,b`: the --compare measurements named (every one without it). */
function compareParts(only: string | undefined): Set<ComparePart> {
  if (only === undefined) return new Set(COMPARE_PARTS)
  const parts = new Set<ComparePart>()
  for (const name of only.split(',')) {
    const part = COMPARE_PARTS.find((p) => p === name.trim())
    if (!part)
      throw new Error(`--only: expected some of ${COMPARE_PARTS.join(', ')}, got "${name}"`)
    parts.add(part)
  }
  return parts
}

function withPublishers(cfg: Config, log: (line: string) => void): Config {
  const publishers = publishersFor(cfg)
  if (publishers !== cfg.publishers) {
    log(
      `  (publishers raised from ${cfg.publishers} to ${publishers} to keep each under ${MAX_PER_PUBLISHER} msg/s)`,
    )
  }
  if (cfg.rate / publishers > MAX_PER_PUBLISHER) {
    log(
      `  warning: ${publishers} publishers at ${round(cfg.rate / publishers, 1)} msg/s each will hit the node's rate limit`,
    )
  }
  return { ...cfg, publishers }
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`)
  const { cfg, mode } = parseConfig()
  if (cfg.nodeCli !== undefined) log(`nodes run ${cfg.nodeCli}`)

  if (mode === 'compare') return compare(cfg, log)
  if (mode === 'run') {
    const c = withPublishers(cfg, log)
    log(
      `palaver bench: ${c.nodes} node(s), ${c.clients} clients, ${c.publishers} publishers, ` +
        `${c.rate} msg/s for ${c.duration} s in room "${c.room}"`,
    )
    const r = await runOnce(c, log)
    printResult(r, log)
    log(JSON.stringify({ mode: 'run', ...r }))
    return
  }

  log(
    `palaver bench --find-max: ${cfg.nodes} node(s), ${cfg.clients} clients, ${cfg.duration} s per step, ` +
      `fresh nodes and sessions at every step; pass = p99 < ${FIND_MAX_P99_MS} ms and no loss`,
  )
  const f = await findMax(cfg, log, FIND_MAX_BUDGET_MS)
  printFindMax(f, 'find-max summary', log)
  log(JSON.stringify({ mode: 'find-max', ...findMaxJson(cfg, f) }))
}

let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  process.stderr.write('bench: interrupted, killing nodes and relays\n')
  void cleanup().finally(() => process.exit(130))
})

try {
  await main()
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
// Sockets the servers' death left behind must not keep the process alive.
process.exit()
