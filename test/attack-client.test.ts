/**
 * Hostile clients against real `chat-node` processes (issue 9's attack rows on the client side):
 * each attack is refused or contained, and afterwards the node is alive, other sessions keep
 * chatting and the store reads back. Timing is measured, never slept on: waits are on frames,
 * `/health` and socket closes, with generous timeouts for a loaded machine.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_RESUME_ORIGINS_PER_SESSION } from '../src/main/node/resume-filters.ts'
import { ChatClient, type FrameOf, randomUser } from './support/chat-client.ts'
import {
  messagesIn,
  startFullMesh,
  vectorOf,
  waitForEqualVectors,
  waitForPeersUp,
  writeMessages,
} from './support/mesh.ts'
import { cleanupNodes, health, type NodeProcess, startNode } from './support/node-process.ts'
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts'
import { waitUntil } from './support/wait.ts'

const proxies: TcpProxy[] = []
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()))
  await cleanupNodes()
})

/** Two sessions in `room` that can show, at any moment, that chat still works between them. */
async function chatPair(node: NodeProcess, room: string): Promise<(text: string) => Promise<void>> {
  const speaker = await ChatClient.connect(node.wsUrl, randomUser('speaker'))
  const listener = await ChatClient.connect(node.wsUrl, randomUser('listener'))
  await speaker.join(room)
  await listener.join(room)
  return async (text) => {
    const ack = await speaker.say(room, text)
    await listener.waitFor((f) => f.type === 'message' && f.id === ack.id)
  }
}

/** The error replies a client got for requests whose ref starts with `prefix`. */
function errorsFor(client: ChatClient, prefix: string): FrameOf<'error'>[] {
  return client.frames.filter(
    (f): f is FrameOf<'error'> => f.type === 'error' && (f.ref ?? '').startsWith(prefix),
  )
}

/** A room name of the longest kind: 64 characters. */
function longRoom(tag: string, i: number): string {
  return `${tag}-${String(i).padStart(6, '0')}-`.padEnd(64, 'x')
}

/** A user with a 64-character id and name. */
function longUser(tag: string): { id: string; name: string } {
  return { id: `u${tag}${randomBytes(32).toString('hex')}`.slice(0, 64), name: tag.padEnd(64, 'n') }
}

describe('row 3: a client that joins thousands of rooms with long names', () => {
  it('is refused past the bounds per session and per node; presence and chat go on', async () => {
    const node = await startNode({ name: 'Rooms', logLevel: 'warn' })
    const check = await chatPair(node, 'lobby')

    // One session, paced within its frame rate: 100 joins pass, then each is refused.
    const greedy = await ChatClient.connect(node.wsUrl, longUser('greedy'))
    const frames = Array.from({ length: 160 }, (_, i) => ({
      type: 'join',
      room: longRoom('greedy', i),
      ref: `greedy-${i}`,
    }))
    for (const [i, frame] of frames.entries()) {
      greedy.send(frame)
      if (i >= 90) await new Promise((r) => setTimeout(r, 25)) // under 50 frames/s
    }
    await greedy.waitFor((f) => (f as { ref?: string }).ref === 'greedy-159', 0, 30_000)
    const joined = greedy.frames.filter((f) => f.type === 'joined')
    const refused = errorsFor(greedy, 'greedy-')
    expect(joined).toHaveLength(100)
    expect(refused).toHaveLength(60)
    expect(new Set(refused.map((f) => f.code))).toEqual(new Set(['bad_request']))
    await check('after one greedy session')

    // Many sessions together fill the node's 10,000 rooms; the next new room is refused.
    const crowd: ChatClient[] = []
    const crowdUsers: { id: string; name: string }[] = []
    // Rooms with members so far: the lobby and the greedy session's 100; one is left for `full`.
    for (let left = 10_000 - 1 - 100 - 1, s = 0; left > 0; s++) {
      const user = longUser(`c${s}`)
      const client = await ChatClient.connect(node.wsUrl, user)
      const count = Math.min(99, left) // the burst, less the hello
      for (let i = 0; i < count; i++) client.send({ type: 'join', room: longRoom(`c${s}`, i) })
      left -= count
      crowd.push(client)
      crowdUsers.push(user)
    }
    // A reply to a later frame means every join before it was handled (pong or rate_limited).
    await Promise.all(crowd.map((c) => c.request({ type: 'ping' }, 60_000)))
    const full = await ChatClient.connect(node.wsUrl, longUser('full'))
    expect((await full.request({ type: 'join', room: 'the-last-room' })).type).toBe('joined')
    const refusedNew = await full.request({ type: 'join', room: 'one-room-too-many' })
    expect(refusedNew).toMatchObject({ type: 'error', code: 'rate_limited' })
    // A room that has members here can still be joined.
    expect((await full.request({ type: 'join', room: longRoom('c0', 0) })).type).toBe('joined')

    // Presence is fine: a newcomer to an attacker's room is told who is there, and the attacker
    // hears of the newcomer.
    const watched = longRoom('c50', 5)
    const attacker = crowd[50] as ChatClient
    const newcomerUser = randomUser('newcomer')
    const newcomer = await ChatClient.connect(node.wsUrl, newcomerUser)
    // (ChatClient.join's ref would pass 64 characters with a room name this long.)
    const seen = await newcomer.request({ type: 'join', room: watched })
    if (seen.type !== 'joined') throw new Error(`join refused: ${JSON.stringify(seen)}`)
    expect(seen.users.map((u) => u.id).sort()).toEqual([crowdUsers[50]?.id, newcomerUser.id].sort())
    await attacker.waitFor(
      (f) => f.type === 'presence' && f.room === watched && f.users.length === 2,
      0,
      30_000,
    )
    await check('with 10,000 rooms')

    // When the crowd leaves, its rooms are free again.
    for (const c of [...crowd, greedy, newcomer]) c.close()
    // Left: the chat pair and `full`.
    await waitUntil(async () => (await health(node)).clients === 3, 30_000, 'the crowd gone')
    expect((await full.request({ type: 'join', room: 'after-the-crowd' })).type).toBe('joined')
    await check('after the crowd left')
    const reader = await ChatClient.connect(node.wsUrl)
    const { backlog } = await reader.join('lobby', {})
    expect(backlog.map((m) => m.text)).toEqual([
      'after one greedy session',
      'with 10,000 rooms',
      'after the crowd left',
    ])
  }, 120_000)
})

