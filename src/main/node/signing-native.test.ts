import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { protocolVectors, verifyRuleCases } from '../../../test/support/protocol-vectors.ts'
import { nobleEd25519 } from '../../shared/ed25519.ts'
import { checkEvent, type SignedEvent } from '../../shared/signatures.ts'
import { testIdentity, wireEvent } from '../../../test/support/fake-peer.ts'
import { encodeKey, generateSecretKey, userIdFromKey } from '../../shared/keys.ts'
import { signAsUser } from '../../shared/signatures.ts'
import {
  checkEventInPool,
  keptKeyObjects,
  nativeEd25519,
  nativeEd25519Once,
} from './signing-native.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const seedArbitrary = fc.uint8Array({ minLength: 32, maxLength: 32 })
const messageArbitrary = fc.uint8Array({ maxLength: 300 })

describe('nativeEd25519 against the pure-JavaScript implementation', () => {
  it('derives the same public key and makes the same signature (Ed25519 is deterministic)', () => {
    fc.assert(
      fc.property(seedArbitrary, messageArbitrary, (seed, message) => {
        const native = nativeEd25519.signer(seed)
        const noble = nobleEd25519.signer(seed)
        expect(native.publicKey).toEqual(noble.publicKey)
        expect(native.sign(message)).toEqual(noble.sign(message))
      }),
      { numRuns: 25 },
    )
  })

  it('accepts each other’s signatures and refuses them once a byte changes', () => {
    fc.assert(
      fc.property(
        seedArbitrary,
        messageArbitrary,
        fc.nat(63),
        fc.integer({ min: 1, max: 255 }),
        (seed, message, at, delta) => {
          const signer = nobleEd25519.signer(seed)
          const signature = signer.sign(message)
          expect(nativeEd25519.verify(signature, message, signer.publicKey)).toBe(true)
          const changed = Uint8Array.from(signature)
          changed[at] = ((changed[at] ?? 0) + delta) & 0xff
          expect(nativeEd25519.verify(changed, message, signer.publicKey)).toBe(false)
          expect(nobleEd25519.verify(changed, message, signer.publicKey)).toBe(false)
        },
      ),
      { numRuns: 25 },
    )
  })

  it.each(verifyRuleCases())('decides "$case" as docs/protocol.md and the other one do', (c) => {
    const message = utf8(c.message)
    expect(nativeEd25519.verify(c.sig, message, c.key)).toBe(c.valid)
    expect(nobleEd25519.verify(c.sig, message, c.key)).toBe(c.valid)
  })

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (signature, message, key) => {
          expect(nativeEd25519.verify(signature, message, key)).toBe(false)
        },
      ),
    )
    for (const junk of [null, undefined, 'sig', 5, {}]) {
      const value = junk as unknown as Uint8Array
      expect(nativeEd25519.verify(value, value, value)).toBe(false)
    }
  })

  it('keeps the KeyObject of a key it verified, but not of one verified once', () => {
    const message = utf8('a session proof')
    const once = nobleEd25519.signer(new Uint8Array(32).fill(7))
    const kept = keptKeyObjects()
    expect(nativeEd25519Once.verify(once.sign(message), message, once.publicKey)).toBe(true)
    expect(nativeEd25519Once.verify(once.sign(utf8('other')), message, once.publicKey)).toBe(false)
    expect(keptKeyObjects()).toBe(kept)
    expect(nativeEd25519.verify(once.sign(message), message, once.publicKey)).toBe(true)
    expect(keptKeyObjects()).toBe(kept + 1)
  })

  it('refuses a secret key that is not 32 bytes', () => {
    expect(() => nativeEd25519.signer(new Uint8Array(31))).toThrow()
  })

  it('checks the event of docs/protocol.md through the shared checks', () => {
    const vector = protocolVectors().get('event-sig') as { event: SignedEvent; sig: string }
    const event = { ...vector.event, sig: vector.sig }
    expect(checkEvent(event, nativeEd25519)).toEqual({ ok: true })
    expect(checkEvent({ ...event, text: 'changed' }, nativeEd25519)).toEqual({
      ok: false,
      reason: 'sig',
    })
  })
})

describe('checkEventInPool', () => {
  it('decides every event as checkEvent does, forgeries included', async () => {
    const node = testIdentity()
    const mallory = testIdentity()
    const userSigner = nobleEd25519.signer(generateSecretKey())
    const userKey = encodeKey(userSigner.publicKey)
    const keyedUser = { id: userIdFromKey(userSigner.publicKey), name: 'Ada', key: userKey }
    const unsigned = { kind: 'message', room: 'general', user: keyedUser, text: 'hi', cid: 'c1' }
    const keyed = wireEvent(node, 2, 'general', 'hi', {
      user: keyedUser,
      cid: 'c1',
      usig: signAsUser(userSigner, unsigned),
    })
    const keyless = wireEvent(node, 1, 'general')
    const events: SignedEvent[] = [
      keyless,
      keyed,
      { ...keyless, text: 'changed' }, // sig
      wireEvent(mallory, 1, 'general', 'forged', { origin: node.id }), // origin_key
      // Signed by the node, the user's part forged: usig.
      wireEvent(node, 3, 'general', 'hi', { user: keyedUser, cid: 'c1', usig: keyless.sig }),
      wireEvent(node, 4, 'general', 'hi', { user: keyedUser, cid: 'c1', usig: 'not base64!' }),
      { ...keyless, sig: 'AAAA' }, // sig too short
      { ...keyed, usig: undefined }, // usig_missing
      { ...keyless, user: { id: keyedUser.id, name: 'Ada' } }, // keyed_id_without_key
    ]
    const expected = events.map((event) => checkEvent(event, nobleEd25519))
    expect(expected.map((c) => (c.ok ? 'ok' : c.reason))).toEqual([
      'ok',
      'ok',
      'sig',
      'origin_key',
      'usig',
      'usig',
      'sig',
      'usig_missing',
      'keyed_id_without_key',
    ])
    expect(await Promise.all(events.map(checkEventInPool))).toEqual(expected)
  })
})
