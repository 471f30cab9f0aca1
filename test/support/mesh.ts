/**
 * Helpers for multi-node tests: waiting for links and for vectors to agree, reading the mesh
 * counters, and writing many messages within the per-session rate limit.
 */
import { randomInt } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { chatMessage } from '../../src/main/node/client-events.ts'
import { type ChatEvent, DB_FILE } from '../../src/main/node/store.ts'
import { HISTORY_MAX_LIMIT, type ChatMessage, type OnlineUser } from '../../src/shared/protocol.ts'
import { ChatClient, type FrameOf, randomUser } from './chat-client.ts'
import { FakePeer } from './fake-peer.ts'
import type { Prng } from './prng.ts'
import {
  health,
  metrics,
  type NodeProcess,
  type StartOptions,
  startNode,
  waitForHealth,
} from './node-process.ts'
import { waitUntil } from './wait.ts'

export type Message = FrameOf<'message'>
export type Vector = Record<string, number>

/** A free port on 127.0.0.1 (opened and closed at once; for nodes that must know it up front). */
export async function freePort(): Promise<number> {
  const { ports, release } = await reservePorts(1)
  await release()
  return ports[0] as number
}

/**
 * Ports handed out for nodes that must know them before they start come from below Linux's
 * ephemeral range (32768–60999): between a port's release and the node's bind, no outgoing
 * connection and no `listen(0)` on the machine (another test file's node) can be given it.
 */
const RESERVED_PORT_MIN = 20_000
const RESERVED_PORT_MAX = 32_767
/** Tries per port wanted before giving up. */
const RESERVE_TRIES = 50

/** A server listening on `port` of 127.0.0.1, or undefined when the port is taken. */
function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(undefined))
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

/**
 * `count` distinct free ports on 127.0.0.1, held until `release()`: so that other listeners
 * opened meanwhile (proxies in front of them) cannot be given one of them.
 */
export async function reservePorts(
  count: number,
): Promise<{ ports: number[]; release: () => Promise<void> }> {
  const servers: Server[] = []
  for (let tries = 0; servers.length < count; tries++) {
    if (tries >= RESERVE_TRIES * count) throw new Error(`no ${count} free ports to reserve`)
    const port = RESERVED_PORT_MIN + randomInt(RESERVED_PORT_MAX - RESERVED_PORT_MIN + 1)
    const server = await listenOn(port)
    if (server) servers.push(server)
  }
  return {
    ports: servers.map((server) => (server.address() as AddressInfo).port),
    release: async () => {
      await Promise.all(
        servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      )
    },
  }
}

/** The node's id, from `/health`. */
export async function nodeId(node: NodeProcess): Promise<string> {
  return (await health(node)).node.id
}

/** Waits until `/health` of `node` shows a peer `up` for each of `ids`. */
export async function waitForPeersUp(
  node: Pick<NodeProcess, 'name' | 'httpUrl'>,
  ids: readonly string[],
  timeoutMs = 15_000,
): Promise<void> {
  await waitUntil(
    async () => {
      const up = new Set(
        (await health(node)).peers.filter((p) => p.state === 'up').map((p) => p.id),
      )
      return ids.every((id) => up.has(id))
    },
    timeoutMs,
    `${node.name} linked to ${ids.join(', ')}`,
  )
}

/**
 * Starts a full mesh of real nodes named `names` (each dials those started before it, with
 * `options.args` besides) and waits until every link is up. Resolves with the nodes and their
 * ids, in order.
 */
export async function startFullMesh(
  names: readonly string[],
  options: Omit<StartOptions, 'name'> = {},
): Promise<{ nodes: NodeProcess[]; ids: string[] }> {
  const nodes: NodeProcess[] = []
  for (const name of names) {
    const peers = nodes.flatMap((n) => ['--peer', n.peerAddr])
    nodes.push(await startNode({ ...options, name, args: [...(options.args ?? []), ...peers] }))
  }
  const ids = await Promise.all(nodes.map((n) => nodeId(n)))
  await Promise.all(
    nodes.map((n, i) =>
      waitForPeersUp(
        n,
        ids.filter((_, j) => j !== i),
      ),
    ),
  )
  return { nodes, ids }
}

