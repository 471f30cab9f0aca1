/**
 * A mesh of 24 real `chat-node` processes on loopback, each started with two or three earlier
 * nodes as its only `--peer` (seeds), as a LAN's machines would find a few others: the overlay
 * links them within its bounds, events travel along a tree, and every message reaches a client
 * on every node exactly once for about one event frame per node; after a third of the nodes are
 * killed (SIGKILL) the rest repair their links and the tree and keep delivering, with no acked
 * message lost (docs/protocol.md, "A bounded overlay" and "Dissemination along a tree").
 *
 * Each run prints its seed (which seeds each node got, which nodes die) and its figures; replay
 * one with PALAVER_OVERLAY_SEED=<seed>.
 *
 * And a peer that speaks neither the tree nor the overlay (an older node, played by hand) is
 * pushed every event and sent none of the new frames, whatever it sends back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import { wireEvent } from './support/fake-peer.ts'
import {
  duplicates,
  eventsSentByPeer,
  linkedFakePeer,
  messagesIn,
  reservePorts,
  startFullMesh,
  waitForEqualVectors,
} from './support/mesh.ts'
import {
  cleanupNodes,
  health,
  metrics,
  type NodeProcess,
  startNode,
} from './support/node-process.ts'
import { Prng } from './support/prng.ts'
import { waitUntil } from './support/wait.ts'

const N = 24
/** A third of the nodes die. */
const KILLED = N / 3
/** Nodes started at once: a few, so that 24 startups do not starve the machine. */
const STARTING_AT_ONCE = 6
const ROOM = 'overlay'
const seedFromEnv = process.env.PALAVER_OVERLAY_SEED
const seed = seedFromEnv ? Number(seedFromEnv) : Prng.freshSeed()
const random = new Prng(seed)

const nodes: NodeProcess[] = []
/** One client per node, joined to ROOM; a killed node's client is dropped with it. */
let clients: ChatClient[] = []

afterAll(cleanupNodes)

/** Every node's links, as ids, from `/health`. */
async function linksOf(of: readonly NodeProcess[]): Promise<Map<string, string[]>> {
  const docs = await Promise.all(of.map((n) => health(n)))
  return new Map(
    docs.map((h) => [
      h.node.id,
      h.peers.flatMap((p) => (p.state === 'up' && p.id !== null ? [p.id] : [])),
    ]),
  )
}

/**
 * Waits until the links among `of` join them into one mesh and have not changed for
 * `quietMs`: the overlay is done dialling and closing (a node that found no room rests a
 * minute before it dials again).
 */
async function settled(of: readonly NodeProcess[], quietMs = 3_000): Promise<void> {
  let last = ''
  let since = Date.now()
  await waitUntil(
    async () => {
      const links = await linksOf(of)
      const now = JSON.stringify([...links].map(([id, l]) => [id, [...l].sort()]).sort())
      if (now !== last) [last, since] = [now, Date.now()]
      return Date.now() - since >= quietMs && (await connected(of))
    },
    60_000,
    'the overlay settled',
  )
}

/** Whether the links among `of` join them all into one mesh. */
async function connected(of: readonly NodeProcess[]): Promise<boolean> {
  const links = await linksOf(of)
  const [first] = links.keys()
  const reached = new Set([first])
  for (const id of reached)
    for (const next of links.get(id ?? '') ?? []) if (links.has(next)) reached.add(next)
  return reached.size === of.length
}

/** Summed over `of`: event frames sent, and frames of the tree by type. */
async function meshCounters(of: readonly NodeProcess[]): Promise<Map<string, number>> {
  const sums = new Map<string, number>()
  const add = (key: string, value: number) => sums.set(key, (sums.get(key) ?? 0) + value)
  for (const node of of) {
    for (const value of (await eventsSentByPeer(node)).values()) add('event', value)
    for (const line of (await metrics(node)).split('\n')) {
      const match = /^palaver_mesh_tree_frames_sent_total\{type="([a-z]+)"\} (\S+)$/.exec(line)
      if (match) add(match[1] as string, Number(match[2]))
      if (line.startsWith('palaver_mesh_frames_sent_total ')) add('all', Number(line.split(' ')[1]))
    }
  }
  return sums
}

