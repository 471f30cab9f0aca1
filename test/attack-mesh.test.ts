/**
 * The attacks on the mesh found by the attack suite (docs/protocol.md, "Limits"), each against a
 * three-node full mesh of real `chat-node` processes (A, B, C, with a mesh secret) with the
 * attacker on A: a client of A, or a peer that knows the secret, played by hand
 * (support/fake-peer.ts). After each attack every node is alive, sessions on every node keep
 * chatting, vectors converge, nothing was merely caught as an internal error, and A, killed and
 * started again on its data, serves the room's history. Connections that never authenticate
 * are bounded per address on the peer port.
 *
 * Then a node whose store was poisoned before clocks were bounded starts, and a ring whose links
 * were cut long enough to build redial backoff is whole again within 5 s of the heal.
 */
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAX_WANT_SEQS } from '../src/shared/peer-protocol.ts'
import type { User } from '../src/shared/protocol.ts'
import { MAX_CLOCK_AHEAD_MS } from '../src/main/node/clock.ts'
import { NODES_FRAME_MAX_RECORDS, MAX_DIRECTORY_NODES } from '../src/main/node/mesh/directory.ts'
import { MAX_LISTED_NODES } from '../src/main/node/mesh/node-records.ts'
import {
  EARLY_MAX_BYTES_PER_LINK,
  EARLY_MAX_EVENTS_PER_LINK,
} from '../src/main/node/mesh/early-events.ts'
import { DEFAULT_MAX_PENDING_PEERS_PER_ADDRESS } from '../src/main/node/options.ts'
import { MAX_TS } from '../src/main/node/store.ts'
import { ChatClient, OpenedSessions, randomUser } from './support/chat-client.ts'
import {
  closeFakePeers,
  FakePeer,
  nodeRecord,
  presenceFrame,
  testIdentity,
  wireEvent,
} from './support/fake-peer.ts'
import {
  linkedFakePeer,
  startFullMesh,
  nodeId,
  waitForEqualVectors,
  waitForPeersUp,
  waitForUsers,
  writeMessages,
} from './support/mesh.ts'
import { writeOldStore } from './support/old-store.ts'
import {
  cleanupNodes,
  health,
  metrics,
  metricValue,
  type NodeProcess,
  restartNode,
  startNode,
  tempDir,
  waitForHealth,
} from './support/node-process.ts'
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts'
import { waitUntil } from './support/wait.ts'

const SECRET = 'attack-suite-secret'
/** The room the long-lived sessions on B and C chat in after every attack. */
const CHAT = 'chat'

let a: NodeProcess
let b: NodeProcess
let c: NodeProcess
let idA: string
let idB: string
let idC: string
/** Sessions on B and C that live through every attack. */
let onB: ChatClient
let onC: ChatClient
/** Sessions a test opens, closed after it. */
const sessions = new OpenedSessions()
let round = 0

afterAll(cleanupNodes)

/** A session on `node` (closed after the test), joined to `room` when given. */
function session(node: NodeProcess, room?: string, user?: User): Promise<ChatClient> {
  return sessions.open(node, room, user)
}

/** A peer that knows the secret, linked to A and synced. */
function attacker(about: { name?: string } = {}): Promise<FakePeer> {
  return linkedFakePeer(a, SECRET, about)
}

async function internalErrors(node: NodeProcess): Promise<number> {
  const text = await metrics(node)
  return ['session', 'link', 'timer']
    .map((scope) => metricValue(text, `palaver_internal_errors_total{scope="${scope}"}`) ?? 0)
    .reduce((x, y) => x + y, 0)
}

/**
 * What must hold after every attack: the three nodes run, each chats with the others, vectors
 * converge, no error had to be contained, and A killed and started again on its data links up
 * and serves `room`'s history with `texts` in it.
 */
async function expectMeshSurvived(room: string, texts: readonly string[]): Promise<void> {
  for (const node of [a, b, c]) expect(node.child.exitCode, `${node.name} runs`).toBeNull()
  const n = ++round
  await onB.say(CHAT, `from B ${n}`)
  await onC.next('message', (m) => m.text === `from B ${n}`)
  await onC.say(CHAT, `from C ${n}`)
  await onB.next('message', (m) => m.text === `from C ${n}`)
  const onA = await session(a, CHAT)
  await onA.say(CHAT, `from A ${n}`)
  await Promise.all([onB, onC].map((s) => s.next('message', (m) => m.text === `from A ${n}`)))
  await waitForEqualVectors([a, b, c], 30_000)
  for (const node of [a, b, c]) expect(await internalErrors(node), node.name).toBe(0)

  await a.kill('SIGKILL')
  a = await restartNode(a, { args: ['--secret', SECRET] })
  await waitForPeersUp(a, [idB, idC], 30_000)
  const reader = await session(a)
  const { backlog } = await reader.join(room)
  expect(backlog.map((m) => m.text)).toEqual(expect.arrayContaining([...texts]))
  await waitForEqualVectors([a, b, c], 30_000)
}

