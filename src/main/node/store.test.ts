import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type OldEventRow, writeOldStore } from '../../../test/support/old-store.ts'
import {
  DB_FILE,
  MAX_TS,
  MIGRATIONS,
  Store,
  toMessage,
  type ChatEvent,
  type Page,
} from './store.ts'

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

/** A vector as `Store.missing` takes it. */
function vector(v: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(v))
}

/** An event as `writeOldStore` writes it. */
function row(e: ChatEvent): OldEventRow {
  const { user, ...rest } = e
  return { ...rest, userId: user.id, userName: user.name }
}

function ev(origin: string, seq: number, ts: number, fields: Partial<ChatEvent> = {}): ChatEvent {
  return {
    origin,
    seq,
    ts,
    room: 'general',
    user: ada,
    text: `${origin} ${seq}`,
    cid: `${origin}-${seq}`,
    ...fields,
  }
}

/** The ids of a page's messages, in the page's order. */
function ids(page: Page): string[] {
  return page.messages.map((m) => m.id)
}

/** Sorts events by display order, (ts, origin). */
function displayOrder(events: ChatEvent[]): ChatEvent[] {
  return [...events].sort((a, b) => a.ts - b.ts || (a.origin < b.origin ? -1 : 1))
}

describe('Store: node id', () => {
  it('makes a node id for a new directory and keeps it on reopen', () => {
    const store = open()
    expect(store.nodeId).toMatch(/^[a-z0-9]{8,64}$/)
    const id = store.nodeId
    expect(reopen(store).nodeId).toBe(id)
  })

  it('creates a missing directory', () => {
    const store = open(join(dir, 'nested', 'data'))
    expect(store.nodeId).toMatch(/^[a-z0-9]{8,64}$/)
  })

  it('gives another directory another id', () => {
    const a = open(join(dir, 'a'))
    const b = open(join(dir, 'b'))
    expect(a.nodeId).not.toBe(b.nodeId)
  })

  it('starts empty', () => {
    const store = open()
    expect(store.vector()).toEqual({})
    expect(store.count).toBe(0)
    expect(store.maxTs).toBe(0)
    expect(store.seqOf('abcdefgh')).toBe(0)
    expect(store.latest('general', 50)).toEqual({ messages: [], more: false })
  })
})

