/**
 * What a client relies on across sessions, against the real `chat-node` process: exact resume
 * with `since` (and its 1000-message cap), the join backlog, history paging over a whole room,
 * and idempotent resend (docs/protocol.md, "Guarantees to a client").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import { cleanupNodes, health, type NodeProcess, startNode } from './support/node-process.ts'

type Message = FrameOf<'message'>

let node: NodeProcess
let nodeId: string

beforeAll(async () => {
  node = await startNode({ name: 'Resume' })
  nodeId = (await health(node)).node.id
})
afterAll(cleanupNodes)

/** What a UI keeps per room: the highest seq it has seen from each origin. */
function vectorOf(messages: readonly Message[]): Record<string, number> {
  const vector: Record<string, number> = {}
  for (const m of messages) vector[m.origin] = Math.max(vector[m.origin] ?? 0, m.seq)
  return vector
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1))
}

/**
 * Writes `count` messages to `room` through as many fresh sessions as it takes for each to stay
 * within its rate-limit burst; resolves with the acked ids in seq order.
 */
async function writeMessages(room: string, count: number, perSession = 75): Promise<string[]> {
  const sessions = Math.ceil(count / perSession)
  const ids = await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const client = await ChatClient.connect(node.wsUrl, randomUser(`writer${s}`))
      await client.join(room)
      const n = Math.min(perSession, count - s * perSession)
      const texts = Array.from({ length: n }, (_, i) => `w${s}-${i}`)
      const acks = await client.sendMany(room, texts)
      client.close()
      return acks.map((a) => a.id)
    }),
  )
  return ids.flat().sort((a, b) => seqOf(a) - seqOf(b))
}

