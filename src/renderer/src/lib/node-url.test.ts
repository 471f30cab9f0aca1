import { describe, expect, it } from 'vitest'
import type { KeyValueStorage } from '../client/palaver-client.ts'
import {
  defaultNodeUrl,
  loadNodeChoice,
  loadRecentNodes,
  parseNodeUrl,
  saveNodeChoice,
  saveRecentNodes,
  withRecentNode,
} from './node-url.ts'

function memory(): KeyValueStorage {
  const map = new Map<string, string>()
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  }
}

describe('defaultNodeUrl', () => {
  it('is the node that served the page', () => {
    expect(defaultNodeUrl({ protocol: 'http:', host: '10.0.0.5:8080' })).toBe('ws://10.0.0.5:8080/')
    expect(defaultNodeUrl({ protocol: 'https:', host: 'chat.lan' })).toBe('wss://chat.lan/')
  })

  it('is the local node when the page is not served over http', () => {
    expect(defaultNodeUrl({ protocol: 'file:', host: '' })).toBe('ws://localhost:8080/')
    expect(defaultNodeUrl({ protocol: 'app:', host: 'palaver' })).toBe('ws://localhost:8080/')
  })
})

describe('parseNodeUrl', () => {
  it('accepts ws and wss URLs', () => {
    expect(parseNodeUrl('ws://10.0.0.5:8080')).toEqual({ ok: true, value: 'ws://10.0.0.5:8080/' })
    expect(parseNodeUrl(' wss://chat.lan/ ')).toEqual({ ok: true, value: 'wss://chat.lan/' })
    expect(parseNodeUrl('WS://[::1]:8080/')).toEqual({ ok: true, value: 'ws://[::1]:8080/' })
  })

  it('turns http and https URLs into ws and wss', () => {
    expect(parseNodeUrl('http://10.0.0.5:8080/')).toEqual({
      ok: true,
      value: 'ws://10.0.0.5:8080/',
    })
    expect(parseNodeUrl('https://chat.lan/#x')).toEqual({ ok: true, value: 'wss://chat.lan/' })
    expect(parseNodeUrl('http://host:80/')).toEqual({ ok: true, value: 'ws://host/' })
  })

  it('refuses anything else', () => {
    for (const input of [
      '',
      'not a url',
      '10.0.0.5:8080',
      'ftp://host/',
      'javascript:alert(1)',
      'file:///x',
      'data:,x',
    ]) {
      expect(parseNodeUrl(input).ok, input).toBe(false)
    }
  })
})

describe('node choice and recent nodes', () => {
  it('defaults to the page’s node', () => {
    expect(loadNodeChoice(memory())).toEqual({ url: null, token: null })
  })

  it('remembers a choice', () => {
    const storage = memory()
    saveNodeChoice(storage, { url: 'ws://b:8080/', token: 'secret' })
    expect(loadNodeChoice(storage)).toEqual({ url: 'ws://b:8080/', token: 'secret' })
  })

  it('ignores a stored choice that is not valid', () => {
    const storage = memory()
    storage.setItem('palaver.node', '{"url":"javascript:alert(1)","token":5}')
    expect(loadNodeChoice(storage)).toEqual({ url: null, token: null })
    storage.setItem('palaver.node', 'not json')
    expect(loadNodeChoice(storage)).toEqual({ url: null, token: null })
  })

  it('keeps recent nodes newest first, deduplicated and bounded', () => {
    let list: string[] = []
    for (let i = 0; i < 10; i++) list = withRecentNode(list, `ws://n${i}/`)
    list = withRecentNode(list, 'ws://n5/')
    expect(list[0]).toBe('ws://n5/')
    expect(list).toHaveLength(8)
    expect(new Set(list).size).toBe(8)
    const storage = memory()
    saveRecentNodes(storage, list)
    expect(loadRecentNodes(storage)).toEqual(list)
    storage.setItem('palaver.node.recent', '["ws://ok/", 3, "ftp://no/"]')
    expect(loadRecentNodes(storage)).toEqual(['ws://ok/'])
  })
})
