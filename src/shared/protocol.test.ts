import { describe, expect, it } from 'vitest'
import { encodeBase64url } from './base64url.ts'
import {
  HISTORY_MAX_LIMIT,
  MAX_TEXT_LENGTH,
  eventId,
  eventIdSchema,
  parseClientFrame,
  parseEventId,
  type ClientParse,
} from './protocol.ts'

const user = { id: 'user_0001', name: 'Ada' }
/** A public key and a signature in their wire form (their bytes do not matter to a schema). */
const key = encodeBase64url(new Uint8Array(32).fill(7))
const sig = encodeBase64url(new Uint8Array(64).fill(9))

/** One valid example of every client frame type, with every optional field left out. */
const valid = {
  hello: { type: 'hello', protocol: 1, user },
  join: { type: 'join', room: 'general' },
  leave: { type: 'leave', room: 'general' },
  send: { type: 'send', room: 'general', text: 'hi', cid: 'c1' },
  history: { type: 'history', room: 'general' },
  typing: { type: 'typing', room: 'general' },
  ping: { type: 'ping' },
  prove: { type: 'prove', sig },
} as const

/** The required fields of each frame type besides `type`. */
const required: Record<keyof typeof valid, string[]> = {
  hello: ['protocol', 'user'],
  join: ['room'],
  leave: ['room'],
  send: ['room', 'text', 'cid'],
  history: ['room'],
  typing: ['room'],
  ping: [],
  prove: ['sig'],
}

function parse(frame: unknown): ClientParse {
  return parseClientFrame(JSON.stringify(frame))
}

function expectOk(frame: unknown): void {
  const result = parse(frame)
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true })
}

/** Expects `bad_request` with a message that names `field` (a dotted path like `user.name`). */
function expectBad(frame: unknown, field: string): void {
  const result = parse(frame)
  expect(result.ok).toBe(false)
  if (result.ok) return
  expect(result.code).toBe('bad_request')
  expect(result.message).toMatch(new RegExp(`(^|\\W)${field.replace('.', '\\.')}(\\W|$)`))
}

function without(frame: object, field: string): object {
  return Object.fromEntries(Object.entries(frame).filter(([key]) => key !== field))
}

describe('parseClientFrame: valid frames', () => {
  it.each(Object.entries(valid))('parses a minimal %s frame', (_type, frame) => {
    expect(parse(frame)).toEqual({ ok: true, frame })
  })

  it('parses frames with their optional fields', () => {
    expectOk({ ...valid.hello, token: 's3cret', ref: 'r1' })
    expectOk({ ...valid.join, since: { abcdefgh: 3, '0123456789': 0 } })
    expectOk({ ...valid.join, since: {} })
    expectOk({ ...valid.history, before: 'abcdefgh:12', limit: 10 })
    expectOk({ ...valid.ping, ref: 'p' })
    expectOk({ ...valid.hello, user: { ...user, key } })
    expectOk({ ...valid.send, usig: sig })
    expectOk({ ...valid.prove, ref: 'p' })
  })

  it('keeps the since vector of a join, as a Map (its keys come from the wire)', () => {
    const result = parse({ ...valid.join, since: { abcdefgh: 3 } })
    expect(result).toEqual({
      ok: true,
      frame: { ...valid.join, since: new Map([['abcdefgh', 3]]) },
    })
  })

  it('accepts and keeps unknown extra fields (forward compatibility)', () => {
    for (const frame of Object.values(valid)) {
      const result = parse({ ...frame, future: { nested: [1, 2] }, flag: true })
      expect(result).toEqual({
        ok: true,
        frame: { ...frame, future: { nested: [1, 2] }, flag: true },
      })
    }
    expectOk({ ...valid.hello, user: { ...user, avatar: 'x.png' } })
  })
})

