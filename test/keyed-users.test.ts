/**
 * Keyed users against real `chat-node` processes (docs/protocol.md, "Shared terms", `challenge`
 * and `prove`): a keyed user is welcomed only once it proves its key, and its id cannot be used
 * by a session without that key. The clients sign with the pure-JavaScript Ed25519 and the node
 * checks with node:crypto.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { decodeBase64url } from '../src/shared/base64url.ts'
import { CLOSE_HELLO_TIMEOUT, CLOSE_UNAUTHORIZED, HELLO_TIMEOUT_MS } from '../src/shared/limits.ts'
import { signSessionProof } from '../src/shared/signatures.ts'
import {
  ChatClient,
  type FrameOf,
  keyedUser,
  proveFrame,
  randomUser,
  usigOf,
} from './support/chat-client.ts'
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
