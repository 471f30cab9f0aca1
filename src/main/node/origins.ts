/**
 * Which browser pages may open chat sessions (docs/protocol.md, "Origins"). A page can open a
 * WebSocket to any address, so the upgrade's `Origin` is compared with the pages this node
 * knows: never with the request's `Host` header, which a DNS-rebinding page sets to a name of
 * its own (its origin and the Host it sends then agree, whatever address the name points to).
 */
import { hostname, networkInterfaces } from 'node:os'
import { DESKTOP_APP_ORIGIN } from '../../shared/protocol.ts'

/** The names this machine's own pages always go by, whatever address the node listens on. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]']

/**
 * The origins of this node's own page at port `port`: `localhost`, `127.0.0.1` and `[::1]`; the
 * listen address, or, when the node listens on every interface, each address of this machine
 * and its host name (`name` and `name.local`, as LAN name services give it).
 */
export function ownOrigins(listenHost: string, port: number): Set<string> {
  const hosts = [...LOOPBACK_HOSTS]
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) hosts.push(a.family === 'IPv6' ? `[${a.address}]` : a.address)
    }
    hosts.push(hostname(), `${hostname()}.local`)
  } else {
    hosts.push(listenHost.includes(':') ? `[${listenHost}]` : listenHost)
  }
  const origins = new Set<string>()
  for (const host of hosts) {
    const origin = pageOrigin(`http://${host}:${port}`)
    if (origin !== undefined) origins.add(origin)
  }
  return origins
}

/** `value` as a web origin the way browsers write it (`http://localhost:8080`), or undefined. */
export function pageOrigin(value: string): string | undefined {
  try {
    const origin = new URL(value).origin
    return origin === 'null' ? undefined : origin
  } catch {
    return undefined
  }
}

/**
 * Whether an upgrade whose `Origin` header is `origin` may open a session: no header (a
 * program, not a page), the desktop app, or an origin in `own()` or `others()` (the allow list
 * and the mesh's pages). The sets are asked for only when needed.
 */
export function originAllowed(
  origin: string | undefined,
  own: () => Set<string>,
  others: () => Set<string>,
): boolean {
  if (origin === undefined) return true
  // The app's scheme is not a special one, so URL.origin would be "null": compare the header.
  if (origin === DESKTOP_APP_ORIGIN) return true
  const page = pageOrigin(origin)
  if (page === undefined) return false
  return others().has(page) || own().has(page)
}
