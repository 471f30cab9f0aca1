import { describe, expect, it } from 'vitest'
import { type Member, Rooms } from './rooms.ts'

/** A member that records the frames it is given, as text. */
function member(id: string): Member & { got: string[] } {
  const got: string[] = []
  return { user: { id, name: id }, got, deliver: (frames) => got.push(...frames.map(String)) }
}

const frame = (text: string) => Buffer.from(text)

describe('Rooms', () => {
  it('holds at most maxRooms rooms with members; a room with members can always be joined', () => {
    const rooms = new Rooms(2)
    const ann = member('ann')
    rooms.join('one', ann)
    rooms.join('two', ann)
    expect(rooms.canJoin('three')).toBe(false)
    expect(rooms.canJoin('one')).toBe(true)
    rooms.leave('two', ann)
    expect(rooms.canJoin('three')).toBe(true)
    expect(rooms.size).toBe(1)
  })

  it('keeps from a member the events its since covered beyond this node, until the node has them', () => {
    const rooms = new Rooms(10)
    const fresh = member('fresh')
    const resumed = member('resumed')
    const held = (origin: string) => (origin === 'a' ? 2 : 0)
    rooms.join('r', fresh)
    rooms.join('r', resumed, new Map([['a', 4]]), held)
    expect(rooms.resumeFilters).toBe(1)

    const ids = [3, 4, 5].map((seq) => ({ origin: 'a', seq }))
    const sent = rooms.publishEvents('r', [frame('a3'), frame('a4'), frame('a5')], ids)
    expect(fresh.got).toEqual(['a3', 'a4', 'a5'])
    expect(resumed.got).toEqual(['a5'])
    expect(sent).toBe(4)
    rooms.reached('a', 5)
    expect(rooms.resumeFilters).toBe(0)
  })

  it('forgets a member’s filter when it leaves or joins again without since', () => {
    const rooms = new Rooms(10)
    const ann = member('ann')
    rooms.join('r', ann, new Map([['a', 9]]))
    rooms.join('r', ann)
    expect(rooms.resumeFilters).toBe(0)
    rooms.join('r', ann, new Map([['a', 9]]))
    rooms.leave('r', ann)
    expect(rooms.resumeFilters).toBe(0)
  })

  it('snapshots presence as a Map, rooms named like object properties included', () => {
    const rooms = new Rooms(10)
    rooms.join('constructor', member('ann'))
    rooms.join('__proto__', member('bob'))
    const snapshot = rooms.snapshot()
    expect(snapshot).toBeInstanceOf(Map)
    expect(snapshot.get('constructor')).toEqual([{ id: 'ann', name: 'ann' }])
    expect(snapshot.get('__proto__')).toEqual([{ id: 'bob', name: 'bob' }])
    expect(snapshot.get('tostring')).toBeUndefined()
  })
})