describe('parseClientFrame: not a frame', () => {
  it('rejects text that is not JSON, without a ref', () => {
    for (const data of ['', 'nope', '{"type":"ping"', "{'type':'ping'}"]) {
      expect(parseClientFrame(data)).toEqual({
        ok: false,
        code: 'bad_request',
        message: expect.stringContaining('JSON'),
      })
    }
  })

  it.each(['null', '5', '"ping"', 'true', '[]', '[{"type":"ping"}]'])('rejects %s', (data) => {
    const result = parseClientFrame(data)
    expect(result).toMatchObject({ ok: false, code: 'bad_request' })
    expect(result.ok || result.ref).toBeUndefined()
  })

  it('rejects a missing, unknown or non-string type and names the type', () => {
    expectBad({}, 'type')
    expectBad({ room: 'general' }, 'type')
    expectBad({ type: 'shout', room: 'general' }, 'type')
    expectBad({ type: 'PING' }, 'type')
    expectBad({ type: 7 }, 'type')
    expectBad({ type: null }, 'type')
  })
})

describe('parseClientFrame: required fields', () => {
  const cases = Object.entries(required).flatMap(([type, fields]) =>
    fields.map((field) => [type, field] as [keyof typeof valid, string]),
  )
  it.each(cases)('a %s frame without %s is bad_request naming it', (type, field) => {
    expectBad(without(valid[type], field), field)
  })

  it.each(cases)('a %s frame with %s: null is bad_request naming it', (type, field) => {
    expectBad({ ...valid[type], [field]: null }, field)
  })
})

describe('parseClientFrame: hello', () => {
  it('accepts only protocol 1', () => {
    expectBad({ ...valid.hello, protocol: 2 }, 'protocol')
    expectBad({ ...valid.hello, protocol: 0 }, 'protocol')
    expectBad({ ...valid.hello, protocol: '1' }, 'protocol')
  })

  it('needs a user object with an id and a name', () => {
    expectBad({ ...valid.hello, user: 'ada' }, 'user')
    expectBad({ ...valid.hello, user: [] }, 'user')
    expectBad({ ...valid.hello, user: { name: 'Ada' } }, 'user.id')
    expectBad({ ...valid.hello, user: { id: user.id } }, 'user.name')
  })

  it('checks the user id pattern at its length boundaries', () => {
    const withId = (id: unknown) => ({ ...valid.hello, user: { ...user, id } })
    expectOk(withId('a'.repeat(8)))
    expectOk(withId('Z'.repeat(64)))
    expectOk(withId('Ab_-09zZ'))
    expectBad(withId('a'.repeat(7)), 'user.id')
    expectBad(withId('a'.repeat(65)), 'user.id')
    expectBad(withId(''), 'user.id')
    expectBad(withId('abcdefg.'), 'user.id')
    expectBad(withId('abcd efgh'), 'user.id')
    expectBad(withId('abcdéfgh'), 'user.id')
    expectBad(withId(12345678), 'user.id')
  })

  it('takes names of 1-64 characters', () => {
    const withName = (name: unknown) => ({ ...valid.hello, user: { ...user, name } })
    expectOk(withName('A'))
    expectOk(withName('n'.repeat(64)))
    expectOk(withName('😀'.repeat(32))) // 64 units
    expectBad(withName(''), 'user.name')
    expectBad(withName('n'.repeat(65)), 'user.name')
    expectBad(withName(42), 'user.name')
  })

  it('takes names with emoji, right-to-left script and inner spaces', () => {
    const withName = (name: string) => ({ ...valid.hello, user: { ...user, name } })
    expectOk(withName('Ada 👩🏽‍💻'))
    expectOk(withName('مرحبا بالعالم'))
    expectOk(withName('שלום'))
    expectOk(withName('名前'))
  })

  it.each([
    ['NUL', '\u0000'],
    ['tab', '\t'],
    ['newline', '\n'],
    ['carriage return', '\r'],
    ['escape', '\u001b'],
    ['DEL', '\u007f'],
    ['C1 NEL', '\u0085'],
    ['C1 APC', '\u009f'],
  ])('rejects a name with a control character (%s)', (_what, control) => {
    expectBad({ ...valid.hello, user: { ...user, name: `Ada${control}` } }, 'user.name')
    expectBad({ ...valid.hello, user: { ...user, name: control } }, 'user.name')
  })

  it('refuses a name with nothing visible or with a lone surrogate', () => {
    const withName = (name: string) => ({ ...valid.hello, user: { ...user, name } })
    expectBad(withName('\u200b\u200b'), 'user.name')
    expectBad(withName(' '), 'user.name')
    expectBad(withName('\u3164'), 'user.name')
    expectBad(withName('Ada\ud800'), 'user.name')
    expectOk(withName('Ada\u200d'))
  })

  it('takes a key only as the base64url of 32 bytes', () => {
    const withKey = (k: unknown) => ({ ...valid.hello, user: { ...user, key: k } })
    expectOk(withKey(key))
    expectBad(withKey(`${key}=`), 'user.key')
    expectBad(withKey(key.slice(1)), 'user.key')
    expectBad(withKey(sig), 'user.key')
    expectBad(withKey(7), 'user.key')
  })

  it('takes a string token and rejects any other', () => {
    expectOk({ ...valid.hello, token: '' })
    expectBad({ ...valid.hello, token: 1234 }, 'token')
  })
})

