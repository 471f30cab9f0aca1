/**
 * Known-answer tests from docs/protocol.md ("Test vectors"), each value also computed by an
 * independent implementation (node:crypto's Ed25519 and SHA-256, @noble/hashes' HMAC, a
 * canonical JSON written here), and the checks' refusals.
 */
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { meshProof } from '../main/node/mesh/proof.ts'
import { protocolVectors } from '../../test/support/protocol-vectors.ts'
import { canonical, signedBytes, without } from './canonical.ts'
import { nobleEd25519 } from './ed25519.ts'
import { decodeBase64url } from './base64url.ts'
import { encodeKey, nodeIdFromKey, userIdFromKey } from './keys.ts'
import {
  checkEvent,
  checkMessage,
  eventFromMessage,
  linkSignedBytes,
  makeNonce,
  sessionSignedBytes,
  signAsNode,
  signAsUser,
  signLink,
  signSessionProof,
  userSignedBytes,
  verifyLink,
  verifyNodeRecord,
  verifyPresence,
  verifySessionProof,
  verifyTyping,
  verifyUserSignature,
  type NodeSigned,
  type SignedEvent,
  type SigningUser,
} from './signatures.ts'

const vectors = protocolVectors()
/** A vector of docs/protocol.md, as the test expects its fields. */
function vector<T>(name: string): T {
  const value = vectors.get(name)
  if (value === undefined) throw new Error(`docs/protocol.md has no vector ${name}`)
  return value as T
}

type Record_ = Record<string, unknown>
interface Keys {
  node: { seed: string; key: string; id: string }
  user: { seed: string; key: string; id: string }
}
interface SignedVector<T = Record_> {
  signer: 'node' | 'user'
  signed: string
  sig: string
  event: T
  frame: T
  record: T
}

const keys = vector<Keys>('keys')
const signers = {
  node: nobleEd25519.signer(Buffer.from(keys.node.seed, 'hex')),
  user: nobleEd25519.signer(Buffer.from(keys.user.seed, 'hex')),
}
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

/** Ed25519 by OpenSSL, from the seed: the independent signer the vectors are checked against. */
function opensslSign(who: 'node' | 'user', signed: string): string {
  const seed = Buffer.from(keys[who].seed, 'hex')
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  return sign(null, Buffer.from(signed, 'utf8'), privateKey).toString('base64url')
}

