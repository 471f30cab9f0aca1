import { describe, expect, it } from 'vitest'
import { roomSchema } from '../../../shared/protocol.ts'
import { parseRoomName } from './room-name.ts'

describe('parseRoomName', () => {
  it('accepts room names, trimmed and lower-cased', () => {
    expect(parseRoomName('general')).toEqual({ ok: true, value: 'general' })
    expect(parseRoomName('  Dev-Ops_2 ')).toEqual({ ok: true, value: 'dev-ops_2' })
    expect(parseRoomName('9')).toEqual({ ok: true, value: '9' })
    expect(parseRoomName('a'.repeat(64))).toEqual({ ok: true, value: 'a'.repeat(64) })
  })

  it('refuses what is not a room name, with a reason', () => {
    for (const input of ['', '   ', '-x', '_x', 'two words', 'a/b', '<b>', 'é', 'a'.repeat(65)]) {
      const parsed = parseRoomName(input)
      expect(parsed.ok, input).toBe(false)
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0)
    }
  })

  it('agrees with the protocol schema', () => {
    for (const input of [
      'general',
      'a-b',
      'x_1',
      '-a',
      'A',
      'a b',
      'a'.repeat(64),
      'a'.repeat(65),
    ]) {
      const parsed = parseRoomName(input)
      if (parsed.ok) expect(roomSchema.safeParse(parsed.value).success, input).toBe(true)
      else if (input === input.toLowerCase().trim()) {
        expect(roomSchema.safeParse(input).success, input).toBe(false)
      }
    }
  })
})
