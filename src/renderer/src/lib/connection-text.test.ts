import { describe, expect, it } from 'vitest'
import type { ConnectionState } from '../client/palaver-client.ts'
import { describeConnection, hostOf } from './connection-text.ts'

const base: ConnectionState = {
  status: 'connected',
  node: { id: 'nodea0001', name: 'node-a', url: 'ws://a:8080/' },
  homeUrl: 'ws://a:8080/',
  failedOver: false,
  nodes: [],
  unsent: 0,
  attempt: 0,
  lastError: null,
  refused: null,
  target: null,
}

describe('describeConnection', () => {
  it('names the node it is connected to', () => {
    expect(describeConnection(base)).toEqual({
      tone: 'ok',
      text: 'Connected to node-a',
      detail: null,
    })
  })

  it('says when it failed over', () => {
    const c = {
      ...base,
      failedOver: true,
      node: { id: 'nodeb0001', name: 'node-b', url: 'ws://b/' },
    }
    expect(describeConnection(c)).toEqual({
      tone: 'warn',
      text: 'Failed over to node-b',
      detail: 'a:8080 unreachable',
    })
  })

  it('counts reconnect attempts, names the node being tried and keeps the last one', () => {
    const c = { ...base, status: 'reconnecting' as const, attempt: 3, target: 'ws://b:8081/' }
    expect(describeConnection(c)).toEqual({
      tone: 'busy',
      text: 'Reconnecting…',
      detail: 'attempt 3 · trying b:8081 · last on node-a',
    })
    expect(describeConnection({ ...c, node: null }).detail).toBe('attempt 3 · trying b:8081')
  })

  it('covers connecting, unauthorized and stopped', () => {
    expect(describeConnection({ ...base, status: 'connecting', node: null }).text).toBe(
      'Connecting to a:8080…',
    )
    // The node of the last session is not the one that refused this one: the one tried is.
    expect(describeConnection({ ...base, status: 'unauthorized', refused: 'token' }).text).toBe(
      'a:8080 needs an access token',
    )
    expect(
      describeConnection({ ...base, status: 'unauthorized', target: 'ws://d:8083/' }).text,
    ).toBe('d:8083 needs an access token')
    // A refused key is not a token problem: the node's own words go with it.
    expect(
      describeConnection({
        ...base,
        status: 'unauthorized',
        refused: 'identity',
        lastError: "unauthorized: the signature does not prove the user's key",
      }),
    ).toEqual({
      tone: 'error',
      text: 'a:8080 did not accept this browser’s identity',
      detail: "unauthorized: the signature does not prove the user's key",
    })
    expect(describeConnection({ ...base, status: 'stopped' }).tone).toBe('error')
  })
})

describe('hostOf', () => {
  it('gives host and port, or the input', () => {
    expect(hostOf('ws://10.0.0.5:8080/')).toBe('10.0.0.5:8080')
    expect(hostOf('nonsense')).toBe('nonsense')
  })
})
