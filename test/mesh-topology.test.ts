/**
 * Relaying across real `chat-node` processes in three shapes of mesh — a full mesh of three, a
 * line and a ring of four — with every message reaching every client exactly once; presence,
 * typing and the list of nodes crossing the mesh; the mesh's frame counters; and idempotent
 * send across nodes (docs/protocol.md, "Loop prevention and relaying", "Guarantees to a client").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import {
  duplicates,
  eventsSentByPeer,
  messagesIn,
  nodeId,
  waitForEqualVectors,
  startFullMesh,
  waitForPeersUp,
} from './support/mesh.ts'
import {
  cleanupNodes,
  health,
  metrics,
  metricValue,
  type NodeProcess,
  startNode,
} from './support/node-process.ts'
import { waitUntil } from './support/wait.ts'

afterAll(cleanupNodes)

/** Clients joined to `room`, one per node. */
async function clientsOn(nodes: readonly NodeProcess[], room: string): Promise<ChatClient[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const client = await ChatClient.connect(node.wsUrl, randomUser(`on-${node.name}`))
      await client.join(room)
      return client
    }),
  )
}

/** Each client sends `perClient` messages to `room` at once; resolves with every acked id. */
async function sendFromEach(
  clients: readonly ChatClient[],
  room: string,
  perClient: number,
): Promise<string[]> {
  const acks = await Promise.all(
    clients.map((c, i) =>
      c.sendMany(
        room,
        Array.from({ length: perClient }, (_, k) => `from ${i} #${k}`),
      ),
    ),
  )
  return acks.flat().map((a) => a.id)
}

/** Waits until every client holds `ids.length` messages of `room`, then checks: those, once. */
async function expectEachExactlyOnce(
  clients: readonly ChatClient[],
  room: string,
  ids: readonly string[],
): Promise<void> {
  for (const client of clients) {
    const got = (await client.messages(room, ids.length)).map((m) => m.id)
    expect(duplicates(got)).toEqual([])
    expect([...got].sort()).toEqual([...ids].sort())
  }
}

