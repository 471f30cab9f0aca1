/**
 * fast-check arbitraries of hostile input for the fuzz suite (test/node-fuzz.test.ts): every
 * client frame type and every peer frame type, each field either valid or hostile (the wrong
 * type, prototype keys such as `__proto__` and `constructor`, lone surrogates, invisible text,
 * numbers at and past MAX_SAFE_INTEGER, NaN-ish strings, huge, deep and odd JSON), and bytes
 * that are not frames at all.
 *
 * Valid values are drawn from small pools so that frames meet: a `send` goes to a room a `join`
 * joined, an event continues the seqs an earlier one started. Peer frames name the fake peer, the
 * target node, two other nodes and a keyed user whose keys the peer holds, and the current time by
 * placeholders (`SELF`, `TARGET`, `OTHERS`, `KEYED_USER`, `NOW`), which `resolve()` replaces when
 * the run knows them. Each peer frame comes with how it is to be signed (`Signing`): mostly as its
 * node would sign it, so that it gets in; sometimes forged, so that it must not.
 */
import fc from 'fast-check'
import { encodeBase64url } from '../../src/shared/base64url.ts'
import { userIdFromKey } from '../../src/shared/keys.ts'

/** Keys of Object.prototype: what a lookup in a plain object finds when the key is missing. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
  '__defineGetter__',
  '__lookupSetter__',
] as const

/** Placeholders in generated peer frames, replaced by `resolve()`. */
export const SELF = '$self'
export const TARGET = '$target'
/** Nodes other than the peer whose events it relays, as a node does. */
export const OTHERS = ['$other1', '$other2'] as const
/** A keyed user id (`k` and 40 hex digits), whose messages the peer signs as the user. */
export const KEYED_USER = '$keyeduser'
export const NOW = '$now'
/** In an event's `seq`: the next seq of the event's origin on the target. */
export const NEXT = '$next'

/** Values a run replaces placeholders with. */
export interface Placeholders {
  self: string
  target: string
  others: readonly [string, string]
  keyedUser: string
  /** Microseconds since the epoch, as a node's clock gives them. */
  now: number
  /** The next seq to send for `origin` (each call the one after). */
  next: (origin: unknown) => number
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))

/** Strings that break assumptions: invisible, malformed UTF-16, control, bidi, number-like. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...PROTOTYPE_KEYS,
    '',
    ' ',
    '\t\n',
    '\u200b',
    '\u200b\u200c\u200d\u2060\ufeff',
    '\u00a0\u3000',
    '\u0000',
    '\u001b[2J',
    '\u202egnirts',
    'NaN',
    'Infinity',
    '-0',
    '1e309',
    '9007199254740993',
    '\ud800',
    'a\udc00b',
    '\udbff\udbff',
    '😀',
    'e\u0301',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.oneof(loneSurrogate, fc.constantFrom('a', ' ', '\u200b')), maxLength: 6 }),
  fc.constantFrom(64, 65, 4000, 4001).map((n) => 'x'.repeat(n)),
)

/** Numbers at the edges: zero, negative, fractions, 2^31, 2^53 and past it, 1e308. */
export const oddNumber: fc.Arbitrary<number> = fc.constantFrom(
  0,
  -0,
  -1,
  0.5,
  1.5,
  2 ** 31,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  2 ** 60,
  -Number.MAX_SAFE_INTEGER,
  1e308,
  Number.MIN_VALUE,
)

/** Any JSON value, shallow, or one of the odd strings and numbers. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  oddNumber,
  fc.constantFrom(null, true, false, [], {}),
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
)

/** How the fields of a frame are drawn: valid, or now and then hostile. */
type Fields = (valid: fc.Arbitrary<unknown>) => fc.Arbitrary<unknown>

/** Every field valid (by type and pattern: the values may still be odd, such as a name). */
const validFields: Fields = (valid) => valid

/** Each field mostly valid, sometimes a hostile value of any type, sometimes missing. */
const hostileFields: Fields = (valid) =>
  fc.oneof(
    { arbitrary: valid, weight: 6 },
    { arbitrary: oddValue, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  )

/**
 * Frames made by `make`, with valid fields three times in four: a frame that breaks the rules
 * often ends a peer link or gets an error, so runs need valid ones to get anywhere.
 */
function validOrHostile<T>(make: (f: Fields) => fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof(
    { arbitrary: make(validFields), weight: 3 },
    { arbitrary: make(hostileFields), weight: 1 },
  )
}

/** Extra fields, prototype keys among them, that a receiver must ignore or refuse. */
const extraFields = fc.dictionary(
  fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom('key', 'sig', 'usig', 'x')),
  oddValue,
  { maxKeys: 2 },
)

