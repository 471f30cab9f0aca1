/**
 * Keyed users against real `chat-node` processes (docs/protocol.md, "Shared terms", `challenge`
 * and `prove`, "The user's signature"): a keyed user is welcomed only once it proves its key; its
 * id cannot be used by a session without that key; a `send` of a keyed user without its valid
 * `usig` is refused, stored on no node and delivered to no one; `--require-keys` refuses
 * unverified users. The clients sign with the pure-JavaScript Ed25519 and the node checks with
 * node:crypto.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { decodeBase64url } from '../src/shared/base64url.ts'
import { CLOSE_HELLO_TIMEOUT, CLOSE_UNAUTHORIZED, HELLO_TIMEOUT_MS } from '../src/shared/limits.ts'
import { MESSAGE_KIND, signAsUser, signSessionProof } from '../src/shared/signatures.ts'
import {
  ChatClient,
  type FrameOf,
  keyedUser,
  proveFrame,
  randomUser,
  usigOf,
} from './support/chat-client.ts'
import { messagesIn, startFullMesh, storedEvents, waitForEqualVectors } from './support/mesh.ts'
import { cleanupNodes, health, startNode } from './support/node-process.ts'

afterAll(cleanupNodes)

/** Opens a session and says `hello` with `user` (no token). */
async function hello(url: string, user: Record<string, unknown>): Promise<ChatClient> {
  const client = await ChatClient.open(url)
  client.send({ type: 'hello', protocol: 1, user })
  return client
}

/** Expects the session to be refused with `unauthorized` and close 4001; resolves with why. */
async function refused(client: ChatClient): Promise<string> {
  const reply = await client.waitFor((f) => f.type === 'error' || f.type === 'welcome')
  expect(reply.frame).toMatchObject({ type: 'error', code: 'unauthorized' })
  expect((await client.closed).code).toBe(CLOSE_UNAUTHORIZED)
  return (reply.frame as FrameOf<'error'>).message
}

describe('a keyed user', () => {
  it('is welcomed once it proves its key, and nothing else is served before', async () => {
    const node = await startNode({ name: 'Keys' })
    const nodeId = (await health(node)).node.id
    // A keyed user that never proves: its 10 s to be welcomed run from the open, prove included.
    const openedAt = Date.now()
    const silent = await hello(node.wsUrl, keyedUser('silent').user)

    const ada = keyedUser('Ada')
    const client = await hello(node.wsUrl, ada.user)
    const challenge = await client.next('challenge')
    expect(challenge.node.id).toBe(nodeId)
    expect(decodeBase64url(challenge.nonce)?.length).toBeGreaterThanOrEqual(16)
    // A nonce of its own for every session, so that no proof can be used twice.
    expect((await silent.next('challenge')).nonce).not.toBe(challenge.nonce)

    for (const frame of [{ type: 'join', room: 'general' }, { type: 'ping' }]) {
      expect(await client.request(frame)).toMatchObject({ type: 'error', code: 'hello_required' })
    }
    expect(await client.request({ type: 'hello', protocol: 1, user: ada.user })).toMatchObject({
      type: 'error',
      code: 'bad_request',
    })
    client.send(proveFrame(ada, challenge))
    expect(await client.next('welcome')).toMatchObject({ node: { id: nodeId } })
    await client.join('general')
    const text = 'proved and welcome'
    const ack = await client.request({
      type: 'send',
      room: 'general',
      text,
      cid: 'c1',
      usig: usigOf(ada, 'general', text, 'c1'),
    })
    expect(ack).toMatchObject({ type: 'ack', cid: 'c1' })

    expect(await silent.closed).toEqual({
      code: CLOSE_HELLO_TIMEOUT,
      reason: `no hello within ${HELLO_TIMEOUT_MS / 1000} s`,
    })
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 500)
    expect(silent.frames.map((f) => f.type)).toEqual(['challenge'])
  })

  it('keeps its id from every session without its key', async () => {
    const node = await startNode({ name: 'Owned' })
    const ada = keyedUser('Ada')
    const real = await ChatClient.connect(node.wsUrl, ada)
    await real.join('general')
    const mallory = keyedUser('Ada')
    const adaChallenge = real.frames.find((f) => f.type === 'challenge')
    if (adaChallenge?.type !== 'challenge') throw new Error('Ada was not challenged')

    // Ada's id with another key, and with no key at all.
    const { id, name } = ada.user
    expect(await refused(await hello(node.wsUrl, { id, name, key: mallory.user.key }))).toMatch(
      /not the hash/,
    )
    expect(await refused(await hello(node.wsUrl, { id, name }))).toMatch(/keyed user/)

    // Ada's id and public key, but proofs its holder did not make for this session: one signed
    // with another key, and Ada's own proof of her session, replayed.
    const replayed = signSessionProof(ada.signer, adaChallenge.node.id, adaChallenge.nonce)
    for (const sign of [
      (c: FrameOf<'challenge'>) => signSessionProof(mallory.signer, c.node.id, c.nonce),
      () => replayed,
    ]) {
      const impostor = await hello(node.wsUrl, ada.user)
      impostor.send({ type: 'prove', sig: sign(await impostor.next('challenge')) })
      expect(await refused(impostor)).toMatch(/does not prove/)
    }

    // Ada herself is still there, the only one of her id, and nobody spoke as her.
    const watcherUser = randomUser('watcher')
    const watcher = await ChatClient.connect(node.wsUrl, watcherUser)
    const { joined } = await watcher.join('general')
    expect(joined.users.map((u) => u.id).sort()).toEqual([id, watcherUser.id].sort())
    expect(real.ws.readyState).toBe(real.ws.OPEN)
    expect((await health(node)).events).toBe(0)
  })
})

