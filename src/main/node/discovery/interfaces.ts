/**
 * Which network interfaces a node announces itself on (docs/protocol.md, "Discovery"): those
 * its peer port can be reached through from the LAN, and never loopback. Pure functions over
 * what `os.networkInterfaces()` returns, so that the choice is tested without a network.
 */
import type { NetworkInterfaceInfo } from 'node:os'
import { isLoopbackHost } from '../options.ts'

/** One address of one interface that announcements go out from. */
export interface LanInterface {
  /** The interface's name (`eth0`). */
  name: string
  family: 'IPv4' | 'IPv6'
  address: string
  /** IPv4: the subnet's prefix length, to tell which interface a datagram came in on. */
  prefixLength: number
  /** IPv4: the subnet's broadcast address, unless the subnet is a single address or pair. */
  broadcast?: string
}

/** `os.networkInterfaces()`'s shape. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>

/** A stable key of an interface address (to see what changed between two polls). */
export function interfaceKey(lan: LanInterface): string {
  return `${lan.name} ${lan.address}`
}

/**
 * The interface addresses a node listening on `host` announces from:
 * - none when `host` is loopback (the node cannot be reached from the LAN);
 * - for `0.0.0.0`, every non-internal IPv4 address (the peer port takes IPv4 only);
 * - for `::`, those and each interface's IPv6 link-local address (the peer port takes both);
 * - for one address, only that one.
 */
export function announcingInterfaces(host: string, table: InterfaceTable): LanInterface[] {
  if (isLoopbackHost(host)) return []
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  const chosen: LanInterface[] = []
  for (const [name, addresses] of Object.entries(table)) {
    for (const info of addresses ?? []) {
      if (info.internal || !wanted(bare, info)) continue
      const lan = lanInterface(name, info)
      if (lan) chosen.push(lan)
    }
  }
  return chosen
}

function wanted(host: string, info: NetworkInterfaceInfo): boolean {
  if (host === '0.0.0.0') return info.family === 'IPv4'
  if (host === '::') return info.family === 'IPv4' || isLinkLocal6(info.address)
  return info.address.toLowerCase() === host
}

function lanInterface(name: string, info: NetworkInterfaceInfo): LanInterface | undefined {
  if (info.family === 'IPv6')
    return { name, family: 'IPv6', address: info.address, prefixLength: 0 }
  const address = ipv4ToInt(info.address)
  const mask = ipv4ToInt(info.netmask)
  if (address === undefined || mask === undefined) return undefined
  const prefixLength = leadingOnes(mask)
  const lan: LanInterface = { name, family: 'IPv4', address: info.address, prefixLength }
  // A /31 or /32 has no broadcast address worth sending to (a point-to-point link, a VPN).
  if (prefixLength <= 30) lan.broadcast = intToIpv4((address | ~mask) >>> 0)
  return lan
}

/**
 * The interface a datagram from `source` came in on: the IPv4 one whose subnet holds it, or the
 * IPv6 one named by its zone (`fe80::1%eth0`). Undefined for a source on none of them.
 */
export function interfaceOf(
  source: string,
  lans: readonly LanInterface[],
): LanInterface | undefined {
  const zone = /%(.+)$/.exec(source)?.[1]
  if (zone !== undefined) return lans.find((lan) => lan.family === 'IPv6' && lan.name === zone)
  const from = ipv4ToInt(source.replace(/^::ffff:/, ''))
  if (from === undefined) return lans.find((lan) => lan.address === source)
  return lans.find((lan) => {
    if (lan.family !== 'IPv4') return false
    const own = ipv4ToInt(lan.address) ?? 0
    const mask = lan.prefixLength === 0 ? 0 : (~0 << (32 - lan.prefixLength)) >>> 0
    return (own & mask) >>> 0 === (from & mask) >>> 0
  })
}

export function isLinkLocal6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address)
}

function ipv4ToInt(text: string): number | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!parts) return undefined
  const bytes = parts.slice(1).map(Number)
  if (bytes.some((b) => b > 255)) return undefined
  return bytes.reduce((n, b) => n * 256 + b, 0)
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** The prefix length of a netmask: its leading one bits. */
function leadingOnes(n: number): number {
  let bits = 0
  for (let v = n >>> 0; v !== 0; v = (v << 1) >>> 0) bits++
  return bits
}
