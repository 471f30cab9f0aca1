/**
 * What a node tells of its discovery (docs/protocol.md, "Discovery"): the `discovery` field of
 * `GET /health`, which the node panel and the network doctor read.
 */

/** How a node came to be known: a LAN announcement, DNS-SD over mDNS, a node record, a `--peer`. */
export type DiscoverySource = 'announce' | 'mdns' | 'gossip' | 'manual'

/** One interface address announcements go out from, and what went through it. */
export interface DiscoveryInterface {
  name: string
  family: 'IPv4' | 'IPv6'
  address: string
  announcementsSent: number
  /** Announcements of other nodes that came in on this interface. */
  announcementsReceived: number
  /** mDNS packets sent and received here (IPv4 only; 0 where mDNS does not run). */
  mdnsSent: number
  mdnsReceived: number
  /** The last failure to send or listen here, in the words of the system, or null. */
  lastError: string | null
}

/** A node this one knows of, and by which paths. */
export interface DiscoveredNode {
  id: string
  /** Whether it is of this node's mesh (the same mesh name): only those are dialled. */
  mesh: 'same' | 'other'
  /** The SHA-256 (hex) of its mesh name, to tell other meshes apart. */
  meshHash: string
  sources: DiscoverySource[]
  /** Where its peer port was heard to be (`host:port`). */
  addrs: string[]
  /** Whether a link to it is up now. */
  linked: boolean
  /** Why the last dial of it failed, while it is not linked; null otherwise. */
  lastError: string | null
  /** Milliseconds since it was last heard on the LAN; null when never heard there. */
  heardMsAgo: number | null
}

export interface DiscoveryStatus {
  /** False when the node runs with `--no-discovery`: it neither announces nor listens. */
  enabled: boolean
  /** The UDP port announcements go to. */
  port: number
  interfaces: DiscoveryInterface[]
  nodes: DiscoveredNode[]
  /** Distinct meshes other than this node's heard on the LAN ("2 other meshes"). */
  otherMeshes: number
  /** Datagrams dropped: over a sender's rate, or not a well-formed announcement. */
  datagramsDropped: number
  /** The last failure that stopped discovery as a whole (no socket could be opened), or null. */
  lastError: string | null
}