/**
 * Starts `count` nodes a few at a time (`atOnce`, so that many startups do not starve the
 * machine), node i dialling the nodes `peersOf(i)` names (their indexes). Peer ports are fixed
 * first, so that a node can name nodes started after it or in the same batch.
 */
export async function startNodesWithPeers(
  count: number,
  peersOf: (i: number) => readonly number[],
  {
    name = (i: number) => `N${i}`,
    atOnce = 6,
    ...options
  }: Omit<StartOptions, 'name' | 'peerPort' | 'args'> & {
    name?: (i: number) => string
    atOnce?: number
    args?: readonly string[]
  } = {},
): Promise<NodeProcess[]> {
  const { ports, release } = await reservePorts(count)
  await release()
  const nodes: NodeProcess[] = []
  for (let first = 0; first < count; first += atOnce) {
    const batch = ports.slice(first, first + atOnce).map((peerPort, k) => {
      const i = first + k
      const peers = peersOf(i).flatMap((j) => ['--peer', `127.0.0.1:${ports[j]}`])
      return startNode({
        ...options,
        name: name(i),
        peerPort,
        args: [...(options.args ?? []), ...peers],
      })
    })
    nodes.push(...(await Promise.all(batch)))
  }
  return nodes
}

/**
 * For each of `count` nodes, its seeds: `min` to `max` earlier nodes at random (indexes; fewer
 * for the first nodes), as machines of a LAN would each know a few others.
 */
export function randomSeeds(count: number, random: Prng, min = 2, max = 3): number[][] {
  return Array.from({ length: count }, (_, i) =>
    random.shuffle(Array.from({ length: i }, (_, j) => j)).slice(0, random.int(min, max)),
  )
}

/** Every node's links (the ids of the nodes it is linked to), by its id, from `/health`. */
export async function linksOf(nodes: readonly NodeProcess[]): Promise<Map<string, string[]>> {
  const docs = await Promise.all(nodes.map((n) => health(n)))
  return new Map(
    docs.map((h) => [
      h.node.id,
      h.peers.flatMap((p) => (p.state === 'up' && p.id !== null ? [p.id] : [])),
    ]),
  )
}

/** Whether the links among `nodes` join them all into one mesh. */
export async function connected(nodes: readonly NodeProcess[]): Promise<boolean> {
  const links = await linksOf(nodes)
  const [first] = links.keys()
  const reached = new Set([first])
  for (const id of reached)
    for (const next of links.get(id ?? '') ?? []) if (links.has(next)) reached.add(next)
  return reached.size === nodes.length
}

/**
 * Waits until the links among `nodes` join them into one mesh and have not changed for
 * `quietMs`: the overlay is done dialling and closing (a node that found no room rests a
 * minute before it dials again).
 */
export async function overlaySettled(
  nodes: readonly NodeProcess[],
  { quietMs = 3_000, timeoutMs = 60_000 } = {},
): Promise<void> {
  let last = ''
  let since = Date.now()
  await waitUntil(
    async () => {
      const links = await linksOf(nodes)
      const now = JSON.stringify([...links].map(([id, l]) => [id, [...l].sort()]).sort())
      if (now !== last) [last, since] = [now, Date.now()]
      return Date.now() - since >= quietMs && (await connected(nodes))
    },
    timeoutMs,
    'the overlay settled',
  )
}

