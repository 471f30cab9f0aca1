/** What the connection bar says about the client's connection, in words for people. */
import type { ConnectionState } from '../client/palaver-client.ts'

export type Tone = 'ok' | 'busy' | 'warn' | 'error'

export interface ConnectionText {
  tone: Tone
  /** The headline: "Connected to node-a". */
  text: string
  /** A second, quieter part: "attempt 3 · last on node-a". */
  detail: string | null
}

/** `host:port` of a node URL, or the URL itself when it does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host || url
  } catch {
    return url
  }
}

export function describeConnection(c: ConnectionState): ConnectionText {
  const home = hostOf(c.homeUrl)
  // While not connected: the node being tried now.
  const trying = hostOf(c.target ?? c.homeUrl)
  switch (c.status) {
    case 'connected':
      if (c.node && c.failedOver) {
        return {
          tone: 'warn',
          text: `Failed over to ${c.node.name}`,
          detail: `${home} unreachable`,
        }
      }
      return { tone: 'ok', text: `Connected to ${c.node?.name ?? home}`, detail: null }
    case 'connecting':
      return { tone: 'busy', text: `Connecting to ${trying}…`, detail: null }
    case 'reconnecting': {
      const parts = [`attempt ${c.attempt}`, `trying ${trying}`]
      if (c.node) parts.push(`last on ${c.node.name}`)
      return { tone: 'busy', text: 'Reconnecting…', detail: parts.join(' · ') }
    }
    case 'unauthorized':
      // Not `node`: that is the node of the last session, not the one that refused this one.
      if (c.refused === 'identity') {
        return {
          tone: 'error',
          text: `${trying} did not accept this browser’s identity`,
          detail: c.lastError,
        }
      }
      return { tone: 'error', text: `${trying} needs an access token`, detail: null }
    case 'stopped':
      return { tone: 'error', text: 'Disconnected', detail: null }
  }
}