/** `frame` with extra fields; the frame's own fields win (the extra ones may be own `__proto__`). */
function withExtras(frame: fc.Arbitrary<Record<string, unknown>>) {
  return fc
    .tuple(frame, fc.option(extraFields, { freq: 4, nil: undefined }))
    .map(([f, extra]) => Object.fromEntries([...Object.entries(extra ?? {}), ...Object.entries(f)]))
}

/** Rooms valid by the protocol, a prototype key among them; few, so that frames meet. */
export const roomPool = fc.constantFrom('general', 'constructor', 'fuzz', 'fuzz-b', '0', 'z_-9')
const room = fc.oneof(
  { arbitrary: roomPool, weight: 12 },
  { arbitrary: fc.constant('a'.repeat(64)), weight: 1 },
)
const userId = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', '__defineGetter__'),
  fc.constantFrom('fuzz-user-1', 'fuzz-user-2'),
  fc.stringMatching(/^[A-Za-z0-9_-]{8,12}$/),
)
/** A peer's events may also be a keyed user's. */
const peerUserId = fc.oneof(userId, fc.constant(KEYED_USER))
const userName = fc.oneof(
  { arbitrary: fc.constantFrom('Eve', 'Mallory', 'e\u0301ve 😀', 'a'.repeat(64)), weight: 4 },
  { arbitrary: oddString, weight: 1 },
)
const userWith = (f: Fields, id = userId) => withExtras(fc.record({ id: f(id), name: f(userName) }))
/** A signature in its wire form, of random bytes: it verifies nothing. */
const signature = fc.uint8Array({ minLength: 64, maxLength: 64 }).map(encodeBase64url)
/**
 * The user of a client `hello`: mostly keyless; else keyed, with the id of its key (the node
 * challenges it, and a run cannot prove it), or keyless with an id of the keyed form (refused).
 */
const helloUserWith = (f: Fields) =>
  fc.oneof(
    { arbitrary: userWith(f), weight: 4 },
    {
      arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).chain((key) =>
        withExtras(
          fc.record({
            id: f(fc.constant(userIdFromKey(key))),
            name: f(userName),
            key: f(fc.constant(encodeBase64url(key))),
          }),
        ),
      ),
      weight: 1,
    },
    {
      arbitrary: withExtras(
        fc.record({ id: f(fc.stringMatching(/^k[0-9a-f]{40}$/)), name: f(userName) }),
      ),
      weight: 1,
    },
  )
const cid = fc.oneof(
  fc.constantFrom(...PROTOTYPE_KEYS),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/),
  fc.constant('c'.repeat(64)),
)
const text = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), weight: 4 },
  { arbitrary: fc.constantFrom('hello', 'x'.repeat(4000), 'é'.repeat(4000)), weight: 1 },
  { arbitrary: oddString, weight: 2 },
)
const ref = fc.option(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,8}$/), oddString), { nil: undefined })
/** A vector: node ids (placeholders and prototype keys among them) to seqs, or worse. */
const vector = fc.dictionary(
  fc.oneof(
    fc.constantFrom(SELF, TARGET, 'constructor', ...OTHERS),
    fc.constantFrom(...PROTOTYPE_KEYS),
    oddString,
  ),
  fc.oneof(fc.nat(5), oddNumber, oddValue),
  { maxKeys: 4 },
)

const eventId = fc.oneof(
  fc.constantFrom('constructor:1', 'fakeorigin01:1', '0000000000:9007199254740993'),
  fc.stringMatching(/^[a-z0-9]{8,12}:[1-9][0-9]{0,3}$/),
)

/**
 * One client frame of any type (known or not), each field valid or hostile; valid rooms are
 * drawn from `room`.
 */
