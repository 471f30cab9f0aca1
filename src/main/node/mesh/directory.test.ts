import { describe, expect, it } from 'vitest'
import { MAX_PEER_FRAME_BYTES, peerFrameSchema } from '../../../shared/peer-protocol.ts'
import {
  DIRECTORY_TTL_MS,
  type DirectoryEntry,
  MAX_DIRECTORY_NODES,
  NODES_FRAME_MAX_RECORDS,
  NodeDirectory,
  nodesFrames,
} from './directory.ts'
import { FrameDecoder } from './framing.ts'

function entry(id: string, version = 1, fields: Partial<DirectoryEntry> = {}): DirectoryEntry {
  return {
    id,
    name: `N ${id}`,
    url: `ws://${id}:8080/`,
    peerAddr: `${id}:9080`,
    version,
    ...fields,
  }
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
    expect(dir.get('nodea001')?.name).toBe('renamed')
  })

  it('keeps only the record’s fields, and a node named constructor like any other', () => {
    const { dir } = directory()
    dir.learn([{ ...entry('constructor'), extra: 'x'.repeat(100) } as DirectoryEntry])
    expect(dir.get('constructor')).toEqual(entry('constructor'))
    expect(dir.get('tostring1')).toBeUndefined()
  })

  it('holds at most MAX_DIRECTORY_NODES: when full, only a linked node’s record gets in', () => {
    const pinned = new Set(['node0aaaa'])
    const { dir } = directory(pinned)
    dir.learn(Array.from({ length: MAX_DIRECTORY_NODES }, (_, i) => entry(`node${i}aaaa`)))
    expect(dir.learn([entry('newcomer1')])).toEqual([])
    expect(dir.learn([entry('node5aaaa', 2)])).toHaveLength(1) // a newer version still does
    dir.learn([entry('node1aaaa', 2)]) // refreshed: heard of last now
    pinned.add('linked001')
    expect(dir.learn([entry('linked001')])).toHaveLength(1)
    expect(dir.size).toBe(MAX_DIRECTORY_NODES)
    expect(dir.get('newcomer1')).toBeUndefined()
    expect(dir.get('node0aaaa')).toBeDefined() // pinned: a linked node stays
    expect(dir.get('node1aaaa')).toBeDefined()
    expect(dir.get('node2aaaa')).toBeUndefined() // the oldest unpinned one made room
  })

  it('forgets a record not refreshed for DIRECTORY_TTL_MS, unless pinned', () => {
    const pinned = new Set(['nodep001'])
    const { dir, clock } = directory(pinned)
    dir.learn([entry('nodea001'), entry('nodep001'), entry('nodeb001')])
    clock.now += DIRECTORY_TTL_MS / 2
    dir.learn([entry('nodeb001', 2)])
    clock.now += DIRECTORY_TTL_MS / 2
    expect(dir.expire()).toBe(false)
    clock.now += 1
    expect(dir.expire()).toBe(true)
    expect(dir.values().map((e) => e.id)).toEqual(['nodep001', 'nodeb001'])
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
      entry(`node${i}`.padEnd(64, 'a'), Number.MAX_SAFE_INTEGER, {
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
