import { describe, expect, it } from 'vitest'
import { nodeRecord, testIdentity } from '../../../../test/support/fake-peer.ts'
import {
  MAX_PEER_FRAME_BYTES,
  type NodeRecord,
  peerFrameSchema,
} from '../../../shared/peer-protocol.ts'
import { without } from '../../../shared/canonical.ts'
import { verifyNodeRecord } from '../../../shared/signatures.ts'
import type { NodeIdentity } from '../node-identity.ts'
import {
  DIRECTORY_TTL_MS,
  MAX_DIRECTORY_NODES,
  NODES_FRAME_MAX_RECORDS,
  NodeDirectory,
  nodesFrames,
} from './directory.ts'
import { FrameDecoder } from './framing.ts'

const keys = new Map<string, NodeIdentity>()

/** The key of the node a test calls `name`, made the first time it is named. */
function node(name: string): NodeIdentity {
  let identity = keys.get(name)
  if (!identity) keys.set(name, (identity = testIdentity()))
  return identity
}

const idOf = (name: string): string => node(name).id

/** The record node `name` signs at `version`; `fields` change it before it is signed. */
function entry(
  name: string,
  version = 1,
  fields: Partial<Pick<NodeRecord, 'name' | 'url' | 'peerAddr'>> = {},
): NodeRecord {
  return nodeRecord(node(name), {
    name: `N ${name}`,
    url: `ws://${name}:8080/`,
    peerAddr: `${name}:9080`,
    version,
    ...fields,
  })
}

/** A directory on a clock the test moves by hand, pinning the ids in `pinned`. */
function directory(pinned = new Set<string>()) {
  const clock = { now: 1_000_000 }
  return { dir: new NodeDirectory({ pinned: (id) => pinned.has(id), now: () => clock.now }), clock }
}

describe('NodeDirectory', () => {
  it('takes new records and newer versions, and returns what changed', () => {
    const { dir } = directory()
    expect(dir.learn([entry('nodea001'), entry('nodeb001')])).toHaveLength(2)
    expect(dir.learn([entry('nodea001', 1, { name: 'other' }), entry('nodea001', 0)])).toEqual([])
    expect(dir.learn([entry('nodea001', 2, { name: 'renamed' })])).toEqual([
      entry('nodea001', 2, { name: 'renamed' }),
    ])
    expect(dir.get(idOf('nodea001'))?.name).toBe('renamed')
  })

  it('keeps a record as signed, fields it does not know too, and a node named constructor like any other', () => {
    const { dir } = directory()
    const fields = without(entry('nodea001'), ['key', 'sig'])
    const extended = node('nodea001').sign({ ...fields, extra: 'x'.repeat(100) })
    dir.learn([extended])
    // Its signature covers every field: a record cut down would not verify where it is passed on.
    expect(dir.get(idOf('nodea001'))).toEqual(extended)
    expect(verifyNodeRecord(dir.values()[0] as NodeRecord)).toBe(true)

    dir.learn([{ ...entry('nodeb001'), id: 'constructor' }])
    expect(dir.get('constructor')?.name).toBe('N nodeb001')
    expect(dir.get('toString')).toBeUndefined()
  })

  it('holds at most MAX_DIRECTORY_NODES: when full, only a linked node’s record gets in', () => {
    const pinned = new Set([idOf('node0aaaa')])
    const { dir } = directory(pinned)
    dir.learn(Array.from({ length: MAX_DIRECTORY_NODES }, (_, i) => entry(`node${i}aaaa`)))
    expect(dir.learn([entry('newcomer1')])).toEqual([])
    expect(dir.learn([entry('node5aaaa', 2)])).toHaveLength(1) // a newer version still does
    dir.learn([entry('node1aaaa', 2)]) // refreshed: heard of last now
    pinned.add(idOf('linked001'))
    expect(dir.learn([entry('linked001')])).toHaveLength(1)
    expect(dir.size).toBe(MAX_DIRECTORY_NODES)
    expect(dir.get(idOf('newcomer1'))).toBeUndefined()
    expect(dir.get(idOf('node0aaaa'))).toBeDefined() // pinned: a linked node stays
    expect(dir.get(idOf('node1aaaa'))).toBeDefined()
    expect(dir.get(idOf('node2aaaa'))).toBeUndefined() // the oldest unpinned one made room
  })

  it('forgets a record not refreshed for DIRECTORY_TTL_MS, unless pinned', () => {
    const pinned = new Set([idOf('nodep001')])
    const { dir, clock } = directory(pinned)
    dir.learn([entry('nodea001'), entry('nodep001'), entry('nodeb001')])
    clock.now += DIRECTORY_TTL_MS / 2
    dir.learn([entry('nodeb001', 2)])
    clock.now += DIRECTORY_TTL_MS / 2
    expect(dir.expire()).toBe(false)
    clock.now += 1
    expect(dir.expire()).toBe(true)
    expect(dir.values().map((e) => e.id)).toEqual([idOf('nodep001'), idOf('nodeb001')])
  })
})

describe('nodesFrames', () => {
  /** Decodes frames as a receiving node does. */
  function decode(frames: Buffer[]): unknown[] {
    const decoder = new FrameDecoder()
    for (const frame of frames) decoder.push(frame)
    const values: unknown[] = []
    for (let v = decoder.read(); v !== undefined; v = decoder.read()) values.push(v)
    return values
  }

  it('splits the most a directory can hold, with the longest fields, into valid frames', () => {
    const long = (i: number) =>
      entry(`long${i}`, Number.MAX_SAFE_INTEGER, {
        name: '\u0001'.repeat(64),
        url: '\u0001'.repeat(512),
        peerAddr: '\u0001'.repeat(300),
      })
    const entries = Array.from({ length: MAX_DIRECTORY_NODES + 1 }, (_, i) => long(i))
    const frames = nodesFrames(entries)
    for (const frame of frames) expect(frame.length).toBeLessThan(MAX_PEER_FRAME_BYTES / 8)
    const values = decode(frames)
    const ids = values.flatMap((v) => {
      const parsed = peerFrameSchema.parse(v)
      if (parsed.type !== 'nodes') throw new Error(parsed.type)
      expect(parsed.nodes.length).toBeLessThanOrEqual(NODES_FRAME_MAX_RECORDS)
      return parsed.nodes.map((n) => n.id)
    })
    expect(ids).toEqual(entries.map((e) => e.id))
  })

  it('sends nothing for nothing', () => {
    expect(nodesFrames([])).toEqual([])
  })
})
