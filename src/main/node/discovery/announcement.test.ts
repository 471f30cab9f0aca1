import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ANNOUNCEMENT_TYPE,
  decodeAnnouncement,
  encodeAnnouncement,
  MAX_ANNOUNCEMENT_BYTES,
  meshHash,
  newInstanceId,
} from './announcement.ts'

const announcement = {
  id: '3f9c2a7e51b04d8c9e6f1a2b3c4d5e6f70819a2b',
  mesh: meshHash('default'),
  peerPort: 9080,
  instance: '9b1de2f04c7a5e33',
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value))

describe('announcements', () => {
  it('decode what they encode, in the documented form', () => {
    const datagram = encodeAnnouncement(announcement)
    expect(JSON.parse(datagram.toString())).toEqual({
      type: ANNOUNCEMENT_TYPE,
      v: 1,
      ...announcement,
    })
    expect(decodeAnnouncement(datagram)).toEqual(announcement)
    expect(datagram.length).toBeLessThan(MAX_ANNOUNCEMENT_BYTES / 4)
  })

  it('encode the worked example of docs/protocol.md, byte for byte', () => {
    const example = {
      id: '3f9c2a7e51b04d8c9e6f1a2b3c4d5e6f70819a2b',
      mesh: meshHash('office'),
      peerPort: 9080,
      instance: '9b1de2f04c7a5e33',
    }
    const datagram =
      '{"type":"palaver-announce","v":1,"id":"3f9c2a7e51b04d8c9e6f1a2b3c4d5e6f70819a2b","mesh":"5cc3f82838ba7260203e4590ce03d00e1663d41f6a5167144f5c95d6be2166a0","peerPort":9080,"instance":"9b1de2f04c7a5e33"}'
    expect(encodeAnnouncement(example).toString('utf8')).toBe(datagram)
    expect(Buffer.byteLength(datagram)).toBe(201)
    expect(decodeAnnouncement(Buffer.from(datagram))).toEqual(example)
  })

  it('carry the hash of the mesh name, never the name', () => {
    expect(meshHash('default')).toBe(
      '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f',
    )
    const text = encodeAnnouncement({ ...announcement, mesh: meshHash('team-x') }).toString()
    expect(text).not.toContain('team-x')
  })

  it('make a new instance id each time', () => {
    expect(newInstanceId()).toMatch(/^[0-9a-f]{16}$/)
    expect(newInstanceId()).not.toBe(newInstanceId())
  })

  it('take unknown fields (later versions may add some) but no other type or version', () => {
    const base = JSON.parse(encodeAnnouncement(announcement).toString()) as object
    expect(decodeAnnouncement(json({ ...base, extra: [1, 2] }))).toEqual(announcement)
    expect(decodeAnnouncement(json({ ...base, v: 2 }))).toBeUndefined()
    expect(decodeAnnouncement(json({ ...base, type: 'syncthing' }))).toBeUndefined()
  })

  it.each([
    ['empty', Buffer.alloc(0)],
    ['not JSON', Buffer.from('palaver-announce 1')],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['JSON null', json(null)],
    ['an array', json([announcement])],
    ['a number', json(42)],
    ['too long', Buffer.alloc(MAX_ANNOUNCEMENT_BYTES + 1, 0x20)],
    ['a short id', json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, id: 'abc' })],
    [
      'an upper-case id',
      json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, id: announcement.id.toUpperCase() }),
    ],
    [
      'a mesh name for a hash',
      json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, mesh: 'default' }),
    ],
    ['port 0', json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, peerPort: 0 })],
    ['port 65536', json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, peerPort: 65_536 })],
    ['a port as text', json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, peerPort: '9080' })],
    [
      'a fractional port',
      json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, peerPort: 9080.5 }),
    ],
    ['no instance', json({ type: ANNOUNCEMENT_TYPE, v: 1, ...announcement, instance: undefined })],
    ['__proto__ fields', Buffer.from(`{"__proto__":{"id":"x"},"type":"${ANNOUNCEMENT_TYPE}"}`)],
  ])('refuse %s', (_what, datagram) => {
    expect(decodeAnnouncement(datagram)).toBeUndefined()
  })

  it('never throw on any bytes, and decode only well-formed ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * MAX_ANNOUNCEMENT_BYTES }), (bytes) => {
        const decoded = decodeAnnouncement(Buffer.from(bytes))
        if (decoded) expect(decoded.id).toMatch(/^[0-9a-f]{40}$/)
      }),
      { numRuns: 2_000 },
    )
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => decodeAnnouncement(json(value))).not.toThrow()
      }),
      { numRuns: 2_000 },
    )
  })
})
