import { describe, expect, it } from 'vitest'
import { setRecent } from './recent-map.ts'

describe('setRecent', () => {
  it('keeps at most max entries, forgetting the one set longest ago', () => {
    const map = new Map<string, number>()
    setRecent(map, 'a', 1, 2)
    setRecent(map, 'b', 2, 2)
    setRecent(map, 'a', 3, 2) // a is now the most recent
    setRecent(map, 'c', 4, 2)
    expect([...map]).toEqual([
      ['a', 3],
      ['c', 4],
    ])
  })
})
