import { ed25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { verifyRuleCases } from '../../test/support/protocol-vectors.ts'
import { nobleEd25519, passesEncodingRules } from './ed25519.ts'

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** RFC 8032, section 7.1, tests 1 and 2. */
const RFC_8032 = [
  {
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
      '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
      '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
]

describe('nobleEd25519', () => {
  it.each(RFC_8032)('signs and verifies RFC 8032 test vector $#', (v) => {
    const signer = nobleEd25519.signer(hex(v.secretKey))
    expect(Buffer.from(signer.publicKey).toString('hex')).toBe(v.publicKey)
    expect(Buffer.from(signer.sign(hex(v.message))).toString('hex')).toBe(v.signature)
    expect(nobleEd25519.verify(hex(v.signature), hex(v.message), hex(v.publicKey))).toBe(true)
  })

  it('refuses a secret key that is not 32 bytes', () => {
    expect(() => nobleEd25519.signer(new Uint8Array(31))).toThrow()
    expect(() => nobleEd25519.signer(new Uint8Array(64))).toThrow()
  })

  it('keeps its own copy of the secret key and shows only the public key', () => {
    const secret = new Uint8Array(32).fill(5)
    const signer = nobleEd25519.signer(secret)
    const before = signer.sign(utf8('x'))
    secret.fill(6)
    expect(signer.sign(utf8('x'))).toEqual(before)
    expect(Object.keys(signer).sort()).toEqual(['publicKey', 'sign'])
  })

  it('refuses a signature once any bit of the message, signature or key changes', () => {
    const signer = nobleEd25519.signer(new Uint8Array(32).fill(1))
    const message = utf8('palaver-v1-session|node|nonce')
    const signature = signer.sign(message)
    const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
      const copy = Uint8Array.from(bytes)
      copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7))
      return copy
    }
    fc.assert(
      fc.property(fc.nat(message.length * 8 - 1), fc.nat(511), fc.nat(255), (m, s, k) => {
        expect(nobleEd25519.verify(signature, flip(message, m), signer.publicKey)).toBe(false)
        expect(nobleEd25519.verify(flip(signature, s), message, signer.publicKey)).toBe(false)
        expect(nobleEd25519.verify(signature, message, flip(signer.publicKey, k))).toBe(false)
      }),
      { numRuns: 15 },
    )
    expect(nobleEd25519.verify(signature, message, signer.publicKey)).toBe(true)
  })

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (signature, message, key) => {
          expect(nobleEd25519.verify(signature, message, key)).toBe(false)
        },
      ),
      { numRuns: 200 },
    )
    for (const junk of [null, undefined, 'sig', 5, {}, [1, 2]]) {
      const value = junk as unknown as Uint8Array
      expect(nobleEd25519.verify(value, value, value)).toBe(false)
    }
  })

  it.each(verifyRuleCases())('decides "$case" as docs/protocol.md says', (c) => {
    expect(nobleEd25519.verify(c.sig, utf8(c.message), c.key)).toBe(c.valid)
  })

  it('is stricter than noble’s own default, as docs/protocol.md says (six of the eight)', () => {
    const refused = verifyRuleCases().filter((c) => !c.valid)
    const acceptedByDefault = refused.filter((c) => ed25519.verify(c.sig, utf8(c.message), c.key))
    expect(refused).toHaveLength(8)
    expect(acceptedByDefault).toHaveLength(6)
  })
})

describe('passesEncodingRules', () => {
  const signer = nobleEd25519.signer(new Uint8Array(32).fill(3))
  const signature = signer.sign(utf8('m'))
  const withS = (s: Uint8Array): Uint8Array => Uint8Array.from([...signature.subarray(0, 32), ...s])
  /** L − 1 and L, little-endian. */
  const L_MINUS_1 = hex('ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
  const L = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

  it('passes an ordinary signature and key', () => {
    expect(passesEncodingRules(signature, signer.publicKey)).toBe(true)
  })

  it('takes S up to L − 1 and refuses L and above', () => {
    expect(passesEncodingRules(withS(L_MINUS_1), signer.publicKey)).toBe(true)
    expect(passesEncodingRules(withS(L), signer.publicKey)).toBe(false)
    expect(passesEncodingRules(withS(new Uint8Array(32).fill(0xff)), signer.publicKey)).toBe(false)
  })

  it.each([
    ['y = 0 (order 4)', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['y = 1 (the identity)', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['y = p − 1 (order 2)', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['order 8', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'],
    ['order 8, the other y', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'],
    ['y = p (not canonical)', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    [
      'y = 2^255 − 1 (not canonical)',
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ],
  ])('refuses a key or an R with %s, whatever the sign bit', (_, yHex) => {
    for (const sign of [0, 0x80]) {
      const point = hex(yHex)
      point[31] = (point[31] ?? 0) | sign
      expect(passesEncodingRules(signature, point)).toBe(false)
      expect(
        passesEncodingRules(
          Uint8Array.from([...point, ...signature.subarray(32)]),
          signer.publicKey,
        ),
      ).toBe(false)
    }
  })

  it('refuses wrong lengths', () => {
    expect(passesEncodingRules(signature.subarray(1), signer.publicKey)).toBe(false)
    expect(passesEncodingRules(signature, signer.publicKey.subarray(1))).toBe(false)
  })
})