describe('Store: append', () => {
  it('tracks the vector, count and maxTs, and keeps them across a reopen', () => {
    let store = open()
    store.append([ev('aaaaaaaa', 1, 100), ev('bbbbbbbb', 1, 150), ev('aaaaaaaa', 2, 200)])
    store.append([ev('aaaaaaaa', 3, 300), ev('bbbbbbbb', 2, 250)])
    store.append([])
    const check = (s: Store) => {
      expect(s.vector()).toEqual({ aaaaaaaa: 3, bbbbbbbb: 2 })
      expect(s.seqOf('aaaaaaaa')).toBe(3)
      expect(s.seqOf('bbbbbbbb')).toBe(2)
      expect(s.seqOf('cccccccc')).toBe(0)
      expect(s.count).toBe(5)
      expect(s.maxTs).toBe(300)
    }
    check(store)
    store = reopen(store)
    check(store)
    expect(store.get('aaaaaaaa', 2)).toEqual(ev('aaaaaaaa', 2, 200))
  })

  it('keeps maxTs at the highest ts even when a later append has lower ones', () => {
    let store = open()
    store.append([ev('aaaaaaaa', 1, 9_000)])
    store.append([ev('bbbbbbbb', 1, 10)])
    expect(store.maxTs).toBe(9_000)
    store = reopen(store)
    expect(store.maxTs).toBe(9_000)
  })

  it('stores every field, including unicode text and names', () => {
    let store = open()
    const event = ev('aaaaaaaa', 1, 1_700_000_000_000_000, {
      room: 'r-1_x',
      user: { id: 'user-ünï', name: 'مرحبا 👩🏽‍💻' },
      text: 'line 1\nline 2 😀\u0000 end',
      cid: 'Z_9-a',
    })
    store.append([event])
    store = reopen(store)
    expect(store.get('aaaaaaaa', 1)).toEqual(event)
    expect(store.get('aaaaaaaa', 2)).toBeUndefined()
    expect(store.latest('r-1_x', 1).messages).toEqual([toMessage(event)])
  })

  it('writes nothing of a batch that fails, and keeps working after', () => {
    let store = open()
    store.append([ev('aaaaaaaa', 1, 100)])
    const before = { vector: store.vector(), count: store.count, maxTs: store.maxTs }

    // A duplicate (origin, seq) inside the batch.
    expect(() =>
      store.append([ev('bbbbbbbb', 1, 500), ev('aaaaaaaa', 2, 600), ev('aaaaaaaa', 2, 700)]),
    ).toThrow()
    // A batch that repeats an event already stored.
    expect(() => store.append([ev('aaaaaaaa', 2, 800), ev('aaaaaaaa', 1, 900)])).toThrow()

    const unchanged = (s: Store) => {
      expect({ vector: s.vector(), count: s.count, maxTs: s.maxTs }).toEqual(before)
      expect(s.get('bbbbbbbb', 1)).toBeUndefined()
      expect(s.get('aaaaaaaa', 2)).toBeUndefined()
      expect(s.latest('general', 10).messages.map((m) => m.id)).toEqual(['aaaaaaaa:1'])
    }
    unchanged(store)

    // The failed transaction was rolled back: the next append commits.
    store.append([ev('aaaaaaaa', 2, 1_000)])
    expect(store.vector()).toEqual({ aaaaaaaa: 2 })
    expect(store.count).toBe(2)
    store = reopen(store)
    expect(store.vector()).toEqual({ aaaaaaaa: 2 })
    expect(store.count).toBe(2)
    expect(store.maxTs).toBe(1_000)
  })

  it('rejects an event whose fields the table cannot hold, writing nothing', () => {
    const store = open()
    const broken = { ...ev('aaaaaaaa', 2, 200), text: undefined } as unknown as ChatEvent
    expect(() => store.append([ev('aaaaaaaa', 1, 100), broken])).toThrow()
    expect(store.count).toBe(0)
    expect(store.vector()).toEqual({})
    expect(store.maxTs).toBe(0)
  })
})

describe('Store: a ts past MAX_SAFE_INTEGER', () => {
  /**
   * Writes what a node did before clocks were bounded: a store of schema 1 holding events whose
   * ts node:sqlite cannot read back into a number.
   */
  function oldStoreWithUnsafeTs(): string {
    const nodeId = 'a0a0a0a0a0a0a0a0a0a0'
    const old = (e: ChatEvent, ts: number | bigint = e.ts) => ({ ...row(e), ts })
    writeOldStore(dir, 1, nodeId, [
      old(ev('nodea001', 1, 1_000)),
      old(ev('nodea001', 2, MAX_TS)),
      old(ev(nodeId, 1, 0, { text: 'own 1' }), BigInt(MAX_TS) + 1n),
      old(ev(nodeId, 2, 0, { text: 'own 2' }), BigInt(MAX_TS) + 2n),
    ])
    return nodeId
  }

  it('opens a store that holds one, and reads every event back with a safe ts', () => {
    const nodeId = oldStoreWithUnsafeTs()
    const store = open()
    expect(store.maxTs).toBe(MAX_TS)
    expect(store.vector()).toEqual({ nodea001: 2, [nodeId]: 2 })
    const latest = store.latest('general', 10)
    expect(latest.messages.map((m) => m.text).sort()).toEqual([
      'nodea001 1',
      'nodea001 2',
      'own 1',
      'own 2',
    ])
    expect(latest.messages.every((m) => Number.isSafeInteger(m.ts))).toBe(true)
    expect(store.range(nodeId, 1, 2).map((e) => e.ts)).toEqual([MAX_TS, MAX_TS])
    // The repair is written: the next open finds nothing to do and the same events.
    expect(
      reopen(store)
        .range(nodeId, 1, 2)
        .map((e) => e.ts),
    ).toEqual([MAX_TS, MAX_TS])
  })
})

