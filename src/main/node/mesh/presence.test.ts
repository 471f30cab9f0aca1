import { describe, expect, it } from 'vitest'
import {
  announcedRooms,
  PRESENCE_MAX_BYTES,
  PRESENCE_MAX_ENTRIES,
  PRESENCE_MAX_ENTRIES_PER_NODE,
  PRESENCE_MAX_NODES,
  PRESENCE_TTL_MS,
  PresenceTable,
} from './presence.ts'

const ada = { id: 'user_ada1', name: 'Ada' }
const bob = { id: 'user_bob1', name: 'Bob' }
const cy = { id: 'user_cy01', name: 'Cy' }

const NODE_A = 'nodea001'
const NODE_B = 'nodeb001'

/** A table on a clock the test moves by hand. */
function table() {
  const clock = { now: 1_000_000 }
  return { presence: new PresenceTable({ ttlMs: PRESENCE_TTL_MS, now: () => clock.now }), clock }
}

const linkA = {}
const linkB = {}

describe('PresenceTable.apply', () => {
  it('takes a first state and reports each of its rooms', () => {
    const { presence } = table()
    const changed = presence.apply(NODE_A, 1, { general: [ada], dev: [bob] }, linkA)
    expect(changed).toEqual(new Set(['general', 'dev']))
    expect(presence.has(NODE_A)).toBe(true)
    expect(presence.usersIn('general')).toEqual([{ ...ada, node: NODE_A }])
  })

  it('replaces the state with a newer version only', () => {
    const { presence } = table()
    presence.apply(NODE_A, 5, { general: [ada] }, linkA)
    expect(presence.apply(NODE_A, 4, { general: [bob] }, linkA)).toBeUndefined()
    expect(presence.apply(NODE_A, 5, { general: [bob] }, linkA)).toBeUndefined()
    expect(presence.usersIn('general')).toEqual([{ ...ada, node: NODE_A }])
    expect(presence.apply(NODE_A, 6, { general: [bob] }, linkA)).toEqual(new Set(['general']))
    expect(presence.usersIn('general')).toEqual([{ ...bob, node: NODE_A }])
  })

  it('reports no room when a newer version holds the same users (still to be forwarded)', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada, bob] }, linkA)
    // Same set in another order: nothing changed for clients, but the state is newer.
    expect(presence.apply(NODE_A, 2, { general: [bob, ada] }, linkA)).toEqual(new Set())
  })

  it('reports a join, a leave and a rename in the rooms they touch, and no others', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada], dev: [bob], ops: [cy] }, linkA)
    // bob joins general; cy leaves ops (the room empties); ada is renamed in general.
    const changed = presence.apply(
      NODE_A,
      2,
      { general: [{ ...ada, name: 'Ada L.' }, bob], dev: [bob] },
      linkA,
    )
    expect(changed).toEqual(new Set(['general', 'ops']))
    expect(presence.usersIn('ops')).toEqual([])

    expect(presence.apply(NODE_A, 3, { general: [bob], dev: [bob] }, linkA)).toEqual(
      new Set(['general']),
    )
    expect(presence.apply(NODE_A, 4, { dev: [bob, cy] }, linkA)).toEqual(
      new Set(['general', 'dev']),
    )
  })

  it('keeps each node apart: usersIn lists a room’s users across nodes with their node', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada], dev: [ada] }, linkA)
    presence.apply(NODE_B, 1, { general: [bob, cy] }, linkB)
    expect(presence.usersIn('general')).toEqual(
      expect.arrayContaining([
        { ...ada, node: NODE_A },
        { ...bob, node: NODE_B },
        { ...cy, node: NODE_B },
      ]),
    )
    expect(presence.usersIn('general')).toHaveLength(3)
    expect(presence.usersIn('dev')).toEqual([{ ...ada, node: NODE_A }])
    expect(presence.usersIn('nowhere')).toEqual([])
    // One node's versions are its own: B's lower version does not stop a new A state.
    expect(presence.apply(NODE_A, 2, { general: [] }, linkA)).toEqual(new Set(['general', 'dev']))
    expect(presence.usersIn('general')).toHaveLength(2)
  })
})

describe('PresenceTable.links', () => {
  it('keeps each node’s announced links with its newest state, and forgets them with it', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, {}, linkA, [NODE_B])
    presence.apply(NODE_B, 1, {}, linkB) // an announcement without links (an older node)
    expect(presence.links()).toEqual([
      [NODE_A, [NODE_B]],
      [NODE_B, []],
    ])
    presence.apply(NODE_A, 0, {}, linkA, []) // older: ignored
    presence.apply(NODE_A, 2, {}, linkA, [NODE_B, 'nodec001'])
    expect(presence.links()).toContainEqual([NODE_A, [NODE_B, 'nodec001']])
    presence.dropVia(linkA)
    expect(presence.links()).toEqual([[NODE_B, []]])
  })
})

