/**
 * Which node the UI chats through. By default the node that served the page; in the desktop app
 * (not served over http) the local node. The user may pick any node by URL; the URLs they used
 * are remembered.
 */
import type { KeyValueStorage } from '../client/palaver-client.ts'
import type { Parsed } from './room-name.ts'
import { readJson, writeJson } from './storage.ts'

const CHOICE_KEY = 'palaver.node'
const RECENT_KEY = 'palaver.node.recent'
/** The desktop app's own node (its default client port). */
export const LOCAL_NODE_URL = 'ws://localhost:8080/'
export const MAX_RECENT_NODES = 8

/** The WebSocket URL of the node that served the page, or the local node. */
export function defaultNodeUrl(location: { protocol: string; host: string }): string {
  if (location.protocol === 'http:') return `ws://${location.host}/`
  if (location.protocol === 'https:') return `wss://${location.host}/`
  return LOCAL_NODE_URL
}

const SCHEMES: Record<string, string> = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  'http:': 'ws:',
  'https:': 'wss:',
}

/** Checks a node URL typed by the user: ws:// or wss://, or http(s):// turned into it. */
export function parseNodeUrl(input: string): Parsed<string> {
  const text = input.trim()
  if (text === '') return { ok: false, error: 'Type the address of a node.' }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { ok: false, error: 'Type a full address, like ws://192.168.1.20:8080/.' }
  }
  const scheme = SCHEMES[url.protocol]
  if (scheme === undefined) {
    return { ok: false, error: 'A node address starts with ws://, wss://, http:// or https://.' }
  }
  if (url.hostname === '') return { ok: false, error: 'The address needs a host name.' }
  url.protocol = scheme
  url.hash = ''
  return { ok: true, value: url.href }
}

/** What the user chose: null for the default node. */
export interface NodeChoice {
  url: string | null
  /** The access token of a node that requires one. */
  token: string | null
}

export function loadNodeChoice(storage: KeyValueStorage): NodeChoice {
  const stored = readJson<Partial<NodeChoice>>(storage, CHOICE_KEY)
  const url = typeof stored?.url === 'string' ? parseNodeUrl(stored.url) : null
  return {
    url: url?.ok ? url.value : null,
    token: typeof stored?.token === 'string' && stored.token !== '' ? stored.token : null,
  }
}

export function saveNodeChoice(storage: KeyValueStorage, choice: NodeChoice): void {
  writeJson(storage, CHOICE_KEY, choice)
}

export function loadRecentNodes(storage: KeyValueStorage): string[] {
  const stored = readJson<unknown>(storage, RECENT_KEY)
  if (!Array.isArray(stored)) return []
  return stored.filter((u): u is string => typeof u === 'string' && parseNodeUrl(u).ok)
}

/** The list with `url` first, without duplicates, at most MAX_RECENT_NODES long. */
export function withRecentNode(list: readonly string[], url: string): string[] {
  return [url, ...list.filter((u) => u !== url)].slice(0, MAX_RECENT_NODES)
}

export function saveRecentNodes(storage: KeyValueStorage, list: readonly string[]): void {
  writeJson(storage, RECENT_KEY, list)
}
