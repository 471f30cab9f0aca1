/**
 * Errors stay where they happen, against a real WebSocket server in this process: a node whose
 * store fails for one room answers the session that asked with `internal` and closes it (1011),
 * while other sessions and timers go on. The failure is provoked by breaking one store method
 * of a real store: a client cannot make the node throw from outside (that would be a bug).
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from '../../../test/support/chat-client.ts'
import { tempDir, cleanupNodes } from '../../../test/support/node-process.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import { encodeSignature } from '../../shared/keys.ts'
import { CLOSE_INTERNAL_ERROR, CLOSE_UNAUTHORIZED } from '../../shared/limits.ts'
import { ClientServer } from './client-server.ts'
import type { NodeMetrics } from './metrics.ts'
import { NodeCore } from './node-core.ts'
import { type NodeOptionsInput, normalizeOptions } from './options.ts'
import type { Session } from './session.ts'

const running: { core: NodeCore; server: ClientServer }[] = []

afterEach(async () => {
  for (const { core, server } of running.splice(0)) {
    await server.close()
    core.close()
  }
  await cleanupNodes()
})

/** A node's core and client port in this process, on 127.0.0.1 with a free port. */
async function startInProcess(
  extra: Partial<NodeOptionsInput> = {},
): Promise<{ core: NodeCore; url: string }> {
  const options = normalizeOptions({
    name: 'InProcess',
    dataDir: join(tempDir(), 'data'),
    host: '127.0.0.1',
    port: 0,
    ...extra,
  })
  const core = new NodeCore(options)
  const server = new ClientServer(core, () => ({ status: 'ok' }))
  running.push({ core, server })
  const port = await server.listen('127.0.0.1', 0)
  return { core, url: `ws://127.0.0.1:${port}/` }
}

/** The welcomed session of the user `userId`. */
function sessionOf(core: NodeCore, userId: string): Session {
  const session = [...core.sessions].find((s) => s.welcomed && s.user.id === userId)
  if (!session) throw new Error(`no session of ${userId}`)
  return session
}

async function internalErrors(metrics: NodeMetrics, scope: string): Promise<number> {
  const metric = await metrics.internalErrors.get()
  return metric.values.find((v) => v.labels.scope === scope)?.value ?? -1
}

describe('a session whose handler throws', () => {
  it('gets internal and is closed with 1011; the node and other sessions go on', async () => {
    const { core, url } = await startInProcess()
    const latest = core.store.latest.bind(core.store)
    core.store.latest = (room, limit) => {
      if (room === 'cursed') throw new Error('the store failed for this room')
      return latest(room, limit)
    }
    const bystander = await ChatClient.connect(url)
    await bystander.join('calm')
    const victim = await ChatClient.connect(url)
    await victim.join('calm')

    victim.send({ type: 'join', room: 'cursed', ref: 'j1' })
    const error = await victim.next('error')
    expect(error).toMatchObject({ code: 'internal', ref: 'j1' })
    expect((await victim.closed).code).toBe(CLOSE_INTERNAL_ERROR)
    expect(await internalErrors(core.metrics, 'session')).toBe(1)

    // The other session still chats, and new sessions come in.
    const ack = await bystander.say('calm', 'still here')
    await bystander.waitFor((f) => f.type === 'message' && f.id === ack.id)
    const newcomer = await ChatClient.connect(url)
    await newcomer.join('calm')
    expect(core.sessions.size).toBe(2)
    // The closed session left its rooms: presence no longer shows it.
    const { joined } = await newcomer.join('calm')
    expect(joined.users).toHaveLength(2)
  })
})

describe('a presence flush that throws', () => {
  it('is counted under timer, and the other rooms still hear who is online', async () => {
    const { core, url } = await startInProcess()
    const watcher = await ChatClient.connect(url)
    const leaving = await ChatClient.connect(url)
    for (const client of [watcher, leaving]) {
      await client.join('bad')
      await client.join('good')
    }
    const roomUsers = core.roomUsers.bind(core)
    core.roomUsers = (room) => {
      if (room === 'bad') throw new Error('presence failed for this room')
      return roomUsers(room)
    }
    // Leaving changes both rooms' presence in one turn; only `bad` fails.
    const from = watcher.frames.length
    leaving.close()
    await watcher.waitFor(
      (f) => f.type === 'presence' && f.room === 'good' && f.users.length === 1,
      from,
    )
    expect(await internalErrors(core.metrics, 'timer')).toBe(1)
    // The node still works: a message arrives, in either room.
    core.roomUsers = roomUsers
    for (const room of ['good', 'bad']) {
      const ack = await watcher.say(room, 'after the failed flush')
      await watcher.waitFor((f) => f.type === 'message' && f.id === ack.id)
    }
  })
})

