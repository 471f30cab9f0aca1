import { describe, expect, it } from 'vitest'
import {
  MAX_RESUME_ORIGINS,
  MAX_RESUME_ORIGINS_PER_SESSION,
  ResumeFilters,
} from './resume-filters.ts'

/** This node's vector, as the filters ask for it. */
const holds = (vector: Record<string, number>) => (origin: string) =>
  new Map(Object.entries(vector)).get(origin) ?? 0

describe('ResumeFilters', () => {
  it('keeps nothing for a since this node already covers', () => {
    const filters = new ResumeFilters<string>()
    filters.set('r', 'ann', new Map([['a', 3]]), holds({ a: 5 }))
    filters.set('r', 'bob', undefined, holds({}))
    expect(filters.inRoom('r')).toBeUndefined()
    expect(filters.size).toBe(0)
  })

  it('covers what since named beyond this node, origin by origin, until the node holds it', () => {
    const filters = new ResumeFilters<string>()
    const since = new Map([
      ['a', 10],
      ['b', 4],
      ['c', 7],
    ])
    filters.set('r', 'ann', since, holds({ a: 6, b: 4 }))
    const filter = filters.inRoom('r')?.get('ann')
    expect(filter?.covers('a', 7)).toBe(true)
    expect(filter?.covers('a', 10)).toBe(true)
    expect(filter?.covers('a', 11)).toBe(false)
    expect(filter?.covers('b', 5)).toBe(false) // the node held all of b that since covers
    expect(filter?.covers('c', 1)).toBe(true) // an origin this node has never seen
    expect(filter?.covers('d', 1)).toBe(false)

    filters.reached('a', 9)
    expect(filter?.covers('a', 10)).toBe(true)
    filters.reached('a', 10)
    expect(filter?.covers('a', 10)).toBe(false)
    expect(filters.size).toBe(1)
    filters.reached('c', 100)
    // Its last origin passed: the filter is gone.
    expect(filters.size).toBe(0)
    expect(filters.inRoom('r')).toBeUndefined()
  })

  it('keeps one filter per room and member, replaced by a new join and dropped by leaving', () => {
    const filters = new ResumeFilters<string>()
    const node = holds({})
    filters.set('r1', 'ann', new Map([['a', 5]]), node)
    filters.set('r2', 'ann', new Map([['a', 2]]), node)
    filters.set('r1', 'bob', new Map([['a', 9]]), node)
    expect(filters.size).toBe(3)
    filters.set('r1', 'ann', new Map([['a', 1]]), node)
    expect(filters.inRoom('r1')?.get('ann')?.covers('a', 2)).toBe(false)
    filters.set('r1', 'ann', undefined, node) // joined again without since
    expect(filters.inRoom('r1')?.get('ann')).toBeUndefined()
    filters.remove('r1', 'bob')
    expect(filters.inRoom('r1')).toBeUndefined()
    // A removed filter is not waiting on its origins any more: reaching them touches only r2.
    filters.reached('a', 2)
    expect(filters.size).toBe(0)
  })

  it('holds origins named like properties of plain objects', () => {
    const filters = new ResumeFilters<string>()
    filters.set('r', 'ann', new Map([['constructor', 3]]), holds({}))
    const filter = filters.inRoom('r')?.get('ann')
    expect(filter?.covers('constructor', 3)).toBe(true)
    expect(filter?.covers('tostring', 1)).toBe(false)
    filters.reached('constructor', 3)
    expect(filters.size).toBe(0)
  })
})

describe('ResumeFilters: bounds', () => {
  /** A since naming `n` origins no node holds, each at seq 1. */
  const unknown = (n: number, prefix = 'o') =>
    new Map(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(19, '0')}`, 1]))
  const holdsNothing = () => 0

  it('lets one session hold at most MAX_RESUME_ORIGINS_PER_SESSION origins over its rooms', () => {
    const filters = new ResumeFilters<string>()
    const since = unknown(1024)
    const rooms = MAX_RESUME_ORIGINS_PER_SESSION / 1024
    for (let i = 0; i < rooms; i++) {
      expect(filters.fits(`r${i}`, 'm', since, holdsNothing)).toBe(true)
      filters.set(`r${i}`, 'm', since, holdsNothing)
    }
    expect(filters.fits('one-more', 'm', unknown(1), holdsNothing)).toBe(false)
    // Replacing a room's filter with one as large fits; another session is counted apart.
    expect(filters.fits('r0', 'm', since, holdsNothing)).toBe(true)
    expect(filters.fits('one-more', 'other', since, holdsNothing)).toBe(true)
    // Origins the node catches up with are given back.
    filters.reached(`o${'0'.repeat(19)}`, 1)
    expect(filters.fits('one-more', 'm', unknown(rooms), holdsNothing)).toBe(true)
  })

  it('lets all sessions together hold at most MAX_RESUME_ORIGINS origins', () => {
    const filters = new ResumeFilters<number>()
    const since = unknown(1024)
    const perSession = MAX_RESUME_ORIGINS_PER_SESSION / 1024
    let member = 0
    for (; (member + 1) * MAX_RESUME_ORIGINS_PER_SESSION <= MAX_RESUME_ORIGINS; member++) {
      for (let room = 0; room < perSession; room++)
        filters.set(`r${room}`, member, since, holdsNothing)
    }
    expect(filters.fits('r0', member, since, holdsNothing)).toBe(false)
    filters.remove('r0', 0)
    expect(filters.fits('r0', member, since, holdsNothing)).toBe(true)
  })
})
