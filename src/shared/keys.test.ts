import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nobleEd25519 } from './ed25519.ts'
import {
  decodeKey,
  decodeSignature,
  encodeKey,
  encodeSignature,
  generateSecretKey,
  isKeyedUserId,
  keyOwnsNodeId,
  keyOwnsUserId,
  nodeIdFromKey,
  userIdFromKey,
} from './keys.ts'

const publicKey = nobleEd25519.signer(new Uint8Array(32).fill(9)).publicKey
const key = encodeKey(publicKey)
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

describe('ids from keys', () => {
  it('makes a node id of the first 40 hex digits of SHA-256 of the raw key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        expect(nodeIdFromKey(raw)).toBe(sha256Hex(raw).slice(0, 40))
        expect(nodeIdFromKey(raw)).toMatch(/^[0-9a-f]{40}$/)
      }),
    )
  })

  it('makes a keyed user id of "k" and the same 40 digits', () => {
    expect(userIdFromKey(publicKey)).toBe(`k${nodeIdFromKey(publicKey)}`)
    expect(isKeyedUserId(userIdFromKey(publicKey))).toBe(true)
  })

  it.each([
    ['the keyed form', `k${'0'.repeat(40)}`, true],
    ['a shorter hex tail', `k${'0'.repeat(39)}`, false],
    ['a longer hex tail', `k${'0'.repeat(41)}`, false],
    ['upper-case hex', `k${'A'.repeat(40)}`, false],
    ['a capital K', `K${'0'.repeat(40)}`, false],
    ['a node id', '0'.repeat(40), false],
    ['an ordinary unverified id', 'alice-0001', false],
    ['a keyed id with a line break after it', `k${'0'.repeat(40)}\n`, false],
  ])('tells %s', (_, id, keyed) => {
    expect(isKeyedUserId(id)).toBe(keyed)
  })

  it('says a key owns exactly the ids made from it', () => {
    const other = encodeKey(new Uint8Array(32).fill(1))
    expect(keyOwnsNodeId(key, nodeIdFromKey(publicKey))).toBe(true)
    expect(keyOwnsUserId(key, userIdFromKey(publicKey))).toBe(true)
    expect(keyOwnsNodeId(other, nodeIdFromKey(publicKey))).toBe(false)
    expect(keyOwnsUserId(other, userIdFromKey(publicKey))).toBe(false)
    expect(keyOwnsNodeId(key, userIdFromKey(publicKey))).toBe(false)
    expect(keyOwnsUserId(key, nodeIdFromKey(publicKey))).toBe(false)
  })

  it('says no key text that is not a key owns anything, without throwing', () => {
    const id = nodeIdFromKey(publicKey)
    for (const text of ['', `${key}=`, `${key}A`, key.slice(1), key.replace(/.$/, 'B'), '🔑']) {
      expect(keyOwnsNodeId(text, id)).toBe(false)
      expect(keyOwnsUserId(text, `k${id}`)).toBe(false)
    }
  })
})

describe('key and signature text', () => {
  it('round-trips a 32-byte key and a 64-byte signature', () => {
    const signature = new Uint8Array(64).fill(200)
    expect(decodeKey(key)).toEqual(publicKey)
    expect(decodeSignature(encodeSignature(signature))).toEqual(signature)
  })

  it('refuses text of the wrong length or form', () => {
    const signature = encodeSignature(new Uint8Array(64))
    expect(decodeKey(signature)).toBeNull()
    expect(decodeSignature(key)).toBeNull()
    expect(decodeKey(`${key}=`)).toBeNull()
    // Standard base64, padded: 44 characters.
    expect(decodeKey(Buffer.from(publicKey).toString('base64'))).toBeNull()
  })
})

describe('generateSecretKey', () => {
  it('makes 32 random bytes, a new key each time', () => {
    const keys = Array.from({ length: 20 }, () => encodeKey(generateSecretKey()))
    expect(new Set(keys).size).toBe(20)
    for (const secret of keys) expect(decodeKey(secret)).toHaveLength(32)
  })
})
