/**
 * Forgery by a peer that knows the mesh secret (docs/protocol.md, "Keys and signatures" and
 * "Verification and limits"), against a full mesh of three real `chat-node` processes (A, B and
 * C, with a secret) and an attacker played by hand (support/fake-peer.ts) linked to A under its
 * own id. It cannot link under another node's id; it cannot get an event of another origin, or a
 * keyed user's message the user did not sign, stored or relayed; it cannot change another node's
 * presence, typing or record. What it forges is refused on A, counted in
 * `palaver_mesh_refused_total{what}`, never reaches B, C or a client, and the real thing still
 * gets through afterwards.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { nativeEd25519 } from '../src/main/node/signing-native.ts'
import { encodeKey, generateSecretKey, userIdFromKey } from '../src/shared/keys.ts'
import type { NodeRecord } from '../src/shared/peer-protocol.ts'
import type { MeshNode, User } from '../src/shared/protocol.ts'
import { MESSAGE_KIND, signAsUser } from '../src/shared/signatures.ts'
import { ChatClient, type FrameOf, OpenedSessions, randomUser } from './support/chat-client.ts'
import { closeFakePeers, FakePeer, forgeSigned, nodeRecord } from './support/fake-peer.ts'
import {
  linkedFakePeer,
  startFullMesh,
  messagesIn,
  REFUSED_KINDS,
  type RefusedKind,
  refusedByKind,
  storedSignedEvents,
  waitForEqualVectors,
  waitForUsers,
} from './support/mesh.ts'
import { cleanupNodes, health, type NodeProcess } from './support/node-process.ts'
import { waitUntil } from './support/wait.ts'

const SECRET = 'forgery-suite-secret'
/** A version newer than any a real node will make: were it believed, it would stick. */
const NEWEST = Number.MAX_SAFE_INTEGER

let a: NodeProcess
let b: NodeProcess
let c: NodeProcess
let idB: string
/** Sessions a test opens, closed after it. */
const sessions = new OpenedSessions()

beforeAll(async () => {
  const mesh = await startFullMesh(['A', 'B', 'C'], { args: ['--secret', SECRET] })
  ;[a, b, c] = mesh.nodes as [NodeProcess, NodeProcess, NodeProcess]
  idB = mesh.ids[1] as string
}, 60_000)
afterEach(() => {
  closeFakePeers()
  sessions.closeAll()
})
afterAll(cleanupNodes)

/** A session on `node` (closed after the test), joined to `room` when given. */
function session(node: NodeProcess, room?: string, user?: User): Promise<ChatClient> {
  return sessions.open(node, room, user)
}

/** The attacker: a peer that knows the secret, linked to A under its own id. */
function attacker(): Promise<FakePeer> {
  return linkedFakePeer(a, SECRET, { name: 'Mallory' })
}

/** B's record, signed by B, as A gossips it to a new peer: B's key and URL are public. */
async function recordOfB(peer: FakePeer): Promise<NodeRecord> {
  const frame = await peer.next('nodes', (f) => f.nodes.some((n) => n.id === idB))
  return frame.nodes.find((n) => n.id === idB) as NodeRecord
}

const NOTHING: Record<RefusedKind, number> = { event: 0, presence: 0, typing: 0, record: 0 }

/** How many more of each kind `now` counts than `then`. */
function grown(
  now: Record<RefusedKind, number>,
  then: Record<RefusedKind, number>,
): Record<RefusedKind, number> {
  return { ...NOTHING, ...Object.fromEntries(REFUSED_KINDS.map((k) => [k, now[k] - then[k]])) }
}

/**
 * Runs `forge`, waits until A has refused as many frames of each kind as `expected` says, and
 * checks that A refused exactly those and B and C nothing: nothing forged went past A.
 */
