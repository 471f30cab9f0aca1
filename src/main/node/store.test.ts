import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type OldEventRow, writeOldStore } from '../../../test/support/old-store.ts'
import { canonical } from '../../shared/canonical.ts'
import { decodeKey, nodeIdFromKey, NODE_ID_PATTERN } from '../../shared/keys.ts'
import { checkEvent, MESSAGE_KIND } from '../../shared/signatures.ts'
import { nodeIdentity, type NodeIdentity } from './node-identity.ts'
import { nativeEd25519 } from './signing-native.ts'
import { DB_FILE, MAX_TS, MIGRATIONS, Store, type ChatEvent, type Page } from './store.ts'

let dir: string
const opened: Store[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'palaver-store-'))
})

afterEach(() => {
  for (const store of opened.splice(0)) store.close()
  rmSync(dir, { recursive: true, force: true })
})

function open(at = dir): Store {
  const store = new Store(at)
  opened.push(store)
  return store
}

/** Closes `store` and opens its directory again, as a restart does. */
function reopen(store: Store, at = dir): Store {
  store.close()
  return open(at)
}

const ada = { id: 'user_ada1', name: 'Ada' }
const bob = { id: 'user_bob1', name: 'Bob' }

/**
 * Origins with fixed keys, in the order of their ids: display order breaks ties of `ts` by
 * origin, so `a` sorts before `b` before `c`, and so on.
 */
const origins = Array.from({ length: 6 }, (_, i) =>
  nodeIdentity(new Uint8Array(32).fill(i + 1)),
).sort((x, y) => (x.id < y.id ? -1 : 1))
const [a, b, c, d] = origins as [NodeIdentity, NodeIdentity, NodeIdentity, NodeIdentity]

/** A vector as `Store.missing` takes it. */
function vector(entries: [NodeIdentity, number][]): Map<string, number> {
  return new Map(entries.map(([origin, seq]) => [origin.id, seq]))
}

/** Event `seq` of `origin`, a message of Ada's in `general` unless `fields` say otherwise. */
function ev(
  origin: NodeIdentity,
  seq: number,
  ts: number,
  fields: Readonly<Record<string, unknown>> = {},
): ChatEvent {
  const label = origin.id.slice(0, 8)
  return origin.sign({
    kind: MESSAGE_KIND,
    origin: origin.id,
    seq,
    ts,
    room: 'general',
    user: ada,
    text: `${label} ${seq}`,
    cid: `${label}-${seq}`,
    ...fields,
  })
}

/** A reaction to `target`: an event of a kind the store knows nothing of, with no `text`. */
function reactionTo(target: ChatEvent, origin: NodeIdentity, seq: number, ts: number): ChatEvent {
  return origin.sign({
    kind: 'reaction',
    origin: origin.id,
    seq,
    ts,
    room: target.room,
    user: { ...bob, avatar: 'b.png' },
    cid: `r-${seq}`,
    emoji: '👍',
    target: idOf(target),
  })
}

function idOf(e: { origin: string; seq: number }): string {
  return `${e.origin}:${e.seq}`
}

/** The ids of a page's events, in the page's order. */
function ids(page: Page): string[] {
  return page.events.map(idOf)
}

/** Sorts events by display order, (ts, origin). */
function displayOrder<T extends { ts: number; origin: string }>(events: readonly T[]): T[] {
  return [...events].sort((x, y) => x.ts - y.ts || (x.origin < y.origin ? -1 : 1))
}

describe('Store: node key and id', () => {
  it('makes a key for a new directory, derives the id from it, and keeps both on reopen', () => {
    const store = open()
    const { id, key } = store.identity
    expect(id).toMatch(NODE_ID_PATTERN)
    expect(store.nodeId).toBe(id)
    expect(nodeIdFromKey(decodeKey(key) ?? new Uint8Array())).toBe(id)
    const again = reopen(store)
    expect(again.identity.id).toBe(id)
    expect(again.identity.key).toBe(key)
    // It signs with the same key: an event it signs checks out under the id it had before.
    expect(checkEvent(ev(again.identity, 1, 100), nativeEd25519)).toEqual({ ok: true })
  })

  it('creates a missing directory', () => {
    const store = open(join(dir, 'nested', 'data'))
    expect(store.nodeId).toMatch(NODE_ID_PATTERN)
  })

  it('gives another directory another key and id', () => {
    const one = open(join(dir, 'a'))
    const two = open(join(dir, 'b'))
    expect(one.nodeId).not.toBe(two.nodeId)
    expect(one.identity.key).not.toBe(two.identity.key)
  })

  it('refuses a store whose key is gone, rather than making a new id for its events', () => {
    open().close()
    const db = new DatabaseSync(join(dir, DB_FILE))
    db.exec("DELETE FROM meta WHERE key = 'node_secret_key'")
    db.close()
    expect(() => new Store(dir)).toThrow(/node_secret_key/)
  })

  it('starts empty', () => {
    const store = open()
    expect(store.vector()).toEqual({})
    expect(store.count).toBe(0)
    expect(store.maxTs).toBe(0)
    expect(store.seqOf(a.id)).toBe(0)
    expect(store.latest('general', 50)).toEqual({ events: [], more: false })
  })
})