/** Each of `senders` sends `perSender` messages one after another; resolves with the acked ids. */
async function sendFrom(senders: readonly ChatClient[], perSender: number): Promise<string[]> {
  const acked = await Promise.all(
    senders.map(async (client, s) => {
      const ids: string[] = []
      for (let i = 0; i < perSender; i++) {
        const [ack] = await client.sendMany(ROOM, [`s${s} #${i}`])
        if (ack) ids.push(ack.id)
      }
      return ids
    }),
  )
  return acked.flat()
}

/** Waits until each client holds every one of `ids`, then checks it holds each once. */
async function expectEachOnce(of: readonly ChatClient[], ids: readonly string[]): Promise<void> {
  const want = new Set(ids)
  await waitUntil(
    () =>
      of.every((c) => {
        const got = new Set(messagesIn(c, ROOM).map((m) => m.id))
        return [...want].every((id) => got.has(id))
      }),
    30_000,
    `${ids.length} messages on every node`,
  )
  for (const client of of) expect(duplicates(messagesIn(client, ROOM).map((m) => m.id))).toEqual([])
}

/**
 * Sends a measured batch from `senders` and returns event frames (and tree frames) per message,
 * summed over `of`, once every client of `of` holds the batch and every vector agrees.
 */
async function measuredBatch(
  of: readonly NodeProcess[],
  ofClients: readonly ChatClient[],
  senders: readonly ChatClient[],
  perSender: number,
): Promise<{ events: number; ihave: number; graft: number; prune: number; all: number }> {
  await waitForEqualVectors(of, 30_000)
  const before = await meshCounters(of)
  const acked = await sendFrom(senders, perSender)
  await expectEachOnce(ofClients, acked)
  await waitForEqualVectors(of, 30_000)
  const after = await meshCounters(of)
  const per = (key: string) =>
    Math.round((((after.get(key) ?? 0) - (before.get(key) ?? 0)) / acked.length) * 100) / 100
  return {
    events: per('event'),
    ihave: per('ihave'),
    graft: per('graft'),
    prune: per('prune'),
    all: per('all'),
  }
}