/** Opens a socket to `node` from `localAddress` (another loopback address is another client). */
function rawSocket(node: NodeProcess, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: node.clientPort, localAddress })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

describe('row 5: a thousand WebSocket connections that never say hello', () => {
  it('are bounded per address and closed after 10 s; others and /health are served', async () => {
    const node = await startNode({ name: 'Hellos', logLevel: 'info' })
    const check = await chatPair(node, 'calm')
    // The attacker is another address of the loopback network, as another machine would be.
    const attacker = '127.0.0.2'
    const ATTEMPTS = 1000
    const held: ChatClient[] = []
    let refused = 0
    const openedAt = Date.now()
    // In batches, so that this process holds at most a batch and the node's bound of sockets.
    for (let first = 0; first < ATTEMPTS; first += 100) {
      const batch = await Promise.allSettled(
        Array.from({ length: 100 }, () => ChatClient.open(node.wsUrl, { localAddress: attacker })),
      )
      for (const result of batch) {
        if (result.status === 'fulfilled') held.push(result.value)
        else refused++
      }
    }
    // The node's bound of connections from one address that are not welcomed sessions (the
    // first ones time out after 10 s, so a loop slower than that could see a few more).
    expect(held.length).toBeGreaterThan(0)
    expect(held.length).toBeLessThanOrEqual(64)
    expect(held.length + refused).toBe(ATTEMPTS)

    // Meanwhile everyone else is served: chat, a new session, /health.
    await check('while the attacker holds its connections')
    const newcomer = await ChatClient.connect(node.wsUrl)
    await newcomer.join('calm')
    expect((await health(node)).status).toBe('ok')
    // Slow requests from a third address: headers that never end, and nothing at all.
    const slow = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const socket = await rawSocket(node, '127.0.0.3')
        if (i % 2 === 0) socket.write('GET /health HTTP/1.1\r\nHost: x\r\n')
        socket.on('error', () => {})
        return new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())))
      }),
    )

    // Each held session is closed by the node once its 10 s for hello are over.
    const closes = await Promise.all(held.map((c) => c.closed))
    const closedAt = Date.now()
    expect(new Set(closes.map((c) => c.code))).toEqual(new Set([1008]))
    expect(closedAt - openedAt).toBeGreaterThanOrEqual(9_500)
    // HTTP's timeouts close the slow requests as well (headers within 10 s).
    const slowClosed = await Promise.all(slow)
    expect(Math.max(...slowClosed) - openedAt).toBeLessThan(60_000)

    // The address is free again: the same attacker may now open a real session.
    const reformed = await ChatClient.open(node.wsUrl, { localAddress: attacker })
    reformed.send({ type: 'hello', protocol: 1, user: randomUser('reformed') })
    await reformed.next('welcome')
    await check('after the attack')
    expect((await health(node)).clients).toBe(4)
    expect(node.stderr()).toContain('closing a chat session that sent no hello in time')
  }, 90_000)
})