describe('resume with since', () => {
  it('gives a returning client exactly the messages it missed, none twice', async () => {
    const annUser = randomUser('ann')
    const ann = await ChatClient.connect(node.wsUrl, annUser)
    const bob = await ChatClient.connect(node.wsUrl, randomUser('bob'))
    await ann.join('resume-room')
    await bob.join('resume-room')
    await ann.sendMany('resume-room', ['a1', 'a2', 'a3'])
    await bob.sendMany('resume-room', ['b1', 'b2'])
    const seen = await ann.messages('resume-room', 5)
    expect(seen.map((m) => m.text)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2'])
    const since = vectorOf(seen)
    ann.close()
    await ann.closed

    // While ann is away: more in her room, and traffic in another room that takes seqs of the
    // same origin (so the room's seqs have gaps a resume must not trip on).
    const carol = await ChatClient.connect(node.wsUrl)
    await carol.join('resume-other')
    const missed: string[] = []
    for (let i = 0; i < 4; i++) {
      missed.push((await bob.say('resume-room', `missed ${i}`)).id)
      await carol.say('resume-other', `elsewhere ${i}`)
    }

    const back = await ChatClient.connect(node.wsUrl, annUser)
    const { backlog, joined } = await back.join('resume-room', since)
    expect(backlog.map((m) => m.id)).toEqual(missed)
    expect(backlog.map((m) => m.text)).toEqual(['missed 0', 'missed 1', 'missed 2', 'missed 3'])
    expect(joined.truncated).toBe(false)

    // Live messages follow the backlog, each once.
    const live = await bob.say('resume-room', 'welcome back')
    const all = await back.messages('resume-room', 5)
    expect(all.map((m) => m.id)).toEqual([...missed, live.id])
    await back.request({ type: 'ping' })
    expect(back.frames.filter((f) => f.type === 'message')).toHaveLength(5)

    // A client that has everything gets nothing; one whose vector names only another origin
    // gets every message of this one.
    const upToDate = await ChatClient.connect(node.wsUrl)
    const current = await upToDate.join('resume-room', vectorOf(all))
    expect(current.backlog).toEqual([])
    const stranger = await ChatClient.connect(node.wsUrl)
    const fromScratch = await stranger.join('resume-room', { zzzzzzzz: 999 })
    expect(fromScratch.backlog.map((m) => m.text)).toEqual([
      ...seen.map((m) => m.text),
      'missed 0',
      'missed 1',
      'missed 2',
      'missed 3',
      'welcome back',
    ])
    for (const c of [bob, carol, back, upToDate, stranger]) c.close()
  })

  describe('in a room of 1100 messages', () => {
    let ids: string[]
    beforeAll(async () => {
      ids = await writeMessages('big-room', 1100)
    })

    it('were all written, each once', () => {
      expect(ids).toHaveLength(1100)
      expect(new Set(ids).size).toBe(1100)
      expect(ids.every((id) => id.startsWith(`${nodeId}:`))).toBe(true)
    })

    it('sends the newest 1000 with truncated when more than 1000 are missing', async () => {
      const client = await ChatClient.connect(node.wsUrl)
      const { backlog, joined } = await client.join('big-room', { [nodeId]: seqOf(ids[49] ?? '') })
      expect(joined.truncated).toBe(true)
      expect(backlog).toHaveLength(1000)
      expect(backlog.map((m) => m.id)).toEqual(ids.slice(100))
      client.close()
    })

    it('sends all that are missing, oldest first, when they are 1000 or fewer', async () => {
      const client = await ChatClient.connect(node.wsUrl)
      const { backlog, joined } = await client.join('big-room', { [nodeId]: seqOf(ids[99] ?? '') })
      expect(joined.truncated).toBe(false)
      expect(backlog.map((m) => m.id)).toEqual(ids.slice(100))
      const empty = await client.join('big-room', {})
      expect(empty.joined.truncated).toBe(true)
      expect(empty.backlog.map((m) => m.id)).toEqual(ids.slice(100))
      client.close()
    })

    it('sends the latest 50 to a join without since, with truncated', async () => {
      const client = await ChatClient.connect(node.wsUrl)
      const { backlog, joined } = await client.join('big-room')
      expect(joined.truncated).toBe(true)
      expect(backlog.map((m) => m.id)).toEqual(ids.slice(-50))
      client.close()
    })

    it('pages history backwards over the whole room with no gap or overlap', async () => {
      const client = await ChatClient.connect(node.wsUrl)
      for (const limit of [200, 37]) {
        const walked: string[] = []
        let before: string | undefined
        let pages = 0
        for (;;) {
          const reply = await client.request({
            type: 'history',
            room: 'big-room',
            limit,
            ...(before === undefined ? {} : { before }),
          })
          if (reply.type !== 'history') throw new Error(JSON.stringify(reply))
          pages++
          expect(reply.messages.length).toBe(reply.hasMore ? limit : 1100 - walked.length)
          walked.unshift(...reply.messages.map((m) => m.id))
          if (!reply.hasMore) break
          before = reply.messages[0]?.id
          expect(pages).toBeLessThan(100)
        }
        expect(pages).toBe(Math.ceil(1100 / limit))
        expect(walked).toEqual(ids)
      }
      client.close()
    })
  })

  it('says truncated only when a join without since leaves older messages out', async () => {
    const fifty = await writeMessages('fifty-room', 50)
    const first = await ChatClient.connect(node.wsUrl)
    const exactly = await first.join('fifty-room')
    expect(exactly.joined.truncated).toBe(false)
    expect(exactly.backlog.map((m) => m.id)).toEqual(fifty)

    const one = await first.say('fifty-room', 'the fifty-first')
    const second = await ChatClient.connect(node.wsUrl)
    const more = await second.join('fifty-room')
    expect(more.joined.truncated).toBe(true)
    expect(more.backlog.map((m) => m.id)).toEqual([...fifty.slice(1), one.id])

    const empty = await second.join('empty-room')
    expect(empty).toMatchObject({ backlog: [], joined: { truncated: false } })
    first.close()
    second.close()
  })
})

describe('joining a busy room', () => {
  it('never overlaps or leaves a hole between the backlog and the live stream', async () => {
    const room = 'busy-room'
    const writers = await Promise.all([1, 2, 3, 4].map(() => ChatClient.connect(node.wsUrl)))
    for (const w of writers) await w.join(room)
    // 4 × 120 messages: the first 320 in a burst, the rest paced over about a second.
    const writing = Promise.all(
      writers.map((w, i) =>
        w.sendMany(
          room,
          Array.from({ length: 120 }, (_, j) => `busy ${i}.${j}`),
        ),
      ),
    )
    await writers[0]?.messages(room, 100)
    const fromStart = await ChatClient.connect(node.wsUrl)
    const latest = await ChatClient.connect(node.wsUrl)
    const [a, b] = await Promise.all([fromStart.join(room, {}), latest.join(room)])
    const ids = (await writing)
      .flat()
      .map((ack) => ack.id)
      .sort((x, y) => seqOf(x) - seqOf(y))

    for (const [client, join] of [
      [fromStart, a],
      [latest, b],
    ] as const) {
      // It did join mid-stream: some messages came in the backlog, some live.
      expect(join.backlog.length).toBeGreaterThan(0)
      expect(join.backlog.length).toBeLessThan(ids.length)
      const firstSeq = seqOf(join.backlog[0]?.id ?? '')
      const expected = ids.filter((id) => seqOf(id) >= firstSeq)
      const got = await client.messages(room, expected.length)
      // One origin: seq strictly rising across backlog and live means no overlap; the same set
      // as everything written from there on means no hole.
      const seqs = got.map((m) => m.seq)
      expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? Infinity))).toBe(true)
      expect(got.map((m) => m.id)).toEqual(expected)
    }
    expect(a.backlog[0]?.id).toBe(ids[0])
    expect(b.backlog).toHaveLength(50)
    for (const c of [...writers, fromStart, latest]) c.close()
  })
})