describe(`an overlay of ${N} nodes started with a few seeds each`, () => {
  afterAll(async () => {
    for (const client of clients) client.close()
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
  })

  beforeAll(async () => {
    const started = Date.now()
    // Peer ports are fixed first, so that a node can name seeds started in the same batch.
    const { ports, release } = await reservePorts(N)
    await release()
    const seedsOf = ports.map((_, i) =>
      random.shuffle(ports.slice(0, i)).slice(0, Math.min(i, random.int(2, 3))),
    )
    console.log(`overlay test seed ${seed}: seeds ${JSON.stringify(seedsOf.map((s) => s.length))}`)
    for (let first = 0; first < N; first += STARTING_AT_ONCE) {
      const batch = ports.slice(first, first + STARTING_AT_ONCE)
      nodes.push(
        ...(await Promise.all(
          batch.map((peerPort, k) =>
            startNode({
              name: `O${first + k}`,
              peerPort,
              logLevel: 'warn',
              args: (seedsOf[first + k] ?? []).flatMap((p) => ['--peer', `127.0.0.1:${p}`]),
              timeoutMs: 60_000,
            }),
          ),
        )),
      )
    }
    await settled(nodes)
    clients = await Promise.all(
      nodes.map(async (node) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`on-${node.name}`))
        await client.join(ROOM)
        return client
      }),
    )
    console.log(`overlay test: ${N} nodes up and joined in ${Date.now() - started} ms`)
  }, 120_000)

  it('keeps each node within its active view, beyond the seeds others keep', async () => {
    const links = await linksOf(nodes)
    const degrees = [...links.values()].map((l) => l.length)
    console.log(`overlay test: links per node ${JSON.stringify(degrees)}`)
    // Every node has a link, and no node is linked to most of the mesh: far from a full mesh.
    expect(Math.min(...degrees)).toBeGreaterThanOrEqual(1)
    const pairs = degrees.reduce((a, b) => a + b, 0) / 2
    expect(pairs).toBeLessThan((N * (N - 1)) / 4)
  })

  it('delivers every message to every node exactly once, for about one event frame per node', async () => {
    // An origin's first events build its tree (every link starts eager, and a duplicate prunes
    // one): what is measured is what follows, once the writers' trees are built.
    const senders = random.shuffle(clients).slice(0, 8)
    const warmUp = await measuredBatch(nodes, clients, senders, 2)
    console.log(`overlay test, ${N} nodes, first messages: per message ${JSON.stringify(warmUp)}`)
    const per = await measuredBatch(nodes, clients, senders, 6)
    console.log(`overlay test, ${N} nodes: per message ${JSON.stringify(per)}`)
    expect(per.events).toBeLessThanOrEqual(1.5 * (N - 1))
    expect(per.events).toBeGreaterThanOrEqual(N - 1) // each node gets each event at least once
  })

  it('repairs the links and the tree after a third of the nodes are killed, losing no acked message', async () => {
    const order = random.shuffle(nodes.map((_, i) => i))
    const killed = new Set(order.slice(0, KILLED))
    console.log(`overlay test: killing ${JSON.stringify([...killed].sort((a, b) => a - b))}`)
    const survivors = nodes.filter((_, i) => !killed.has(i))
    const survivorClients = clients.filter((_, i) => !killed.has(i))
    const senders = random.shuffle(survivorClients).slice(0, 4)

    // Messages go on while the nodes die: every one acked must reach every survivor.
    const during = sendFrom(senders, 10)
    await Promise.all([...killed].map((i) => nodes[i]?.kill('SIGKILL')))
    const acked = await during
    await expectEachOnce(survivorClients, acked)
    await settled(survivors)

    const per = await measuredBatch(survivors, survivorClients, senders, 8)
    console.log(`overlay test, ${survivors.length} survivors: per message ${JSON.stringify(per)}`)
    expect(per.events).toBeLessThanOrEqual(1.5 * (survivors.length - 1))
  })
})

describe('a peer that speaks neither the tree nor the overlay', () => {
  it('is pushed every event, sent none of the new frames, and its events reach every node', async () => {
    const mesh = await startFullMesh(['OldA', 'OldB', 'OldC'], { logLevel: 'info' })
    const [a, b, c] = mesh.nodes as [NodeProcess, NodeProcess, NodeProcess]
    const old = await linkedFakePeer(a, '') // its hello names no features
    const [onB, onC] = (await Promise.all(
      [b, c].map(async (node) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`on-${node.name}`))
        await client.join(ROOM)
        return client
      }),
    )) as [ChatClient, ChatClient]

    // B's and C's messages reach it pushed, and it sends each back (a duplicate for A), which
    // would prune a link to a node that speaks the tree: A goes on pushing to it.
    for (let round = 0; round < 3; round++) {
      const acked = await sendFrom([onB, onC], 2)
      const events = await waitUntil(
        () => {
          const got = old
            .all('event')
            .filter((f) => acked.includes(`${f.event.origin}:${f.event.seq}`))
          return got.length === acked.length && got
        },
        10_000,
        `${acked.length} events pushed to the older node`,
      )
      for (const frame of events) old.send(frame)
    }
    for (const type of ['ihave', 'graft', 'prune', 'neighbor', 'disconnect'] as const)
      expect(old.all(type), type).toEqual([])

    const own = wireEvent(old.keys, 1, ROOM, 'from an older node')
    old.send({ type: 'event', event: own })
    for (const client of [onB, onC])
      await client.next('message', (m) => m.text === 'from an older node')
    for (const client of [onB, onC]) client.close()
    old.end()
    await Promise.all(mesh.nodes.map((n) => n.kill('SIGKILL')))
  })
})