/** RFC 8785 for the values the vectors hold, written apart from the canonicalize package. */
function independentCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(independentCanonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const fields = Object.keys(value).sort()
    const entries = fields.map(
      (k) => `${JSON.stringify(k)}:${independentCanonical((value as Record_)[k])}`,
    )
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

describe('test vectors of docs/protocol.md', () => {
  it('has every vector the tests check, and no other', () => {
    expect([...vectors.keys()].sort()).toEqual(
      [
        'keys',
        'canonical',
        'user-sig',
        'event-sig',
        'link-sig',
        'session-prove',
        'mesh-proof',
        'presence-sig',
        'typing-sig',
        'node-record-sig',
        'verify-rule',
      ].sort(),
    )
  })

  it('keys: the public keys and ids of the fixed seeds', () => {
    for (const who of ['node', 'user'] as const) {
      const der = Buffer.concat([
        Buffer.from('302e020100300506032b657004220420', 'hex'),
        Buffer.from(keys[who].seed, 'hex'),
      ])
      const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
        .export({ format: 'der', type: 'spki' })
        .subarray(12)
      expect(encodeKey(signers[who].publicKey)).toBe(keys[who].key)
      expect(spki.toString('base64url')).toBe(keys[who].key)
      const digest = createHash('sha256').update(spki).digest('hex').slice(0, 40)
      expect(keys[who].id).toBe(who === 'node' ? digest : `k${digest}`)
    }
    expect(nodeIdFromKey(signers.node.publicKey)).toBe(keys.node.id)
    expect(userIdFromKey(signers.user.publicKey)).toBe(keys.user.id)
  })

  it('canonical: the RFC 8785 text, its UTF-8 length and SHA-256', () => {
    const v = vector<{ value: unknown; canonical: string; utf8Bytes: number; sha256: string }>(
      'canonical',
    )
    expect(canonical(v.value)).toBe(v.canonical)
    expect(independentCanonical(v.value)).toBe(v.canonical)
    expect(Buffer.byteLength(v.canonical, 'utf8')).toBe(v.utf8Bytes)
    expect(createHash('sha256').update(v.canonical, 'utf8').digest('hex')).toBe(v.sha256)
  })

  it('user-sig: what a keyed user signs for a send, and its usig', () => {
    const v = vector<SignedVector<Record_ & { user: SigningUser }> & { usig: string }>('user-sig')
    expect(text(userSignedBytes(v.event))).toBe(v.signed)
    expect(independentCanonical(v.event)).toBe(v.signed)
    expect(signAsUser(signers.user, v.event)).toBe(v.usig)
    expect(opensslSign('user', v.signed)).toBe(v.usig)
    expect(verifyUserSignature({ ...v.event, usig: v.usig })).toBe(true)
  })

  it('event-sig: what the origin signs of that message, and its sig', () => {
    const v = vector<SignedVector<SignedEvent>>('event-sig')
    const wire = { ...v.event, sig: v.sig }
    expect(v.event.usig).toBe(vector<{ usig: string }>('user-sig').usig)
    expect(text(signedBytes(wire))).toBe(v.signed)
    expect(independentCanonical(v.event)).toBe(v.signed)
    expect(signAsNode(signers.node, without(v.event, ['key']))).toEqual(wire)
    expect(opensslSign('node', v.signed)).toBe(v.sig)
    expect(checkEvent(wire)).toEqual({ ok: true })
  })

  it('link-sig: the handshake auth sig', () => {
    const v = vector<SignedVector & { mesh: string; exporter: string; nodeId: string }>('link-sig')
    const binding = { mesh: v.mesh, exporter: v.exporter, nodeId: v.nodeId }
    expect(text(linkSignedBytes(binding))).toBe(v.signed)
    expect(v.signed).toBe(`palaver-v1-link|${v.mesh}|${v.exporter}|${v.nodeId}`)
    expect(signLink(signers.node, binding)).toBe(v.sig)
    expect(opensslSign('node', v.signed)).toBe(v.sig)
    expect(verifyLink(binding, keys.node.key, v.sig)).toBe(true)
  })

  it('session-prove: a keyed user’s prove for a challenge', () => {
    const v = vector<SignedVector & { nodeId: string; nonce: string }>('session-prove')
    expect(text(sessionSignedBytes(v.nodeId, v.nonce))).toBe(v.signed)
    expect(v.signed).toBe(`palaver-v1-session|${v.nodeId}|${v.nonce}`)
    expect(signSessionProof(signers.user, v.nodeId, v.nonce)).toBe(v.sig)
    expect(opensslSign('user', v.signed)).toBe(v.sig)
    expect(verifySessionProof(v.nodeId, v.nonce, keys.user.key, v.sig)).toBe(true)
  })

  it('mesh-proof: the handshake auth proof (HMAC-SHA256)', () => {
    const v = vector<{
      secret: string
      mesh: string
      exporter: string
      nodeId: string
      signed: string
      proof: string
    }>('mesh-proof')
    expect(v.signed).toBe(`palaver-v1|${v.mesh}|${v.exporter}|${v.nodeId}`)
    expect(meshProof(v.secret, v.mesh, v.exporter, v.nodeId)).toBe(v.proof)
    const independent = hmac(sha256, utf8(v.secret), utf8(v.signed))
    expect(Buffer.from(independent).toString('hex')).toBe(v.proof)
  })

  /** What the three records hold of the fields their checks read. */
  type Wire = NodeSigned & { node: string; origin: string; id: string }
  it.each([
    ['presence-sig', 'frame', (wire: Wire) => verifyPresence(wire)],
    ['typing-sig', 'frame', (wire: Wire) => verifyTyping(wire)],
    ['node-record-sig', 'record', (wire: Wire) => verifyNodeRecord(wire)],
  ] as const)('%s: signed whole without sig, key included', (name, field, verify) => {
    const v = vector<SignedVector<Wire>>(name)
    const wire = { ...v[field], sig: v.sig }
    expect(text(signedBytes(wire))).toBe(v.signed)
    expect(independentCanonical(v[field])).toBe(v.signed)
    expect(signAsNode(signers.node, without(v[field], ['key']))).toEqual(wire)
    expect(opensslSign('node', v.signed)).toBe(v.sig)
    expect(verify(wire)).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------

const nodeId = keys.node.id
const otherNode = nobleEd25519.signer(new Uint8Array(32).fill(0x77))
const otherUser = nobleEd25519.signer(new Uint8Array(32).fill(0x78))
const BAD_TEXT = ['', 'x', '='.repeat(43), '\ud800', 'A'.repeat(10_000)]

describe('verifyLink', () => {
  const binding = { mesh: 'default', exporter: 'ab'.repeat(32), nodeId }
  const sig = signLink(signers.node, binding)

  it('accepts the node’s own signature of the binding', () => {
    expect(verifyLink(binding, keys.node.key, sig)).toBe(true)
  })

  it.each([
    ['another mesh', { ...binding, mesh: 'other' }],
    ['another TLS session', { ...binding, exporter: 'cd'.repeat(32) }],
    ['another node id', { ...binding, nodeId: nodeIdFromKey(otherNode.publicKey) }],
  ])('refuses the signature for %s', (_, other) => {
    expect(verifyLink(other, keys.node.key, sig)).toBe(false)
  })

  it('refuses a node that links under another node’s id with its own key', () => {
    const forged = signLink(otherNode, binding) // signs the victim's binding with its own key
    expect(verifyLink(binding, encodeKey(otherNode.publicKey), forged)).toBe(false)
  })

  it('refuses garbage keys and signatures without throwing', () => {
    for (const bad of BAD_TEXT) {
      expect(verifyLink(binding, bad, sig)).toBe(false)
      expect(verifyLink(binding, keys.node.key, bad)).toBe(false)
    }
  })
})

describe('session proof', () => {
  it('makes nonces of 32 random bytes in base64url', () => {
    const nonces = Array.from({ length: 10 }, makeNonce)
    expect(new Set(nonces).size).toBe(10)
    for (const nonce of nonces) expect(decodeBase64url(nonce, 32)).not.toBeNull()
  })

  it('accepts the answer to this challenge only', () => {
    const nonce = makeNonce()
    const sig = signSessionProof(signers.user, nodeId, nonce)
    expect(verifySessionProof(nodeId, nonce, keys.user.key, sig)).toBe(true)
    expect(verifySessionProof(nodeId, makeNonce(), keys.user.key, sig)).toBe(false)
    expect(verifySessionProof(nodeIdFromKey(otherNode.publicKey), nonce, keys.user.key, sig)).toBe(
      false,
    )
    expect(verifySessionProof(nodeId, nonce, encodeKey(otherUser.publicKey), sig)).toBe(false)
    for (const bad of BAD_TEXT) {
      expect(verifySessionProof(nodeId, nonce, bad, sig)).toBe(false)
      expect(verifySessionProof(nodeId, nonce, keys.user.key, bad)).toBe(false)
    }
  })
})

describe('checkEvent', () => {
  const user = { id: keys.user.id, name: 'Ada', key: keys.user.key }
  const origin = { origin: nodeId, seq: 7, ts: 1_796_024_138_471_442 }

  /** A keyed user's event as its origin node makes it: usig over the body, then sig. */
  function keyedEvent(body: Record_ = {}): SignedEvent {
    const fields = { kind: 'message', room: 'general', cid: 'c1', text: 'hi', user, ...body }
    return signAsNode(signers.node, {
      ...fields,
      ...origin,
      usig: signAsUser(signers.user, fields),
    })
  }
  const unverified = { id: 'script-0001', name: 'Bot' }
  const keylessEvent = signAsNode(signers.node, {
    kind: 'message',
    room: 'general',
    cid: 'c1',
    text: 'beep',
    user: unverified,
    ...origin,
  })

  it('accepts a keyed user’s event and an unverified user’s event', () => {
    expect(checkEvent(keyedEvent())).toEqual({ ok: true })
    expect(checkEvent(keylessEvent)).toEqual({ ok: true })
  })

  it('accepts an event of a kind it does not know, its unknown fields signed by both', () => {
    const reaction = keyedEvent({ kind: 'reaction', text: undefined, emoji: '👍', target: 'x:1' })
    expect(checkEvent(reaction)).toEqual({ ok: true })
    // The user signed `emoji`: a node that changes it and signs again is caught by the usig.
    const changed = signAsNode(signers.node, { ...without(reaction, ['sig']), emoji: '👎' })
    expect(checkEvent(changed)).toEqual({ ok: false, reason: 'usig' })
  })

  it('signs and checks a field named __proto__ like any other', () => {
    const event = JSON.parse(
      JSON.stringify(keylessEvent).replace('{', '{"__proto__":{"x":1},'),
    ) as SignedEvent
    expect(checkEvent(event)).toEqual({ ok: false, reason: 'sig' })
    const resigned = signAsNode(signers.node, without(event, ['sig']))
    expect(Object.keys(resigned)).toContain('__proto__')
    expect(checkEvent(resigned)).toEqual({ ok: true })
  })

  it.each([
    [
      'origin_key',
      'an event signed by another node under this origin',
      () => signAsNode(otherNode, without(keyedEvent(), ['sig', 'key'])),
    ],
    [
      'sig',
      'an event changed after its origin signed it',
      () => ({ ...keylessEvent, text: 'changed' }),
    ],
    [
      'usig',
      'an origin that speaks as a keyed user (a text the user did not sign)',
      () => signAsNode(signers.node, { ...without(keyedEvent(), ['sig']), text: 'not mine' }),
    ],
    [
      'user_key',
      'a keyed user id with another user’s key',
      () => {
        const fields = {
          kind: 'message',
          room: 'general',
          cid: 'c1',
          text: 'hi',
          user: { ...user, key: encodeKey(otherUser.publicKey) },
        }
        return signAsNode(signers.node, {
          ...fields,
          ...origin,
          usig: signAsUser(otherUser, fields),
        })
      },
    ],
    [
      'keyed_id_without_key',
      'a keyed user id without its key',
      () =>
        signAsNode(signers.node, {
          ...without(keylessEvent, ['sig']),
          user: { id: user.id, name: 'Ada' },
        }),
    ],
    [
      'usig_missing',
      'a keyed user without a usig',
      () => signAsNode(signers.node, without(keyedEvent(), ['sig', 'usig'])),
    ],
    [
      'usig_without_key',
      'a usig for a user without a key',
      () =>
        signAsNode(signers.node, {
          ...without(keylessEvent, ['sig']),
          usig: keyedEvent().usig,
        }),
    ],
  ] as const)('refuses with %s %s', (reason, _, make) => {
    expect(checkEvent(make())).toEqual({ ok: false, reason })
  })

  it('refuses, without throwing, an event whose text has a lone surrogate', () => {
    expect(checkEvent({ ...keylessEvent, text: 'a\ud800b' })).toEqual({ ok: false, reason: 'sig' })
  })

  it('refuses, without throwing, events with garbage keys and signatures', () => {
    for (const bad of BAD_TEXT) {
      expect(checkEvent({ ...keylessEvent, key: bad }).ok).toBe(false)
      expect(checkEvent({ ...keylessEvent, sig: bad }).ok).toBe(false)
      expect(checkEvent({ ...keyedEvent(), usig: bad }).ok).toBe(false)
      expect(checkEvent({ ...keyedEvent(), user: { ...user, key: bad } }).ok).toBe(false)
    }
  })
})

describe('checkMessage / eventFromMessage', () => {
  const fields = {
    kind: 'message',
    room: 'general',
    cid: 'c9',
    text: 'hi',
    user: { id: keys.user.id, name: 'Ada', key: keys.user.key },
    replyTo: `${nodeId}:1`, // a field this client does not know: signed, so kept
  }
  const event = signAsNode(signers.node, {
    ...fields,
    origin: nodeId,
    seq: 3,
    ts: 1_796_024_138_471_442,
    usig: signAsUser(signers.user, fields),
  })
  const message = { type: 'message', id: `${nodeId}:3`, ...without(event, ['kind']) }

  it('checks a message frame and a history entry as the event they carry', () => {
    expect(eventFromMessage(message)).toEqual(event)
    expect(checkMessage(message)).toEqual({ ok: true })
    expect(checkMessage(without(message, ['type']))).toEqual({ ok: true })
  })

  it('shows a message changed on the way as not signed', () => {
    expect(checkMessage({ ...message, text: 'hacked' })).toEqual({ ok: false, reason: 'sig' })
    expect(checkMessage(without(message, ['replyTo'])).ok).toBe(false)
  })
})
