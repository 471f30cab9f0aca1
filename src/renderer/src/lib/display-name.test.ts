import { describe, expect, it } from 'vitest'
import { userNameSchema } from '../../../shared/protocol.ts'
import { memoryStorage } from './storage.ts'
import { loadName, parseDisplayName, saveName } from './display-name.ts'

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

describe('loadName', () => {
  it('is null until a name is saved, then the name', () => {
    const storage = memoryStorage()
    expect(loadName(storage)).toBeNull()
    saveName(storage, 'Ana')
    expect(loadName(storage)).toBe('Ana')
  })

  it('is null for a stored name that is not valid', () => {
    const storage = memoryStorage()
    saveName(storage, 'a\nb')
    expect(loadName(storage)).toBeNull()
  })
})
