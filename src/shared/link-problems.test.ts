import { describe, expect, it } from 'vitest'
import { describeLinkProblem, linkProblemOf } from './link-problems.ts'

/** What developers wrote and people should never read. */
const JARGON = /argument \d|HOST:PORT|E[A-Z]{4,}|errno|zod|expected string|undefined|null/

describe('describeLinkProblem', () => {
  it('turns socket errors and the mesh’s reasons into what happened and what to do', () => {
    expect(describeLinkProblem('connect ECONNREFUSED 127.0.0.1:9081')).toBe(
      'Nothing answers at this address. Check that the other node is running and that this is its peer port.',
    )
    expect(describeLinkProblem('getaddrinfo ENOTFOUND nosuchhost')).toMatch(/not known/)
    expect(describeLinkProblem('connect EHOSTUNREACH 10.0.0.9:9080')).toMatch(/does not answer/)
    expect(describeLinkProblem('no TLS connection in time')).toMatch(/does not answer/)
    expect(describeLinkProblem('peer refused: unauthorized: wrong mesh secret')).toMatch(
      /mesh secret/,
    )
    expect(describeLinkProblem('wrong proof')).toMatch(/mesh secret/)
    expect(describeLinkProblem('peer refused: wrong_mesh: this node is in mesh "x"')).toMatch(
      /another mesh/,
    )
    expect(describeLinkProblem('mesh office')).toMatch(/another mesh/)
    expect(describeLinkProblem('socket error: read ECONNRESET')).toMatch(/link was lost/)
    expect(describeLinkProblem('silent for too long')).toMatch(/link was lost/)
    expect(describeLinkProblem('something nobody foresaw')).toBe(
      'The link failed. The node keeps trying to link again.',
    )
  })

  it('never passes jargon on', () => {
    for (const error of [
      'connect ECONNREFUSED 127.0.0.1:9081',
      'connect ETIMEDOUT 10.0.0.2:9080',
      'getaddrinfo EAI_AGAIN host',
      'bad frame: nodes.0.url Invalid input',
      'peer refused: protocol: this node speaks protocol 2',
      'own id',
    ]) {
      expect(describeLinkProblem(error)).not.toMatch(JARGON)
    }
  })
})

describe('linkProblemOf', () => {
  it('names the kind of problem a last error shows', () => {
    expect(linkProblemOf('connect ECONNREFUSED 127.0.0.1:9081')).toBe('refused')
    expect(linkProblemOf('connect EHOSTUNREACH 10.0.0.9:9080')).toBe('unreachable')
    expect(linkProblemOf('peer refused: unauthorized: wrong mesh secret')).toBe('wrong_secret')
    expect(linkProblemOf('peer refused: wrong_mesh: this node is in mesh "x"')).toBe('other_mesh')
    expect(linkProblemOf('wrong signature')).toBe('forged')
    expect(linkProblemOf('silent for too long')).toBe('lost')
    expect(linkProblemOf('something nobody foresaw')).toBe('unknown')
  })
})
