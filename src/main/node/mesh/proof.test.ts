import { describe, expect, it } from 'vitest'
import { meshProof, proofMatches } from './proof.ts'

const SECRET = 's3cret'
const MESH = 'default'
const EXPORTER = 'ab'.repeat(32)
const NODE = 'node0001'

const proof = meshProof(SECRET, MESH, EXPORTER, NODE)

describe('meshProof / proofMatches', () => {
  it('is 64 lower-case hex digits, the same for the same inputs', () => {
    expect(proof).toMatch(/^[0-9a-f]{64}$/)
    expect(meshProof(SECRET, MESH, EXPORTER, NODE)).toBe(proof)
  })

  it('matches the proof made with the same secret, mesh, exporter and node id', () => {
    expect(proofMatches(proof, SECRET, MESH, EXPORTER, NODE)).toBe(true)
  })

  it.each([
    ['another secret', 's3cret2', MESH, EXPORTER, NODE],
    ['the empty secret', '', MESH, EXPORTER, NODE],
    ['another mesh name', SECRET, 'other', EXPORTER, NODE],
    ['another exporter (another TLS session)', SECRET, MESH, 'cd'.repeat(32), NODE],
    ['another node id', SECRET, MESH, EXPORTER, 'node0002'],
  ])('fails with %s', (_, secret, mesh, exporter, node) => {
    expect(proofMatches(proof, secret, mesh, exporter, node)).toBe(false)
  })

  it.each([
    ['empty', ''],
    ['not hex', 'z'.repeat(64)],
    ['one digit short', proof.slice(0, 63)],
    ['one byte short', proof.slice(0, 62)],
    ['an odd digit more', `${proof}0`],
    ['a byte more', `${proof}00`],
    ['junk after it', `${proof}zz`],
    ['junk inside it', `${proof.slice(0, 30)}zz${proof.slice(32)}`],
    ['upper case', proof.toUpperCase()],
    ['spaces around it', ` ${proof} `],
    ['twice as long', proof + proof],
  ])('fails without throwing when the proof is %s', (_, given) => {
    expect(() => proofMatches(given, SECRET, MESH, EXPORTER, NODE)).not.toThrow()
    expect(proofMatches(given, SECRET, MESH, EXPORTER, NODE)).toBe(false)
  })

  it('works with the empty secret when both sides have it', () => {
    const open = meshProof('', MESH, EXPORTER, NODE)
    expect(open).toMatch(/^[0-9a-f]{64}$/)
    expect(proofMatches(open, '', MESH, EXPORTER, NODE)).toBe(true)
    expect(proofMatches(open, SECRET, MESH, EXPORTER, NODE)).toBe(false)
  })
})