describe('attacks on a mesh of three', () => {
  beforeAll(async () => {
    const mesh = await startFullMesh(['A', 'B', 'C'], { args: ['--secret', SECRET] })
    ;[a, b, c] = mesh.nodes as [NodeProcess, NodeProcess, NodeProcess]
    ;[idA, idB, idC] = mesh.ids as [string, string, string]
    onB = await ChatClient.connect(b.wsUrl, randomUser('bea'))
    onC = await ChatClient.connect(c.wsUrl, randomUser('cid'))
    await Promise.all([onB.join(CHAT), onC.join(CHAT)])
  }, 60_000)
  afterEach(() => {
    closeFakePeers()
    sessions.closeAll()
  })
  afterAll(async () => {
    onB.close()
    onC.close()
    await Promise.all([a, b, c].map((node) => node.kill('SIGKILL')))
  })

  it('row 1: a room and a user named constructor end no node, nor a peer that claims that id', async () => {
    const room = 'constructor'
    const watcher = await session(b, room)
    const joiner = randomUser('joiner')
    const onA = await session(a, room, joiner)
    await onA.say(room, 'a message in constructor')
    // B has applied A's presence naming the room: where B and C used to throw.
    await waitForUsers(watcher, room, (users) => users.some((u) => u.id === joiner.id))

    // A node id is the hash of a key: a peer that says it is node constructor is refused.
    const impostor = await FakePeer.connect({ port: a.peerPort, node: { id: 'constructor' } })
    impostor.hello()
    impostor.auth(SECRET)
    expect(await impostor.next('error')).toMatchObject({ code: 'bad_frame' })
    await impostor.closed

    // A peer with a user named constructor too, naming it everywhere a peer can.
    const eve = await attacker({ name: 'Eve' })
    const eveUser = { id: 'constructor', name: 'Eve' }
    eve.send({ type: 'sync', vector: { [idA]: 0 } })
    eve.send(presenceFrame(eve.keys, 1, { constructor: [eveUser] }))
    eve.send({ type: 'nodes', nodes: [nodeRecord(eve.keys, { name: 'Eve' })] })
    eve.send(eve.keys.sign({ type: 'typing', origin: eve.node.id, eseq: 1, room, user: eveUser }))
    eve.send({ type: 'want', origin: eve.node.id, from: 1, to: 1 })
    eve.send({
      type: 'event',
      event: wireEvent(eve.keys, 1, room, 'from constructor', { user: eveUser }),
    })
    await watcher.next('message', (m) => m.text === 'from constructor')
    await waitForUsers(watcher, room, (users) =>
      users.some((u) => u.node === eve.node.id && u.id === eveUser.id),
    )

    // The client leaves: its node used to die here.
    onA.close()
    await waitForUsers(watcher, room, (users) => !users.some((u) => u.id === joiner.id))
    await expectMeshSurvived(room, ['a message in constructor', 'from constructor'])
  })

  it('row 2: an event with ts = MAX_SAFE_INTEGER is kept and shown, moves no clock, and its skew is reported', async () => {
    const room = 'future'
    const watchers = [await session(b, room), await session(c, room)]
    const eve = await attacker({ name: 'Timetraveller' })
    const far = wireEvent(eve.keys, 1, room, 'from the end of time', { ts: MAX_TS })
    eve.send({ type: 'event', event: far })
    for (const watcher of watchers) {
      const seen = await watcher.next('message', (m) => m.origin === eve.node.id)
      expect(seen).toMatchObject({ text: 'from the end of time', ts: MAX_TS })
    }
    // What is written after it is stamped with today's time, on A and on B.
    const writers = [await session(a, room), watchers[0] as ChatClient]
    for (const [i, writer] of writers.entries()) {
      const ack = await writer.say(room, `written after ${i}`)
      expect(Math.abs(ack.ts / 1000 - Date.now())).toBeLessThan(60_000)
    }
    // Every node reads the room back (a join used to get `internal`), once each holds all.
    const texts = ['from the end of time', 'written after 0', 'written after 1']
    await waitForEqualVectors([a, b, c])
    for (const node of [a, b, c]) {
      const { backlog } = await (await session(node)).join(room)
      expect(backlog.map((m) => m.text)).toEqual(expect.arrayContaining(texts))
    }
    // A shows how far ahead the peer's clock is.
    const h = await waitForHealth(a, (s) =>
      s.peers.some((p) => p.id === eve.node.id && p.skewMs !== undefined),
    )
    expect(h.peers.find((p) => p.id === eve.node.id)?.skewMs).toBeGreaterThan(MAX_CLOCK_AHEAD_MS)
    await expectMeshSurvived(room, texts)
  })

  it('row 2, later: a node whose store holds a ts past MAX_SAFE_INTEGER starts and catches the mesh up', async () => {
    // What a node wrote before clocks were bounded: its own events past MAX_SAFE_INTEGER.
    const dataDir = join(tempDir(), 'data')
    const oldId = 'a0a0a0a0a0a0a0a0a0a0'
    const poisoned = (seq: number) => ({
      origin: oldId,
      seq,
      ts: BigInt(MAX_TS) + BigInt(seq),
      room: 'poisoned',
      userId: 'user_old01',
      userName: 'Old',
      text: `past the safe range ${seq}`,
      cid: `p${seq}`,
    })
    writeOldStore(dataDir, 1, oldId, [poisoned(1), poisoned(2)])

    const old = await startNode({
      name: 'Old',
      dataDir,
      args: ['--secret', SECRET, '--peer', a.peerAddr],
    })
    try {
      const reader = await session(old)
      const { backlog } = await reader.join('poisoned')
      expect(backlog.map((m) => [m.text, m.ts])).toEqual([
        ['past the safe range 1', MAX_TS],
        ['past the safe range 2', MAX_TS],
      ])
      const ack = await reader.say('poisoned', 'written today')
      expect(Math.abs(ack.ts / 1000 - Date.now())).toBeLessThan(60_000)
      await waitForEqualVectors([a, b, c, old], 30_000)
      // Every node reads them, in display order (ts, origin): today's message first.
      for (const node of [a, b, c]) {
        const texts = (await (await session(node)).join('poisoned')).backlog.map((m) => m.text)
        expect(texts).toEqual(['written today', 'past the safe range 1', 'past the safe range 2'])
      }
    } finally {
      await old.kill('SIGKILL')
    }
    await expectMeshSurvived('poisoned', ['past the safe range 1', 'written today'])
  })

  it('rows 3 and 7: presence past 4 MiB and past 10,000 rooms is announced bounded; no link drops', async () => {
    /** Rooms one session joins at once: within the rate limit's burst and maxRoomsPerSession. */
    const ROOMS_PER_SESSION = 90
    const PARALLEL_SESSIONS = 8
    // Two users in 9,900 rooms of A with long names (A holds at most 10,000 rooms).
    const flooders = ['0', '1'].map((n) => ({ id: `f${n.repeat(63)}`, name: '中'.repeat(64) }))
    const rooms = Array.from(
      { length: 9_900 },
      (_, i) => `${String(i).padStart(5, '0')}-${'x'.repeat(58)}`,
    )
    // A's whole presence is past the old frame limit: 4 MiB.
    const whole = JSON.stringify(Object.fromEntries(rooms.map((room) => [room, flooders])))
    expect(Buffer.byteLength(whole)).toBeGreaterThan(4 * 1024 * 1024)

    const drops = () =>
      [a, b, c].map(
        (node) =>
          node
            .stderr()
            .split('\n')
            .filter((l) => l.includes('"msg":"peer link down"')).length,
      )
    const dropsBefore = drops()
    const lobby = await session(b, 'lobby')
    const first = rooms[0] as string
    const firstRoom = await session(b, first)
    // The flooders are in the lobby too: it is the busiest room of A.
    const sessions = await Promise.all(flooders.map((user) => session(a, 'lobby', user)))
    for (const flooder of flooders) {
      for (let at = 0; at < rooms.length; at += ROOMS_PER_SESSION * PARALLEL_SESSIONS) {
        const slices = Array.from({ length: PARALLEL_SESSIONS }, (_, k) =>
          rooms.slice(at + k * ROOMS_PER_SESSION, at + (k + 1) * ROOMS_PER_SESSION),
        ).filter((slice) => slice.length > 0)
        const batch = slices.map(async (slice) => {
          const flood = await session(a, undefined, flooder)
          let joined = 0
          const all = flood.waitFor(
            (f) => f.type === 'joined' && ++joined === slice.length,
            0,
            30_000,
          )
          for (const room of slice) flood.send({ type: 'join', room })
          await all
          return flood
        })
        sessions.push(...(await Promise.all(batch)))
      }
    }

    // Row 7: a node (a peer of A) announces 12,000 rooms.
    const eve = await attacker({ name: 'Crowded' })
    const eveUser = { id: 'user_eve01', name: 'Eve' }
    const eveRooms = Array.from({ length: 12_000 }, (_, i) => `e${i}`)
    eve.send(
      presenceFrame(eve.keys, 1, Object.fromEntries(eveRooms.map((room) => [room, [eveUser]]))),
    )
    const crowded = await session(b, eveRooms.at(-1))
    await waitForUsers(crowded, eveRooms.at(-1) as string, (users) =>
      users.some((u) => u.node === eve.node.id),
    )

    // A presence A announced after the flood reached B.
    const marker = randomUser('marker')
    await session(a, 'lobby', marker)
    await waitForUsers(lobby, 'lobby', (users) => users.some((u) => u.id === marker.id))
    await waitForUsers(firstRoom, first, (users) => users.some((u) => u.id === flooders[0]?.id))
    // A's quietest rooms are not announced: B does not show the flooders in the last one.
    const lastRoom = await session(b)
    const { joined } = await lastRoom.join(rooms.at(-1) as string)
    expect(joined.users.filter((u) => u.node === idA)).toEqual([])
    expect(a.stderr()).toContain('too many rooms to announce')
    expect(eve.isClosed).toBe(false)
    expect(drops()).toEqual(dropsBefore)

    for (const flood of sessions) flood.close()
    const flooderIds = flooders.map((f) => f.id)
    await waitForUsers(
      lobby,
      'lobby',
      (users) =>
        users.some((u) => u.id === marker.id) && users.every((u) => !flooderIds.includes(u.id)),
    )
    expect(drops()).toEqual(dropsBefore)
    await expectMeshSurvived(CHAT, [])
  }, 180_000)

  it('a record whose URL a client must not dial never reaches a failover list', async () => {
    const eve = await attacker()
    // Records signed by the nodes they describe: only their URLs are wrong.
    const record = (url: string) =>
      nodeRecord(testIdentity(), { name: 'Trap', url, peerAddr: '127.0.0.1:1', version: 1 })
    const bad = [
      record('javascript:alert(1)'),
      record('http://evil.example/'),
      record('ws://user:pass@evil.example/'),
    ]
    const good = record('ws://192.0.2.7:8080/')
    eve.send({ type: 'nodes', nodes: [...bad, good] })
    // Frames of a link are handled in order: once this event is in, the records are too.
    const watcher = await session(a, 'trap-records')
    eve.send({ type: 'event', event: wireEvent(eve.keys, 1, 'trap-records', 'after them') })
    await watcher.next('message', (m) => m.text === 'after them')

    const welcome = (await session(a)).frames.find((f) => f.type === 'welcome')
    const ids = welcome?.type === 'welcome' ? welcome.nodes.map((n) => n.id) : []
    expect(ids).toContain(good.id)
    for (const trap of bad) expect(ids).not.toContain(trap.id)
  })

  it('row 4: five nodes frames full of records fill no more than 1,000, and new links still come up', async () => {
    const eve = await attacker()
    // Each signed by the node it describes (made up for it), with the longest fields.
    const record = (i: number) =>
      nodeRecord(testIdentity(), {
        name: 'N'.repeat(64),
        url: `ws://${'h'.repeat(490)}:${i}/`,
        peerAddr: `${'p'.repeat(290)}:9080`,
        version: 1,
      })
    for (let frame = 0; frame < 5; frame++)
      eve.send({ type: 'nodes', nodes: Array.from({ length: 1024 }, (_, i) => record(i)) })
    // Frames of a link are handled in order: once this event is in, the records are too.
    const watcher = await session(a, 'records')
    eve.send({ type: 'event', event: wireEvent(eve.keys, 1, 'records', 'after the records') })
    await watcher.next('message', (m) => m.text === 'after the records')

    /** The nodes a fresh session on `node` is told of in its `welcome`. */
    const listed = async (node: NodeProcess) => {
      const welcome = (await session(node)).frames.find((f) => f.type === 'welcome')
      return welcome?.type === 'welcome' ? welcome.nodes : []
    }
    for (const node of [a, b, c]) {
      const records = async () =>
        metricValue(await metrics(node), 'palaver_mesh_directory_records') ?? 0
      await waitUntil(
        async () => (await records()) > MAX_DIRECTORY_NODES / 2,
        10_000,
        `${node.name} has taken the records in`,
      )
      expect(await records()).toBeLessThanOrEqual(MAX_DIRECTORY_NODES)
      // Clients are told of few nodes, those they can fail over to first.
      const nodes = await listed(node)
      expect(nodes.length).toBeLessThanOrEqual(MAX_LISTED_NODES)
      const up = nodes.filter((n) => n.up)
      expect(up.map((n) => n.id)).toEqual(expect.arrayContaining([idA, idB, idC]))
      expect(nodes.slice(0, up.length)).toEqual(up)
    }
    // What A passed on came in bounded frames, not as the whole directory.
    const passedOn = eve.all('nodes')
    expect(passedOn.length).toBeGreaterThan(0)
    for (const frame of passedOn)
      expect(frame.nodes.length).toBeLessThanOrEqual(NODES_FRAME_MAX_RECORDS)

    // A node that joins now links to A and B and learns of the mesh.
    const d = await startNode({
      name: 'D',
      args: ['--secret', SECRET, '--peer', a.peerAddr, '--peer', b.peerAddr],
    })
    try {
      await waitForPeersUp(d, [idA, idB], 30_000)
      await waitUntil(
        async () => {
          const ids = (await listed(d)).filter((n) => n.up).map((n) => n.id)
          return [idA, idB, idC].every((id) => ids.includes(id))
        },
        20_000,
        'D knows the mesh',
      )
    } finally {
      await d.kill('SIGKILL')
    }
    // A restarted: B and C link to it again (they used to fail on every new link).
    await expectMeshSurvived('records', ['after the records'])
  }, 90_000)

  it('row 6: want {from: 1, to: 1} is answered with that event, a long range with the first 1,000', async () => {
    const room = 'archive'
    await writeMessages(b, room, MAX_WANT_SEQS + 50, { label: 'archive' })
    await waitForEqualVectors([a, b, c], 30_000)
    const eve = await attacker()
    const seqsOfB = () =>
      eve.all('event').flatMap((f) => (f.event.origin === idB ? [f.event.seq] : []))
    const writer = await session(a, room)
    /** A message written on A reaches the peer live: whatever was streamed came before it. */
    const barrier = async (text: string) => {
      await writer.say(room, text)
      await eve.next('event', (f) => f.event.text === text, 20_000)
    }

    eve.send({ type: 'want', origin: idB, from: 1, to: 1 })
    await eve.next('event', (f) => f.event.origin === idB)
    await barrier('barrier 1')
    expect(seqsOfB()).toEqual([1])

    eve.send({ type: 'want', origin: idB, from: 1, to: 1_000_000 })
    await waitUntil(() => seqsOfB().length >= 1 + MAX_WANT_SEQS, 30_000, 'the long range answered')
    await barrier('barrier 2')
    const range = Array.from({ length: MAX_WANT_SEQS }, (_, i) => i + 1)
    expect(seqsOfB()).toEqual([1, ...range])
    await expectMeshSurvived(room, ['barrier 1', 'barrier 2'])
  }, 90_000)

  it('unauthenticated connections to the peer port: past the bound per address, closed at once', async () => {
    const sockets = await Promise.all(
      Array.from({ length: DEFAULT_MAX_PENDING_PEERS_PER_ADDRESS + 4 }, async () => {
        const socket = netConnect({ host: '127.0.0.1', port: a.peerPort })
        socket.on('error', () => {})
        socket.resume() // read and drop whatever comes (a TLS alert)
        await new Promise<void>((resolve) => socket.once('connect', resolve))
        return socket
      }),
    )
    const closed = () => sockets.filter((s) => s.closed).length
    await waitUntil(() => closed() >= 4, 3_000, 'the connections past the bound closed')
    expect(closed()).toBe(4)
    // The others say nothing: the handshake timeout closes them.
    await waitUntil(() => closed() === sockets.length, 20_000, 'every connection closed')
    await expectMeshSurvived(CHAT, [])
  })

  it('row 9: junk early events are kept within the per-link bounds and let go with the link', async () => {
    const room = 'junk'
    const watcher = await session(a, room)
    const junk = 'j'.repeat(4_000)
    const earlyKept = async () => metricValue(await metrics(a), 'palaver_mesh_early_events') ?? -1

    // 3,000 events of 100 made-up origins (signed by them), each far past its origin's next
    // seq: 12 MB.
    const eve = await attacker()
    const origins = Array.from({ length: 100 }, () => testIdentity())
    for (let i = 0; i < 3_000; i++) {
      const origin = origins[i % origins.length] as (typeof origins)[number]
      eve.send({ type: 'event', event: wireEvent(origin, 1_000 + i, room, junk) })
    }
    eve.send({ type: 'event', event: wireEvent(eve.keys, 1, room, 'after the junk') })
    await watcher.next('message', (m) => m.text === 'after the junk', 60_000)
    const text = await metrics(a)
    expect(await earlyKept()).toBeGreaterThan(0)
    expect(await earlyKept()).toBeLessThanOrEqual(EARLY_MAX_EVENTS_PER_LINK)
    expect(metricValue(text, 'palaver_mesh_early_event_bytes')).toBeLessThanOrEqual(
      EARLY_MAX_BYTES_PER_LINK,
    )
    eve.destroy()
    await waitUntil(async () => (await earlyKept()) === 0, 20_000, 'the early events let go')

    // One origin's 3,000 events before the one that fills the hole: only what was kept aside
    // follows it in (the rest would come again with the peer's next sync).
    const eve2 = await attacker()
    for (let seq = 2; seq <= 3_001; seq++)
      eve2.send({ type: 'event', event: wireEvent(eve2.keys, seq, room, junk) })
    eve2.send({ type: 'event', event: wireEvent(eve2.keys, 1, room, 'the hole filled') })
    await watcher.next('message', (m) => m.text === 'the hole filled', 60_000)
    const held = (await waitForHealth(a, (h) => (h.vector[eve2.node.id] ?? 0) > 1)).vector
    expect(held[eve2.node.id]).toBeLessThanOrEqual(1 + EARLY_MAX_EVENTS_PER_LINK)
    await expectMeshSurvived(room, ['the hole filled'])
  }, 120_000)
})

