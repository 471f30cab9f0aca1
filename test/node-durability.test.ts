/**
 * What survives a crash of the real `chat-node` process (an ack means stored), and what the
 * node publishes about itself on `/health` and `/metrics`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import {
  cleanupNodes,
  health,
  metrics,
  metricValue,
  type NodeProcess,
  startNode,
  waitForHealth,
} from './support/node-process.ts'

afterAll(cleanupNodes)

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1))
}

describe('durability', () => {
  it('keeps every acknowledged message, and its node id, across a SIGKILL', async () => {
    const node = await startNode({ name: 'Durable' })
    const nodeId = (await health(node)).node.id
    const rooms = ['durable-a', 'durable-b']
    const WRITERS = 4
    const PER_WRITER = 50

    // Several clients write at once, so commits group messages of many sessions.
    const acked = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`writer${w}`))
        const room = rooms[w % 2] as string
        await client.join(room)
        const texts = Array.from({ length: PER_WRITER }, (_, i) => `w${w} #${i}`)
        const acks = await client.sendMany(room, texts)
        return acks.map((a, i) => ({ id: a.id, ts: a.ts, room, text: texts[i] }))
      }),
    )
    // Killed the moment the last ack arrived: no chance to flush anything more.
    await node.kill('SIGKILL')
    const all = acked.flat()
    expect(all).toHaveLength(WRITERS * PER_WRITER)
    const maxSeq = Math.max(...all.map((a) => seqOf(a.id)))
    const maxTs = Math.max(...all.map((a) => a.ts))

    const again = await startNode({ name: 'Durable', dataDir: node.dataDir })
    const status = await health(again)
    expect(status.node.id).toBe(nodeId)
    expect(status.events).toBe(all.length)
    expect(status.vector).toEqual({ [nodeId]: maxSeq })

    const reader = await ChatClient.open(again.wsUrl)
    reader.send({ type: 'hello', protocol: 1, user: randomUser() })
    expect((await reader.next('welcome')).node.id).toBe(nodeId)
    for (const room of rooms) {
      const { backlog } = await reader.join(room, {})
      const expected = all.filter((a) => a.room === room)
      expect(backlog).toHaveLength(expected.length)
      expect(new Set(backlog.map((m) => m.id)).size).toBe(backlog.length)
      expect(new Map(backlog.map((m) => [m.id, m.text]))).toEqual(
        new Map(expected.map((a) => [a.id, a.text])),
      )
    }

    // The node numbers on from where it was; its clock never goes back.
    const next = await reader.say(rooms[0] as string, 'after the crash')
    expect(next.id).toBe(`${nodeId}:${maxSeq + 1}`)
    expect(next.ts).toBeGreaterThan(maxTs)
  })
})

describe('fresh nodes: /health and /metrics', () => {
  let healthy: NodeProcess
  let measured: NodeProcess
  beforeAll(async () => {
    ;[healthy, measured] = await Promise.all([
      startNode({ name: 'Healthy' }),
      startNode({ name: 'Measured' }),
    ])
  })

  it('gives each fresh data directory its own node id', async () => {
    const [a, b] = await Promise.all([health(healthy), health(measured)])
    expect(a.node.id).toMatch(/^[a-z0-9]{8,64}$/)
    expect(b.node.id).toMatch(/^[a-z0-9]{8,64}$/)
    expect(b.node.id).not.toBe(a.node.id)
  })

  it('reports status, node, clients, peers, vector and events', async () => {
    const node = healthy
    const empty = await health(node)
    expect(empty).toEqual({
      status: 'ok',
      node: { id: expect.stringMatching(/^[0-9a-f]{40}$/), name: 'Healthy' },
      clients: 0,
      peers: [],
      vector: {},
      events: 0,
      // Tests' nodes run with --no-discovery (see startNode).
      discovery: expect.objectContaining({ enabled: false, interfaces: [], nodes: [] }),
    })
    const nodeId = empty.node.id

    const clients = await Promise.all([1, 2, 3].map(() => ChatClient.connect(node.wsUrl)))
    const [ann, bob, carol] = clients as [ChatClient, ChatClient, ChatClient]
    await ann.join('general')
    const acks = await ann.sendMany('general', ['one', 'two', 'three'])
    const busy = await health(node)
    expect(busy.clients).toBe(3)
    expect(busy.vector).toEqual({ [nodeId]: seqOf(acks[2]?.id ?? '') })
    expect(busy.events).toBe(3)

    bob.close()
    carol.close()
    await waitForHealth(node, (h) => h.clients === 1)
  })

  it('exposes the node’s counters and timings as Prometheus text', async () => {
    const node = measured
    const res = await fetch(`${node.httpUrl}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)

    const ann = await ChatClient.connect(node.wsUrl)
    const bob = await ChatClient.connect(node.wsUrl)
    await ann.join('metered')
    await bob.join('metered')
    await ann.sendMany('metered', ['a', 'b', 'c', 'd', 'e'])
    await bob.messages('metered', 5)

    const text = await metrics(node)
    for (const name of [
      'palaver_clients_connected',
      'palaver_messages_accepted_total',
      'palaver_messages_delivered_total',
      'palaver_store_commit_seconds',
      'palaver_event_loop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `)
    }
    expect(metricValue(text, 'palaver_clients_connected')).toBe(2)
    expect(metricValue(text, 'palaver_messages_accepted_total{source="client"}')).toBe(5)
    // Five messages, each to two members.
    expect(metricValue(text, 'palaver_messages_delivered_total')).toBe(10)
    expect(metricValue(text, 'palaver_store_commit_seconds_count')).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'palaver_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0)

    // A joiner's backlog counts as delivered too.
    const carol = await ChatClient.connect(node.wsUrl)
    await carol.join('metered')
    const later = await metrics(node)
    expect(metricValue(later, 'palaver_messages_delivered_total')).toBe(15)
    expect(metricValue(later, 'palaver_clients_connected')).toBe(3)
  })
})