describe('idempotent send', () => {
  it('acknowledges a resend of the same cid in a new session with the first id', async () => {
    const user = randomUser('resender')
    const watcher = await ChatClient.connect(node.wsUrl)
    await watcher.join('resend-room')

    const first = await ChatClient.connect(node.wsUrl, user)
    await first.join('resend-room')
    const ack = await first.say('resend-room', 'only once', 'cid-once')
    first.close()
    await first.closed

    // The ack was lost, say: the client resends from a new session.
    const again = await ChatClient.connect(node.wsUrl, user)
    await again.join('resend-room')
    const resent = await again.say('resend-room', 'only once', 'cid-once')
    expect(resent.id).toBe(ack.id)
    expect(resent.ts).toBe(ack.ts)
    expect(resent.cid).toBe('cid-once')

    // A new cid is a new message; so is the same cid from another user.
    const fresh = await again.say('resend-room', 'only once', 'cid-twice')
    expect(fresh.id).not.toBe(ack.id)
    const other = await ChatClient.connect(node.wsUrl)
    await other.join('resend-room')
    const othersCid = await other.say('resend-room', 'mine', 'cid-once')
    expect(othersCid.id).not.toBe(ack.id)

    // The room holds one message per distinct (user, cid); the watcher saw each once.
    const seen = await watcher.messages('resend-room', 3)
    await watcher.request({ type: 'ping' })
    expect(
      watcher.frames.filter((f) => f.type === 'message').map((m) => (m as Message).id),
    ).toEqual([ack.id, fresh.id, othersCid.id])
    expect(seen.map((m) => m.cid)).toEqual(['cid-once', 'cid-twice', 'cid-once'])
    const history = await watcher.request({ type: 'history', room: 'resend-room' })
    expect(history.type === 'history' && history.messages.map((m) => m.id)).toEqual([
      ack.id,
      fresh.id,
      othersCid.id,
    ])
    for (const c of [watcher, again, other]) c.close()
  })

  it('acknowledges a resend sent before the first ack with the same id', async () => {
    const client = await ChatClient.connect(node.wsUrl)
    await client.join('quick-resend')
    client.send({ type: 'send', room: 'quick-resend', text: 'hi', cid: 'twice', ref: 'r1' })
    client.send({ type: 'send', room: 'quick-resend', text: 'hi', cid: 'twice', ref: 'r2' })
    const ackFor = async (ref: string) =>
      (await client.waitFor((f) => f.type === 'ack' && f.ref === ref)).frame as FrameOf<'ack'>
    const [a, b] = await Promise.all([ackFor('r1'), ackFor('r2')])
    expect(b.id).toBe(a.id)
    await client.request({ type: 'ping' })
    expect(client.frames.filter((f) => f.type === 'message')).toHaveLength(1)
    const history = await client.request({ type: 'history', room: 'quick-resend' })
    expect(history.type === 'history' && history.messages.map((m) => m.id)).toEqual([a.id])
    client.close()
  })
})