describe('healing', () => {
  const proxies: TcpProxy[] = []
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()))
  })

  it('a ring of five cut long enough to build redial backoff is whole within 5 s of the heal', async () => {
    const N = 5
    // Node i dials node i+1 through proxy i.
    const ring: NodeProcess[] = []
    for (let i = 0; i < N; i++) proxies.push(await startTcpProxy(() => ring[(i + 1) % N]?.peerAddr))
    for (let i = 0; i < N; i++) {
      const args = ['--peer', (proxies[i] as TcpProxy).addr]
      ring.push(await startNode({ name: `R${i}`, args, logLevel: 'info' }))
    }
    const ids = await Promise.all(ring.map((n) => nodeId(n)))
    const neighbours = (i: number) => [ids[(i + 1) % N], ids[(i + N - 1) % N]].sort()
    const linkedIds = async () =>
      (await Promise.all(ring.map((n) => health(n)))).map((h) =>
        [...new Set(h.peers.filter((p) => p.state === 'up').map((p) => p.id))].sort(),
      )
    const whole = async () =>
      (await linkedIds()).every((up, i) => JSON.stringify(up) === JSON.stringify(neighbours(i)))
    await waitUntil(whole, 30_000, 'the ring linked')

    for (const proxy of proxies) proxy.cut()
    await waitUntil(
      async () => (await linkedIds()).every((up) => up.length === 0),
      30_000,
      'every link down',
    )
    // Each dialer failed again and again: its backoff is at its cap.
    await waitUntil(() => proxies.every((p) => p.refused >= 6), 90_000, 'backoff built up')

    const healedAt = Date.now()
    for (const proxy of proxies) proxy.restore()
    await waitUntil(whole, 30_000, 'the ring whole again')
    expect(Date.now() - healedAt).toBeLessThan(5_000)
    // One link per pair: each node is linked to its two neighbours and nothing else.
    expect(await linkedIds()).toEqual(ring.map((_, i) => neighbours(i)))
  }, 180_000)
})