async function stopAll(nodes: readonly NodeProcess[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
}

describe('a full mesh of three', () => {
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess
  let ids: { a: string; b: string; c: string }

  beforeAll(async () => {
    const mesh = await startFullMesh(['FullA', 'FullB', 'FullC'])
    ;[a, b, c] = mesh.nodes as [NodeProcess, NodeProcess, NodeProcess]
    const [idA, idB, idC] = mesh.ids as [string, string, string]
    ids = { a: idA, b: idB, c: idC }
  })
  afterAll(() => stopAll([a, b, c]))

  it('shows two peers up on every node, one entry each', async () => {
    for (const [node, others] of [
      [a, [ids.b, ids.c]],
      [b, [ids.a, ids.c]],
      [c, [ids.a, ids.b]],
    ] as const) {
      const h = await health(node)
      expect(h.peers.filter((p) => p.state === 'up').map((p) => p.id)).toEqual(
        expect.arrayContaining([...others]),
      )
      expect(h.peers).toHaveLength(2)
    }
  })

  it('delivers a message sent on any node to a client on every node exactly once', async () => {
    const clients = await clientsOn([a, b, c], 'full-once')
    const acked = await sendFromEach(clients, 'full-once', 5)
    expect(new Set(acked.map((id) => id.split(':')[0]))).toEqual(new Set([ids.a, ids.b, ids.c]))
    await expectEachExactlyOnce(clients, 'full-once', acked)
    await waitForEqualVectors([a, b, c])
    // Settled: nothing more may arrive, no late second copy either.
    for (const client of clients) expect(messagesIn(client, 'full-once')).toHaveLength(15)
    for (const client of clients) client.close()
  })

  it('shows a user joined on A to clients on C, with A as its node, until it leaves', async () => {
    const watcher = await ChatClient.connect(c.wsUrl, randomUser('watcher'))
    await watcher.join('full-presence')
    const ann = randomUser('ann')
    const onA = await ChatClient.connect(a.wsUrl, ann)
    await onA.join('full-presence')

    const seen = await watcher.next('presence', (f) => f.users.some((u) => u.id === ann.id))
    expect(seen.room).toBe('full-presence')
    expect(seen.users).toContainEqual({ id: ann.id, name: ann.name, node: ids.a })
    expect(seen.users).toContainEqual(expect.objectContaining({ node: ids.c }))

    const late = await ChatClient.connect(c.wsUrl, randomUser('late'))
    const { joined } = await late.join('full-presence')
    expect(joined.users).toContainEqual({ id: ann.id, name: ann.name, node: ids.a })

    onA.close()
    await watcher.next('presence', (f) => !f.users.some((u) => u.id === ann.id))
    watcher.close()
    late.close()
  })

  it('carries typing from B to C but never back to the typist', async () => {
    const typistUser = randomUser('typist')
    const typist = await ChatClient.connect(b.wsUrl, typistUser)
    const watcherC = await ChatClient.connect(c.wsUrl, randomUser('watchc'))
    const watcherA = await ChatClient.connect(a.wsUrl, randomUser('watcha'))
    for (const client of [typist, watcherC, watcherA]) await client.join('full-typing')

    typist.send({ type: 'typing', room: 'full-typing' })
    const onC = await watcherC.next('typing')
    expect(onC).toEqual({ type: 'typing', room: 'full-typing', user: typistUser })
    await watcherA.next('typing', (f) => f.user.id === typistUser.id)

    // Someone typing on C reaches the typist; an echo of its own would have come by then too.
    watcherC.send({ type: 'typing', room: 'full-typing' })
    await typist.next('typing', (f) => f.user.id !== typistUser.id)
    const own = typist.frames.filter((f) => f.type === 'typing' && f.user.id === typistUser.id)
    expect(own).toEqual([])
    // C's watcher got B's typing once, not once per path (and not its own).
    expect(watcherC.frames.filter((f) => f.type === 'typing')).toHaveLength(1)
    for (const client of [typist, watcherC, watcherA]) client.close()
  })

  it('lists all three nodes, with their ws:// urls, in welcome on any node', async () => {
    const urls = new Map([
      [ids.a, a.wsUrl],
      [ids.b, b.wsUrl],
      [ids.c, c.wsUrl],
    ])
    for (const node of [a, b, c]) {
      const client = await ChatClient.connect(node.wsUrl)
      const welcome = client.frames.find((f): f is FrameOf<'welcome'> => f.type === 'welcome')
      expect(welcome?.node.id).toBe(await nodeId(node))
      const nodes = welcome?.nodes ?? []
      expect(nodes.map((n) => n.id).sort()).toEqual([...urls.keys()].sort())
      for (const n of nodes) {
        expect(n.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/)
        expect(n.url).toBe(urls.get(n.id))
        expect(n.up).toBe(true)
      }
      // This node first (docs/protocol.md: failover lists start with the node itself).
      expect(nodes[0]?.id).toBe(welcome?.node.id)
      client.close()
    }
  })

  it('sends each event over each directed link at most once, and all vectors agree', async () => {
    const nodes = [a, b, c]
    const framesSent = async (n: NodeProcess) =>
      metricValue(await metrics(n), 'palaver_mesh_frames_sent_total') ?? 0
    const before = await Promise.all(nodes.map((n) => eventsSentByPeer(n)))
    const framesBefore = await Promise.all(nodes.map(framesSent))
    const clients = await clientsOn(nodes, 'full-count')
    const M = 60
    const acked = await sendFromEach(clients, 'full-count', M / 3)
    expect(acked).toHaveLength(M)
    await expectEachExactlyOnce(clients, 'full-count', acked)
    const vector = await waitForEqualVectors(nodes)
    for (const id of Object.values(ids)) expect(vector[id]).toBeGreaterThan(0)

    const after = await Promise.all(nodes.map((n) => eventsSentByPeer(n)))
    const framesAfter = await Promise.all(nodes.map(framesSent))
    let total = 0
    for (const [i, node] of nodes.entries()) {
      const self = await nodeId(node)
      const others = Object.values(ids).filter((id) => id !== self)
      expect([...(after[i]?.keys() ?? [])].sort()).toEqual(others.sort())
      let events = 0
      for (const peer of others) {
        const delta = (after[i]?.get(peer) ?? 0) - (before[i]?.get(peer) ?? 0)
        expect(delta, `${node.name} → ${peer}`).toBeLessThanOrEqual(M)
        events += delta
      }
      // Every event frame is a frame; presence and liveness frames come on top.
      const frames = (framesAfter[i] ?? 0) - (framesBefore[i] ?? 0)
      expect(frames, `${node.name} frames`).toBeGreaterThanOrEqual(events)
      total += events
    }
    // Each event must reach the two other nodes: at least 2·M frames in all.
    expect(total).toBeGreaterThanOrEqual(2 * M)
    for (const client of clients) client.close()
  })

  it('acks a resent cid on another node with the first id, and creates nothing', async () => {
    const observers = await clientsOn([a, b, c], 'full-idem')
    const user = randomUser('resender')
    const onA = await ChatClient.connect(a.wsUrl, user)
    await onA.join('full-idem')
    const first = await onA.say('full-idem', 'only once', 'cid-idem-1')
    const [origin, seq] = first.id.split(':')
    expect(origin).toBe(ids.a)
    await waitUntil(
      async () => ((await health(b)).vector[ids.a] ?? 0) >= Number(seq),
      10_000,
      'the message on B',
    )
    await waitForEqualVectors([a, b, c])
    const counts = await Promise.all([a, b, c].map(async (n) => (await health(n)).events))

    const onB = await ChatClient.connect(b.wsUrl, user)
    await onB.join('full-idem')
    const again = await onB.say('full-idem', 'only once', 'cid-idem-1')
    expect(again.id).toBe(first.id)
    expect(again.ts).toBe(first.ts)

    // A sentinel after the resend: once it is everywhere, anything the resend made would be too.
    const sentinel = await onB.say('full-idem', 'sentinel')
    for (const observer of observers) {
      await observer.next('message', (m) => m.id === sentinel.id)
      expect(messagesIn(observer, 'full-idem').map((m) => m.id)).toEqual([first.id, sentinel.id])
    }
    await waitForEqualVectors([a, b, c])
    const countsAfter = await Promise.all([a, b, c].map(async (n) => (await health(n)).events))
    expect(countsAfter).toEqual(counts.map((n) => n + 1))
    for (const client of [...observers, onA, onB]) client.close()
  })
})

describe('a line A–B–C', () => {
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess
  let ids: { a: string; b: string; c: string }

  beforeAll(async () => {
    a = await startNode({ name: 'LineA' })
    b = await startNode({ name: 'LineB', args: ['--peer', a.peerAddr] })
    c = await startNode({ name: 'LineC', args: ['--peer', b.peerAddr] })
    ids = { a: await nodeId(a), b: await nodeId(b), c: await nodeId(c) }
    await Promise.all([
      waitForPeersUp(a, [ids.b]),
      waitForPeersUp(b, [ids.a, ids.c]),
      waitForPeersUp(c, [ids.b]),
    ])
  })
  afterAll(() => stopAll([a, b, c]))

  it('links A only to B and C only to B', async () => {
    const ha = await health(a)
    expect(ha.peers.map((p) => [p.id, p.state])).toEqual([[ids.b, 'up']])
    const hc = await health(c)
    expect(hc.peers.map((p) => [p.id, p.state])).toEqual([[ids.b, 'up']])
  })

  it('relays both ways through B, exactly once at every client', async () => {
    const clients = await clientsOn([a, b, c], 'line-room')
    const acked = await sendFromEach(clients, 'line-room', 6)
    await expectEachExactlyOnce(clients, 'line-room', acked)
    await waitForEqualVectors([a, b, c])
    for (const client of clients) expect(messagesIn(client, 'line-room')).toHaveLength(18)
    for (const client of clients) client.close()
  })

  it('lets A learn of C through B, for its failover list', async () => {
    await waitUntil(
      async () => {
        const client = await ChatClient.connect(a.wsUrl)
        const welcome = client.frames.find((f): f is FrameOf<'welcome'> => f.type === 'welcome')
        client.close()
        return welcome?.nodes.some((n) => n.id === ids.c && n.url === c.wsUrl)
      },
      10_000,
      'C in the welcome of A',
    )
  })
})

describe('a ring of four', () => {
  let nodes: NodeProcess[]

  beforeAll(async () => {
    const a = await startNode({ name: 'RingA' })
    const b = await startNode({ name: 'RingB', args: ['--peer', a.peerAddr] })
    const c = await startNode({ name: 'RingC', args: ['--peer', b.peerAddr] })
    const d = await startNode({
      name: 'RingD',
      args: ['--peer', c.peerAddr, '--peer', a.peerAddr],
    })
    nodes = [a, b, c, d]
    const ids = await Promise.all(nodes.map((n) => nodeId(n)))
    await Promise.all(
      nodes.map((node, i) =>
        waitForPeersUp(node, [ids[(i + 1) % 4] as string, ids[(i + 3) % 4] as string]),
      ),
    )
    // A ring, not a mesh: every node has exactly its two neighbours.
    for (const node of nodes) expect((await health(node)).peers).toHaveLength(2)
  })
  afterAll(() => stopAll(nodes))

  it('relays around the ring both ways, exactly once at every client', async () => {
    const clients = await clientsOn(nodes, 'ring-room')
    const acked = await sendFromEach(clients, 'ring-room', 5)
    await expectEachExactlyOnce(clients, 'ring-room', acked)
    await waitForEqualVectors(nodes)
    for (const client of clients) expect(messagesIn(client, 'ring-room')).toHaveLength(20)
    for (const client of clients) client.close()
  })
})