describe('parseClientFrame: rooms', () => {
  const roomFrames = (['join', 'leave', 'send', 'history', 'typing'] as const).map((t) => valid[t])

  it('accepts rooms at their length boundaries', () => {
    for (const frame of roomFrames) {
      expectOk({ ...frame, room: 'a' })
      expectOk({ ...frame, room: '7' })
      expectOk({ ...frame, room: 'r'.repeat(64) })
      expectOk({ ...frame, room: 'a-b_c9' })
      expectOk({ ...frame, room: '0' + '_-'.repeat(31) + 'z' })
    }
  })

  it.each([
    ['empty', ''],
    ['65 characters', 'r'.repeat(65)],
    ['a leading underscore', '_general'],
    ['a leading dash', '-general'],
    ['upper case', 'General'],
    ['a space', 'gen eral'],
    ['a dot', 'gen.eral'],
    ['a slash', 'a/b'],
    ['non-ASCII', 'café'],
  ])('rejects a room with %s', (_what, room) => {
    for (const frame of roomFrames) expectBad({ ...frame, room }, 'room')
  })

  it('rejects a room that is not a string', () => {
    for (const frame of roomFrames) expectBad({ ...frame, room: 1 }, 'room')
  })
})

describe('parseClientFrame: join since', () => {
  const withSince = (since: unknown) => ({ ...valid.join, since })

  it('accepts node ids at their length boundaries and seq 0', () => {
    expectOk(withSince({ ['a'.repeat(8)]: 0, ['9'.repeat(64)]: Number.MAX_SAFE_INTEGER }))
  })

  it.each([
    ['too short', 'a'.repeat(7)],
    ['too long', 'a'.repeat(65)],
    ['upper case', 'ABCDEFGH'],
    ['a dash', 'abcd-efgh'],
    ['a colon', 'abcd:efgh'],
  ])('rejects a node id that is %s', (_what, node) => {
    expectBad(withSince({ abcdefgh: 1, [node]: 1 }), 'since')
  })

  it.each([
    ['negative', -1],
    ['not an integer', 1.5],
    ['a string', '3'],
    ['null', null],
    ['unsafe', Number.MAX_SAFE_INTEGER + 1],
  ])('rejects a seq that is %s', (_what, seq) => {
    expectBad(withSince({ abcdefgh: seq }), 'since')
  })

  it('rejects a since that is not an object', () => {
    expectBad(withSince([]), 'since')
    expectBad(withSince([1, 2]), 'since')
    expectBad(withSince('abcdefgh:1'), 'since')
    expectBad(withSince(5), 'since')
  })

  it('holds an origin named like a property of plain objects as any other', () => {
    const result = parse(withSince({ constructor: 4, hasownproperty: 2 }))
    if (!result.ok || result.frame.type !== 'join') throw new Error(JSON.stringify(result))
    expect(result.frame.since).toEqual(
      new Map([
        ['constructor', 4],
        ['hasownproperty', 2],
      ]),
    )
    expect(result.frame.since?.get('tostring')).toBeUndefined()
    // `__proto__` is no node id, and never reaches the Map.
    const proto = parseClientFrame(
      '{"type":"join","room":"a","since":{"__proto__":{"abcdefgh":5}}}',
    )
    expect(proto).toMatchObject({ ok: true, frame: { since: new Map() } })
  })

  it('takes at most 1024 origins', () => {
    const origins = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`node${String(i).padStart(4, '0')}`, 1]),
      )
    expectOk(withSince(origins(1024)))
    expectBad(withSince(origins(1025)), 'since')
  })
})

