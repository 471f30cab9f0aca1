/**
 * The fault schedule of a chaos run, made up front from a seed so that a printed seed replays
 * the same faults at the same offsets (the nodes' timing still varies from run to run).
 *
 * Nodes are numbered 0..n-1; a link `[a, b]` is a peer link that node `a` dials, through a TCP
 * proxy, to node `b`. Every kind of fault appears at least once when the schedule is long
 * enough; two faults never act on the same node or link at once, and at most `maxNodesDown`
 * nodes are killed or paused at any moment, so that writers always have a node to go to.
 */
import { Prng } from './prng.ts'

export type Link = readonly [dialer: number, target: number]

export interface Topology {
  name: string
  nodes: number
  links: readonly Link[]
}

/** Every node dials each node started before it, through its own proxy. */
export function fullMesh(nodes: number): Topology {
  const links: Link[] = []
  for (let a = 1; a < nodes; a++) for (let b = 0; b < a; b++) links.push([a, b])
  return { name: `full mesh of ${nodes}`, nodes, links }
}

/** Node i dials node i+1 (and the last the first): every node has two links. */
export function ring(nodes: number): Topology {
  const links: Link[] = Array.from({ length: nodes }, (_, i) => [i, (i + 1) % nodes] as const)
  return { name: `ring of ${nodes}`, nodes, links }
}

export type Fault =
  /** SIGKILL, and a restart on the same data after `durationMs`. */
  | { kind: 'kill'; atMs: number; durationMs: number; node: number }
  /** SIGSTOP for `durationMs`, then SIGCONT. */
  | { kind: 'pause'; atMs: number; durationMs: number; node: number }
  /** Every link between `side` and the other nodes cut for `durationMs`. */
  | { kind: 'partition'; atMs: number; durationMs: number; side: number[]; links: number[] }
  /** One link cut and restored by turns, every `periodMs`. */
  | { kind: 'flap'; atMs: number; durationMs: number; link: number; periodMs: number }
  /** One link holding every chunk `delayMs`. */
  | { kind: 'slow'; atMs: number; durationMs: number; link: number; delayMs: number }
  /** A reader leaves its node and resumes with `since` on `node`. */
  | { kind: 'hop'; atMs: number; durationMs: 0; reader: number; node: number }

export type FaultKind = Fault['kind']
export const FAULT_KINDS: readonly FaultKind[] = [
  'kill',
  'pause',
  'partition',
  'flap',
  'slow',
  'hop',
]

/** How often each kind is picked once every kind has had its turn. */
const WEIGHTS: Record<FaultKind, number> = {
  kill: 3,
  pause: 1,
  partition: 3,
  flap: 2,
  slow: 2,
  hop: 3,
}

/** A killed node takes this long to start again; its slot stays taken meanwhile. */
const RESTART_ALLOWANCE_MS = 3_000

export interface ScheduleOptions {
  topology: Topology
  readers: number
  /** How many faults to plan. */
  faults: number
  /** The length of the fault phase: faults start within it (a pause may outlast it). */
  durationMs: number
  /** How long a pause lasts: longer than the nodes' liveness timeout. */
  pauseMs: number
  seed: number
}

export function makeSchedule(options: ScheduleOptions): Fault[] {
  const { topology, readers, faults, durationMs, pauseMs } = options
  const random = new Prng(options.seed)
  const maxNodesDown = Math.ceil(topology.nodes / 2)
  /** When each node and each link is free again. */
  const nodeFree = new Array<number>(topology.nodes).fill(0)
  const linkFree = new Array<number>(topology.links.length).fill(0)
  const downUntil: number[] = []

  const freeNodes = (at: number) => {
    if (downUntil.filter((until) => until > at).length >= maxNodesDown) return []
    return nodeFree.flatMap((free, node) => (free <= at ? [node] : []))
  }
  const freeLinks = (at: number) => linkFree.flatMap((free, link) => (free <= at ? [link] : []))

  /** Plans one fault of `kind` at `at`, or returns undefined when nothing is free for it. */
  const plan = (kind: FaultKind, at: number): Fault | undefined => {
    switch (kind) {
      case 'kill':
      case 'pause': {
        const nodes = freeNodes(at)
        if (nodes.length === 0) return undefined
        const node = random.pick(nodes)
        const durationMs = kind === 'pause' ? pauseMs : random.int(500, 3_000)
        const until = at + durationMs + (kind === 'kill' ? RESTART_ALLOWANCE_MS : 0)
        nodeFree[node] = until
        downUntil.push(until)
        return { kind, atMs: at, durationMs, node }
      }
      case 'partition': {
        const shuffled = random.shuffle(Array.from({ length: topology.nodes }, (_, i) => i))
        const side = shuffled.slice(0, random.int(1, topology.nodes - 1)).sort((x, y) => x - y)
        const inSide = new Set(side)
        const links = topology.links.flatMap(([a, b], i) =>
          inSide.has(a) !== inSide.has(b) ? [i] : [],
        )
        if (links.some((link) => (linkFree[link] ?? 0) > at)) return undefined
        const durationMs = random.int(1_000, 6_000)
        for (const link of links) linkFree[link] = at + durationMs
        return { kind, atMs: at, durationMs, side, links }
      }
      case 'flap':
      case 'slow': {
        const links = freeLinks(at)
        if (links.length === 0) return undefined
        const link = random.pick(links)
        const durationMs = random.int(2_000, 6_000)
        linkFree[link] = at + durationMs
        return kind === 'flap'
          ? { kind, atMs: at, durationMs, link, periodMs: random.int(200, 1_000) }
          : { kind, atMs: at, durationMs, link, delayMs: random.int(50, 500) }
      }
      case 'hop':
        return {
          kind,
          atMs: at,
          durationMs: 0,
          reader: random.int(0, readers - 1),
          node: random.int(0, topology.nodes - 1),
        }
    }
  }

  const weighted = FAULT_KINDS.flatMap((kind) => new Array<FaultKind>(WEIGHTS[kind]).fill(kind))
  // Every kind is owed one turn, in a random order; then weighted picks. At each step the owed
  // kinds are tried first, so one that does not fit now (its nodes or links busy) gets a later
  // step rather than being skipped.
  const owed = random.shuffle(FAULT_KINDS)
  const schedule: Fault[] = []
  const gapMs = durationMs / Math.max(1, faults)
  for (let i = 0; i < faults; i++) {
    const at = Math.round(i * gapMs + random.next() * gapMs * 0.8)
    const kinds = [...owed, random.pick(weighted), ...random.shuffle(FAULT_KINDS)]
    for (const kind of kinds) {
      const fault = plan(kind, at)
      if (!fault) continue
      schedule.push(fault)
      const owedAt = owed.indexOf(kind)
      if (owedAt >= 0) owed.splice(owedAt, 1)
      break
    }
  }
  return schedule
}

/** "3 kill, 1 pause, …": how many faults of each kind a schedule holds. */
export function countByKind(schedule: readonly Fault[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>
  for (const fault of schedule) counts[fault.kind]++
  return counts
}