describe('Store: get and range', () => {
  it('returns one origin’s events with seq in [from, to], in seq order', () => {
    const store = open()
    store.append([
      ev('aaaaaaaa', 1, 10, { room: 'one' }),
      ev('bbbbbbbb', 1, 11),
      ev('aaaaaaaa', 2, 20, { room: 'two' }),
      ev('aaaaaaaa', 3, 30),
      ev('bbbbbbbb', 2, 31),
      ev('aaaaaaaa', 4, 40, { room: 'one' }),
    ])
    const seqs = (events: ChatEvent[]) => events.map((e) => `${e.origin}:${e.seq}`)
    expect(seqs(store.range('aaaaaaaa', 2, 3))).toEqual(['aaaaaaaa:2', 'aaaaaaaa:3'])
    expect(seqs(store.range('aaaaaaaa', 1, 4))).toEqual([1, 2, 3, 4].map((s) => `aaaaaaaa:${s}`))
    expect(seqs(store.range('aaaaaaaa', 3, 100))).toEqual(['aaaaaaaa:3', 'aaaaaaaa:4'])
    expect(seqs(store.range('aaaaaaaa', 4, 4))).toEqual(['aaaaaaaa:4'])
    expect(store.range('aaaaaaaa', 5, 9)).toEqual([])
    expect(store.range('aaaaaaaa', 3, 2)).toEqual([])
    expect(store.range('cccccccc', 1, 9)).toEqual([])
    expect(store.range('bbbbbbbb', 1, 2)).toEqual([ev('bbbbbbbb', 1, 11), ev('bbbbbbbb', 2, 31)])
  })
})

