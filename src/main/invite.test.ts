import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeInvite, encodeInvite, type Invite, INVITE_PREFIX } from './invite.ts'

const INVITE: Invite = {
  mesh: 'office',
  secret: 'qH3vX0bq2Jb1mM8rL5yT9wZ4nC6pS7dE1fG2hK3jL4o',
  peer: '192.168.1.20:9080',
}
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

describe('invite codes', () => {
  it('round-trip, and are short enough to copy and to draw as a QR code', () => {
    const code = encodeInvite(INVITE)
    expect(code.startsWith(INVITE_PREFIX)).toBe(true)
    expect(code).toMatch(/^palaver1:[A-Za-z0-9_-]+$/)
    expect(code.length).toBeLessThan(130)
    expect(decodeInvite(code)).toEqual({ ok: true, invite: INVITE })
    for (const invite of [
      { mesh: 'a', secret: 'é—🙂 and "quotes"', peer: '[fe80::1]:1' },
      { mesh: 'M.e_s-h', secret: 'x'.repeat(1024), peer: 'host.lan:65535' },
    ]) {
      expect(decodeInvite(encodeInvite(invite))).toEqual({ ok: true, invite })
    }
  })

  it('encode the example of docs/protocol.md, byte for byte', () => {
    const example = {
      mesh: 'office',
      secret: 'correct-horse-battery-staple',
      peer: '192.168.1.20:9080',
    }
    const code =
      'palaver1:WyJvZmZpY2UiLCJjb3JyZWN0LWhvcnNlLWJhdHRlcnktc3RhcGxlIiwiMTkyLjE2OC4xLjIwOjkwODAiXdfLt1k'
    expect(encodeInvite(example)).toBe(code)
    expect(decodeInvite(code)).toEqual({ ok: true, invite: example })
  })

  it('take a code as pasted: wrapped, indented, with a capital prefix', () => {
    const code = encodeInvite(INVITE)
    const wrapped = `  ${code.slice(0, 40)}\n${code.slice(40, 80)}\r\n ${code.slice(80)}\n`
    expect(decodeInvite(wrapped)).toEqual({ ok: true, invite: INVITE })
    expect(decodeInvite(code.replace('palaver1', 'Palaver1'))).toEqual({ ok: true, invite: INVITE })
  })

  it('catch every one-character typo, a dropped character and two swapped ones', () => {
    const code = encodeInvite(INVITE)
    const start = INVITE_PREFIX.length
    const damaged: string[] = []
    for (let i = start; i < code.length; i++) {
      const at = ALPHABET.indexOf(code.charAt(i))
      for (const step of [1, 32]) {
        const typo = ALPHABET.charAt((at + step) % ALPHABET.length)
        damaged.push(code.slice(0, i) + typo + code.slice(i + 1))
      }
      damaged.push(code.slice(0, i) + code.slice(i + 1))
      if (i + 1 < code.length && code.charAt(i) !== code.charAt(i + 1)) {
        damaged.push(code.slice(0, i) + code.charAt(i + 1) + code.charAt(i) + code.slice(i + 2))
      }
    }
    for (const text of damaged)
      expect(decodeInvite(text), text).toEqual({ ok: false, problem: 'damaged' })
    // Cut short anywhere.
    for (let end = start + 1; end < code.length; end++) {
      expect(decodeInvite(code.slice(0, end)).ok).toBe(false)
    }
  })

  it('refuse what is not an invite, without throwing', () => {
    for (const text of [
      '',
      'palaver1:',
      'palaver2:' + encodeInvite(INVITE).slice(INVITE_PREFIX.length),
      encodeInvite(INVITE).slice(INVITE_PREFIX.length),
      'http://192.168.1.20:8080/',
      'palaver1:abc+/=',
      'palaver1:' + 'A'.repeat(5000),
    ]) {
      expect(decodeInvite(text), text).toEqual({ ok: false, problem: 'not_invite' })
    }
    // A valid check over content that is not an invite (made by hand): damaged, not an invite.
    const json = Buffer.from(JSON.stringify(['office', '', 'nowhere']))
    const check = createHash('sha256').update(json).digest().subarray(0, 4)
    const forged = INVITE_PREFIX + Buffer.concat([json, check]).toString('base64url')
    expect(decodeInvite(forged)).toEqual({ ok: false, problem: 'damaged' })

    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => !decodeInvite(text).ok),
      { numRuns: 2_000 },
    )
    fc.assert(
      fc.property(
        fc.base64String({ maxLength: 200 }),
        (body) => !decodeInvite(INVITE_PREFIX + body.replace(/=/g, '')).ok,
      ),
      { numRuns: 2_000 },
    )
  })
})
