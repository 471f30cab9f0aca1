/**
 * A slow commit holds up only what depends on it. The node runs under an LD_PRELOAD shim
 * (test/support/slow-fsync.ts) that makes every fsync sleep, so one send's commit stays on the
 * disk for seconds; meanwhile frames that wait for no commit (a pong, another room's backlog,
 * presence) must reach their sessions before that send's ack, which waits for it.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { ServerFrame } from '../src/shared/protocol.ts'
import { ChatClient, randomUser } from './support/chat-client.ts'
import { cleanupNodes, startNode } from './support/node-process.ts'
import { slowFsync } from './support/slow-fsync.ts'
import { waitUntil } from './support/wait.ts'

/** How long each fsync sleeps while the delay is on: long enough to see past a loaded machine. */
const FSYNC_DELAY_MS = 2_000

afterAll(cleanupNodes)

describe('a slow commit', () => {
  it('delays its own ack, not pongs, presence or another room’s backlog', async () => {
    const slow = await slowFsync()
    const node = await startNode({ name: 'Slow', env: slow.env })
    const connect = (name: string) => ChatClient.connect(node.wsUrl, randomUser(name))
    const sender = await connect('sender')
    const listener = await connect('listener')
    const pinger = await connect('pinger')
    const readerUser = randomUser('reader')
    const reader = await ChatClient.connect(node.wsUrl, readerUser)
    const watcher = await connect('watcher')
    await sender.join('slow')
    await listener.join('slow')
    await watcher.join('archive')
    const archived = await watcher.sendMany('archive', ['kept', 'for', 'later'])

    // Every frame these sessions receive from now on, in the order this process received them
    // (one event loop, one list: the order of arrival across sockets).
    const arrivals: { who: string; frame: ServerFrame; at: number }[] = []
    for (const [who, client] of Object.entries({ sender, listener, pinger, reader, watcher })) {
      client.onFrame((frame) => arrivals.push({ who, frame, at: performance.now() }))
    }
    const arrival = (frame: ServerFrame) => arrivals.findIndex((a) => a.frame === frame)

    slow.delay(FSYNC_DELAY_MS)
    const { begun } = slow.delays()
    const cid = 'c-slow-commit'
    const sentAt = performance.now()
    sender.send({ type: 'send', room: 'slow', text: 'on a slow disk', cid, ref: cid })
    await waitUntil(() => slow.delays().begun > begun, 10_000, 'the commit’s fsync being delayed')

    // While that commit is on the disk:
    const pong = pinger.request({ type: 'ping' }, 30_000)
    const joined = reader.join('archive')
    const presence = watcher.next(
      'presence',
      (p) => p.users.some((u) => u.id === readerUser.id),
      30_000,
    )
    const ack = sender.next('ack', (a) => a.cid === cid, 30_000)

    const ponged = await pong
    expect(ponged.type).toBe('pong')
    const { backlog, joined: joinedFrame } = await joined
    expect(backlog.map((m) => m.id)).toEqual(archived.map((a) => a.id))
    const presenceFrame = await presence
    expect(presenceFrame.room).toBe('archive')
    const acked = await ack
    const delivered = await listener.next('message', (m) => m.cid === cid, 30_000)
    slow.off()

    // The shim did hold the commit: its ack took at least the delay, and a delayed fsync ended.
    const ackedAt = arrivals[arrival(acked)]?.at ?? Number.NaN
    expect(ackedAt - sentAt).toBeGreaterThanOrEqual(FSYNC_DELAY_MS)
    expect(slow.delays().ended).toBeGreaterThan(begun)
    expect(delivered.id).toBe(acked.id)

    // What waits on no commit came first; a failure lists the frames in their order of arrival.
    const order = `arrived: ${arrivals.map((a) => `${a.who} ${a.frame.type}`).join(', ')}`
    const beforeAck = (frame: ServerFrame) => arrival(frame) >= 0 && arrival(frame) < arrival(acked)
    expect(beforeAck(ponged), `the pong before the ack; ${order}`).toBe(true)
    expect(beforeAck(joinedFrame), `joined (with its backlog) before the ack; ${order}`).toBe(true)
    expect(beforeAck(presenceFrame), `presence before the ack; ${order}`).toBe(true)
  })
})