function clientFrameIn(room: fc.Arbitrary<string>): fc.Arbitrary<Record<string, unknown>> {
  return validOrHostile((f) =>
    fc.oneof(
      withExtras(
        fc.record({
          type: fc.constant('hello'),
          protocol: f(fc.constant(1)),
          user: f(helloUserWith(f)),
          token: fc.option(oddString, { nil: undefined }),
          ref,
        }),
      ),
      withExtras(
        fc.record({
          type: fc.constant('join'),
          room: f(room),
          since: fc.option(f(vector), { nil: undefined }),
          ref,
        }),
      ),
      withExtras(fc.record({ type: fc.constant('leave'), room: f(room), ref })),
      // Sends are what may be stored: the most of them.
      {
        arbitrary: withExtras(
          fc.record({
            type: fc.constant('send'),
            room: f(room),
            text: f(text),
            cid: f(cid),
            // Now and then: only a keyed user signs, and no fuzzing run can be one.
            usig: fc.oneof(
              { arbitrary: fc.constant(undefined), weight: 6 },
              { arbitrary: f(signature), weight: 1 },
            ),
            ref,
          }),
        ),
        weight: 4,
      },
      withExtras(
        fc.record({
          type: fc.constant('history'),
          room: f(room),
          before: fc.option(f(eventId), { nil: undefined }),
          limit: fc.option(f(fc.constantFrom(1, 50, 200, 201, 0)), { nil: undefined }),
          ref,
        }),
      ),
      withExtras(fc.record({ type: fc.constant('typing'), room: f(room), ref })),
      withExtras(fc.record({ type: fc.constant('ping'), ref })),
      withExtras(fc.record({ type: fc.constant('prove'), sig: f(signature), ref })),
      withExtras(
        fc.record({
          type: fc.oneof(
            fc.constantFrom('gossip', 'Hello', 'challenge', 'welcome', 'ack'),
            oddString,
            oddValue,
          ),
          room: fc.option(room, { nil: undefined }),
        }),
      ),
    ),
  )
}

/** What a fuzzing client does: a frame, or bytes that are not one. */
export type ClientAction =
  | { frame: Record<string, unknown> }
  /** A text frame as is (not JSON, not an object, deep, huge). */
  | { text: string }
  /** A binary frame. */
  | { binary: Uint8Array }
  /** A text frame whose bytes are not UTF-8. */
  | { badUtf8: Uint8Array }

/** Raw text frames: broken JSON, JSON that is not an object, deep nesting, over 64 KiB. */
const rawText = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '}{',
    'nul',
    '[1,2',
    'null',
    '[]',
    '1',
    '"hello"',
    'true',
    '{"type":null}',
  ),
  fc.constantFrom(1_000, 20_000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.constant(`${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`),
  fc.constant(`{"type":"ping","pad":"${'x'.repeat(70_000)}"}`),
  fc.constant(`{"type":"send","room":"fuzz","cid":"big","text":"${'y'.repeat(60_000)}"}`),
)

/** Text frames whose bytes are not UTF-8 (an overlong, a bad continuation, an encoded surrogate). */
const badUtf8 = fc.constantFrom(
  Uint8Array.from([0xff, 0xfe, 0x7b]),
  Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d]),
  Uint8Array.from([0xed, 0xa0, 0x80]),
)

function clientActionIn(room: fc.Arbitrary<string>): fc.Arbitrary<ClientAction> {
  return fc.oneof(
    { arbitrary: clientFrameIn(room).map((frame) => ({ frame })), weight: 12 },
    { arbitrary: rawText.map((text) => ({ text })), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((binary) => ({ binary })), weight: 1 },
    { arbitrary: badUtf8.map((bytes) => ({ badUtf8: bytes })), weight: 1 },
  )
}

/** One run of a fuzzing client: who it says it is, then what it does. */
export interface ClientRun {
  /** A valid hello first (with a user that may be odd), or none. */
  hello: { id: string; name: string } | undefined
  /** A valid join of the run's room first, so that its sends can be stored. */
  join: string | undefined
  actions: ClientAction[]
}

/** Runs keep mostly to one room of the pool, so that their joins, sends and leaves meet. */
export const clientRun: fc.Arbitrary<ClientRun> = roomPool.chain((ownRoom) =>
  fc.record({
    hello: fc.option(fc.record({ id: userId, name: userName }), { freq: 8, nil: undefined }),
    join: fc.option(fc.constant(ownRoom), { freq: 4, nil: undefined }),
    actions: fc.array(
      clientActionIn(
        fc.oneof({ arbitrary: fc.constant(ownRoom), weight: 8 }, { arbitrary: room, weight: 2 }),
      ),
      { minLength: 1, maxLength: 8 },
    ),
  }),
)