describe('parseClientFrame: send', () => {
  const withText = (text: unknown) => ({ ...valid.send, text })

  it('accepts text up to exactly 4000 UTF-16 units', () => {
    expectOk(withText('x'))
    expectOk(withText('x'.repeat(MAX_TEXT_LENGTH)))
    expectOk(withText('😀'.repeat(MAX_TEXT_LENGTH / 2)))
    expectOk(withText('  leading and trailing space is kept  '))
    expect(parse(withText(' a\n'))).toEqual({ ok: true, frame: withText(' a\n') })
  })

  it('rejects text over 4000 units with too_long, counting an emoji as 2 units', () => {
    const tooLong = (text: string) => {
      expect(parse({ ...withText(text), ref: 'r9' })).toEqual({
        ok: false,
        code: 'too_long',
        message: expect.stringContaining('4000'),
        ref: 'r9',
      })
    }
    tooLong('x'.repeat(MAX_TEXT_LENGTH + 1))
    tooLong('x'.repeat(100_000))
    tooLong('😀'.repeat(MAX_TEXT_LENGTH / 2) + 'x') // 2001 code points, 4001 units
    tooLong('x' + '😀'.repeat(MAX_TEXT_LENGTH / 2)) // 4001 units
  })

  it('rejects empty, blank and non-string text as bad_request', () => {
    expectBad(withText(''), 'text')
    expectBad(withText(' '), 'text')
    expectBad(withText('   \n\n  \t '), 'text')
    expectBad(withText('\r\n'), 'text')
    expectBad(withText('\u00a0\u3000'), 'text')
    expectBad(withText(42), 'text')
    expectBad(withText(['hi']), 'text')
  })

  it.each([
    ['zero-width spaces', '\u200b\u200b'],
    ['zero-width and directional marks', '\u200c\u200d\u200e\u200f'],
    ['word joiner and BOM', ' \u2060\ufeff '],
    ['variation selectors', '\ufe0f\ufe0e'],
    ['combining marks alone', '\u0301\u0308'],
    ['a Hangul filler', '\u3164'],
    ['a soft hyphen and bidi controls', '\u00ad\u202e\u2066'],
    ['tag characters', '\u{e0041}\u{e007f}'],
    ['the blank Braille pattern', '\u2800'],
  ])('refuses text of only %s as blank', (_what, text) => {
    const result = parse({ ...withText(text), ref: 'inv' })
    expect(result).toMatchObject({ ok: false, code: 'bad_request', ref: 'inv' })
    expectBad(withText(text), 'text')
  })

  it('takes text with a visible character among invisible ones', () => {
    expectOk(withText('\u200ba\u200b'))
    expectOk(withText('e\u0301'))
    expectOk(withText('❤\ufe0f'))
    expectOk(withText('👩🏽‍💻'))
  })

  it('refuses text with a lone surrogate, wherever it is', () => {
    for (const text of ['\ud800', 'a\udc00', '😀\ud83d', '\udc00\ud800 x']) {
      expect(parse({ ...withText(text), ref: 'sur' })).toEqual({
        ok: false,
        code: 'bad_request',
        message: 'text: text has a lone surrogate',
        ref: 'sur',
      })
    }
  })

  it('checks the cid pattern at its length boundaries', () => {
    const withCid = (cid: unknown) => ({ ...valid.send, cid })
    expectOk(withCid('a'))
    expectOk(withCid('Z'.repeat(64)))
    expectOk(withCid('aZ09_-'))
    expectBad(withCid(''), 'cid')
    expectBad(withCid('c'.repeat(65)), 'cid')
    expectBad(withCid('c 1'), 'cid')
    expectBad(withCid('c:1'), 'cid')
    expectBad(withCid(1), 'cid')
  })
})