describe('Store: append', () => {
  it('tracks the vector, count and maxTs, and keeps them across a reopen', () => {
    let store = open()
    store.append([ev(a, 1, 100), ev(b, 1, 150), ev(a, 2, 200)])
    store.append([ev(a, 3, 300), ev(b, 2, 250)])
    store.append([])
    const check = (s: Store) => {
      expect(s.vector()).toEqual({ [a.id]: 3, [b.id]: 2 })
      expect(s.seqOf(a.id)).toBe(3)
      expect(s.seqOf(b.id)).toBe(2)
      expect(s.seqOf(c.id)).toBe(0)
      expect(s.count).toBe(5)
      expect(s.maxTs).toBe(300)
    }
    check(store)
    store = reopen(store)
    check(store)
    expect(store.get(a.id, 2)).toEqual(ev(a, 2, 200))
  })

  it('keeps maxTs at the highest ts even when a later append has lower ones', () => {
    let store = open()
    store.append([ev(a, 1, 9_000)])
    store.append([ev(b, 1, 10)])
    expect(store.maxTs).toBe(9_000)
    store = reopen(store)
    expect(store.maxTs).toBe(9_000)
  })

  it('stores every field, including unicode text and names', () => {
    let store = open()
    const event = ev(a, 1, 1_700_000_000_000_000, {
      room: 'r-1_x',
      user: { id: 'user-Zz_9', name: 'مرحبا 👩🏽‍💻' },
      text: 'line 1\nline 2 😀\u0000 end',
      cid: 'Z_9-a',
    })
    store.append([event])
    store = reopen(store)
    expect(store.get(a.id, 1)).toEqual(event)
    expect(store.get(a.id, 2)).toBeUndefined()
    expect(store.latest('r-1_x', 1).events).toEqual([event])
  })

  it('keeps an event of any kind whole, fields it does not know included, byte for byte', () => {
    let store = open()
    const message = ev(a, 1, 100, { mood: 'calm', extra: { nested: [1, 'two', null] } })
    const reaction = reactionTo(message, a, 2, 200)
    store.append([message, reaction])
    store = reopen(store)
    for (const event of [message, reaction]) {
      const stored = store.get(event.origin, event.seq)
      expect(stored).toEqual(event)
      expect(canonical(stored)).toBe(canonical(event))
      expect(checkEvent(stored ?? event, nativeEd25519)).toEqual({ ok: true })
    }
    const db = new DatabaseSync(join(dir, DB_FILE), { readOnly: true })
    try {
      const rows = db.prepare('SELECT kind, body FROM events ORDER BY seq').all()
      expect(rows).toEqual([
        { kind: MESSAGE_KIND, body: canonical(message) },
        { kind: 'reaction', body: canonical(reaction) },
      ])
    } finally {
      db.close()
    }
    // Pages and ranges hold events of every kind.
    expect(store.latest('general', 10).events).toEqual([message, reaction])
    expect(store.range(a.id, 1, 2)).toEqual([message, reaction])
    expect(store.missing('general', vector([[a, 1]]), 10).events).toEqual([reaction])
  })

  it('writes nothing of a batch that fails, and keeps working after', () => {
    let store = open()
    store.append([ev(a, 1, 100)])
    const before = { vector: store.vector(), count: store.count, maxTs: store.maxTs }

    // A duplicate (origin, seq) inside the batch.
    expect(() => store.append([ev(b, 1, 500), ev(a, 2, 600), ev(a, 2, 700)])).toThrow()
    // A batch that repeats an event already stored.
    expect(() => store.append([ev(a, 2, 800), ev(a, 1, 900)])).toThrow()

    const unchanged = (s: Store) => {
      expect({ vector: s.vector(), count: s.count, maxTs: s.maxTs }).toEqual(before)
      expect(s.get(b.id, 1)).toBeUndefined()
      expect(s.get(a.id, 2)).toBeUndefined()
      expect(ids(s.latest('general', 10))).toEqual([`${a.id}:1`])
    }
    unchanged(store)

    // The failed transaction was rolled back: the next append commits.
    store.append([ev(a, 2, 1_000)])
    expect(store.vector()).toEqual({ [a.id]: 2 })
    expect(store.count).toBe(2)
    store = reopen(store)
    expect(store.vector()).toEqual({ [a.id]: 2 })
    expect(store.count).toBe(2)
    expect(store.maxTs).toBe(1_000)
  })

  it('rejects an event the table cannot hold or that has no canonical form, writing nothing', () => {
    const store = open()
    const roomless = { ...ev(a, 2, 200), room: undefined } as unknown as ChatEvent
    expect(() => store.append([ev(a, 1, 100), roomless])).toThrow()
    const loneSurrogate: ChatEvent = { ...ev(a, 2, 200), note: '\uD800' }
    expect(() => store.append([ev(a, 1, 100), loneSurrogate])).toThrow()
    expect(store.count).toBe(0)
    expect(store.vector()).toEqual({})
    expect(store.maxTs).toBe(0)
  })
})