describe('Store: findByCid', () => {
  it('finds the first event a user sent with a cid, and only for that user', () => {
    let store = open()
    store.append([
      ev('aaaaaaaa', 1, 100, { user: ada, cid: 'c1' }),
      ev('aaaaaaaa', 2, 200, { user: bob, cid: 'c2' }),
    ])
    // Two nodes cut off from each other both accepted ada's c1: the copy this node shows (the
    // first it stored) is the one a resend is acknowledged with.
    store.append([ev('bbbbbbbb', 1, 90, { user: ada, cid: 'c1', text: 'copy' })])
    store.append([ev('cccccccc', 1, 90, { user: ada, cid: 'c1', text: 'copy 2' })])

    const check = (s: Store) => {
      expect(s.findByCid(ada.id, 'c1')).toEqual(ev('aaaaaaaa', 1, 100, { user: ada, cid: 'c1' }))
      expect(s.findByCid(bob.id, 'c2')).toEqual(ev('aaaaaaaa', 2, 200, { user: bob, cid: 'c2' }))
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
  it('returns the newest messages of one room, oldest first, with more when older exist', () => {
    const store = open()
    const events = Array.from({ length: 10 }, (_, i) =>
      ev('aaaaaaaa', i + 1, (i + 1) * 10, { room: i % 3 === 2 ? 'other' : 'general' }),
    )
    store.append(events)
    const general = events.filter((e) => e.room === 'general')
    const other = events.filter((e) => e.room === 'other')

    expect(store.latest('general', 3)).toEqual({
      messages: general.slice(-3).map(toMessage),
      more: true,
    })
    expect(store.latest('general', general.length - 1).more).toBe(true)
    expect(store.latest('general', general.length)).toEqual({
      messages: general.map(toMessage),
      more: false,
    })
    expect(store.latest('general', 50)).toEqual({ messages: general.map(toMessage), more: false })
    expect(store.latest('other', 50)).toEqual({ messages: other.map(toMessage), more: false })
    expect(store.latest('nowhere', 50)).toEqual({ messages: [], more: false })
  })

  it('orders by (ts, origin) when two origins share a ts', () => {
    const store = open()
    store.append([ev('cccccccc', 1, 500), ev('cccccccc', 2, 700)])
    store.append([ev('aaaaaaaa', 1, 500), ev('aaaaaaaa', 2, 600)])
    store.append([ev('bbbbbbbb', 1, 500), ev('bbbbbbbb', 2, 700)])
    expect(ids(store.latest('general', 10))).toEqual([
      'aaaaaaaa:1',
      'bbbbbbbb:1',
      'cccccccc:1',
      'aaaaaaaa:2',
      'bbbbbbbb:2',
      'cccccccc:2',
    ])
    // A cut inside a group of equal ts keeps the greatest origins.
    expect(ids(store.latest('general', 5))).toEqual([
      'bbbbbbbb:1',
      'cccccccc:1',
      'aaaaaaaa:2',
      'bbbbbbbb:2',
      'cccccccc:2',
    ])
  })
})

describe('Store: before', () => {
  /**
   * 230 messages in `general` from three origins that share every ts (so page cuts fall inside
   * groups of equal ts), and 38 in `other` in between.
   */
  function fill(store: Store): ChatEvent[] {
    const origins = ['aaaaaaaa', 'bbbbbbbb', 'cccccccc']
    const seqs = new Map<string, number>()
    const general: ChatEvent[] = []
    const batch: ChatEvent[] = []
    for (let i = 0; i < 268; i++) {
      const origin = origins[i % 3] as string
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
    const sizes = [page.messages.length]
    seen.unshift(...ids(page))
    while (page.more) {
      const first = page.messages[0]
      expect(first).toBeDefined()
      if (!first) break
      const anchor = store.get(first.origin, first.seq)
      expect(anchor).toBeDefined()
      if (!anchor) break
      page = store.before('general', anchor, 50)
      sizes.push(page.messages.length)
      seen.unshift(...ids(page))
    }
    expect(sizes).toEqual([50, 50, 50, 50, 30])
    expect(seen).toEqual(general.map((e) => `${e.origin}:${e.seq}`))
  })

  it('returns nothing older than the oldest message', () => {
    const store = open()
    const general = fill(store)
    const oldest = general[0] as ChatEvent
    expect(store.before('general', oldest, 50)).toEqual({ messages: [], more: false })
    const second = general[1] as ChatEvent
    expect(store.before('general', second, 50)).toEqual({
      messages: [toMessage(oldest)],
      more: false,
    })
    expect(store.before('general', second, 1)).toEqual({
      messages: [toMessage(oldest)],
      more: false,
    })
    const third = general[2] as ChatEvent
    expect(store.before('general', third, 1)).toEqual({ messages: [toMessage(second)], more: true })
  })

  it('pages one room only, even from an anchor in another room', () => {
    const store = open()
    store.append([
      ev('aaaaaaaa', 1, 10, { room: 'one' }),
      ev('aaaaaaaa', 2, 20, { room: 'two' }),
      ev('aaaaaaaa', 3, 30, { room: 'one' }),
      ev('aaaaaaaa', 4, 40, { room: 'two' }),
    ])
    const anchor = store.get('aaaaaaaa', 4) as ChatEvent
    expect(ids(store.before('one', anchor, 10))).toEqual(['aaaaaaaa:1', 'aaaaaaaa:3'])
    expect(ids(store.before('two', anchor, 10))).toEqual(['aaaaaaaa:2'])
  })
})

describe('Store: missing', () => {
  /**
   * `general` holds a:1-5, b:1-4, c:1-3 (ts interleaved, some shared across origins); `other`
   * holds a:6, b:5 and d:1 so that seqs in the room have gaps.
   */
  function fill(store: Store): ChatEvent[] {
    const events = [
      ev('aaaaaaaa', 1, 100),
      ev('bbbbbbbb', 1, 100),
      ev('cccccccc', 1, 105),
      ev('aaaaaaaa', 2, 110),
      ev('bbbbbbbb', 2, 120),
      ev('aaaaaaaa', 3, 120),
      ev('cccccccc', 2, 120),
      ev('aaaaaaaa', 4, 125, { room: 'other' }),
      ev('bbbbbbbb', 3, 130),
      ev('dddddddd', 1, 131, { room: 'other' }),
      ev('aaaaaaaa', 5, 140),
      ev('bbbbbbbb', 4, 150, { room: 'other' }),
      ev('cccccccc', 3, 150),
      ev('aaaaaaaa', 6, 160),
      ev('bbbbbbbb', 5, 170),
    ]
    store.append(events)
    return displayOrder(events.filter((e) => e.room === 'general'))
  }

  /** The expected page: the events of `general` that `covered` does not hold, oldest first. */
  function expected(general: ChatEvent[], covered: (e: ChatEvent) => boolean, limit = 1000): Page {
    const wanted = general.filter((e) => !covered(e))
    return { messages: wanted.slice(-limit).map(toMessage), more: wanted.length > limit }
  }

  it('returns every message of the room for an empty vector', () => {
    const store = open()
    const general = fill(store)
    expect(store.missing('general', vector({}), 1000)).toEqual(expected(general, () => false))
    expect(store.missing('general', vector({}), 1000).messages).toHaveLength(12)
  })

  it('returns what the vector does not cover, for named and unnamed origins', () => {
    const store = open()
    const general = fill(store)
    const since = { aaaaaaaa: 2, bbbbbbbb: 5 }
    const covered = (e: ChatEvent) => e.seq <= ((since as Record<string, number>)[e.origin] ?? 0)
    const page = store.missing('general', vector(since), 1000)
    expect(page).toEqual(expected(general, covered))
    expect(ids(page)).toEqual([
      'cccccccc:1',
      'aaaaaaaa:3',
      'cccccccc:2',
      'aaaaaaaa:5',
      'cccccccc:3',
      'aaaaaaaa:6',
    ])
  })

  it('treats seq 0 like an unnamed origin and a seq past the end like a full one', () => {
    const store = open()
    const general = fill(store)
    expect(
      store.missing('general', vector({ aaaaaaaa: 0, bbbbbbbb: 0, cccccccc: 0 }), 1000),
    ).toEqual(expected(general, () => false))
    expect(store.missing('general', vector({ aaaaaaaa: 99, cccccccc: 3 }), 1000)).toEqual(
      expected(general, (e) => e.origin !== 'bbbbbbbb'),
    )
  })

  it('returns nothing for a vector that covers the room, and ignores unknown origins', () => {
    const store = open()
    fill(store)
    const all = { aaaaaaaa: 6, bbbbbbbb: 5, cccccccc: 3 }
    expect(store.missing('general', vector(all), 1000)).toEqual({ messages: [], more: false })
    expect(store.missing('general', vector({ ...all, zzzzzzzz: 7 }), 1000)).toEqual({
      messages: [],
      more: false,
    })
    expect(store.missing('nowhere', vector({}), 1000)).toEqual({ messages: [], more: false })
  })

  it('matches a vector taken in the middle of the room', () => {
    const store = open()
    const general = fill(store)
    // What a client holds after seeing general up to ts 120 (a:3, b:2, c:2).
    const since = { aaaaaaaa: 3, bbbbbbbb: 2, cccccccc: 2 }
    expect(ids(store.missing('general', vector(since), 1000))).toEqual([
      'bbbbbbbb:3',
      'aaaaaaaa:5',
      'cccccccc:3',
      'aaaaaaaa:6',
      'bbbbbbbb:5',
    ])
    expect(store.missing('general', vector(since), 1000)).toEqual(
      expected(general, (e) => e.ts <= 120),
    )
  })

  it('past the limit returns the newest limit messages with more set', () => {
    const store = open()
    const general = fill(store)
    for (const limit of [1, 2, 3, 5, 11]) {
      expect(store.missing('general', vector({}), limit)).toEqual(
        expected(general, () => false, limit),
      )
      expect(store.missing('general', vector({}), limit).more).toBe(true)
    }
    expect(store.missing('general', vector({}), 12)).toEqual(expected(general, () => false, 12))
    expect(store.missing('general', vector({}), 12).more).toBe(false)

    const since = { aaaaaaaa: 2, bbbbbbbb: 1 }
    const covered = (e: ChatEvent) => e.seq <= ((since as Record<string, number>)[e.origin] ?? 0)
    for (const limit of [1, 2, 4, 7, 8, 9]) {
      expect(store.missing('general', vector(since), limit)).toEqual(
        expected(general, covered, limit),
      )
    }
    expect(store.missing('general', vector(since), 8).more).toBe(true)
    expect(store.missing('general', vector(since), 9).more).toBe(false)
  })

  it('with many origins, each with more than the limit', () => {
    const store = open()
    const origins = Array.from({ length: 6 }, (_, i) => `origin0${i}`)
    const events: ChatEvent[] = []
    for (let seq = 1; seq <= 30; seq++) {
      for (const [i, origin] of origins.entries()) events.push(ev(origin, seq, seq * 10 + (i % 2)))
    }
    store.append(events)
    const general = displayOrder(events)
    const since = { origin00: 25, origin01: 0, origin02: 10 }
    const covered = (e: ChatEvent) => e.seq <= ((since as Record<string, number>)[e.origin] ?? 0)
    for (const limit of [1, 7, 20, 50, 500]) {
      expect(store.missing('general', vector(since), limit)).toEqual(
        expected(general, covered, limit),
      )
    }
  })
})

describe('Store: one send accepted by two nodes', () => {
  const first = ev('aaaaaaaa', 1, 100, { user: ada, cid: 'c1', text: 'said twice' })
  const copy = ev('bbbbbbbb', 1, 90, { user: ada, cid: 'c1', text: 'said twice' })
  const other = ev('bbbbbbbb', 2, 110, { user: bob, cid: 'c1', text: 'another send' })

  it('keeps both events but shows clients the first it stored, in every read', () => {
    const store = open()
    expect([...store.append([first])]).toEqual([])
    // The later copy is hidden even though it sorts first; bob's own c1 is another send.
    expect([...store.append([copy, other])]).toEqual([copy])
    expect(store.vector()).toEqual({ aaaaaaaa: 1, bbbbbbbb: 2 })
    expect(store.count).toBe(3)
    expect(store.range('bbbbbbbb', 1, 2)).toEqual([copy, other]) // the mesh still relays it

    const ids = (page: { messages: { id: string }[] }) => page.messages.map((m) => m.id)
    expect(ids(store.latest('general', 10))).toEqual(['aaaaaaaa:1', 'bbbbbbbb:2'])
    expect(ids(store.missing('general', vector({}), 10))).toEqual(['aaaaaaaa:1', 'bbbbbbbb:2'])
    expect(ids(store.missing('general', vector({ aaaaaaaa: 1 }), 10))).toEqual(['bbbbbbbb:2'])
    expect(ids(store.before('general', other, 10))).toEqual(['aaaaaaaa:1'])
  })

  it('hides a second copy that comes in the same commit', () => {
    const store = open()
    expect([...store.append([first, copy])]).toEqual([copy])
    expect(store.latest('general', 10).messages.map((m) => m.id)).toEqual(['aaaaaaaa:1'])
  })

  it('when opening a store of schema 2, shows the earliest copy in display order', () => {
    writeOldStore(dir, 2, 'a0a0a0a0a0a0a0a0a0a0', [first, copy, other].map(row))
    const store = open()
    expect(store.latest('general', 10).messages.map((m) => m.id)).toEqual([
      'bbbbbbbb:1',
      'bbbbbbbb:2',
    ])
    expect(store.count).toBe(3)
  })
})

describe('Store: migrations', () => {
  it('opens a store of every older version and keeps every message', () => {
    const events = [
      ev('aaaaaaaa', 1, 100, { text: 'first' }),
      ev('bbbbbbbb', 1, 200, { user: bob, text: 'second' }),
      ev('aaaaaaaa', 2, 300, { room: 'other', text: 'third' }),
    ]
    for (let version = 1; version < MIGRATIONS.length; version++) {
      const at = join(dir, `v${version}`)
      writeOldStore(at, version, 'c0c0c0c0c0c0c0c0c0c0', events.map(row))
      const store = open(at)
      expect(store.nodeId).toBe('c0c0c0c0c0c0c0c0c0c0')
      expect(store.vector()).toEqual({ aaaaaaaa: 2, bbbbbbbb: 1 })
      expect(store.latest('general', 10).messages).toEqual(events.slice(0, 2).map(toMessage))
      expect(store.range('aaaaaaaa', 1, 2)).toEqual([events[0], events[2]])
      store.close()
      const db = new DatabaseSync(join(at, DB_FILE), { readOnly: true })
      expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length })
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
