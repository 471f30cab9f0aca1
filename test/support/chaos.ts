/**
 * A chaos run over real `chat-node` processes whose peer links all go through TCP proxies the
 * run controls: a seeded schedule kills and restarts nodes (same data directory), pauses them
 * longer than the liveness timeout, partitions the mesh, makes links flap and slows them, and
 * moves readers between nodes, while writers write and fail over and readers resume with
 * `since`. Then it heals everything, measures how long the nodes take to agree, reads every
 * node's history back and checks it all (./chaos-check.ts).
 *
 * Used by test/mesh-chaos.test.ts (a short run in `npm test`) and scripts/faults.ts
 * (`npm run test:faults`, as long as asked).
 */
import { LINK_SILENCE_MS, PING_INTERVAL_MS } from '../../src/main/node/mesh/link.ts'
import { type CheckResult, checkChaos, type NodeHistory, readersComplete } from './chaos-check.ts'
import { ChaosReader, ChaosWriter } from './chaos-clients.ts'
import {
  countByKind,
  type Fault,
  type FaultKind,
  makeSchedule,
  type Topology,
} from './chaos-schedule.ts'
import { readRoom, reservePorts, storedEvents, vectorKey } from './mesh.ts'
import { health, type NodeProcess, restartNode, startNode } from './node-process.ts'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts'
import { waitUntil } from './wait.ts'

/** A pause outlasts the liveness timeout by a ping interval, so peers do see the node as dead. */
export const PAUSE_MS = LINK_SILENCE_MS + PING_INTERVAL_MS + 1_000
/** Vectors must be equal, and every link up, this soon after the heal (docs/protocol.md). */
export const HEAL_LIMIT_MS = 5_000
/**
 * How long to go on waiting past that limit, to report the time and check the rest: past a
 * redial backoff of 30 s (what the mesh's was capped at before issue 9) and a resync.
 */
const HEAL_WAIT_MS = 45_000
/** How long writers get to have every message acknowledged once they stop writing. */
const DRAIN_TIMEOUT_MS = 30_000
/** How long readers get, once vectors are equal, to have received everything. */
const READERS_TIMEOUT_MS = 20_000
const ROOM = 'chaos'

export interface ChaosOptions {
  topology: Topology
  /** Faults to inject. */
  faults: number
  /** The fault phase's length. */
  durationMs: number
  seed: number
  /** Writers; 3 by default. */
  writers?: number
  /** New messages per second per writer; 8 by default. */
  perSecond?: number
  /** Called with a line as each fault starts. */
  log?: (line: string) => void
}

export interface ChaosReport extends CheckResult {
  seed: number
  topology: string
  faults: Record<FaultKind, number>
  sent: number
  resends: number
  writerFailovers: number
  readerFailovers: number
  /** Messages still not acknowledged when the run healed (not lost: never acked). */
  unackedAtHeal: number
  /** From the heal until every configured link was up again. */
  linksBackMs: number | undefined
  elapsedMs: number
}

type Health = Awaited<ReturnType<typeof health>>

/** The nodes and proxies of a run, and what happened to them that no fault explains. */
class Cluster {
  readonly procs: NodeProcess[]
  readonly proxies: TcpProxy[]
  readonly topology: Topology
  readonly ids: string[]
  readonly incidents: string[] = []
  /** Processes ended on purpose (a kill fault, the end of the run). */
  readonly #leaving = new Set<NodeProcess>()
  readonly #restarts = new Map<number, Promise<void>>()
  /** Each node's `--peer` flags, for its restarts. */
  readonly #peerArgs: string[][]

