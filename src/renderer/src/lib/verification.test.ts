import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { nobleEd25519 } from '../../../shared/ed25519.ts'
import { encodeKey, userIdFromKey } from '../../../shared/keys.ts'
import { ambiguousUserIds, isVerified, nameCode, roomAmbiguousUserIds } from './verification.ts'

describe('isVerified', () => {
  const publicKey = nobleEd25519.signer(new Uint8Array(32).fill(7)).publicKey
  const key = encodeKey(publicKey)
  const id = userIdFromKey(publicKey)

  it('is true for a user whose id is the hash of its key', () => {
    expect(isVerified({ id, name: 'Ada', key })).toBe(true)
  })

  it('is false for a keyless user', () => {
    expect(isVerified({ id: 'user-abcdefgh', name: 'Ada' })).toBe(false)
    expect(isVerified({ id: 'k0123456789', name: 'Ada' })).toBe(false)
  })

  it('is false for an id of the keyed form without its key', () => {
    expect(isVerified({ id, name: 'Ada' })).toBe(false)
  })

  it('is false for a key that is not the id’s, or not a key', () => {
    const other = encodeKey(nobleEd25519.signer(new Uint8Array(32).fill(8)).publicKey)
    expect(isVerified({ id, name: 'Ada', key: other })).toBe(false)
    expect(isVerified({ id: 'user-abcdefgh', name: 'Ada', key })).toBe(false)
    for (const bad of ['', 42, 'MCowBQYDK2VwAyEA', `${key}=`])
      expect(isVerified({ id, name: 'Ada', key: bad }), String(bad)).toBe(false)
  })
})

describe('nameCode', () => {
  it('is the first 4 hex digits of the id’s SHA-256', () => {
    // SHA-256("abc") = ba7816bf…
    expect(nameCode('abc')).toBe('ba78')
    const id = 'user-abcdefgh'
    const hex = Array.from(sha256(new TextEncoder().encode(id)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('')
    expect(nameCode(id)).toBe(hex.slice(0, 4))
  })

  it('differs for different ids (most of the time) and is stable for one', () => {
    expect(nameCode('user-aaaaaaaa')).toBe(nameCode('user-aaaaaaaa'))
    const codes = new Set(Array.from({ length: 100 }, (_, i) => nameCode(`user-${i}`)))
    expect(codes.size).toBeGreaterThan(95)
  })
})

describe('ambiguousUserIds', () => {
  it('names the ids that share a name with another id', () => {
    const ids = ambiguousUserIds([
      { id: 'ada-one-aaaa', name: 'Ada' },
      { id: 'ada-two-bbbb', name: 'Ada' },
      { id: 'bob-one-cccc', name: 'Bob' },
    ])
    expect([...ids].sort()).toEqual(['ada-one-aaaa', 'ada-two-bbbb'])
  })

  it('does not count one id seen many times as ambiguous', () => {
    const ada = { id: 'ada-one-aaaa', name: 'Ada' }
    expect(ambiguousUserIds([ada, ada, ada]).size).toBe(0)
  })

  it('matches names that look alike: case and compatibility forms', () => {
    const ids = ambiguousUserIds([
      { id: 'ada-one-aaaa', name: 'Ada' },
      { id: 'ada-two-bbbb', name: 'ADA' },
      { id: 'ada-three-cc', name: 'Ａｄａ' }, // fullwidth
    ])
    expect(ids.size).toBe(3)
  })

  it('is safe with names that are Object.prototype keys', () => {
    const ids = ambiguousUserIds([
      { id: 'proto-one-aa', name: '__proto__' },
      { id: 'ctor-one-bbb', name: 'constructor' },
    ])
    expect(ids.size).toBe(0)
  })
})

describe('roomAmbiguousUserIds', () => {
  it('counts a message author and an online user with the same name', () => {
    const ids = roomAmbiguousUserIds({
      messages: [{ user: { id: 'ada-one-aaaa', name: 'Ada' } }],
      users: [{ id: 'ada-two-bbbb', name: 'Ada' }],
    })
    expect([...ids].sort()).toEqual(['ada-one-aaaa', 'ada-two-bbbb'])
  })
})