/**
 * Floods `node` from a child process (so that reading the flood does not slow this process,
 * where the victim's pings are timed): `loopers` sessions each ask for the whole of `deepRoom`
 * every 20 ms and `typists` sessions in `room` each type every 20 ms (the frame rate limit),
 * for `ms`. Resolves with the frames each looper received.
 */
function flood(
  node: NodeProcess,
  options: { deepRoom: string; room: string; loopers: number; typists: number; ms: number },
): { started: Promise<void>; done: Promise<number[]> } {
  const program = `
    import WebSocket from 'ws'
    const { url, deepRoom, room, loopers, typists, ms } = JSON.parse(process.argv[1])
    const open = () => new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      const session = { ws, received: 0 }
      ws.on('error', reject)
      ws.on('message', (data) => {
        session.received++
        if (session.received === 1) resolve(session)
      })
      ws.on('open', () => ws.send(JSON.stringify({
        type: 'hello', protocol: 1, user: { id: 'flood' + Math.random().toString(36).slice(2, 12), name: 'flood' },
      })))
    })
    const looping = await Promise.all(Array.from({ length: loopers }, open))
    const typing = await Promise.all(Array.from({ length: typists }, open))
    for (const t of typing) t.ws.send(JSON.stringify({ type: 'join', room }))
    for (const l of looping) l.received = 0
    console.log('started')
    const join = JSON.stringify({ type: 'join', room: deepRoom, since: {} })
    const type = JSON.stringify({ type: 'typing', room })
    const timer = setInterval(() => {
      for (const l of looping) l.ws.send(join)
      for (const t of typing) t.ws.send(type)
    }, 20)
    setTimeout(() => {
      clearInterval(timer)
      console.log(JSON.stringify(looping.map((l) => l.received)))
      process.exit(0)
    }, ms)
  `
  const args = JSON.stringify({ url: node.wsUrl, ...options })
  const child = spawn(process.execPath, ['--input-type=module', '-e', program, args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  let markStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    if (stdout.startsWith('started')) markStarted()
  })
  const done = new Promise<number[]>((resolve, reject) =>
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? ''
      if (code === 0) resolve(JSON.parse(last) as number[])
      else reject(new Error(`the flood ended with ${code}: ${stdout}`))
    }),
  )
  return { started, done }
}