describe('Store: get and range', () => {
  it('returns one origin’s events with seq in [from, to], in seq order', () => {
    const store = open()
    store.append([
      ev(a, 1, 10, { room: 'one' }),
      ev(b, 1, 11),
      ev(a, 2, 20, { room: 'two' }),
      ev(a, 3, 30),
      ev(b, 2, 31),
      ev(a, 4, 40, { room: 'one' }),
    ])
    const seqs = (events: ChatEvent[]) => events.map((e) => e.seq)
    expect(seqs(store.range(a.id, 2, 3))).toEqual([2, 3])
    expect(seqs(store.range(a.id, 1, 4))).toEqual([1, 2, 3, 4])
    expect(seqs(store.range(a.id, 3, 100))).toEqual([3, 4])
    expect(seqs(store.range(a.id, 4, 4))).toEqual([4])
    expect(store.range(a.id, 5, 9)).toEqual([])
    expect(store.range(a.id, 3, 2)).toEqual([])
    expect(store.range(c.id, 1, 9)).toEqual([])
    expect(store.range(b.id, 1, 2)).toEqual([ev(b, 1, 11), ev(b, 2, 31)])
  })
})

describe('Store: findByCid', () => {
  it('finds the first event a user sent with a cid, and only for that user', () => {
    let store = open()
    store.append([ev(a, 1, 100, { user: ada, cid: 'c1' }), ev(a, 2, 200, { user: bob, cid: 'c2' })])
    // Two nodes cut off from each other both accepted ada's c1: the copy this node shows (the
    // first it stored) is the one a resend is acknowledged with.
    store.append([ev(b, 1, 90, { user: ada, cid: 'c1', text: 'copy' })])
    store.append([ev(c, 1, 90, { user: ada, cid: 'c1', text: 'copy 2' })])

    const check = (s: Store) => {
      expect(s.findByCid(ada.id, 'c1')).toEqual(ev(a, 1, 100, { user: ada, cid: 'c1' }))
      expect(s.findByCid(bob.id, 'c2')).toEqual(ev(a, 2, 200, { user: bob, cid: 'c2' }))
      expect(s.findByCid(bob.id, 'c1')).toBeUndefined()
      expect(s.findByCid(ada.id, 'c2')).toBeUndefined()
      expect(s.findByCid(ada.id, 'C1')).toBeUndefined()
      expect(s.findByCid('user_nobody', 'c1')).toBeUndefined()
    }
    check(store)
    store = reopen(store)
    check(store)
  })
})

describe('Store: latest', () => {
  it('returns the newest events of one room, oldest first, with more when older exist', () => {
    const store = open()
    const events = Array.from({ length: 10 }, (_, i) =>
      ev(a, i + 1, (i + 1) * 10, { room: i % 3 === 2 ? 'other' : 'general' }),
    )
    store.append(events)
    const general = events.filter((e) => e.room === 'general')
    const other = events.filter((e) => e.room === 'other')

    expect(store.latest('general', 3)).toEqual({ events: general.slice(-3), more: true })
    expect(store.latest('general', general.length - 1).more).toBe(true)
    expect(store.latest('general', general.length)).toEqual({ events: general, more: false })
    expect(store.latest('general', 50)).toEqual({ events: general, more: false })
    expect(store.latest('other', 50)).toEqual({ events: other, more: false })
    expect(store.latest('nowhere', 50)).toEqual({ events: [], more: false })
  })

  it('orders by (ts, origin) when two origins share a ts', () => {
    const store = open()
    store.append([ev(c, 1, 500), ev(c, 2, 700)])
    store.append([ev(a, 1, 500), ev(a, 2, 600)])
    store.append([ev(b, 1, 500), ev(b, 2, 700)])
    const order = [ev(a, 1, 500), ev(b, 1, 500), ev(c, 1, 500), ev(a, 2, 600)]
    order.push(ev(b, 2, 700), ev(c, 2, 700))
    expect(ids(store.latest('general', 10))).toEqual(order.map(idOf))
    // A cut inside a group of equal ts keeps the greatest origins.
    expect(ids(store.latest('general', 5))).toEqual(order.slice(1).map(idOf))
  })
})