/** A vector as a string that does not depend on key order. */
export function vectorKey(vector: Vector): string {
  return JSON.stringify(Object.entries(vector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * Waits until every node's `/health` vector and event count agree (with `expected`, when
 * given); resolves with the common vector.
 */
export async function waitForEqualVectors(
  nodes: readonly NodeProcess[],
  timeoutMs = 15_000,
  expected?: Vector,
): Promise<Vector> {
  let last = ''
  const vector = await waitUntil(
    async () => {
      const docs = await Promise.all(nodes.map((n) => health(n)))
      last = docs.map((d) => `${d.node.name}: ${vectorKey(d.vector)} (${d.events})`).join('; ')
      const keys = new Set(docs.map((d) => vectorKey(d.vector)))
      const counts = new Set(docs.map((d) => d.events))
      if (keys.size !== 1 || counts.size !== 1) return undefined
      const first = docs[0]?.vector
      if (expected && vectorKey(expected) !== vectorKey(first ?? {})) return undefined
      return first
    },
    timeoutMs,
    'equal vectors',
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${last}`)
  })
  return vector
}

/** What a UI keeps per room: the highest seq it has seen from each origin. */
export function vectorOf(messages: readonly Message[]): Vector {
  const vector: Vector = {}
  for (const m of messages) vector[m.origin] = Math.max(vector[m.origin] ?? 0, m.seq)
  return vector
}

/** The message frames of `room` a client has received so far. */
export function messagesIn(client: ChatClient, room: string): Message[] {
  return client.frames.filter((f): f is Message => f.type === 'message' && f.room === room)
}

/** `palaver_mesh_events_sent_total` of a node, by the peer label. */
export async function eventsSentByPeer(node: NodeProcess): Promise<Map<string, number>> {
  const sent = new Map<string, number>()
  for (const line of (await metrics(node)).split('\n')) {
    const match = /^palaver_mesh_events_sent_total\{peer="([^"]*)"\} (\S+)$/.exec(line)
    if (match) sent.set(match[1] as string, Number(match[2]))
  }
  return sent
}

/** What a peer sent that a node refused because its signatures did not hold (the metric's label). */
export const REFUSED_KINDS = ['event', 'presence', 'typing', 'record'] as const
export type RefusedKind = (typeof REFUSED_KINDS)[number]

/** `palaver_mesh_refused_total` of a node, by what was refused (0 for what never was). */
export async function refusedByKind(node: NodeProcess): Promise<Record<RefusedKind, number>> {
  const counts = { event: 0, presence: 0, typing: 0, record: 0 }
  for (const line of (await metrics(node)).split('\n')) {
    const match = /^palaver_mesh_refused_total\{what="([^"]*)"\} (\S+)$/.exec(line)
    const what = REFUSED_KINDS.find((kind) => kind === match?.[1])
    if (what) counts[what] = Number(match?.[2])
  }
  return counts
}

/**
 * A peer played by hand that knows `secret`, linked to `node` and synced ("I hold what you
 * hold"), once the node shows it up.
 */
export async function linkedFakePeer(
  node: NodeProcess,
  secret: string,
  about: { name?: string } = {},
): Promise<FakePeer> {
  const peer = await FakePeer.connect({ port: node.peerPort, node: about })
  const sync = await peer.handshake(secret)
  peer.send({ type: 'sync', vector: sync.vector })
  await waitForHealth(node, (h) => h.peers.some((p) => p.id === peer.node.id && p.state === 'up'))
  return peer
}

/**
 * Waits until the newest `joined` or `presence` frame of `room` the client holds satisfies
 * `check`.
 */
export async function waitForUsers(
  client: ChatClient,
  room: string,
  check: (users: OnlineUser[]) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  await waitUntil(
    () => {
      const last = client.frames
        .filter(
          (f): f is FrameOf<'joined'> | FrameOf<'presence'> =>
            (f.type === 'joined' || f.type === 'presence') && f.room === room,
        )
        .at(-1)
      return last !== undefined && check(last.users)
    },
    timeoutMs,
    `the users of ${room}`,
  )
}

/**
 * Writes `count` messages to `room` on `node` through fresh sessions of at most `perSession`
 * messages each (within the rate limit's burst), `parallel` sessions at a time; `text` makes
 * each message's text. Resolves with the acked ids.
 */
export async function writeMessages(
  node: NodeProcess,
  room: string,
  count: number,
  {
    perSession = 75,
    parallel = 6,
    label = 'w',
    text = (session: number, i: number) => `${label}${session}-${i}`,
  } = {},
): Promise<string[]> {
  const sessions = Math.ceil(count / perSession)
  const ids: string[] = []
  for (let first = 0; first < sessions; first += parallel) {
    const batch = Array.from({ length: Math.min(parallel, sessions - first) }, (_, k) => first + k)
    const acked = await Promise.all(
      batch.map(async (s) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`${label}${s}`))
        await client.join(room)
        const n = Math.min(perSession, count - s * perSession)
        const texts = Array.from({ length: n }, (_, i) => text(s, i))
        const acks = await client.sendMany(room, texts)
        client.close()
        return acks.map((a) => a.id)
      }),
    )
    ids.push(...acked.flat())
  }
  return ids
}

/** Ids that occur more than once. */
export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>()
  const twice = new Set<string>()
  for (const id of ids) (seen.has(id) ? twice : seen).add(id)
  return [...twice]
}

/**
 * Events `node` stored, read from its SQLite file (the node keeps running: WAL lets a reader
 * in), in display order: every event of a room, or only the copies it hides from clients (the
 * later copy of a send that two nodes each accepted) of one origin's seqs `from`..`to`. Unlike
 * `readRoom` this sees what clients are never shown. Each as a client's message of it.
 */
export function storedEvents(
  node: { dataDir: string },
  which: { room: string } | { hiddenOf: string; from: number; to: number },
): ChatMessage[] {
  return storedSignedEvents(node, which).map(chatMessage)
}

/** `storedEvents`, each as the node stored it: the whole signed event, whatever its kind. */
export function storedSignedEvents(
  node: { dataDir: string },
  which: { room: string } | { hiddenOf: string; from: number; to: number },
): ChatEvent[] {
  const db = new DatabaseSync(join(node.dataDir, DB_FILE), { readOnly: true })
  try {
    const query =
      'room' in which
        ? db.prepare(`SELECT body FROM events WHERE room = ? ORDER BY ts, origin`).all(which.room)
        : db
            .prepare(
              `SELECT body FROM events WHERE origin = ? AND seq >= ? AND seq <= ? AND shown = 0
               ORDER BY ts, origin`,
            )
            .all(which.hiddenOf, which.from, which.to)
    return (query as unknown as { body: string }[]).map((row) => JSON.parse(row.body) as ChatEvent)
  } finally {
    db.close()
  }
}

/**
 * The stored body of event `origin:seq` on `node` (the whole event as canonical JSON, kept as
 * received), read from its SQLite file while it runs; undefined while it does not hold it.
 */
export function storedBody(
  node: { dataDir: string },
  origin: string,
  seq: number,
): string | undefined {
  const db = new DatabaseSync(join(node.dataDir, DB_FILE), { readOnly: true })
  try {
    const row = db.prepare('SELECT body FROM events WHERE origin = ? AND seq = ?').get(origin, seq)
    return (row as { body: string } | undefined)?.body
  } finally {
    db.close()
  }
}

/**
 * Every message of `room` on `node`, oldest first, read back through `history` pages as a user
 * scrolling up would. Rejects on any error reply (a store that cannot read back what it holds).
 */
export async function readRoom(node: { wsUrl: string }, room: string): Promise<ChatMessage[]> {
  const client = await ChatClient.connect(node.wsUrl)
  try {
    const pages: ChatMessage[][] = []
    let before: string | undefined
    for (;;) {
      const reply = await client.request({
        type: 'history',
        room,
        limit: HISTORY_MAX_LIMIT,
        ...(before === undefined ? {} : { before }),
      })
      if (reply.type === 'error' && reply.code === 'rate_limited') {
        // Long histories take more pages than one burst allows: pacing, not waiting on state.
        await new Promise((r) => setTimeout(r, 100))
        continue
      }
      if (reply.type !== 'history') throw new Error(`history of ${room}: ${JSON.stringify(reply)}`)
      pages.unshift(reply.messages)
      const oldest = reply.messages[0]
      if (!reply.hasMore || !oldest) break
      before = oldest.id
    }
    return pages.flat()
  } finally {
    client.close()
  }
}