async function expectRefusedOnA(
  expected: Partial<Record<RefusedKind, number>>,
  forge: () => void,
): Promise<void> {
  const nodes = [a, b, c]
  const before = await Promise.all(nodes.map((n) => refusedByKind(n)))
  const onA = { ...NOTHING, ...expected }
  forge()
  await waitUntil(
    async () => {
      const now = grown(await refusedByKind(a), before[0] ?? NOTHING)
      return REFUSED_KINDS.every((k) => now[k] >= onA[k])
    },
    20_000,
    'A refused the forgeries',
  )
  const after = await Promise.all(nodes.map((n) => refusedByKind(n)))
  expect(after.map((now, i) => grown(now, before[i] ?? NOTHING))).toEqual([onA, NOTHING, NOTHING])
  // Each kind's refusals are logged (the first of a minute): one kind does not hide another.
  for (const what of Object.keys(expected)) {
    const logged = () =>
      a
        .stderr()
        .split('\n')
        .some((l) => l.includes('whose signature does not hold') && l.includes(`"what":"${what}"`))
    await waitUntil(logged, 10_000, `A logged a refused ${what}`)
  }
}

describe('a peer that knows the mesh secret', () => {
  it('cannot link under another node’s id, with its own key or with a signature by another key', async () => {
    // B's public key, as B's hello gives it to anyone who connects.
    const probe = await FakePeer.connect({ port: b.peerPort })
    const keyB = (await probe.next('hello')).node.key
    probe.destroy()
    const linksOfB = () =>
      a
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"msg":"peer link up"') && l.includes(`"peer":"${idB}"`)).length
    await waitUntil(() => linksOfB() > 0, 10_000, 'A logged its link to B')
    const linkedBefore = linksOfB()

    const impostors = [
      // B's id with its own key: the id is not that key's hash.
      await FakePeer.connect({ port: a.peerPort, node: { id: idB } }),
      // B's id and key, signed with its own key: the signature does not verify under B's key.
      await FakePeer.connect({ port: a.peerPort, node: { id: idB, key: keyB } }),
    ]
    for (const impostor of impostors) {
      impostor.hello()
      impostor.auth(SECRET) // the secret is right: only the key is not
      expect(await impostor.next('error')).toMatchObject({ code: 'unauthorized' })
      await impostor.closed
    }
    await waitUntil(
      () => a.stderr().includes('peer failed the link signature'),
      10_000,
      'A logged the signature that failed',
    )

    // A's link to the real B was never replaced, and A and B still chat.
    expect(linksOfB()).toBe(linkedBefore)
    const peerB = (await health(a)).peers.filter((p) => p.id === idB)
    expect(peerB.map((p) => p.state)).toEqual(['up'])
    const room = 'impostor'
    const onA = await session(a, room)
    const onB = await session(b, room)
    await onB.say(room, 'still B')
    await onA.next('message', (m) => m.text === 'still B' && m.origin === idB)
  })

  it('cannot get an event of another origin stored or relayed; the real one still arrives', async () => {
    const room = 'forged-events'
    const writer = await session(b, room)
    const watchers = [await session(a, room), await session(c, room)]
    await writer.say(room, 'real 1')
    await waitForEqualVectors([a, b, c])
    const eve = await attacker()
    const keyB = (await recordOfB(eve)).key
    const next = ((await health(a)).vector[idB] ?? 0) + 1
    const old = storedSignedEvents(a, { room }).find((e) => e.text === 'real 1')
    if (!old) throw new Error('B’s first event is not on A')

    // B's next seq with other text: B's key under the attacker's signature, and B's old signature
    // over changed fields (and the same one seq ahead, which would be kept early if believed).
    const fields = {
      kind: MESSAGE_KIND,
      origin: idB,
      seq: next,
      ts: Date.now() * 1000,
      room,
      user: old.user,
      text: 'forged under B’s key',
      cid: 'forged-1',
    }
    const forgeries = [
      forgeSigned(eve.keys, fields, keyB),
      { ...old, seq: next, text: 'forged under B’s old signature' },
      { ...old, seq: next + 1, text: 'forged ahead of B' },
    ]
    await expectRefusedOnA({ event: forgeries.length }, () => {
      for (const event of forgeries) eve.send({ type: 'event', event })
    })
    expect((await health(a)).vector[idB]).toBe(next - 1)

    // B's real next event comes after, and is taken everywhere as B wrote it.
    const ack = await writer.say(room, 'real 2')
    expect(ack.id).toBe(`${idB}:${next}`)
    for (const watcher of watchers) await watcher.next('message', (m) => m.id === ack.id)
    await waitForEqualVectors([a, b, c])
    for (const node of [a, b, c]) {
      expect(storedSignedEvents(node, { room }).map((e) => [e.seq, e.text])).toEqual([
        [next - 1, 'real 1'],
        [next, 'real 2'],
      ])
    }
    for (const watcher of watchers) {
      expect(messagesIn(watcher, room).map((m) => m.text)).toEqual(['real 1', 'real 2'])
    }
  })

  it('cannot speak as a keyed user: its own event with a usig the user did not make is refused', async () => {
    const room = 'forged-usig'
    const watchers = [await session(a, room), await session(c, room)]
    const userSigner = nativeEd25519.signer(generateSecretKey())
    const kay = {
      id: userIdFromKey(userSigner.publicKey),
      name: 'Kay',
      key: encodeKey(userSigner.publicKey),
    }
    const eve = await attacker()
    /** The attacker's own event 1, by Kay. */
    const byKay = (text: string, user: Record<string, unknown> = kay) => ({
      kind: MESSAGE_KIND,
      origin: eve.node.id,
      seq: 1,
      ts: Date.now() * 1000,
      room,
      user,
      text,
      cid: 'kay-1',
    })
    const real = byKay('from Kay')
    const usig = signAsUser(userSigner, real)
    const stranger = nativeEd25519.signer(generateSecretKey())
    const otherText = byKay('not from Kay')
    const forgeries = [
      // Kay's signature of her real message, on other text.
      eve.keys.sign({ ...otherText, usig }),
      // A signature by another key.
      eve.keys.sign({ ...otherText, usig: signAsUser(stranger, otherText) }),
      // Kay's id without her key, so without her signature.
      eve.keys.sign(byKay('Kay without her key', { id: kay.id, name: kay.name })),
    ]
    await expectRefusedOnA({ event: forgeries.length }, () => {
      for (const event of forgeries) eve.send({ type: 'event', event })
    })
    expect((await health(a)).vector[eve.node.id]).toBeUndefined()

    // The message Kay did sign gets in, as seq 1, with her key and signature for clients to check.
    eve.send({ type: 'event', event: eve.keys.sign({ ...real, usig }) })
    for (const watcher of watchers) {
      const seen = await watcher.next('message', (m) => m.origin === eve.node.id)
      expect(seen).toMatchObject({ seq: 1, text: 'from Kay', user: kay, usig })
    }
    await waitForEqualVectors([a, b, c])
    for (const node of [a, b, c]) {
      expect(storedSignedEvents(node, { room }).map((e) => e.text)).toEqual(['from Kay'])
    }
  })

  it('cannot change another node’s presence: clients keep seeing its real users', async () => {
    const room = 'forged-presence'
    const bea = randomUser('bea')
    await session(b, room, bea)
    const watchers = [await session(a, room), await session(c, room)]
    for (const watcher of watchers)
      await waitForUsers(watcher, room, (users) => users.some((u) => u.id === bea.id))
    const eve = await attacker()
    const keyB = (await recordOfB(eve)).key

    // B's whole presence, newer than any B will announce, with Mallory in place of B's users.
    const mallory = { id: 'user_mallory', name: 'Mallory' }
    const forged = { type: 'presence', node: idB, version: NEWEST, rooms: { [room]: [mallory] } }
    await expectRefusedOnA({ presence: 2 }, () => {
      eve.send(eve.keys.sign(forged))
      eve.send(forgeSigned(eve.keys, forged, keyB))
    })

    // B's next announcement still counts: someone who comes online on B is shown beside Bea.
    const newcomer = randomUser('newcomer')
    await session(b, room, newcomer)
    for (const watcher of watchers) {
      await waitForUsers(watcher, room, (users) =>
        [bea.id, newcomer.id].every((id) => users.some((u) => u.id === id && u.node === idB)),
      )
      const shown = watcher.frames.flatMap((f) =>
        (f.type === 'joined' || f.type === 'presence') && f.room === room ? f.users : [],
      )
      expect(shown.map((u) => u.id)).not.toContain(mallory.id)
    }
  })

  it('cannot type as another node’s user, nor silence its typing', async () => {
    const room = 'forged-typing'
    const typist = randomUser('typist')
    const onB = await session(b, room, typist)
    const watcher = await session(a, room)
    const eve = await attacker()
    const keyB = (await recordOfB(eve)).key

    // B's typing counter at its end, so that B's real typing would seem old were it believed.
    const forged = {
      type: 'typing',
      origin: idB,
      eseq: NEWEST,
      room,
      user: { id: 'user_mallory', name: 'Mallory' },
    }
    await expectRefusedOnA({ typing: 2 }, () => {
      eve.send(eve.keys.sign(forged))
      eve.send(forgeSigned(eve.keys, forged, keyB))
    })

    onB.send({ type: 'typing', room })
    await watcher.next('typing', (f) => f.user.id === typist.id)
    const typists = watcher.frames.flatMap((f) => (f.type === 'typing' ? [f.user.id] : []))
    expect(typists).toEqual([typist.id])
  })

  it('cannot rewrite another node’s record: the directory keeps it, and no client sees the forged URL', async () => {
    const listening = [await session(a), await session(c)]
    const eve = await attacker()
    const realB = await recordOfB(eve)
    const trap = 'ws://192.0.2.66:8080/'
    // B's record, newer than any B will make, with the attacker's URL and peer address.
    const forged = {
      id: idB,
      name: realB.name,
      url: trap,
      peerAddr: '192.0.2.66:9080',
      version: NEWEST,
    }
    // In the same frame, a new record of the attacker's own, which it may make: taken.
    const ownUrl = 'ws://192.0.2.77:8080/'
    const own = nodeRecord(eve.keys, { name: 'Mallory', url: ownUrl })
    await expectRefusedOnA({ record: 2 }, () => {
      eve.send({
        type: 'nodes',
        nodes: [eve.keys.sign(forged), forgeSigned(eve.keys, forged, realB.key), own],
      })
    })

    /** The nodes a fresh session on `node` is told of in its `welcome`. */
    const welcomed = async (node: NodeProcess): Promise<MeshNode[]> => {
      const welcome = (await session(node)).frames.find((f) => f.type === 'welcome')
      return welcome?.type === 'welcome' ? welcome.nodes : []
    }
    for (const node of [a, c]) {
      // The attacker's own record went round: so the forged ones were not lost for another reason.
      await waitUntil(
        async () => (await welcomed(node)).some((n) => n.url === ownUrl),
        20_000,
        `${node.name} lists the attacker's own record`,
      )
      const listed = await welcomed(node)
      expect(listed.find((n) => n.id === idB)).toMatchObject({ url: realB.url, up: true })
      expect(listed.map((n) => n.url)).not.toContain(trap)
    }
    // Nor did any list of nodes sent to a session already open carry it.
    for (const client of listening) {
      const lists = client.frames.filter(
        (f): f is FrameOf<'welcome'> | FrameOf<'nodes'> =>
          f.type === 'welcome' || f.type === 'nodes',
      )
      expect(lists.flatMap((f) => f.nodes.map((n) => n.url))).not.toContain(trap)
    }
    // B can still be reached where it really is.
    const viaB = sessions.keep(await ChatClient.connect(realB.url))
    expect(viaB.frames.find((f) => f.type === 'welcome')).toMatchObject({ node: { id: idB } })
  })
})