describe('Store: pages of one kind', () => {
  it('count and return only events of that kind, so a history page holds limit messages', () => {
    const store = open()
    const older = ev(a, 1, 10, { text: 'older' })
    const newer = ev(a, 4, 40, { text: 'newer' })
    const reactions = [reactionTo(older, a, 2, 20), reactionTo(older, a, 3, 30)]
    store.append([older, ...reactions, newer])

    expect(store.latest('general', 1, MESSAGE_KIND)).toEqual({ events: [newer], more: true })
    expect(store.latest('general', 10, MESSAGE_KIND)).toEqual({
      events: [older, newer],
      more: false,
    })
    expect(store.before('general', newer, 1, MESSAGE_KIND)).toEqual({
      events: [older],
      more: false,
    })
    expect(store.latest('general', 1, 'reaction')).toEqual({
      events: [reactions[1]],
      more: true,
    })
    // Without a kind, a page holds every kind.
    expect(store.latest('general', 2)).toEqual({ events: [reactions[1], newer], more: true })
    expect(store.before('general', newer, 1)).toEqual({ events: [reactions[1]], more: true })
  })
})

describe('Store: before', () => {
  /**
   * 230 events in `general` from three origins that share every ts (so page cuts fall inside
   * groups of equal ts), and 38 in `other` in between.
   */
  function fill(store: Store): ChatEvent[] {
    const three = [a, b, c]
    const seqs = new Map<NodeIdentity, number>()
    const general: ChatEvent[] = []
    const batch: ChatEvent[] = []
    for (let i = 0; i < 268; i++) {
      const origin = three[i % 3] as NodeIdentity
      const seq = (seqs.get(origin) ?? 0) + 1
      seqs.set(origin, seq)
      const event = ev(origin, seq, 1_000 + Math.floor(i / 3), {
        room: i % 7 === 3 ? 'other' : 'general',
      })
      batch.push(event)
      if (event.room === 'general') general.push(event)
    }
    store.append(batch)
    expect(general).toHaveLength(230)
    return displayOrder(general)
  }

  it('walks a room backwards in pages with no overlap and no gap', () => {
    const store = open()
    const general = fill(store)
    const seen: string[] = []
    let page = store.latest('general', 50)
    const sizes = [page.events.length]
    seen.unshift(...ids(page))
    while (page.more) {
      const first = page.events[0]
      expect(first).toBeDefined()
      if (!first) break
      page = store.before('general', first, 50)
      sizes.push(page.events.length)
      seen.unshift(...ids(page))
    }
    expect(sizes).toEqual([50, 50, 50, 50, 30])
    expect(seen).toEqual(general.map(idOf))
  })

  it('returns nothing older than the oldest event', () => {
    const store = open()
    const [oldest, second, third] = fill(store) as [ChatEvent, ChatEvent, ChatEvent]
    expect(store.before('general', oldest, 50)).toEqual({ events: [], more: false })
    expect(store.before('general', second, 50)).toEqual({ events: [oldest], more: false })
    expect(store.before('general', second, 1)).toEqual({ events: [oldest], more: false })
    expect(store.before('general', third, 1)).toEqual({ events: [second], more: true })
  })

  it('pages one room only, even from an anchor in another room', () => {
    const store = open()
    store.append([
      ev(a, 1, 10, { room: 'one' }),
      ev(a, 2, 20, { room: 'two' }),
      ev(a, 3, 30, { room: 'one' }),
      ev(a, 4, 40, { room: 'two' }),
    ])
    const anchor = store.get(a.id, 4) as ChatEvent
    expect(ids(store.before('one', anchor, 10))).toEqual([`${a.id}:1`, `${a.id}:3`])
    expect(ids(store.before('two', anchor, 10))).toEqual([`${a.id}:2`])
  })
})