describe('the heartbeat', () => {
  it("clears a session's ping when its client answers it, and not when it does not", async () => {
    const { core, url } = await startInProcess()
    const live = randomUser('live')
    const mute = randomUser('mute')
    await ChatClient.connect(url, live)
    const muteClient = await ChatClient.open(url, { autoPong: false })
    muteClient.send({ type: 'hello', protocol: 1, user: mute })
    await muteClient.next('welcome')
    const [liveSession, muteSession] = [sessionOf(core, live.id), sessionOf(core, mute.id)]
    for (const session of [liveSession, muteSession]) session.ping()
    expect(muteSession.awaitingPong).toBe(true)
    await waitUntil(() => !liveSession.awaitingPong, 5_000, "the live client's pong")
    // The node has read the mute client's socket past its ping, and it still owes the pong:
    // the next heartbeat ends it.
    expect(await muteClient.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
    expect(muteSession.awaitingPong).toBe(true)
  })
})

describe('a session waiting for its backlog budget', () => {
  it('is not taken for dead by the heartbeat while its frames wait', async () => {
    // A budget of 1 message a second: the second join's backlog has to wait for it.
    const { core, url } = await startInProcess({ backlogRateLimit: { perSecond: 1, burst: 1 } })
    const writer = await ChatClient.connect(url)
    await writer.join('busy')
    for (const text of ['one', 'two', 'three']) await writer.say('busy', text)
    const reader = await ChatClient.connect(url)
    await reader.join('busy') // spends the budget
    reader.send({ type: 'join', room: 'busy-too', ref: 'waits' })
    reader.send({ type: 'join', room: 'busy', ref: 'waits-more' })
    const [session] = [...core.sessions].filter((s) => s.welcomed).slice(-1)
    if (!session) throw new Error('no session')
    await waitUntil(() => session.waitingForBacklog, 5_000, 'the join waiting for the budget')
    // Two heartbeats while it waits: neither leaves it awaiting a pong it cannot read yet.
    for (let beat = 0; beat < 2; beat++) {
      expect(session.awaitingPong).toBe(false)
      session.ping()
    }
    await reader.next('joined', (f) => f.ref === 'waits-more')
    expect(core.sessions.has(session)).toBe(true)
  })

  it("keeps a budget it is in debt with through the heartbeat's sweep", async () => {
    const { core, url } = await startInProcess({ backlogRateLimit: { perSecond: 1, burst: 1 } })
    const writer = await ChatClient.connect(url)
    await writer.join('busy')
    for (const text of ['one', 'two', 'three']) await writer.say('busy', text)
    const user = randomUser('reader')
    const reader = await ChatClient.connect(url, user)
    await reader.join('busy') // three messages read: two in debt
    const session = sessionOf(core, user.id)
    session.dropFullBudgets()
    reader.send({ type: 'join', room: 'busy-too', ref: 'after' })
    await waitUntil(() => session.waitingForBacklog, 5_000, 'the join waiting for the budget')
    await reader.next('joined', (f) => f.ref === 'after')
  })
})

describe('a session the node refused', () => {
  it('acts on nothing it sent after the refusal', async () => {
    const { core, url } = await startInProcess({ token: 'right', secret: 'a-mesh-secret' })
    const client = await ChatClient.open(url)
    // All in one burst: a hello with a wrong token, then one the node would welcome, a join and
    // a send. The node is closing the session after the first.
    for (const frame of [
      { type: 'hello', protocol: 1, user: randomUser(), token: 'wrong' },
      { type: 'hello', protocol: 1, user: randomUser(), token: 'right' },
      { type: 'join', room: 'general' },
      { type: 'send', room: 'general', text: 'let in after all?', cid: 'c1' },
    ]) {
      client.send(frame)
    }
    expect((await client.closed).code).toBe(CLOSE_UNAUTHORIZED)
    expect(client.frames).toEqual([
      expect.objectContaining({ type: 'error', code: 'unauthorized' }),
    ])
    expect(core.store.count).toBe(0)
  })
})

describe('keys at hello, prove and send', () => {
  it('answers a prove with no challenge to answer', async () => {
    const { url } = await startInProcess()
    const client = await ChatClient.open(url)
    const prove = { type: 'prove', sig: encodeSignature(new Uint8Array(64)) }
    expect(await client.request(prove)).toMatchObject({ code: 'hello_required' })
    client.send({ type: 'hello', protocol: 1, user: randomUser() })
    await client.next('welcome')
    expect(await client.request(prove)).toMatchObject({ code: 'bad_request' })
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
  })

  it('refuses a usig in the send of a user without a key, and stores nothing', async () => {
    const { core, url } = await startInProcess()
    const client = await ChatClient.connect(url)
    await client.join('general')
    const send = { type: 'send', room: 'general', text: 'unsigned', cid: 'c1' }
    const usig = encodeSignature(new Uint8Array(64).fill(1))
    expect(await client.request({ ...send, usig })).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: expect.stringContaining('usig'),
    })
    expect(core.store.count).toBe(0)
    expect(await client.request(send)).toMatchObject({ type: 'ack', cid: 'c1' })
  })

  it('refuses keyless users on a node that requires keys', async () => {
    const { url } = await startInProcess({ requireKeys: true })
    const client = await ChatClient.open(url)
    client.send({ type: 'hello', protocol: 1, user: randomUser() })
    expect(await client.next('error')).toMatchObject({ code: 'unauthorized' })
    expect((await client.closed).code).toBe(CLOSE_UNAUTHORIZED)
  })
})
