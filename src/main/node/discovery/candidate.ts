/**
 * What discovery hands the mesh: an address where a node may be linked, how it was learned,
 * and whether it is of this node's mesh. The mesh dials candidates of its own mesh only, and
 * the link's handshake (the mesh secret's proof) still decides.
 */
import type { DiscoverySource } from '../../../shared/discovery-status.ts'

export interface Candidate {
  /** `host:port` of the node's peer port (an IPv6 host in brackets, with its zone). */
  addr: string
  /** The node's id, when the source says it. */
  id?: string
  source: DiscoverySource
  mesh: 'same' | 'other'
}

/** `host:port`, with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