describe('Store: missing', () => {
  /**
   * `general` holds a:1-5, b:1-4, c:1-3 (ts interleaved, some shared across origins); `other`
   * holds a:6, b:5 and d:1 so that seqs in the room have gaps.
   */
  function fill(store: Store): ChatEvent[] {
    const events = [
      ev(a, 1, 100),
      ev(b, 1, 100),
      ev(c, 1, 105),
      ev(a, 2, 110),
      ev(b, 2, 120),
      ev(a, 3, 120),
      ev(c, 2, 120),
      ev(a, 4, 125, { room: 'other' }),
      ev(b, 3, 130),
      ev(d, 1, 131, { room: 'other' }),
      ev(a, 5, 140),
      ev(b, 4, 150, { room: 'other' }),
      ev(c, 3, 150),
      ev(a, 6, 160),
      ev(b, 5, 170),
    ]
    store.append(events)
    return displayOrder(events.filter((e) => e.room === 'general'))
  }

  /** What `since` covers: seq at or below its entry for the event's origin. */
  function coveredBy(since: Map<string, number>): (e: ChatEvent) => boolean {
    return (e) => e.seq <= (since.get(e.origin) ?? 0)
  }

  /** The expected page: the events of `general` that `covered` does not hold, oldest first. */
  function expected(general: ChatEvent[], covered: (e: ChatEvent) => boolean, limit = 1000): Page {
    const wanted = general.filter((e) => !covered(e))
    return { events: wanted.slice(-limit), more: wanted.length > limit }
  }

  it('returns every event of the room for an empty vector', () => {
    const store = open()
    const general = fill(store)
    expect(store.missing('general', vector([]), 1000)).toEqual(expected(general, () => false))
    expect(store.missing('general', vector([]), 1000).events).toHaveLength(12)
  })

  it('returns what the vector does not cover, for named and unnamed origins', () => {
    const store = open()
    const general = fill(store)
    const since = vector([
      [a, 2],
      [b, 5],
    ])
    const page = store.missing('general', since, 1000)
    expect(page).toEqual(expected(general, coveredBy(since)))
    expect(ids(page)).toEqual(
      [
        [c, 1],
        [a, 3],
        [c, 2],
        [a, 5],
        [c, 3],
        [a, 6],
      ].map(([origin, seq]) => `${(origin as NodeIdentity).id}:${seq as number}`),
    )
  })

  it('treats seq 0 like an unnamed origin and a seq past the end like a full one', () => {
    const store = open()
    const general = fill(store)
    const zeros = vector([
      [a, 0],
      [b, 0],
      [c, 0],
    ])
    expect(store.missing('general', zeros, 1000)).toEqual(expected(general, () => false))
    const past = vector([
      [a, 99],
      [c, 3],
    ])
    expect(store.missing('general', past, 1000)).toEqual(
      expected(general, (e) => e.origin !== b.id),
    )
  })

  it('returns nothing for a vector that covers the room, and ignores unknown origins', () => {
    const store = open()
    fill(store)
    const all: [NodeIdentity, number][] = [
      [a, 6],
      [b, 5],
      [c, 3],
    ]
    const empty = { events: [], more: false }
    expect(store.missing('general', vector(all), 1000)).toEqual(empty)
    const unknown = origins[5] as NodeIdentity
    expect(store.missing('general', vector([...all, [unknown, 7]]), 1000)).toEqual(empty)
    expect(store.missing('nowhere', vector([]), 1000)).toEqual(empty)
  })

  it('matches a vector taken in the middle of the room', () => {
    const store = open()
    const general = fill(store)
    // What a client holds after seeing general up to ts 120 (a:3, b:2, c:2).
    const since = vector([
      [a, 3],
      [b, 2],
      [c, 2],
    ])
    expect(ids(store.missing('general', since, 1000))).toEqual(
      [
        [b, 3],
        [a, 5],
        [c, 3],
        [a, 6],
        [b, 5],
      ].map(([origin, seq]) => `${(origin as NodeIdentity).id}:${seq as number}`),
    )
    expect(store.missing('general', since, 1000)).toEqual(expected(general, (e) => e.ts <= 120))
  })

  it('past the limit returns the newest limit events with more set', () => {
    const store = open()
    const general = fill(store)
    for (const limit of [1, 2, 3, 5, 11]) {
      expect(store.missing('general', vector([]), limit)).toEqual(
        expected(general, () => false, limit),
      )
      expect(store.missing('general', vector([]), limit).more).toBe(true)
    }
    expect(store.missing('general', vector([]), 12)).toEqual(expected(general, () => false, 12))
    expect(store.missing('general', vector([]), 12).more).toBe(false)

    const since = vector([
      [a, 2],
      [b, 1],
    ])
    for (const limit of [1, 2, 4, 7, 8, 9]) {
      expect(store.missing('general', since, limit)).toEqual(
        expected(general, coveredBy(since), limit),
      )
    }
    expect(store.missing('general', since, 8).more).toBe(true)
    expect(store.missing('general', since, 9).more).toBe(false)
  })

  it('with many origins, each with more than the limit', () => {
    const store = open()
    const events: ChatEvent[] = []
    for (let seq = 1; seq <= 30; seq++) {
      for (const [i, origin] of origins.entries()) events.push(ev(origin, seq, seq * 10 + (i % 2)))
    }
    store.append(events)
    const general = displayOrder(events)
    const since = vector([
      [origins[0] as NodeIdentity, 25],
      [origins[1] as NodeIdentity, 0],
      [origins[2] as NodeIdentity, 10],
    ])
    for (const limit of [1, 7, 20, 50, 500]) {
      expect(store.missing('general', since, limit)).toEqual(
        expected(general, coveredBy(since), limit),
      )
    }
  })
})

