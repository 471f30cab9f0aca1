/**
 * Nodes that die and nodes that arrive late, against real `chat-node` processes: the rest of
 * the mesh keeps chatting when one is killed, its clients resume exactly on another node, it
 * comes back on its data with the same id and catches up; and a node started after thousands
 * of messages catches up completely (docs/protocol.md, "Guarantees to a client", "Steady state").
 */
import { afterAll, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import {
  duplicates,
  messagesIn,
  nodeId,
  startFullMesh,
  vectorOf,
  waitForEqualVectors,
  waitForPeersUp,
  writeMessages,
} from './support/mesh.ts'
import { cleanupNodes, health, type NodeProcess, startNode } from './support/node-process.ts'
import { waitUntil } from './support/wait.ts'

afterAll(cleanupNodes)

/**
 * Sends one message at a time to `room`, paced under the rate limit, until `stop()` is called,
 * `max` messages were acked or `maxMs` passed. `acked` grows as acks come in.
 */
function senderLoop(
  client: ChatClient,
  room: string,
  label: string,
  { max = 400, maxMs = 25_000 } = {},
): { acked: string[]; stop: () => Promise<void> } {
  const acked: string[] = []
  let stopped = false
  const deadline = Date.now() + maxMs
  const done = (async () => {
    for (let i = 0; i < max && !stopped && Date.now() < deadline; i++) {
      const [ack] = await client.sendMany(room, [`${label} ${i}`])
      if (ack) acked.push(ack.id)
    }
  })()
  return {
    acked,
    stop: async () => {
      stopped = true
      await done
    },
  }
}

describe('a node killed during traffic', () => {
  it('leaves the others chatting, its client resumes exactly elsewhere, and it comes back', async () => {
    const mesh = await startFullMesh(['KillA', 'KillB', 'KillC'])
    const [a, b, c] = mesh.nodes as [NodeProcess, NodeProcess, NodeProcess]
    const [, idB, idC] = mesh.ids as [string, string, string]
    const cArgs = ['--peer', a.peerAddr, '--peer', b.peerAddr]
    const room = 'kill-room'

    // A reader on C, and a few messages of C's own that reach the others before it dies.
    const readerUser = randomUser('reader')
    const reader = await ChatClient.connect(c.wsUrl, readerUser)
    await reader.join(room)
    const writerC = await ChatClient.connect(c.wsUrl, randomUser('writerc'))
    await writerC.join(room)
    const fromC = (await writerC.sendMany(room, ['c 0', 'c 1', 'c 2', 'c 3', 'c 4'])).map(
      (ack) => ack.id,
    )
    await waitForEqualVectors([a, b, c])

    const writerA = await ChatClient.connect(a.wsUrl, randomUser('writera'))
    const writerB = await ChatClient.connect(b.wsUrl, randomUser('writerb'))
    await writerA.join(room)
    await writerB.join(room)
    const loopA = senderLoop(writerA, room, 'a')
    const loopB = senderLoop(writerB, room, 'b')
    let allAcked: string[] = []
    try {
      await reader.messages(room, fromC.length + 20)
      await c.kill('SIGKILL')
      await reader.closed
      const had = messagesIn(reader, room)
      expect(duplicates(had.map((m) => m.id))).toEqual([])
      const since = vectorOf(had)

      // The others keep chatting: acks keep coming on both, and their link stays up.
      const [ackedA, ackedB] = [loopA.acked.length, loopB.acked.length]
      await waitUntil(
        () => loopA.acked.length >= ackedA + 20 && loopB.acked.length >= ackedB + 20,
        10_000,
        'acks after the kill',
      )
      expect((await health(a)).peers.find((p) => p.id === idB)?.state).toBe('up')

      // The reader resumes on A with what it had seen: it gets exactly what it lacks.
      const resumed = await ChatClient.connect(a.wsUrl, readerUser)
      const { backlog } = await resumed.join(room, since)
      const hadIds = new Set(had.map((m) => m.id))
      expect(backlog.filter((m) => hadIds.has(m.id))).toEqual([])
      expect(duplicates(backlog.map((m) => m.id))).toEqual([])
      // At least what both wrote after the kill, which A held before the reader came back.
      expect(backlog.length).toBeGreaterThanOrEqual(40)

      await Promise.all([loopA.stop(), loopB.stop()])
      allAcked = [...fromC, ...loopA.acked, ...loopB.acked]
      const got = await waitUntil(
        () => {
          const ids = [...had, ...messagesIn(resumed, room)].map((m) => m.id)
          return ids.length >= allAcked.length && ids
        },
        10_000,
        'every acked message at the resumed reader',
      )
      expect(duplicates(got)).toEqual([])
      expect([...got].sort()).toEqual([...allAcked].sort())
      resumed.close()
    } finally {
      await Promise.all([loopA.stop(), loopB.stop()])
    }

    // Back on its data and its peer port: same id, and it catches up with what it missed.
    const c2 = await startNode({
      name: 'KillC',
      dataDir: c.dataDir,
      peerPort: c.peerPort,
      args: cArgs,
    })
    expect(await nodeId(c2)).toBe(idC)
    const vector = await waitForEqualVectors([a, b, c2], 20_000)
    expect(vector[idC]).toBe(fromC.length)
    expect((await health(c2)).events).toBe(allAcked.length)
    await waitForPeersUp(a, [idB, idC])
    for (const client of [writerA, writerB]) client.close()
    await Promise.all([a, b, c2].map((n) => n.kill('SIGKILL')))
  }, 60_000)
})

describe('a node started after thousands of messages', () => {
  it('catches up completely and serves the newest 1000 to a client with since {}', async () => {
    const a = await startNode({ name: 'OldA' })
    const b = await startNode({ name: 'OldB', args: ['--peer', a.peerAddr] })
    const [idA, idB] = (await Promise.all([a, b].map((n) => nodeId(n)))) as [string, string]
    await Promise.all([waitForPeersUp(a, [idB]), waitForPeersUp(b, [idA])])
    const room = 'late-room'
    const perNode = 1500
    const acked = (
      await Promise.all([
        writeMessages(a, room, perNode, { label: 'a' }),
        writeMessages(b, room, perNode, { label: 'b' }),
      ])
    ).flat()
    expect(acked).toHaveLength(2 * perNode)
    const vector = await waitForEqualVectors([a, b], 30_000)
    expect(vector).toEqual({ [idA]: perNode, [idB]: perNode })

    const late = await startNode({
      name: 'Late',
      args: ['--peer', a.peerAddr, '--peer', b.peerAddr],
    })
    await waitForEqualVectors([a, b, late], 30_000, vector)
    expect((await health(late)).events).toBe(2 * perNode)

    const onLate = await ChatClient.connect(late.wsUrl)
    const fromLate = await onLate.join(room, {})
    expect(fromLate.joined.truncated).toBe(true)
    expect(fromLate.backlog).toHaveLength(1000)
    const lateIds = fromLate.backlog.map((m) => m.id)
    expect(duplicates(lateIds)).toEqual([])
    const ackedSet = new Set(acked)
    expect(lateIds.every((id) => ackedSet.has(id))).toBe(true)
    // The newest 1000 are the same on every node: the same display order everywhere.
    const onA = await ChatClient.connect(a.wsUrl)
    const fromA = await onA.join(room, {})
    expect(lateIds).toEqual(fromA.backlog.map((m) => m.id))
    // Oldest first, by (ts, origin).
    const order = fromLate.backlog.map((m) => [m.ts, m.origin] as const)
    const sorted = [...order].sort(
      (x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0),
    )
    expect(order).toEqual(sorted)
    onLate.close()
    onA.close()
  }, 90_000)
})