describe('PresenceTable, forgetting', () => {
  it('forgets a state not heard for the TTL and reports its rooms', () => {
    const { presence, clock } = table()
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    clock.now += 10_000
    presence.apply(NODE_B, 1, { dev: [bob] }, linkB)

    clock.now += PRESENCE_TTL_MS - 10_000 // A is exactly TTL old: kept
    expect(presence.expire()).toEqual(new Set())
    expect(presence.has(NODE_A)).toBe(true)

    clock.now += 1
    expect(presence.expire()).toEqual(new Set(['general']))
    expect(presence.has(NODE_A)).toBe(false)
    expect(presence.has(NODE_B)).toBe(true)
    expect(presence.usersIn('general')).toEqual([])

    clock.now += 10_000
    expect(presence.expire()).toEqual(new Set(['dev']))
    expect(presence.has(NODE_B)).toBe(false)
  })

  it('counts the TTL from the last newer state heard, not from the first', () => {
    const { presence, clock } = table()
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    clock.now += 20_000
    presence.apply(NODE_A, 2, { general: [ada] }, linkA) // a re-announcement
    clock.now += 20_000
    expect(presence.expire()).toEqual(new Set())
    expect(presence.has(NODE_A)).toBe(true)
  })

  it('does not refresh on an older or equal version', () => {
    const { presence, clock } = table()
    presence.apply(NODE_A, 2, { general: [ada] }, linkA)
    clock.now += 20_000
    presence.apply(NODE_A, 2, { general: [ada] }, linkA)
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    clock.now += 10_001
    expect(presence.expire()).toEqual(new Set(['general']))
  })

  it('a node forgotten by expiry is taken again at any newer version', () => {
    const { presence, clock } = table()
    presence.apply(NODE_A, 7, { general: [ada] }, linkA)
    clock.now += PRESENCE_TTL_MS + 1
    presence.expire()
    expect(presence.apply(NODE_A, 8, { general: [ada] }, linkA)).toEqual(new Set(['general']))
  })

  it('dropVia forgets exactly the states that came over that link', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    presence.apply(NODE_B, 1, { dev: [bob], general: [cy] }, linkB)
    expect(presence.dropVia({})).toEqual(new Set()) // another object, even an equal one
    expect(presence.dropVia(linkB)).toEqual(new Set(['dev', 'general']))
    expect(presence.has(NODE_B)).toBe(false)
    expect(presence.usersIn('general')).toEqual([{ ...ada, node: NODE_A }])
  })

  it('a state that came over another link since is not dropped with the old link', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    presence.apply(NODE_A, 2, { general: [ada] }, linkB) // now heard through B
    expect(presence.dropVia(linkA)).toEqual(new Set())
    expect(presence.has(NODE_A)).toBe(true)
    expect(presence.dropVia(linkB)).toEqual(new Set(['general']))
  })
})

describe('PresenceTable, names from the wire', () => {
  it('finds nothing of Object.prototype in a room named constructor', () => {
    const { presence } = table()
    presence.apply(NODE_A, 1, { general: [ada] }, linkA)
    expect(presence.usersIn('constructor')).toEqual([])
    const rooms = JSON.parse('{"constructor": [{"id": "user_bob1", "name": "Bob"}]}') as Record<
      string,
      (typeof bob)[]
    >
    expect(presence.apply(NODE_B, 1, rooms, linkB)).toEqual(new Set(['constructor']))
    expect(presence.usersIn('constructor')).toEqual([{ ...bob, node: NODE_B }])
    expect(presence.apply(NODE_B, 2, {}, linkB)).toEqual(new Set(['constructor']))
    expect(presence.usersIn('tostring')).toEqual([])
  })
})

/** `n` rooms of one user each, named r0, r1, … */
function manyRooms(n: number, user = ada): Record<string, (typeof ada)[]> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, [user]]))
}