describe('Store: one send accepted by two nodes', () => {
  const first = ev(a, 1, 100, { user: ada, cid: 'c1', text: 'said twice' })
  const copy = ev(b, 1, 90, { user: ada, cid: 'c1', text: 'said twice' })
  const other = ev(b, 2, 110, { user: bob, cid: 'c1', text: 'another send' })

  it('keeps both events but shows clients the first it stored, in every read', () => {
    const store = open()
    expect(store.append([first])).toEqual([])
    // The later copy is hidden even though it sorts first; bob's own c1 is another send.
    expect(store.append([copy, other])).toEqual([0])
    expect(store.vector()).toEqual({ [a.id]: 1, [b.id]: 2 })
    expect(store.count).toBe(3)
    expect(store.range(b.id, 1, 2)).toEqual([copy, other]) // the mesh still relays it

    const shown = [idOf(first), idOf(other)]
    expect(ids(store.latest('general', 10))).toEqual(shown)
    expect(ids(store.missing('general', vector([]), 10))).toEqual(shown)
    expect(ids(store.missing('general', vector([[a, 1]]), 10))).toEqual([idOf(other)])
    expect(ids(store.before('general', other, 10))).toEqual([idOf(first)])
  })

  it('hides a second copy that comes in the same commit', () => {
    const store = open()
    expect(store.append([first, copy])).toEqual([1])
    expect(ids(store.latest('general', 10))).toEqual([idOf(first)])
  })
})