// ---- peer frames

/** A node: mostly the peer itself or one whose key it holds; sometimes one it cannot sign for. */
const nodeRef = fc.oneof(
  { arbitrary: fc.constant(SELF), weight: 6 },
  { arbitrary: fc.constant(TARGET), weight: 1 },
  { arbitrary: fc.constantFrom(...OTHERS), weight: 2 },
  { arbitrary: fc.constant('constructor'), weight: 1 },
)
const seq = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 3 },
  { arbitrary: oddNumber, weight: 1 },
)
/** An event's seq: mostly its origin's next one, so that events are accepted and go deep. */
const eventSeq = fc.oneof(
  { arbitrary: fc.constant(NEXT), weight: 8 },
  { arbitrary: seq, weight: 2 },
)
const ts = fc.oneof(
  { arbitrary: fc.constant(NOW), weight: 6 },
  { arbitrary: fc.constantFrom(1, Number.MAX_SAFE_INTEGER, 2 ** 60, -1, 1.5), weight: 1 },
)

/** A chat event as a peer relays it, each field valid or hostile. */
const wireEventWith = (f: Fields) =>
  withExtras(
    fc.record({
      kind: fc.oneof(
        { arbitrary: fc.constant('message'), weight: 10 },
        { arbitrary: oddValue, weight: 1 },
      ),
      origin: f(nodeRef),
      seq: f(eventSeq),
      ts: f(ts),
      room: f(room),
      user: f(userWith(f, peerUserId)),
      text: f(text),
      cid: f(cid),
    }),
  )

const url = fc.oneof(
  fc.constantFrom('ws://127.0.0.1:1/', 'wss://example.invalid/', 'javascript:alert(1)', ''),
  oddString,
)
const nodeEntryWith = (f: Fields) =>
  withExtras(
    fc.record({
      id: f(nodeRef),
      name: f(userName),
      url: f(url),
      peerAddr: f(fc.constantFrom('127.0.0.1:1', '[::1]:9080', 'x:99999')),
      version: fc.option(f(ts), { nil: undefined }),
    }),
  )

