/**
 * A commit that fails, provoked for real: a node whose data directory is on a small tmpfs
 * (test/support/small-disk.ts) that the test fills up. A send the node cannot commit is refused
 * with `unavailable` and acknowledged never; the node keeps serving; once there is room the same
 * send (same cid) is stored once and survives a SIGKILL (docs/protocol.md, "Guarantees to a
 * client").
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import { cleanupNodes, health, restartNode, startNode } from './support/node-process.ts'
import { type SmallDisk, smallDisk } from './support/small-disk.ts'

let disk: SmallDisk | undefined
afterAll(async () => {
  try {
    await cleanupNodes()
  } finally {
    disk?.unmount()
  }
})

const ROOM = 'full-disk'
/** A text of 4,000 characters (the most a send may carry), so the commit must grow the WAL. */
const BIG_TEXT = 'full disk '.repeat(400)

/** The messages of `room` a fresh session is given when it joins (the backlog). */
async function backlogOf(url: string, room: string): Promise<FrameOf<'message'>[]> {
  const reader = await ChatClient.connect(url, randomUser('reader'))
  try {
    return (await reader.join(room)).backlog
  } finally {
    reader.close()
  }
}

/** The messages of `room` a `history` request returns. */
async function historyOf(client: ChatClient, room: string): Promise<{ cid: string }[]> {
  const reply = await client.request({ type: 'history', room })
  if (reply.type !== 'history') throw new Error(`expected history: ${JSON.stringify(reply)}`)
  return reply.messages
}

function cidsOf(messages: readonly { cid: string }[]): string[] {
  return messages.map((m) => m.cid)
}

describe('a full disk', () => {
  it('refuses a send it cannot commit with unavailable, keeps serving, and stores the same send once there is room', async () => {
    // In the test, not a hook: where no tmpfs can be mounted, the test fails and says why.
    disk = smallDisk()
    const node = await startNode({ name: 'Full', dataDir: join(disk.dir, 'data') })
    const writer = await ChatClient.connect(node.wsUrl, randomUser('writer'))
    const member = await ChatClient.connect(node.wsUrl, randomUser('member'))
    const otherUser = randomUser('other')
    const other = await ChatClient.connect(node.wsUrl, otherUser)
    await writer.join(ROOM)
    await member.join(ROOM)
    const before = await writer.sendMany(ROOM, ['one', 'two', 'three'])
    await member.messages(ROOM, before.length)
    const stored = (await health(node)).events
    expect(stored).toBe(before.length)

    expect(disk.fill()).toBeGreaterThan(0)
    expect(disk.available()).toBe(0)
    const cid = 'c-full-disk'
    const refused = await writer.request({ type: 'send', room: ROOM, text: BIG_TEXT, cid })
    expect(refused).toMatchObject({ type: 'error', code: 'unavailable' })

    // The node serves on: other sessions get pongs, joins and backlogs, the room's member its
    // presence; and nothing of the refused send is anywhere.
    expect(node.running).toBe(true)
    expect((await other.request({ type: 'ping' })).type).toBe('pong')
    expect((await other.join(ROOM)).backlog.map((m) => m.id)).toEqual(before.map((a) => a.id))
    await member.next('presence', (p) => p.users.some((u) => u.id === otherUser.id))
    expect(cidsOf(await historyOf(other, ROOM))).not.toContain(cid)
    expect(cidsOf(await backlogOf(node.wsUrl, ROOM))).not.toContain(cid)
    expect((await health(node)).events).toBe(stored)
    expect(writer.frames.filter((f) => f.type === 'ack' && f.cid === cid)).toEqual([])
    expect(member.frames.filter((f) => f.type === 'message' && f.cid === cid)).toEqual([])

    // With room again, the same send is stored, once, and acknowledged.
    disk.free()
    const ack = await writer.say(ROOM, BIG_TEXT, cid)
    expect(ack.cid).toBe(cid)
    expect((await member.next('message', (m) => m.cid === cid)).id).toBe(ack.id)
    expect((await writer.say(ROOM, BIG_TEXT, cid)).id).toBe(ack.id)
    // The refused send took no seq: the node's events go on without a hole.
    const { events, node: self, vector } = await health(node)
    expect(events).toBe(stored + 1)
    expect(ack.id).toBe(`${self.id}:${vector[self.id]}`)
    expect(vector[self.id]).toBe(stored + 1)
    expect(cidsOf(await backlogOf(node.wsUrl, ROOM)).filter((c) => c === cid)).toHaveLength(1)
    expect(writer.frames.filter((f) => f.type === 'error')).toEqual([refused])
    // The refused send was never acknowledged later: both acks answer the two resends.
    const acks = writer.frames.filter((f): f is FrameOf<'ack'> => f.type === 'ack' && f.cid === cid)
    expect(acks.map((a) => a.ref)).toEqual([`send-${cid}`, `send-${cid}`])
    expect(member.frames.filter((f) => f.type === 'message' && f.cid === cid)).toHaveLength(1)

    // Killed with SIGKILL and started again on its data, the node holds it, once.
    await node.kill('SIGKILL')
    const again = await restartNode(node)
    expect((await health(again)).events).toBe(stored + 1)
    const after = await backlogOf(again.wsUrl, ROOM)
    expect(after.map((m) => m.id)).toEqual([...before.map((a) => a.id), ack.id])
    expect(after.at(-1)).toMatchObject({ cid, text: BIG_TEXT })
  })
})