describe('row 8: backlog loops and typing floods', () => {
  it('leave other sessions’ pings and messages flowing, with a bounded stall', async () => {
    const node = await startNode({ name: 'Floods', logLevel: 'warn' })
    // A room of 1000 messages of about 4 KB each: every join with since {} reads all of them.
    await writeMessages(node, 'deep', 1000, { text: (s, i) => `${s}-${i} ${'x'.repeat(3900)}` })
    const victim = await ChatClient.connect(node.wsUrl, randomUser('victim'))
    const friend = await ChatClient.connect(node.wsUrl, randomUser('friend'))
    await victim.join('calm')
    await friend.join('calm')
    const typingBefore = victim.frames.filter((f) => f.type === 'typing').length

    // For 5 s, three sessions ask for the whole room every 20 ms and five type every 20 ms (the
    // frame rate limit), while the victim pings and chats.
    const ATTACK_MS = 5_000
    const attack = flood(node, {
      deepRoom: 'deep',
      room: 'calm',
      loopers: 3,
      typists: 5,
      ms: ATTACK_MS,
    })
    await attack.started
    const until = Date.now() + ATTACK_MS
    const stalls: number[] = []
    let said = 0
    while (Date.now() < until) {
      const started = performance.now()
      await victim.request({ type: 'ping' }, 60_000)
      stalls.push(performance.now() - started)
      if (stalls.length % 10 === 0) {
        const ack = await victim.say('calm', `during the flood ${said++}`)
        await friend.waitFor((f) => f.type === 'message' && f.id === ack.id, 0, 60_000)
      }
      // Pacing the probe under the victim's own frame rate (not a wait for state).
      await new Promise((r) => setTimeout(r, 30))
    }
    const received = await attack.done
    const worst = Math.max(...stalls)
    const sorted = [...stalls].sort((a, b) => a - b)
    console.log(
      `row 8: ${stalls.length} pings, median ${sorted[sorted.length >> 1]?.toFixed(0)} ms, ` +
        `worst ${worst.toFixed(0)} ms; frames to the loopers ${received.join(', ')}`,
    )
    // Before the bounds the worst ping took over 9 s here; with them, well under a second on
    // an idle machine. The bound is loose for a loaded one, and still far below the attack's.
    expect(worst).toBeLessThan(3_000)
    expect(said).toBeGreaterThan(0)
    // Each looper got its burst and then 1000 messages a second: about 6 backlogs, not 250.
    for (const frames of received) expect(frames).toBeLessThan(10 * 1001)
    // Typing reached the victim at the typing rate (burst 4, 1/s), not at the frame rate.
    const typing = victim.frames.filter((f) => f.type === 'typing').length - typingBefore
    expect(typing).toBeLessThanOrEqual(5 * (4 + ATTACK_MS / 1000 + 2))

    // A looper's backlogs come at the budget's pace, none refused: the first at once, the third
    // two budgets (a second each) later; a frame sent behind them waits its turn.
    const looper = await ChatClient.connect(node.wsUrl)
    const from = looper.frames.length
    const asked = performance.now()
    const replies = await Promise.all([
      ...[0, 1, 2].map(() => looper.request({ type: 'join', room: 'deep', since: {} }, 60_000)),
      looper.request({ type: 'ping' }, 60_000),
    ])
    expect(replies.map((r) => r.type)).toEqual(['joined', 'joined', 'joined', 'pong'])
    expect(performance.now() - asked).toBeGreaterThan(900)
    const order = looper.frames.slice(from).filter((f) => f.type === 'joined' || f.type === 'pong')
    expect(order.map((f) => f.type)).toEqual(['joined', 'joined', 'joined', 'pong'])
    const ack = await friend.say('calm', 'after the flood')
    await victim.waitFor((f) => f.type === 'message' && f.id === ack.id)
    const reader = await ChatClient.connect(node.wsUrl)
    const { backlog } = await reader.join('calm', {})
    expect(backlog.map((m) => m.text)).toEqual([
      ...Array.from({ length: said }, (_, i) => `during the flood ${i}`),
      'after the flood',
    ])
  }, 120_000)
})

describe('resumes naming origins nobody holds', () => {
  it('are refused past the session’s bound on resume state; the node and chat go on', async () => {
    const node = await startNode({ name: 'Resumes', logLevel: 'warn' })
    const check = await chatPair(node, 'resume-calm')
    // Each join's since names 1,024 made-up origins: the node would keep them all, per room.
    const since = Object.fromEntries(
      Array.from({ length: 1024 }, (_, i) => [`f${String(i).padStart(19, '0')}`, 1]),
    )
    const client = await ChatClient.connect(node.wsUrl)
    const replies = []
    for (let i = 0; i < 6; i++) {
      replies.push(await client.request({ type: 'join', room: `resume-${i}`, since }))
    }
    const per = MAX_RESUME_ORIGINS_PER_SESSION / 1024
    expect(replies.slice(0, per).map((r) => r.type)).toEqual(Array(per).fill('joined'))
    for (const refused of replies.slice(per)) {
      expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' })
    }
    await check('still chatting')
    // Leaving a room gives its share back.
    await client.request({ type: 'leave', room: 'resume-0' })
    expect(await client.request({ type: 'join', room: 'resume-9', since })).toMatchObject({
      type: 'joined',
    })
  })
})