describe("a keyed user's send", () => {
  it('without its valid usig is refused, stored on no node and delivered to no one', async () => {
    const {
      nodes: [a, b],
    } = await startFullMesh(['SignA', 'SignB'])
    if (!a || !b) throw new Error('no mesh')
    const ada = keyedUser('Ada')
    const writer = await ChatClient.connect(a.wsUrl, ada)
    await writer.join('general')
    const readers = await Promise.all([a, b].map((n) => ChatClient.connect(n.wsUrl)))
    for (const reader of readers) await reader.join('general')

    const text = 'the words Ada signs'
    const mallory = keyedUser('Mallory')
    const forged: [string, Record<string, unknown>][] = [
      ['no usig', {}],
      ['a usig of another text', { usig: usigOf(ada, 'general', 'other words', 'c1') }],
      ['a usig of another room', { usig: usigOf(ada, 'elsewhere', text, 'c1') }],
      [
        'a usig by another key',
        {
          usig: signAsUser(mallory.signer, {
            kind: MESSAGE_KIND,
            room: 'general',
            cid: 'c1',
            text,
            user: ada.user,
          }),
        },
      ],
    ]
    for (const [what, fields] of forged) {
      const send = { type: 'send', room: 'general', text, cid: 'c1', ref: 'r1', ...fields }
      expect(await writer.request(send), what).toMatchObject({
        type: 'error',
        code: 'unauthorized',
        ref: 'r1',
      })
    }
    // The session stays open, and the cid was never taken: Ada's signed send with it is new.
    expect(await writer.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
    const ack = await writer.say('general', text, 'c1')

    await waitForEqualVectors([a, b])
    for (const node of [a, b]) {
      const stored = storedEvents(node, { room: 'general' })
      expect(stored.map((m) => [m.id, m.user.id, m.text])).toEqual([[ack.id, ada.user.id, text]])
    }
    for (const reader of readers) {
      await reader.next('message', (m) => m.id === ack.id)
      expect(messagesIn(reader, 'general').map((m) => m.id)).toEqual([ack.id])
    }
  })
})

describe("a keyed user's sends, verified off the event loop", () => {
  it('are stored and acknowledged in the order they were sent, a forged one among them refused', async () => {
    const node = await startNode({ name: 'Order' })
    const ada = keyedUser('Ada')
    const writer = await ChatClient.connect(node.wsUrl, ada)
    await writer.join('general')
    const texts = Array.from({ length: 60 }, (_, i) => `in order ${i}`)
    // One forged send in the middle: refused, and the sends after it still keep their order.
    const forged = { type: 'send', room: 'general', text: 'forged', cid: 'f1', ref: 'forged' }
    writer.send({ ...forged, usig: usigOf(ada, 'general', 'other words', 'f1') })
    const acks = await writer.sendMany('general', texts)
    expect(writer.frames.find((f) => f.type === 'error' && f.ref === 'forged')).toMatchObject({
      code: 'unauthorized',
    })
    const seqs = acks.map((a) => Number(a.id.slice(a.id.lastIndexOf(':') + 1)))
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    const stored = storedEvents(node, { room: 'general' })
    expect(stored.map((m) => m.text)).toEqual(texts)
  })
})

describe('--require-keys', () => {
  it('refuses a keyless hello and still welcomes a keyed user', async () => {
    const node = await startNode({ name: 'KeysOnly', args: ['--require-keys'] })
    expect(await refused(await hello(node.wsUrl, randomUser('bot')))).toMatch(/only keyed users/)
    const ada = await ChatClient.connect(node.wsUrl, keyedUser('Ada'))
    await ada.join('general')
    const ack = await ada.say('general', 'keyed users only')
    await ada.next('message', (m) => m.id === ack.id)
    expect((await health(node)).events).toBe(1)
  })
})