describe('parseClientFrame: signatures', () => {
  it('takes a usig and a prove sig only as the base64url of 64 bytes', () => {
    for (const bad of [`${sig}==`, sig.slice(1), key, 64, null]) {
      expectBad({ ...valid.send, usig: bad }, 'usig')
      expectBad({ ...valid.prove, sig: bad }, 'sig')
    }
  })
})

describe('parseClientFrame: history', () => {
  const withLimit = (limit: unknown) => ({ ...valid.history, limit })
  const withBefore = (before: unknown) => ({ ...valid.history, before })

  it('accepts limits 1 and 200 and rejects 0, 201 and non-integers', () => {
    expectOk(withLimit(1))
    expectOk(withLimit(HISTORY_MAX_LIMIT))
    expectBad(withLimit(0), 'limit')
    expectBad(withLimit(HISTORY_MAX_LIMIT + 1), 'limit')
    expectBad(withLimit(-5), 'limit')
    expectBad(withLimit(2.5), 'limit')
    expectBad(withLimit('50'), 'limit')
    expectBad(withLimit(null), 'limit')
  })

  it('takes an event id as before', () => {
    expectOk(withBefore('abcdefgh:1'))
    expectOk(withBefore(`${'0'.repeat(64)}:9007199254740991`))
    expectBad(withBefore('abcdefgh'), 'before')
    expectBad(withBefore('abcdefgh:0'), 'before')
    expectBad(withBefore('abcdefgh:01'), 'before')
    expectBad(withBefore('abcdefgh:-1'), 'before')
    expectBad(withBefore('abcdefg:1'), 'before')
    expectBad(withBefore('ABCDEFGH:1'), 'before')
    expectBad(withBefore(':1'), 'before')
    expectBad(withBefore(12), 'before')
  })
})

describe('parseClientFrame: ref', () => {
  it('echoes a string ref of up to 64 characters when a frame fails', () => {
    const ref = 'r'.repeat(64)
    expect(parse({ type: 'send', room: 'Bad', text: 'hi', cid: 'c1', ref })).toMatchObject({
      ok: false,
      code: 'bad_request',
      ref,
    })
    expect(parse({ type: 'unknown', ref: 'x' })).toMatchObject({ ok: false, ref: 'x' })
    expect(parse({ ...valid.hello, protocol: 2, ref: '' })).toMatchObject({ ok: false, ref: '' })
  })

  it('keeps the ref in a parsed frame', () => {
    expect(parse({ ...valid.ping, ref: 'p1' })).toEqual({
      ok: true,
      frame: { type: 'ping', ref: 'p1' },
    })
  })

  it('rejects, without echoing, a ref that is too long or not a string', () => {
    for (const ref of ['r'.repeat(65), 7, null, { id: 1 }]) {
      const result = parse({ ...valid.ping, ref })
      expect(result).toMatchObject({
        ok: false,
        code: 'bad_request',
        message: expect.stringContaining('ref'),
      })
      expect(result).not.toHaveProperty('ref', expect.anything())
    }
  })

  it('does not echo a too-long ref even when another field is the problem', () => {
    const result = parse({ type: 'leave', ref: 'r'.repeat(65) })
    expect(result.ok).toBe(false)
    expect(result.ok || result.ref).toBeUndefined()
  })
})

describe('event ids', () => {
  it('round-trips an event id', () => {
    expect(eventId('abcdefgh', 42)).toBe('abcdefgh:42')
    expect(parseEventId('abcdefgh:42')).toEqual({ origin: 'abcdefgh', seq: 42 })
  })
})

describe('eventIdSchema', () => {
  it('refuses a seq beyond the integers a JSON number holds exactly', () => {
    expect(eventIdSchema.safeParse('abcdefgh:9007199254740991').success).toBe(true)
    expect(eventIdSchema.safeParse('abcdefgh:9007199254740993').success).toBe(false)
  })
})