describe('Store: migrations', () => {
  /** Node ids as versions before keys made them: 20 random hex digits. */
  const OLD_A = 'a0a0a0a0a0a0a0a0a0a0'
  const OLD_B = 'b0b0b0b0b0b0b0b0b0b0'
  const OLD_C = 'c0c0c0c0c0c0c0c0c0c0'

  function old(
    origin: string,
    seq: number,
    ts: number | bigint,
    fields: Partial<OldEventRow> = {},
  ): OldEventRow {
    const label = `${origin.slice(0, 4)}-${seq}`
    return {
      origin,
      seq,
      ts,
      room: 'general',
      userId: ada.id,
      userName: ada.name,
      text: `text ${label}`,
      cid: label,
      ...fields,
    }
  }

  /** What a client sees of an event: re-issuing an old row keeps all of it but its origin. */
  function seen(e: ChatEvent) {
    return { ts: e.ts, room: e.room, user: e.user, text: e.text, cid: e.cid }
  }

  /** What a client saw of old rows, in their display order, (ts, origin). */
  function seenOld(rows: readonly OldEventRow[]) {
    return [...rows]
      .sort((x, y) => Number(x.ts) - Number(y.ts) || (x.origin < y.origin ? -1 : 1))
      .map((r) => ({
        ts: Number(r.ts),
        room: r.room,
        user: { id: r.userId, name: r.userName },
        text: r.text,
        cid: r.cid,
      }))
  }

  /** Every event of the store, each re-issued by it, signed and valid, in seq order. */
  function reissued(store: Store): ChatEvent[] {
    expect(Object.keys(store.vector())).toEqual([store.nodeId])
    const events = store.range(store.nodeId, 1, store.seqOf(store.nodeId))
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    for (const e of events) {
      expect(e.origin).toBe(store.nodeId)
      expect(e.key).toBe(store.identity.key)
      expect(checkEvent(e, nativeEd25519)).toEqual({ ok: true })
    }
    return events
  }

  /** Two rooms, three origins, and a send two nodes each accepted while cut off (`c1`). */
  const rows = [
    old(OLD_A, 1, 100, { text: 'first', cid: 'c1' }),
    old(OLD_B, 1, 200, { userId: bob.id, userName: bob.name, text: 'second' }),
    old(OLD_C, 1, 250, { text: 'first', cid: 'c1' }),
    old(OLD_A, 2, 300, { room: 'other', text: 'third' }),
    old(OLD_B, 2, 310, { text: 'fourth' }),
  ]

  it('opens a store of every older version and keeps every message, re-issued and signed', () => {
    for (let version = 1; version < MIGRATIONS.length; version++) {
      const at = join(dir, `v${version}`)
      // A store of version 3 says which copy of c1 it shows (its node stored C's after A's);
      // before that, the earliest copy in display order is shown.
      const hideCopy = (r: OldEventRow) => (r.origin === OLD_C ? { ...r, shown: false } : r)
      writeOldStore(at, version, OLD_A, version >= 3 ? rows.map(hideCopy) : rows)
      const store = open(at)
      expect(store.nodeId).toMatch(NODE_ID_PATTERN)
      expect([OLD_A, OLD_B, OLD_C]).not.toContain(store.nodeId)
      expect(store.count).toBe(rows.length)
      const events = reissued(store)
      expect(events.map(seen)).toEqual(seenOld(rows))

      // Clients see the same messages in the same order, the copy of c1 still hidden.
      const general = rows.filter((r) => r.room === 'general' && r.origin !== OLD_C)
      expect(store.latest('general', 10).events.map(seen)).toEqual(seenOld(general))
      expect(store.latest('other', 10).events.map((e) => e.text)).toEqual(['third'])
      expect(store.findByCid(ada.id, 'c1')?.ts).toBe(100)

      // Opened again, it is the same store: nothing is re-issued twice.
      const again = reopen(store, at)
      expect(again.identity.key).toBe(store.identity.key)
      expect(reissued(again)).toEqual(events)
      again.close()
      const db = new DatabaseSync(join(at, DB_FILE), { readOnly: true })
      expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length })
      expect(db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get()).toBeUndefined()
      db.close()
    }
  })

  it('keeps showing, from a store of version 3, the copy it showed even when a hidden one sorts first', () => {
    // The node stored A's copy of c1 first; C's copy came later with an earlier ts, and was hidden.
    writeOldStore(dir, 3, OLD_A, [
      old(OLD_A, 1, 100, { text: 'said twice', cid: 'c1' }),
      old(OLD_C, 1, 90, { text: 'said twice', cid: 'c1', shown: false }),
      old(OLD_A, 2, 200, { text: 'after' }),
    ])
    const store = open()
    expect(reissued(store).map((e) => e.ts)).toEqual([90, 100, 200])
    expect(store.latest('general', 10).events.map((e) => [e.text, e.ts])).toEqual([
      ['said twice', 100],
      ['after', 200],
    ])
    expect(store.findByCid(ada.id, 'c1')?.ts).toBe(100)
  })

  it('keeps the display order of old messages that share a ts, moving the later by 1 µs', () => {
    writeOldStore(dir, 3, OLD_A, [
      old(OLD_B, 1, 500, { text: 'b at 500' }),
      old(OLD_A, 1, 500, { text: 'a at 500' }),
      old(OLD_C, 1, 501, { text: 'c at 501' }),
    ])
    const store = open()
    expect(reissued(store).map((e) => [e.text, e.ts])).toEqual([
      ['a at 500', 500],
      ['b at 500', 501],
      ['c at 501', 502],
    ])
  })

  it('opens a store of version 1 holding a ts past MAX_SAFE_INTEGER, every ts safe', () => {
    // What a node wrote before clocks were bounded: its own events past MAX_SAFE_INTEGER.
    writeOldStore(dir, 1, OLD_A, [
      old(OLD_B, 1, 1_000),
      old(OLD_B, 2, MAX_TS),
      old(OLD_A, 1, BigInt(MAX_TS) + 1n, { text: 'own 1' }),
      old(OLD_A, 2, BigInt(MAX_TS) + 2n, { text: 'own 2' }),
    ])
    const store = open()
    expect(store.maxTs).toBe(MAX_TS)
    const events = reissued(store)
    expect(events.map((e) => e.ts)).toEqual([1_000, MAX_TS, MAX_TS, MAX_TS])
    expect(events.map((e) => e.text)).toEqual(['text b0b0-1', 'own 1', 'own 2', 'text b0b0-2'])
    expect(store.latest('general', 10).events).toHaveLength(4)
    // The repair is written: the next open finds nothing to do and the same events.
    expect(reissued(reopen(store))).toEqual(events)
  })

  it('leaves out and counts the old rows no node would accept signed today', () => {
    writeOldStore(dir, 3, OLD_A, [
      old(OLD_A, 1, 100, { text: 'kept' }),
      // An id of the keyed form without a key, and a text with nothing visible.
      old(OLD_A, 2, 200, { userId: `k${'1'.repeat(40)}`, text: 'not theirs' }),
      old(OLD_B, 1, 300, { text: '\u200B' }),
      old(OLD_B, 2, 400, { text: 'kept too' }),
    ])
    const store = open()
    expect(reissued(store).map((e) => e.text)).toEqual(['kept', 'kept too'])
    const db = new DatabaseSync(join(dir, DB_FILE), { readOnly: true })
    try {
      const dropped = db.prepare("SELECT value FROM meta WHERE key = 'unsigned_rows_dropped'")
      expect(dropped.get()).toEqual({ value: '2' })
    } finally {
      db.close()
    }
  })

  it('refuses a store written by a newer version', () => {
    open().close()
    const db = new DatabaseSync(join(dir, DB_FILE))
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`)
    db.close()
    expect(() => new Store(dir)).toThrow(/newer Palaver/)
  })
})

describe('Store: a writer on another connection', () => {
  it('leaves what the writer committed out of every read until it is recorded', () => {
    const reader = open()
    const writer = open()
    const events = [ev(a, 1, 100), ev(a, 2, 200, { user: ada, cid: 'c2' })]
    writer.append(events)

    // Committed, but the reader was not told yet: a backlog read now must not hold the events
    // that the commit's fan-out will bring live.
    expect(reader.vector()).toEqual({})
    expect(reader.latest('general', 10)).toEqual({ events: [], more: false })
    expect(reader.missing('general', vector([]), 10).events).toEqual([])
    expect(reader.get(a.id, 1)).toBeUndefined()
    expect(reader.findByCid(ada.id, 'c2')).toBeUndefined()
    expect(reader.range(a.id, 1, 2)).toEqual([])

    reader.recordCommitted(events)
    expect(reader.vector()).toEqual({ [a.id]: 2 })
    expect(reader.count).toBe(2)
    expect(reader.maxTs).toBe(200)
    expect(ids(reader.latest('general', 10))).toEqual(events.map(idOf))
    expect(reader.findByCid(ada.id, 'c2')).toEqual(events[1])
    expect(reader.range(a.id, 1, 2)).toEqual(events)
  })

  it('still fills a page, and says whether older events exist, when the newest are not counted', () => {
    const reader = open()
    const writer = open()
    const older = [ev(a, 1, 100), ev(a, 2, 200), ev(b, 1, 250)]
    writer.append(older)
    reader.recordCommitted(older)
    writer.append([ev(a, 3, 300), ev(a, 4, 400)])
    const [first, second, third] = older.map(idOf)
    expect(ids(reader.latest('general', 1))).toEqual([third])
    expect(reader.latest('general', 1).more).toBe(true)
    expect(reader.latest('general', 3)).toMatchObject({ more: false })
    expect(ids(reader.latest('general', 3))).toEqual([first, second, third])
    const resumed = reader.missing('general', vector([[a, 1]]), 1)
    expect(ids(resumed)).toEqual([third])
    expect(resumed.more).toBe(true)
  })
})

describe('Store.sendsPage', () => {
  it('pages through every (user.id, cid) held, in (origin, seq) order', () => {
    const store = open()
    store.append([ev(b, 1, 100, { user: ada, cid: 'b1' }), ev(a, 1, 200, { user: bob, cid: 'a1' })])
    store.append([ev(a, 2, 300, { user: ada, cid: 'a2' })])
    const [first, second] = [a, b].sort((x, y) => (x.id < y.id ? -1 : 1)) as [
      NodeIdentity,
      NodeIdentity,
    ]
    const one = store.sendsPage(undefined, 2)
    expect(one.last).toEqual({ origin: first.id, seq: 2 })
    const two = store.sendsPage(one.last, 2)
    expect(two.last).toEqual({ origin: second.id, seq: 1 })
    expect(store.sendsPage(two.last, 2)).toEqual({ sends: [] })
    const all = [...one.sends, ...two.sends].map((s) => `${s.userId}/${s.cid}`)
    expect(all.sort()).toEqual(['user_ada1/a2', 'user_ada1/b1', 'user_bob1/a1'])
  })
})