  private constructor(
    topology: Topology,
    procs: NodeProcess[],
    proxies: TcpProxy[],
    ids: string[],
    peerArgs: string[][],
  ) {
    this.topology = topology
    this.#peerArgs = peerArgs
    this.procs = procs
    this.proxies = proxies
    this.ids = ids
    procs.forEach((proc) => this.#watch(proc))
  }

  static async start(topology: Topology): Promise<Cluster> {
    // Each node's peer port is fixed before any node starts (proxies point at it, and a restart
    // must find it again); held while the proxies open their own ports.
    const reserved = await reservePorts(topology.nodes)
    const peerPorts = reserved.ports
    const proxies = await Promise.all(
      topology.links.map(([, target]) => startTcpProxy(`127.0.0.1:${peerPorts[target]}`)),
    )
    await reserved.release()
    // Each node dials, through a proxy, the nodes its links lead to.
    const peerArgs = peerPorts.map((_, node) => [
      ...topology.links.flatMap(([dialer], link) =>
        dialer === node ? ['--peer', proxies[link]?.addr ?? ''] : [],
      ),
    ])
    const procs = await Promise.all(
      peerPorts.map((peerPort, node) =>
        startNode({ name: `Chaos${node}`, peerPort, args: peerArgs[node] ?? [] }),
      ),
    )
    const ids = await Promise.all(procs.map(async (proc) => (await health(proc)).node.id))
    const cluster = new Cluster(topology, procs, proxies, ids, peerArgs)
    await waitUntil(() => cluster.linksUp(), 30_000, 'every link up at the start')
    return cluster
  }

  urls(): string[] {
    return this.procs.map((proc) => proc.wsUrl)
  }

  #watch(proc: NodeProcess): void {
    void proc.exited.then(({ code, signal }) => {
      if (this.#leaving.has(proc)) return
      const log = proc.stderr().trim().split('\n').slice(-3).join('\n    ')
      this.incidents.push(
        `${proc.name} exited by itself (${signal ?? `code ${code}`}):\n    ${log}`,
      )
    })
  }

  /** The node's process, once a restart in progress is over (so a fault hits the new one). */
  async #current(node: number): Promise<NodeProcess | undefined> {
    await this.#restarts.get(node)
    return this.procs[node]
  }

  async kill(node: number): Promise<void> {
    const proc = await this.#current(node)
    if (!proc) return
    this.#leaving.add(proc)
    await proc.kill('SIGKILL')
  }

  async pause(node: number): Promise<void> {
    const proc = await this.#current(node)
    proc?.pause()
  }

  async resume(node: number): Promise<void> {
    const proc = await this.#current(node)
    proc?.resume()
  }

