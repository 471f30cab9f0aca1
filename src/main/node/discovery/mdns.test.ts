import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { meshHash } from './announcement.ts'
import { MDNS_SERVICE, servicesIn } from './mdns.ts'

const id = '3f9c2a7e51b04d8c9e6f1a2b3c4d5e6f70819a2b'
const name = `${id}.${MDNS_SERVICE}`
const txt = (fields: string[]) => ({ name, type: 'TXT', data: fields.map((f) => Buffer.from(f)) })
const goodTxt = [`v=1`, `id=${id}`, `mesh=${meshHash('lab')}`, 'instance=0123456789abcdef']
const srv = (port: unknown) => ({ name, type: 'SRV', data: { port, target: 'x.local' } })

describe('DNS-SD records of Palaver nodes', () => {
  it('give the node, its mesh hash and its peer port at the responder’s address', () => {
    expect(servicesIn([srv(9080), txt(goodTxt)], '10.77.1.12')).toEqual([
      {
        id,
        meshHash: meshHash('lab'),
        peerPort: 9080,
        instance: '0123456789abcdef',
        host: '10.77.1.12',
      },
    ])
  })

  it.each([
    ['no TXT', [srv(9080)]],
    ['no SRV', [txt(goodTxt)]],
    ['port 0', [srv(0), txt(goodTxt)]],
    ['a port as text', [srv('9080'), txt(goodTxt)]],
    ['another version', [srv(9080), txt(goodTxt.map((f) => (f === 'v=1' ? 'v=2' : f)))]],
    [
      'an id not its name',
      [srv(9080), txt(goodTxt.map((f) => f.replace(id, id.replace('3f', '4f'))))],
    ],
    [
      'a mesh name for a hash',
      [srv(9080), txt(goodTxt.map((f) => (f.startsWith('mesh=') ? 'mesh=lab' : f)))],
    ],
    ['another service', [{ ...srv(9080), name: `${id}._http._tcp.local` }, txt(goodTxt)]],
    [
      'junk',
      [
        null,
        42,
        'SRV',
        { name: 5 },
        { name, type: 'SRV', data: null },
        { name, type: 'TXT', data: {} },
      ],
    ],
  ])('are ignored with %s', (_what, records) => {
    expect(servicesIn(records, '10.77.1.12')).toEqual([])
  })

  it('never throw on any records a packet may hold, and take only well-formed ones', () => {
    const hostile = fc.array(
      fc.oneof(
        fc.anything(),
        fc.record({
          name: fc.oneof(fc.constant(name), fc.string()),
          type: fc.constantFrom('SRV', 'TXT', 'PTR', 'A'),
          data: fc.oneof(
            fc.anything(),
            fc.record({ port: fc.anything() }),
            fc.array(
              fc.oneof(
                fc.string(),
                fc.uint8Array().map((b) => Buffer.from(b)),
              ),
            ),
          ),
        }),
      ),
      { maxLength: 20 },
    )
    fc.assert(
      fc.property(hostile, (records) => {
        for (const heard of servicesIn(records, '10.77.1.12')) {
          expect(heard.id).toMatch(/^[0-9a-f]{40}$/)
          expect(Number.isInteger(heard.peerPort)).toBe(true)
        }
      }),
      { numRuns: 1_000 },
    )
  })

  it('read TXT strings as well as buffers, and ignore keys they do not know', () => {
    const record = { name, type: 'TXT', data: [...goodTxt, 'colour=blue', 'noequals'] }
    expect(servicesIn([srv(9080), record], '10.77.1.12')).toHaveLength(1)
  })
})