describe('PresenceTable, bounds', () => {
  it('cuts a state past PRESENCE_MAX_ENTRIES_PER_NODE short instead of refusing it', () => {
    const { presence } = table()
    const changed = presence.apply(NODE_A, 1, manyRooms(PRESENCE_MAX_ENTRIES_PER_NODE + 5), linkA)
    expect(changed?.size).toBe(PRESENCE_MAX_ENTRIES_PER_NODE)
    expect(presence.usersIn('r0')).toHaveLength(1)
    expect(presence.usersIn(`r${PRESENCE_MAX_ENTRIES_PER_NODE}`)).toEqual([])
  })

  it('counts an empty room as an entry, so empty rooms cannot grow without bound', () => {
    const { presence } = table()
    const rooms = Object.fromEntries([
      ...Array.from({ length: PRESENCE_MAX_ENTRIES_PER_NODE }, (_, i) => [`e${i}`, []]),
      ['last', [ada]],
    ])
    presence.apply(NODE_A, 1, rooms, linkA)
    expect(presence.usersIn('last')).toEqual([])
  })

  it('keeps at most PRESENCE_MAX_ENTRIES across nodes, and frees a node’s share when it goes', () => {
    const { presence } = table()
    const perNode = PRESENCE_MAX_ENTRIES_PER_NODE
    const nodes = PRESENCE_MAX_ENTRIES / perNode
    for (let i = 0; i < nodes; i++) presence.apply(`node${i}aaaa`, 1, manyRooms(perNode), linkA)
    // The table is full: one more node's state is kept empty, still as a node.
    expect(presence.apply(NODE_B, 1, manyRooms(3), linkB)).toEqual(new Set())
    expect(presence.has(NODE_B)).toBe(true)
    // A node that shrinks frees what it held, for itself and for others.
    presence.apply('node0aaaa', 2, manyRooms(1), linkA)
    expect(presence.apply(NODE_B, 2, manyRooms(3), linkB)?.size).toBe(3)
    presence.dropVia(linkA)
    expect(presence.apply(NODE_B, 3, manyRooms(perNode), linkB)?.size).toBe(perNode - 3)
  })

  it('takes no new node past PRESENCE_MAX_NODES, but still newer states of those it holds', () => {
    const { presence, clock } = table()
    for (let i = 0; i < PRESENCE_MAX_NODES; i++) presence.apply(`node${i}aaaa`, 1, {}, linkA)
    expect(presence.apply(NODE_B, 1, { general: [bob] }, linkB)).toBeUndefined()
    expect(presence.has(NODE_B)).toBe(false)
    expect(presence.apply('node0aaaa', 2, { general: [ada] }, linkA)).toEqual(new Set(['general']))
    clock.now += PRESENCE_TTL_MS + 1
    presence.expire()
    expect(presence.apply(NODE_B, 1, { general: [bob] }, linkB)).toEqual(new Set(['general']))
  })
})

describe('announcedRooms', () => {
  it('names every room when they fit', () => {
    const local = new Map([
      ['general', [ada, bob]],
      ['dev', [cy]],
    ])
    const { rooms, omitted } = announcedRooms(local, 10)
    expect({ ...rooms }).toEqual({ general: [ada, bob], dev: [cy] })
    expect(omitted).toBe(0)
  })

  it('takes the busiest rooms first, then by name, up to maxRooms', () => {
    const local = new Map([
      ['zed', [ada]],
      ['busy', [ada, bob, cy]],
      ['alpha', [bob]],
      ['pair', [ada, bob]],
    ])
    const { rooms, omitted } = announcedRooms(local, 3)
    expect(Object.keys(rooms)).toEqual(['busy', 'pair', 'alpha'])
    expect(omitted).toBe(1)
  })

  it('stays under PRESENCE_MAX_BYTES with long names, whatever the number of rooms', () => {
    const longUser = { id: 'u'.repeat(64), name: '中'.repeat(64) }
    const local = new Map(
      Array.from({ length: 12_000 }, (_, i) => [
        `${String(i).padStart(5, '0')}${'x'.repeat(59)}`,
        [longUser],
      ]),
    )
    const { rooms, omitted } = announcedRooms(local, 20_000)
    const bytes = Buffer.byteLength(JSON.stringify(rooms))
    expect(bytes).toBeLessThanOrEqual(PRESENCE_MAX_BYTES)
    expect(bytes).toBeGreaterThan(PRESENCE_MAX_BYTES - 1_000)
    expect(Object.keys(rooms).length + omitted).toBe(12_000)
  })

  it('stays under PRESENCE_MAX_ENTRIES_PER_NODE with short names', () => {
    const local = new Map(Object.entries(manyRooms(PRESENCE_MAX_ENTRIES_PER_NODE + 10)))
    const { rooms, omitted } = announcedRooms(local, 1e9)
    expect(Object.keys(rooms)).toHaveLength(PRESENCE_MAX_ENTRIES_PER_NODE)
    expect(omitted).toBe(10)
  })

  it('holds a room named constructor as its own key, on an object with no prototype', () => {
    const { rooms } = announcedRooms(new Map([['constructor', [ada]]]), 10)
    expect(Object.getPrototypeOf(rooms)).toBeNull()
    expect(JSON.parse(JSON.stringify(rooms))).toEqual({ constructor: [ada] })
  })
})