  /** Starts a node that is not running again on its data and ports (once at a time). */
  restart(node: number): Promise<void> {
    const restarting = this.#restarts.get(node) ?? this.#restart(node)
    this.#restarts.set(node, restarting)
    return restarting.finally(() => this.#restarts.delete(node))
  }

  async #restart(node: number): Promise<void> {
    const proc = this.procs[node]
    if (!proc || proc.running) return
    for (let attempt = 1; ; attempt++) {
      try {
        const next = await restartNode(proc, { args: this.#peerArgs[node] ?? [] })
        this.procs[node] = next
        this.#watch(next)
        return
      } catch (error) {
        if (attempt === 3) {
          this.incidents.push(`${proc.name} did not start again: ${(error as Error).message}`)
          return
        }
        // The peer port may still be held for a moment after a kill: a retry, not a wait on state.
        await new Promise((r) => setTimeout(r, 500))
      }
    }
  }

  /** Every node running and not paused, every proxy forwarding at once. */
  async heal(): Promise<void> {
    for (const proxy of this.proxies) {
      proxy.restore()
      proxy.setDelay(0)
    }
    for (const proc of this.procs) proc.resume()
    await Promise.all(this.procs.map((_, node) => this.restart(node)))
  }

  async healths(): Promise<Health[]> {
    return Promise.all(this.procs.map((proc) => health(proc, 2_000)))
  }

  /** Whether both ends of every configured link show it up. */
  async linksUp(docs?: Health[]): Promise<boolean> {
    const healths = docs ?? (await this.healths())
    const up = healths.map((h) => new Set(h.peers.filter((p) => p.state === 'up').map((p) => p.id)))
    return this.topology.links.every(
      ([a, b]) => up[a]?.has(this.ids[b] ?? '') && up[b]?.has(this.ids[a] ?? ''),
    )
  }

  /** Times from now until vectors are equal and until every link is up (undefined: never). */
  async measureHeal(): Promise<{ convergenceMs?: number; linksBackMs?: number }> {
    const healed = performance.now()
    const result: { convergenceMs?: number; linksBackMs?: number } = {}
    await waitUntil(
      async () => {
        const docs = await this.healths()
        const elapsed = performance.now() - healed
        const keys = new Set(docs.map((d) => `${vectorKey(d.vector)} ${d.events}`))
        if (keys.size === 1) result.convergenceMs ??= elapsed
        if (await this.linksUp(docs)) result.linksBackMs ??= elapsed
        return result.convergenceMs !== undefined && result.linksBackMs !== undefined
      },
      HEAL_WAIT_MS,
      'equal vectors and every link up after the heal',
    ).catch(() => {})
    return result
  }

  async histories(): Promise<NodeHistory[]> {
    return Promise.all(
      this.procs.map(async (proc) => {
        const [shown, doc] = await Promise.all([readRoom(proc, ROOM), health(proc)])
        const events = storedEvents(proc, { room: ROOM })
        return { node: proc.name, events, shown, vector: doc.vector, count: doc.events }
      }),
    )
  }

  async stop(): Promise<void> {
    for (const proc of this.procs) this.#leaving.add(proc)
    await Promise.all(this.procs.map((proc) => proc.kill('SIGKILL')))
    await Promise.all(this.proxies.map((proxy) => proxy.close()))
  }
}

/** Starts `fault`; resolves with what ends it (undefined for a fault that is over at once). */
async function inject(
  fault: Fault,
  cluster: Cluster,
  readers: readonly ChaosReader[],
): Promise<(() => Promise<void>) | undefined> {
  const proxy = (link: number) => cluster.proxies[link]
  switch (fault.kind) {
    case 'kill':
      await cluster.kill(fault.node)
      return () => cluster.restart(fault.node)
    case 'pause':
      await cluster.pause(fault.node)
      return () => cluster.resume(fault.node)
    case 'partition':
      for (const link of fault.links) proxy(link)?.cut()
      return async () => fault.links.forEach((link) => proxy(link)?.restore())
    case 'flap':
      proxy(fault.link)?.flap(fault.periodMs)
      return async () => proxy(fault.link)?.restore()
    case 'slow':
      proxy(fault.link)?.setDelay(fault.delayMs)
      return async () => proxy(fault.link)?.setDelay(0)
    case 'hop':
      readers[fault.reader]?.hop(fault.node)
      return undefined
  }
}

/** "kill node 2 for 1500 ms" and the like, for the timeline. */
function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'kill':
    case 'pause':
      return `${fault.kind} node ${fault.node} for ${fault.durationMs} ms`
    case 'partition':
      return `partition {${fault.side.join(',')}} from the rest for ${fault.durationMs} ms`
    case 'flap':
      return `flap link ${fault.link} every ${fault.periodMs} ms for ${fault.durationMs} ms`
    case 'slow':
      return `slow link ${fault.link} by ${fault.delayMs} ms for ${fault.durationMs} ms`
    case 'hop':
      return `hop reader ${fault.reader} to node ${fault.node}`
  }
}

