/**
 * Which node URLs a client may be sent to for failover (docs/protocol.md, `welcome`): only a
 * `ws:` or `wss:` URL with a host and no credentials. A node record from the mesh could carry
 * anything (`javascript:`, `http:`, a long string); a client must never dial it.
 */

/** The longest client URL a node passes on or a client dials. */
export const MAX_CLIENT_URL_LENGTH = 512

export function isClientUrl(url: string): boolean {
  if (url.length > MAX_CLIENT_URL_LENGTH) return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return (
    (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') &&
    parsed.hostname !== '' &&
    parsed.username === '' &&
    parsed.password === ''
  )
}
