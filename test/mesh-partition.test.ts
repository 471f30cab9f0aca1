/**
 * Links that break and links that race, against real `chat-node` processes: a partition made
 * by a TCP proxy heals with every message on every node exactly once, and two nodes dialling
 * each other at the same moment end with one link (docs/protocol.md, "Steady state", "Handshake").
 */
import { afterAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import {
  duplicates,
  freePort,
  messagesIn,
  nodeId,
  vectorKey,
  waitForEqualVectors,
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
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts'
import { staysTrue, waitUntil } from './support/wait.ts'

let proxy: TcpProxy | undefined
afterAll(async () => {
  await proxy?.close()
  await cleanupNodes()
})

describe('a partition', () => {
  it('heals: every message written on either side ends on every node, once', async () => {
    // A ←proxy→ B — C: the proxy carries the only link between A and the rest.
    const a = await startNode({ name: 'SplitA' })
    proxy = await startTcpProxy(a.peerAddr)
    const b = await startNode({
      name: 'SplitB',
      args: ['--peer', proxy.addr],
    })
    const c = await startNode({
      name: 'SplitC',
      args: ['--peer', b.peerAddr],
    })
    const [idA, idB, idC] = (await Promise.all([a, b, c].map((n) => nodeId(n)))) as [
      string,
      string,
      string,
    ]
    await Promise.all([
      waitForPeersUp(a, [idB]),
      waitForPeersUp(b, [idA, idC]),
      waitForPeersUp(c, [idB]),
    ])
    const nodes: NodeProcess[] = [a, b, c]
    const room = 'split-room'
    const clients = await Promise.all(
      nodes.map(async (node) => {
        const client = await ChatClient.connect(node.wsUrl, randomUser(`on-${node.name}`))
        await client.join(room)
        return client
      }),
    )
    const [onA, onB, onC] = clients as [ChatClient, ChatClient, ChatClient]
    const before = [
      ...(await onA.sendMany(room, ['a before 0', 'a before 1'])),
      ...(await onC.sendMany(room, ['c before 0', 'c before 1'])),
    ].map((ack) => ack.id)
    await waitForEqualVectors(nodes)

    proxy.cut()
    const proxyAddr = proxy.addr
    await waitUntil(
      async () => {
        const [ha, hb] = await Promise.all([health(a), health(b)])
        const aSeesB = ha.peers.some((p) => p.id === idB && p.state === 'up')
        const bToA = hb.peers.find((p) => p.addr === proxyAddr)
        return !aSeesB && bToA !== undefined && bToA.state !== 'up'
      },
      20_000,
      'the link through the proxy down on both ends',
    )
    // B and C still see each other.
    expect((await health(c)).peers.find((p) => p.id === idB)?.state).toBe('up')

    // Both sides keep accepting messages while cut off from each other.
    const during = (
      await Promise.all([
        onA.sendMany(
          room,
          Array.from({ length: 10 }, (_, i) => `a during ${i}`),
        ),
        onB.sendMany(
          room,
          Array.from({ length: 10 }, (_, i) => `b during ${i}`),
        ),
        onC.sendMany(
          room,
          Array.from({ length: 10 }, (_, i) => `c during ${i}`),
        ),
      ])
    )
      .flat()
      .map((ack) => ack.id)
    await waitUntil(
      async () => ((await health(b)).vector[idC] ?? 0) === 12,
      10_000,
      "C's messages on B",
    )
    const [ha, hc] = await Promise.all([health(a), health(c)])
    expect(vectorKey(ha.vector)).not.toBe(vectorKey(hc.vector))
    expect(ha.vector[idC]).toBe(2)

    proxy.restore()
    const vector = await waitForEqualVectors(nodes, 40_000)
    expect(vector).toEqual({ [idA]: 12, [idB]: 10, [idC]: 12 })
    await waitForPeersUp(a, [idB])

    const all = [...before, ...during].sort()
    // Every node holds each message once: a fresh client resuming from nothing gets them all.
    for (const node of nodes) {
      const fresh = await ChatClient.connect(node.wsUrl)
      const { backlog, joined } = await fresh.join(room, {})
      const ids = backlog.map((m) => m.id)
      expect(duplicates(ids)).toEqual([])
      expect([...ids].sort()).toEqual(all)
      expect(joined.truncated).toBe(false)
      fresh.close()
    }
    // And the clients that stayed connected through it got the other side's once, live.
    for (const client of clients) {
      const ids = (await client.messages(room, all.length)).map((m) => m.id)
      expect(duplicates(ids)).toEqual([])
      expect([...ids].sort()).toEqual(all)
      expect(messagesIn(client, room)).toHaveLength(all.length)
      client.close()
    }
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
  }, 60_000)
})

describe('two nodes dialling each other at once', () => {
  it('end with one link, and keep one', async () => {
    const portA = await freePort()
    let portB = await freePort()
    for (let i = 0; portB === portA && i < 10; i++) portB = await freePort()
    const [a, b] = await Promise.all([
      startNode({ name: 'DuelA', peerPort: portA, args: ['--peer', `127.0.0.1:${portB}`] }),
      startNode({ name: 'DuelB', peerPort: portB, args: ['--peer', `127.0.0.1:${portA}`] }),
    ])
    const [idA, idB] = (await Promise.all([a, b].map((n) => nodeId(n)))) as [string, string]

    /** One peer entry, up, naming the other node; one link by the metrics too. */
    const oneLink = async (node: NodeProcess, other: string) => {
      const h = await health(node)
      const links = metricValue(await metrics(node), 'palaver_mesh_links_up')
      return (
        h.peers.length === 1 && h.peers[0]?.state === 'up' && h.peers[0].id === other && links === 1
      )
    }
    const both = async () => (await oneLink(a, idB)) && (await oneLink(b, idA))
    await waitUntil(both, 15_000, 'one link each')
    // It stays so over three ping intervals (a second link would show, or the kept one drop).
    await staysTrue(both, 16, 1_000, 'one link each')

    // And it carries chat both ways.
    const onA = await ChatClient.connect(a.wsUrl)
    const onB = await ChatClient.connect(b.wsUrl)
    await onA.join('duel')
    await onB.join('duel')
    const fromA = await onA.say('duel', 'from a')
    const fromB = await onB.say('duel', 'from b')
    for (const client of [onA, onB]) {
      const ids = (await client.messages('duel', 2)).map((m) => m.id)
      expect(ids.sort()).toEqual([fromA.id, fromB.id].sort())
      client.close()
    }
    await Promise.all([a, b].map((n) => n.kill('SIGKILL')))
  }, 60_000)
})