/** One peer frame of any type (known or not), each field valid or hostile. */
export const peerFrame: fc.Arbitrary<Record<string, unknown>> = validOrHostile((f) =>
  fc.oneof(
    {
      arbitrary: withExtras(fc.record({ type: fc.constant('sync'), vector: f(vector) })),
      weight: 2,
    },
    {
      arbitrary: withExtras(fc.record({ type: fc.constant('event'), event: f(wireEventWith(f)) })),
      weight: 8,
    },
    {
      arbitrary: withExtras(
        fc.record({
          type: fc.constant('want'),
          origin: f(nodeRef),
          from: f(seq),
          to: f(seq),
        }),
      ),
      weight: 2,
    },
    {
      arbitrary: withExtras(
        fc.record({
          type: fc.constant('presence'),
          node: f(nodeRef),
          version: f(ts),
          rooms: f(
            fc.dictionary(fc.oneof(room, oddString), fc.array(userWith(f), { maxLength: 3 }), {
              maxKeys: 4,
            }),
          ),
          links: fc.option(f(fc.array(nodeRef, { maxLength: 3 })), { nil: undefined }),
        }),
      ),
      weight: 2,
    },
    {
      arbitrary: withExtras(
        fc.record({
          type: fc.constant('typing'),
          origin: f(nodeRef),
          eseq: f(ts),
          room: f(room),
          user: f(userWith(f)),
        }),
      ),
      weight: 2,
    },
    {
      arbitrary: withExtras(
        fc.record({
          type: fc.constant('nodes'),
          nodes: f(fc.array(nodeEntryWith(f), { maxLength: 4 })),
        }),
      ),
      weight: 2,
    },
    {
      arbitrary: fc.record({ type: fc.constantFrom('ping', 'pong'), t: f(fc.double()) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({ type: fc.constant('error'), code: oddString, message: oddString }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        type: fc.constant('hello'),
        protocol: fc.constant(1),
        node: fc.record({ id: nodeRef, name: userName, url }),
        mesh: fc.constant('default'),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        type: fc.constant('auth'),
        proof: fc.stringMatching(/^[0-9a-f]{64}$/),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        type: fc.oneof(fc.constantFrom('gossip', 'Event', '__proto__'), oddString, oddValue),
      }),
      weight: 1,
    },
  ),
)

/**
 * How a peer frame is signed once its placeholders are resolved (test/support/fuzz-signing.ts):
 * - `node`: as the node it names would sign it (an event's origin, a presence's node, a typing's
 *   origin, each record's id), with a keyed user's `usig`; by the peer itself where it holds no
 *   key of that node, which is a forgery;
 * - `self`: by the peer itself whatever node it names;
 * - `tampered`: by the node, then changed;
 * - `user-forged`: by the node, with a `usig` the user did not make;
 * - `none`: as generated (no signature unless its extra fields hold one).
 */
export type Signing = 'node' | 'self' | 'tampered' | 'user-forged' | 'none'

const signing: fc.Arbitrary<Signing> = fc.oneof(
  { arbitrary: fc.constant('node' as const), weight: 8 },
  { arbitrary: fc.constantFrom('self' as const, 'tampered' as const), weight: 2 },
  { arbitrary: fc.constantFrom('user-forged' as const, 'none' as const), weight: 2 },
)

/** What a fuzzing peer does after its handshake: a frame, or bytes that are not one. */
export type PeerAction =
  | { frame: Record<string, unknown>; signing: Signing }
  /** A JSON value that is not an object, framed. */
  | { json: unknown }
  /** Bytes as they are: a length past the limit, a zero length, a body that is not JSON. */
  | { bytes: Uint8Array }

/** `body` as one peer frame: its UTF-8 length, then its bytes. */
export const framed = (body: string): Uint8Array => {
  const payload = Buffer.from(body, 'utf8')
  const header = Buffer.alloc(4)
  header.writeUInt32BE(payload.length, 0)
  return new Uint8Array(Buffer.concat([header, payload]))
}

export const peerAction: fc.Arbitrary<PeerAction> = fc.oneof(
  {
    arbitrary: fc.tuple(peerFrame, signing).map(([frame, how]) => ({ frame, signing: how })),
    weight: 14,
  },
  {
    arbitrary: fc
      .constantFrom(null, [], 1, 'event', [{ type: 'ping', t: 1 }])
      .map((json) => ({ json })),
    weight: 1,
  },
  {
    arbitrary: fc
      .oneof(
        fc.constant(Uint8Array.from([0xff, 0xff, 0xff, 0xff])),
        fc.constant(Uint8Array.from([0, 0, 0, 0])),
        fc.constantFrom('{oops', '\u0000', '['.repeat(50_000) + ']'.repeat(50_000)).map(framed),
        // A first byte of 0x80 or more: a length past 4 MiB, so the stream cannot be read on.
        fc
          .uint8Array({ minLength: 4, maxLength: 32 })
          .map((b) => Uint8Array.from(b, (x, i) => (i === 0 ? x | 0x80 : x))),
      )
      .map((bytes) => ({ bytes })),
    weight: 1,
  },
)

/** One run of a fuzzing peer: its node key, then what it sends once linked. */
export interface PeerRun {
  /** The 32 bytes its Ed25519 key is made from (its id is the key's hash). */
  keySeed: Uint8Array
  actions: PeerAction[]
}

export const peerRun: fc.Arbitrary<PeerRun> = fc.record({
  keySeed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  actions: fc.array(peerAction, { minLength: 1, maxLength: 12 }),
})

/** The id a placeholder names, or `text` itself. */
function named(text: string, p: Placeholders): string {
  if (text === SELF) return p.self
  if (text === TARGET) return p.target
  if (text === KEYED_USER) return p.keyedUser
  const other = (OTHERS as readonly string[]).indexOf(text)
  return other === -1 ? text : p.others[other as 0 | 1]
}

/**
 * `value` with the placeholders replaced, in values and in keys, at any depth. Objects are
 * rebuilt with their own keys as given (an own `__proto__` stays an own key).
 */
export function resolve(value: unknown, p: Placeholders): unknown {
  if (value === NOW) return p.now
  if (typeof value === 'string') return named(value, p)
  if (Array.isArray(value)) return value.map((v) => resolve(v, p))
  if (typeof value === 'object' && value !== null) {
    const resolved = Object.fromEntries(
      Object.entries(value).map(([k, v]) => [named(k, p), resolve(v, p)]),
    )
    if (resolved.seq === NEXT) resolved.seq = p.next(resolved.origin)
    return resolved
  }
  return value
}
