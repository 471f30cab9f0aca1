import { describe, expect, it } from 'vitest'
import { ResumeFilters } from './resume-filters.ts'

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
