import { describe, expect, it } from 'vitest'
import { userIdSchema, userNameSchema } from '../../../shared/protocol.ts'
import type { KeyValueStorage } from '../client/palaver-client.ts'
import { loadIdentity, makeUserId, parseDisplayName, saveName } from './identity.ts'

function memory(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  }
}

describe('makeUserId', () => {
  it('makes 22 characters of [A-Za-z0-9_-] that the protocol accepts', () => {
    for (let i = 0; i < 100; i++) {
      const id = makeUserId()
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(userIdSchema.safeParse(id).success).toBe(true)
    }
  })

  it('maps each random byte by its low six bits', () => {
    const id = makeUserId((bytes) => bytes.map((_, i) => i * 3))
    expect(id).toBe('ADGJMPSVYbehknqtwz258-')
    expect(makeUserId((bytes) => bytes.fill(64 + 26))).toBe('a'.repeat(22))
    expect(makeUserId((bytes) => bytes.fill(255))).toBe('-'.repeat(22))
  })

  it('differs every time', () => {
    expect(new Set(Array.from({ length: 50 }, () => makeUserId())).size).toBe(50)
  })
})

describe('parseDisplayName', () => {
  it('accepts names, trimmed', () => {
    expect(parseDisplayName('  Ana  ')).toEqual({ ok: true, value: 'Ana' })
    expect(parseDisplayName('Zoë 🚀 <b>')).toEqual({ ok: true, value: 'Zoë 🚀 <b>' })
    expect(parseDisplayName('x'.repeat(64))).toEqual({ ok: true, value: 'x'.repeat(64) })
  })

  it('refuses empty, long and control characters', () => {
    for (const input of ['', '   ', 'x'.repeat(65), 'a\u0000b', 'a\nb', 'tab\there', 'a\u0085b']) {
      expect(parseDisplayName(input).ok, JSON.stringify(input)).toBe(false)
    }
  })

  it('accepts only what the protocol accepts', () => {
    for (const input of ['Ana', 'x'.repeat(64), 'a\u007fb', 'a\u009fb', 'ok ü']) {
      const parsed = parseDisplayName(input)
      expect(userNameSchema.safeParse(input).success, JSON.stringify(input)).toBe(parsed.ok)
    }
  })
})

describe('loadIdentity', () => {
  it('makes the id once and keeps it', () => {
    const storage = memory()
    const first = loadIdentity(storage)
    expect(first.name).toBeNull()
    expect(loadIdentity(storage).id).toBe(first.id)
  })

  it('remembers the name', () => {
    const storage = memory()
    const { id } = loadIdentity(storage)
    saveName(storage, 'Ana')
    expect(loadIdentity(storage)).toEqual({ id, name: 'Ana' })
  })

  it('replaces an id that is not valid', () => {
    const storage = memory()
    storage.setItem('palaver.user.id', 'bad id!')
    expect(loadIdentity(storage).id).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })
})