describe('row 10: text that shows nothing, and lone surrogates', () => {
  it('is refused with bad_request and nothing is stored or delivered', async () => {
    const node = await startNode({ name: 'Texts', logLevel: 'warn' })
    const sender = await ChatClient.connect(node.wsUrl)
    const reader = await ChatClient.connect(node.wsUrl)
    await sender.join('texts')
    await reader.join('texts')
    const eventsBefore = (await health(node)).events
    const refused = [
      '\u200b\u200b\u200b',
      '\u200c\u200d\u200e\u200f',
      '\u2060\ufeff',
      '\ufe0f\ufe0f',
      '\u0301\u0302',
      ' \u3164 \u2800 ',
      '\ud800',
      'lone \udc00 surrogate',
      'cut emoji \ud83d',
    ]
    for (const [i, text] of refused.entries()) {
      const reply = await sender.request({ type: 'send', room: 'texts', text, cid: `bad${i}` })
      expect(reply, JSON.stringify(text)).toMatchObject({ type: 'error', code: 'bad_request' })
    }
    // A name that shows nothing, or with a lone surrogate, is refused at hello.
    for (const name of ['\u200b', 'Ada\ud800']) {
      const client = await ChatClient.open(node.wsUrl)
      const reply = await client.request({
        type: 'hello',
        protocol: 1,
        user: { ...randomUser(), name },
      })
      expect(reply).toMatchObject({ type: 'error', code: 'bad_request' })
      client.close()
    }

    // Nothing was stored: the node's count is unchanged and a full read of the room is empty,
    // and the reader got none of it.
    expect((await health(node)).events).toBe(eventsBefore)
    const fresh = await ChatClient.connect(node.wsUrl)
    expect((await fresh.join('texts', {})).backlog).toEqual([])
    expect(messagesIn(reader, 'texts')).toEqual([])

    // Text with visible characters among invisible ones is a message, stored as sent.
    const kept = '\u200bhi\u200b 👩🏽‍💻'
    const ack = await sender.say('texts', kept)
    const [message] = await reader.messages('texts', 1)
    expect(message).toMatchObject({ id: ack.id, text: kept })
    const again = await ChatClient.connect(node.wsUrl)
    expect((await again.join('texts', {})).backlog.map((m) => m.text)).toEqual([kept])
  })
})

describe('exact resume on a node that lags behind', () => {
  it('never sends a resumed session an event its since covered, live or in backlog', async () => {
    // A and B linked directly; C reaches both only through proxies this test cuts.
    const { nodes, ids } = await startFullMesh(['ResumeA', 'ResumeB'])
    const [a, b] = nodes as [NodeProcess, NodeProcess]
    const toA = await startTcpProxy(a.peerAddr)
    const toB = await startTcpProxy(b.peerAddr)
    proxies.push(toA, toB)
    const c = await startNode({ name: 'ResumeC', args: ['--peer', toA.addr, '--peer', toB.addr] })
    await waitForPeersUp(c, ids)
    const room = 'resume'
    const writerA = await ChatClient.connect(a.wsUrl, randomUser('wa'))
    const writerB = await ChatClient.connect(b.wsUrl, randomUser('wb'))
    for (const w of [writerA, writerB]) {
      await w.join(room)
      await w.join('elsewhere')
    }
    const user = randomUser('resumer')
    const first = await ChatClient.connect(a.wsUrl, user)
    await first.join(room)
    await writerA.sendMany(room, ['a1', 'a2'])
    await writerB.sendMany(room, ['b1'])
    await waitForEqualVectors([a, b, c])

    // C is cut off; A and B go on (with traffic in another room, so seqs have gaps here).
    toA.cut()
    toB.cut()
    await waitUntil(
      async () => (await health(c)).peers.every((p) => p.state !== 'up'),
      20_000,
      'C cut off',
    )
    await writerA.say(room, 'a3')
    await writerA.say('elsewhere', 'not in this room')
    await writerA.say(room, 'a4')
    await writerB.sendMany(room, ['b2', 'b3'])
    const seen = await first.messages(room, 7)
    const since = vectorOf(seen)
    expect(since).toEqual({ [ids[0] as string]: 5, [ids[1] as string]: 3 })
    first.close()
    // Written after the client left A: its since does not cover this one.
    const missed = await writerA.say(room, 'a5, missed')

    // The client resumes on C, which lacks a3, a4, b2, b3 (and a5).
    const resumed = await ChatClient.connect(c.wsUrl, user)
    const { backlog } = await resumed.join(room, since)
    expect(backlog).toEqual([])
    const onC = await resumed.say(room, 'c1, written on C')

    // C catches up from the mesh: of what it gets, only what since did not cover is sent.
    toA.restore()
    toB.restore()
    await waitForEqualVectors([a, b, c], 60_000)
    const marker = await writerB.say(room, 'after the heal')
    await resumed.waitFor((f) => f.type === 'message' && f.id === marker.id, 0, 30_000)
    // Exactly what it lacked, each once: its own message, the one it missed, the marker. Per
    // origin the marker comes last; a5 and the marker are of different origins.
    const got = messagesIn(resumed, room)
    expect(got.map((m) => m.id).sort()).toEqual([onC.id, missed.id, marker.id].sort())
    expect(got[0]?.id).toBe(onC.id)
  }, 120_000)
})
