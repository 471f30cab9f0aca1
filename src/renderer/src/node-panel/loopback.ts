/**
 * Whether a host (a listen address, or the host of a `HOST:PORT`) is this machine only, so that
 * no other machine reaches what listens there: 127.0.0.0/8, ::1 or localhost.
 */
export function isLoopbackHost(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(host)
}

/** The host of a peer address `HOST:PORT` (an IPv6 host keeps its brackets). */
export function hostOf(peerAddr: string): string {
  const colon = peerAddr.lastIndexOf(':')
  return colon < 0 ? peerAddr : peerAddr.slice(0, colon)
}
