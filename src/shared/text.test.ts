import { describe, expect, it } from 'vitest'
import { hasVisibleCharacter, isSendableText, isWellFormedText } from './text.ts'

describe('hasVisibleCharacter', () => {
  it.each([
    ['empty', ''],
    ['spaces and line breaks', ' \n\t\r\u00a0\u3000\u2028'],
    ['zero-width characters U+200B..U+200F', '\u200b\u200c\u200d\u200e\u200f'],
    ['U+2060..U+2064 and U+FEFF', '\u2060\u2061\u2062\u2063\u2064\ufeff'],
    ['variation selectors', '\ufe00\ufe0f\u{e0100}\u{e01ef}'],
    ['combining marks', '\u0300\u036f\u20dd'],
    ['Hangul fillers', '\u115f\u1160\u3164\uffa0'],
    ['a Mongolian vowel separator', '\u180e'],
    ['bidi controls', '\u202a\u202e\u2066\u2069\u061c'],
    ['tags', '\u{e0001}\u{e0020}\u{e007f}'],
    ['the blank Braille pattern', '\u2800'],
    ['a lone surrogate', '\ud800'],
  ])('is false for %s', (_what, text) => {
    expect(hasVisibleCharacter(text)).toBe(false)
  })

  it.each([
    ['a letter', 'a'],
    ['a letter with a combining mark', 'a\u0301'],
    ['an emoji with a variation selector', '\u2764\ufe0f'],
    ['a ZWJ emoji sequence', '👩🏽‍💻'],
    ['CJK', '名前'],
    ['a dot among zero-width spaces', '\u200b.\u200b'],
    ['a Braille pattern with dots', '\u2801'],
    ['a private-use character', '\ue000'],
  ])('is true for %s', (_what, text) => {
    expect(hasVisibleCharacter(text)).toBe(true)
  })
})

describe('isWellFormedText', () => {
  it('refuses a lone high or low surrogate anywhere, and takes pairs', () => {
    expect(isWellFormedText('😀')).toBe(true)
    expect(isWellFormedText('')).toBe(true)
    for (const text of ['\ud800', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d'])
      expect(isWellFormedText(text), JSON.stringify(text)).toBe(false)
  })
})

describe('isSendableText', () => {
  it('needs both: something visible, and no lone surrogate', () => {
    expect(isSendableText('hello')).toBe(true)
    expect(isSendableText('\u200b')).toBe(false)
    expect(isSendableText('hello \ud800')).toBe(false)
  })
})
