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
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_ACTIVE_VIEW_SIZE } from '../src/main/node/mesh/overlay.ts'
import { ChatClient, randomUser } from './support/chat-client.ts'
import { wireEvent } from './support/fake-peer.ts'
import {
  duplicates,
  eventsSentByPeer,
  linkedFakePeer,
  messagesIn,
  linksOf,
  overlaySettled,
  randomSeeds,
  startFullMesh,
  startNodesWithPeers,
  waitForEqualVectors,
} from './support/mesh.ts'
import { cleanupNodes, metrics, type NodeProcess } from './support/node-process.ts'
import { Prng } from './support/prng.ts'
import { waitUntil } from './support/wait.ts'

const N = 24
/**
 * 24 nodes share two cores here (with whatever else runs): one can stall a second or more, and
 * the nodes below it on a tree would graft what is only late (each graft an event sent twice,
 * and a prune). What is measured is the tree's cost, not this machine's stalls.
 */
const GRAFT_LATER = ['--limit', 'graft-timeout-ms=3000']
/** The nodes' `activeViewSize` (the default). */
const ACTIVE_VIEW_SIZE = DEFAULT_ACTIVE_VIEW_SIZE
/** A third of the nodes die. */
const KILLED = N / 3
const ROOM = 'overlay'
const seedFromEnv = process.env.PALAVER_OVERLAY_SEED
const seed = seedFromEnv ? Number(seedFromEnv) : Prng.freshSeed()
const random = new Prng(seed)

const nodes: NodeProcess[] = []
/** Each node's seeds (indexes of earlier nodes). */
let seeds: number[][] = []
/** One client per node, joined to ROOM; a killed node's client is dropped with it. */
let clients: ChatClient[] = []

afterAll(cleanupNodes)

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
    seeds = randomSeeds(N, random)
    console.log(
      `overlay test seed ${seed}: seeds per node ${JSON.stringify(seeds.map((s) => s.length))}`,
    )
    nodes.push(
      ...(await startNodesWithPeers(N, (i) => seeds[i] ?? [], {
        name: (i) => `O${i}`,
        // On loopback discovery announces nothing: its gossip layer (the addresses in signed
        // node records) is what fills the overlay's passive view.
        discovery: true,
        // A mesh of their own: other tests' nodes on this machine, dialling ports that are these
        // nodes' now, and their records, would otherwise join it.
        args: ['--secret', randomBytes(16).toString('hex'), ...GRAFT_LATER],
        logLevel: 'warn',
        timeoutMs: 60_000,
      })),
    )
    await overlaySettled(nodes)
    clients = await Promise.all(
      nodes.map(async (node) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`on-${node.name}`))
        await client.join(ROOM)
        return client
      }),
    )
    console.log(`overlay test: ${N} nodes up and joined in ${Date.now() - started} ms`)
  }, 120_000)

  it('keeps each node within its active view, but for the links to and from its seeds', async () => {
    const degrees = [...(await linksOf(nodes)).values()].map((l) => l.length)
    // The links a node keeps whatever: to its seeds, and from the nodes it is a seed of.
    const configured = seeds.map(
      (own, i) => new Set([...own, ...seeds.flatMap((s, j) => (s.includes(i) ? [j] : []))]).size,
    )
    console.log(`overlay test: links per node ${JSON.stringify(degrees)}`)
    console.log(`overlay test: configured links ${JSON.stringify(configured)}`)
    for (const [i, degree] of degrees.entries()) {
      expect(degree, `O${i}`).toBeGreaterThanOrEqual(1)
      // One more when a node with no other link asked in (HyParView's high priority).
      expect(degree, `O${i}`).toBeLessThanOrEqual(
        Math.max(ACTIVE_VIEW_SIZE, configured[i] ?? 0) + 1,
      )
    }
  })

  it('delivers every message to every node exactly once, for about one event frame per node', async () => {
    // An origin's first events build its tree (every link starts eager, and duplicates in a row
    // prune one): what is measured is what follows, once the writers' trees are built.
    const senders = random.shuffle(clients).slice(0, 8)
    const warmUp = await measuredBatch(nodes, clients, senders, 3)
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
    await overlaySettled(survivors)

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
