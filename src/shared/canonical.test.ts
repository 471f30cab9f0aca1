import { describe, expect, it } from 'vitest'
import { CanonicalError, canonical, canonicalBytes, signedBytes, without } from './canonical.ts'

describe('canonical (RFC 8785)', () => {
  it('gives the RFC example of section 3.2.2 (numbers, literals, string escapes)', () => {
    // From the JSON text, as a receiver gets it: 333333333.33333329 is not a double.
    const input = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`)
    expect(canonical(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        `"string":"€$\\u000f\\nA'B\\"\\\\\\\\\\"/"}`,
    )
  })

  it('sorts keys by UTF-16 code units, as the RFC example of section 3.2.3', () => {
    const input = JSON.parse(`{
      "\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"
    }`)
    // The emoji (U+1F600, D83D DE00 in UTF-16) sorts before U+FB33, unlike by code points.
    expect(canonical(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  it.each([
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [-0, '0'],
    [0.000001, '0.000001'],
    [1e-7, '1e-7'],
    [-1.5e-7, '-1.5e-7'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [Number.MIN_VALUE, '5e-324'],
    [0.1 + 0.2, '0.30000000000000004'],
  ])('writes the number %s as %s', (value, text) => {
    expect(canonical(value)).toBe(text)
    expect(canonical({ n: value })).toBe(`{"n":${text}}`)
  })

  it.each([
    ['a control character as lowercase \\u00xx', '\u001f', '"\\u001f"'],
    ['the short escapes', '\b\f\n\r\t', '"\\b\\f\\n\\r\\t"'],
    ['quote and backslash', '"\\', '"\\"\\\\"'],
    ['slash, DEL and U+2028 as they are', '/\u007f\u2028', '"/\u007f\u2028"'],
    ['non-ASCII as it is', 'é€😀', '"é€😀"'],
  ])('escapes %s', (_, value, text) => {
    expect(canonical(value)).toBe(text)
  })

  it('has no white space and keeps array order', () => {
    expect(canonical({ b: [3, 1, 2], a: { d: null, c: 'x' } })).toBe(
      '{"a":{"c":"x","d":null},"b":[3,1,2]}',
    )
  })

  it('keeps a field named __proto__ from JSON.parse like any other', () => {
    const input = JSON.parse('{"b":1,"__proto__":{"x":2}}') as object
    expect(canonical(input)).toBe('{"__proto__":{"x":2},"b":1}')
  })

  it.each([
    ['a lone high surrogate', { text: '\ud800' }],
    ['a lone low surrogate', { text: 'a\udc00b' }],
    ['a lone surrogate in a key', JSON.parse('{"\\ud800":1}')],
    ['NaN', { n: NaN }],
    ['Infinity', [Infinity]],
    ['undefined', undefined],
    ['a function', () => 1],
  ])('throws CanonicalError for %s', (_, value) => {
    expect(() => canonical(value)).toThrow(CanonicalError)
  })

  it('throws CanonicalError for a cycle', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => canonical(cycle)).toThrow(CanonicalError)
  })
})

describe('canonicalBytes', () => {
  it('is the UTF-8 of canonical', () => {
    expect(Buffer.from(canonicalBytes({ é: '😀' })).toString('hex')).toBe(
      Buffer.from('{"é":"😀"}', 'utf8').toString('hex'),
    )
  })
})

describe('without / signedBytes', () => {
  it('drops only the named fields and leaves the record as it was', () => {
    const record = { a: 1, sig: 'x', usig: 'y', b: { sig: 'inner' } }
    expect(without(record, ['sig', 'usig'])).toEqual({ a: 1, b: { sig: 'inner' } })
    expect(record).toEqual({ a: 1, sig: 'x', usig: 'y', b: { sig: 'inner' } })
  })

  it('keeps an own field named __proto__ as an own field', () => {
    const record = JSON.parse('{"__proto__":{"polluted":true},"sig":"x"}') as Record<
      string,
      unknown
    >
    const copy = without(record, ['sig'])
    expect(Object.keys(copy)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('signs the canonical text of the object without its sig, nested sigs included', () => {
    const text = new TextDecoder().decode(signedBytes({ sig: 'x', b: 2, a: { sig: 'y' } }))
    expect(text).toBe('{"a":{"sig":"y"},"b":2}')
  })
})
