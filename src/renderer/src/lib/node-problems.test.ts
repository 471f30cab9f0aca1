import { describe, expect, it } from 'vitest'
import { describeNodeProblem } from './node-problems.ts'

/** What developers wrote and people should never read. */
const JARGON = /argument \d|HOST:PORT|E[A-Z]{4,}|errno|zod|expected string|undefined|null/

describe('describeNodeProblem', () => {
  it('says what a refused peer address should look like', () => {
    const text = describeNodeProblem(
      { code: 'bad_request', message: 'argument 0: a peer is HOST:PORT' },
      'add-peer',
    )
    expect(text).toBe(
      'That is not a peer address. Write the other node’s host and peer port, like 192.168.1.20:9080.',
    )
  })

  it('names the setting a refused configure call is about', () => {
    const of = (message: string) =>
      describeNodeProblem({ code: 'bad_request', message }, 'configure')
    expect(of('argument 0.name: a node name is 1-64 characters')).toMatch(/^Give the node a name/)
    expect(of('argument 0.host: Too small: expected string to have >=1 characters')).toMatch(
      /^Host must be an address/,
    )
    expect(of('argument 0.peerPort: Too big: expected number to be <=65535')).toMatch(/^Ports are/)
    expect(of('argument 0.mesh: a mesh name is 1-64 of [A-Za-z0-9._-]')).toMatch(/^A mesh name/)
    // A setting it does not know of, or a prototype's key, gets the general sentence.
    expect(of('argument 0.constructor: nope')).toBe(
      'Some settings are not valid. Check them and save again.',
    )
    expect(of('arguments: Invalid input')).toBe(
      'Some settings are not valid. Check them and save again.',
    )
  })

  it('says which port a start could not use and what to do', () => {
    expect(
      describeNodeProblem(
        { code: 'port_in_use', message: 'port 8080 is in use: choose another port' },
        'start',
      ),
    ).toBe(
      'Port 8080 is already used by another program. Choose another client or peer port in the settings below, then save.',
    )
    expect(
      describeNodeProblem(
        { code: 'port_denied', message: 'not allowed to listen on port 80' },
        'start',
      ),
    ).toMatch(/^This system does not let the node use port 80\. /)
  })

  it('says how to fix a token without a secret, and what to do with a bad invite', () => {
    const of = (code: string, operation: 'configure' | 'join-mesh' | 'invite') =>
      describeNodeProblem({ code, message: 'for programs' }, operation)
    expect(of('token_needs_secret', 'configure')).toBe(
      'An access token needs a mesh secret too: without one, anyone who reaches this node’s peer port could read every room. Set a mesh secret, or clear the token.',
    )
    const badInvite =
      'That is not a whole invite code. Copy it again from the other machine’s node panel, from “palaver1:” to its end.'
    expect(of('bad_invite', 'join-mesh')).toBe(badInvite)
    // A code too long for the call is refused before the controller: the same words.
    expect(of('bad_request', 'join-mesh')).toBe(badInvite)
    expect(of('own_invite', 'join-mesh')).toMatch(/another machine\.$/)
    expect(of('no_secret', 'invite')).toMatch(/Set a mesh secret/)
  })

  it('words every known code without jargon, and unknown ones plainly too', () => {
    const cases: [string, string][] = [
      ['bad_request', 'arguments: Invalid input'],
      ['exists', '127.0.0.1:9080 is already a peer'],
      ['not_found', '127.0.0.1:9080 is not a peer'],
      ['forbidden', 'not the app’s own window'],
      ['port_in_use', 'port 8080 is in use: choose another port'],
      ['port_denied', 'not allowed to listen on port 80'],
      ['bad_host', '10.9.9.9 is not an address of this machine'],
      ['start_failed', 'EMFILE: too many open files'],
      ['token_needs_secret', 'token, secret: a node with an access token needs a mesh secret'],
      ['no_secret', 'the mesh has no secret: any node may join it'],
      ['no_peer_port', 'the peer port is picked when the node starts'],
      ['bad_invite', 'a damaged invite code'],
      ['own_invite', 'this is the invite of this node itself'],
      ['internal', 'Cannot read properties of undefined (reading "x")'],
      ['brand_new_code', 'ENOSPC: no space left on device'],
    ]
    for (const [code, message] of cases) {
      for (const operation of ['start', 'configure', 'add-peer', 'invite', 'join-mesh'] as const) {
        const text = describeNodeProblem({ code, message }, operation)
        expect(text, `${code} on ${operation}`).not.toMatch(JARGON)
        expect(text).toMatch(/^[A-Z].*\.$/)
      }
    }
  })
})