const sleepUntil = (t: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())))

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now()
  const { topology, seed } = options
  const log = options.log ?? (() => {})
  const schedule = makeSchedule({
    topology,
    readers: topology.nodes,
    faults: options.faults,
    durationMs: options.durationMs,
    pauseMs: PAUSE_MS,
    seed,
  })
  const deadline =
    Date.now() + options.durationMs + DRAIN_TIMEOUT_MS + HEAL_WAIT_MS + READERS_TIMEOUT_MS + 60_000
  const cluster = await Cluster.start(topology)
  const client = (name: string, node: number) => ({
    user: { id: `${name}-${seed}`, name },
    room: ROOM,
    urls: () => cluster.urls(),
    node: node % topology.nodes,
    deadline,
  })
  const readers = Array.from(
    { length: topology.nodes },
    (_, i) => new ChaosReader(client(`reader${i}`, i)),
  )
  const writers = Array.from(
    { length: options.writers ?? 3 },
    (_, i) =>
      new ChaosWriter({ ...client(`writer${i}`, i), perSecond: options.perSecond ?? 8, window: 4 }),
  )
  try {
    for (const reader of readers) reader.start()
    await waitUntil(() => readers.every((r) => r.joined), 15_000, 'every reader joined')
    for (const writer of writers) writer.start()

    // The fault phase: each fault starts at its offset and ends after its duration or at the heal.
    const phase = performance.now()
    const active = new Set<() => Promise<void>>()
    for (const fault of schedule) {
      await sleepUntil(phase + fault.atMs)
      log(`+${((performance.now() - phase) / 1000).toFixed(1)} s ${describeFault(fault)}`)
      const end = await inject(fault, cluster, readers)
      if (!end) continue
      let ending: Promise<void> | undefined
      const endOnce = () => (ending ??= end().finally(() => active.delete(endOnce)))
      active.add(endOnce)
      setTimeout(() => void endOnce(), fault.durationMs).unref()
    }
    await sleepUntil(phase + options.durationMs)

    // Writers finish what they started (failing over as needed) before the heal, so that the
    // time to agree measures the heal alone.
    for (const writer of writers) writer.stopWriting()
    await Promise.all(writers.map((w) => w.drained(DRAIN_TIMEOUT_MS).catch(() => {})))
    const unackedAtHeal = writers.reduce((sum, w) => sum + w.unacked, 0)
    await Promise.all([...active].map((end) => end()))
    await cluster.heal()
    log(`heal after ${((performance.now() - phase) / 1000).toFixed(1)} s`)
    const { convergenceMs, linksBackMs } = await cluster.measureHeal()

    const histories = await cluster.histories()
    const readerLogs = readers.map((r) => ({ name: r.name, sessions: r.sessions }))
    await waitUntil(
      () => readersComplete(readerLogs, histories),
      READERS_TIMEOUT_MS,
      'readers up to date',
    ).catch(() => {})
    await Promise.all([...readers, ...writers].map((c) => c.close()))

    const result = checkChaos({
      histories,
      acks: writers.flatMap((w) => w.acks),
      readers: readerLogs,
      convergenceMs,
      convergenceLimitMs: HEAL_LIMIT_MS,
      incidents: [...cluster.incidents, ...writers.flatMap((w) => w.incidents)],
    })
    if (linksBackMs === undefined || linksBackMs > HEAL_LIMIT_MS) {
      result.violations.push(
        linksBackMs === undefined
          ? 'some configured links never came back after the heal'
          : `every link back only ${Math.round(linksBackMs)} ms after the heal (limit ${HEAL_LIMIT_MS} ms)`,
      )
    }
    return {
      ...result,
      seed,
      topology: topology.name,
      faults: countByKind(schedule),
      sent: writers.reduce((sum, w) => sum + w.sent, 0),
      resends: writers.reduce((sum, w) => sum + w.resends, 0),
      writerFailovers: writers.reduce((sum, w) => sum + w.failovers, 0),
      readerFailovers: readers.reduce((sum, r) => sum + r.failovers, 0),
      unackedAtHeal,
      linksBackMs,
      elapsedMs: performance.now() - started,
    }
  } finally {
    await Promise.all([...readers, ...writers].map((c) => c.close()))
    await cluster.stop()
  }
}

const seconds = (ms: number | undefined) =>
  ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`

/** The run's figures and violations, for people. */
export function formatReport(report: ChaosReport): string {
  const f = report.figures
  const faults = Object.entries(report.faults)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ')
  const total = Object.values(report.faults).reduce((sum, n) => sum + n, 0)
  return [
    `${report.topology}, seed ${report.seed}: ${total} faults (${faults}) in ${seconds(report.elapsedMs)}`,
    `  messages: ${report.sent} written, ${f.acked} acked, ${f.lost} lost, ${report.resends} resent, ` +
      `${report.unackedAtHeal} unacked at the heal; ${f.events} events stored, ` +
      `${f.storedTwice} stored twice, ${f.cidDuplicates} cid-duplicates (a resend two nodes took)`,
    `  readers: ${f.sessions} sessions (${report.readerFailovers} resumes, ${f.truncatedSessions} truncated), ` +
      `${f.repeatedDeliveries} repeated deliveries, ${f.cidRepeatDeliveries} cid repeats, ` +
      `${f.outOfOrder} out of order, ${f.holes} holes, ${f.missedAtEnd} missed at the end`,
    `  writers: ${report.writerFailovers} failovers`,
    `  heal: vectors equal after ${seconds(f.convergenceMs)}, every link up after ${seconds(report.linksBackMs)} (limit ${seconds(HEAL_LIMIT_MS)})`,
    ...(report.violations.length === 0
      ? ['  no violations']
      : ['  violations:', ...report.violations.map((v) => `  - ${v}`)]),
  ].join('\n')
}
