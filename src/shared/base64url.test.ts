import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { base64urlLength, decodeBase64url, encodeBase64url } from './base64url.ts'

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('encodeBase64url', () => {
  it('writes RFC 4648 base64url without padding', () => {
    expect(encodeBase64url(bytes())).toBe('')
    expect(encodeBase64url(bytes(0x66))).toBe('Zg')
    expect(encodeBase64url(bytes(0x66, 0x6f))).toBe('Zm8')
    expect(encodeBase64url(bytes(0x66, 0x6f, 0x6f))).toBe('Zm9v')
    expect(encodeBase64url(bytes(0xfb, 0xff, 0xbf))).toBe('-_-_')
  })

  it('agrees with node:crypto for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (input) => {
        expect(encodeBase64url(input)).toBe(Buffer.from(input).toString('base64url'))
      }),
    )
  })

  it('gives the length base64urlLength says: 43 characters for a key, 86 for a signature', () => {
    expect(encodeBase64url(new Uint8Array(32))).toHaveLength(base64urlLength(32))
    expect(base64urlLength(32)).toBe(43)
    expect(base64urlLength(64)).toBe(86)
  })
})

describe('decodeBase64url', () => {
  it('decodes what encodeBase64url writes, with or without an expected length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (input) => {
        const text = encodeBase64url(input)
        expect(decodeBase64url(text)).toEqual(input)
        expect(decodeBase64url(text, input.length)).toEqual(input)
      }),
    )
  })

  it.each([
    ['padding', 'Zg=='],
    ['one pad character', 'Zm8='],
    ['the standard alphabet', '+/+/'],
    ['white space', 'Zm9v '],
    ['a line break inside', 'Zm\n9v'],
    ['an impossible length', 'Zm9vY'],
    ['a character beyond ASCII', 'Zm9é'],
    ['unused low bits set (Zh is Zg with one more bit)', 'Zh'],
    ['unused low bits set in a two-byte tail', 'Zm9'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase64url(text)).toBeNull()
  })

  it('refuses another number of bytes than expected', () => {
    const key = encodeBase64url(new Uint8Array(32).fill(7))
    expect(decodeBase64url(key, 32)).toHaveLength(32)
    expect(decodeBase64url(key, 31)).toBeNull()
    expect(decodeBase64url(key, 33)).toBeNull()
    expect(decodeBase64url(key.slice(0, -1), 32)).toBeNull()
    expect(decodeBase64url(`${key}A`, 32)).toBeNull()
  })

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100, unit: 'binary' }), fc.nat(70), (text, length) => {
        expect(() => decodeBase64url(text)).not.toThrow()
        expect(() => decodeBase64url(text, length)).not.toThrow()
      }),
    )
  })

  it('gives every byte string exactly one text: any text it accepts is what encode writes', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/), (text) => {
        const decoded = decodeBase64url(text)
        if (decoded !== null) expect(encodeBase64url(decoded)).toBe(text)
      }),
    )
  })
})
