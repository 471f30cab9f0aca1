/**
 * The network doctor (README.md, "The network doctor"): from what a node reports of itself
 * (`GET /health`: its peers and its discovery), findings for people, each with what was seen
 * and what to do about it. The node panel shows them and `chat-node doctor` prints them; neither
 * sends anything on the network to find them.
 */
import type {
  DiscoveredNode,
  DiscoveryInterface,
  DiscoverySource,
  DiscoveryStatus,
} from './discovery-status.ts'
import { describeLinkProblem, type LinkProblem, linkProblemOf } from './link-problems.ts'
import type { PeerStatus } from './protocol.ts'

/** What the doctor reads: the parts of `/health` it needs (the panel has them from the app). */
export interface DoctorInput {
  node: { id: string; name: string }
  peers: readonly PeerStatus[]
  /** Absent from a node that reports no discovery. */
  discovery?: DiscoveryStatus
}

export type Severity = 'ok' | 'info' | 'warning' | 'problem'

export interface Finding {
  severity: Severity
  /** A stable code, for programs and tests (`data-code`). */
  code: string
  /** What was seen, in one sentence. */
  title: string
  /** What to do about it; empty when nothing is to be done. */
  advice: string
}

/** A clock this far ahead of this node's is reported (the protocol's bound is 5 minutes). */
const SKEW_REPORTED_MS = 5 * 60_000
/** A node heard this long ago is no longer on the network, as far as the doctor can tell. */
const GONE_AFTER_MS = 60_000

const ORDER: Record<Severity, number> = { problem: 0, warning: 1, info: 2, ok: 3 }

/** Every finding, the most serious first. */
export function diagnose(input: DoctorInput): Finding[] {
  const findings = [
    ...discoveryFindings(input.discovery),
    ...peerFindings(input.peers),
    ...unlinkedFindings(input.discovery?.nodes ?? [], input.peers),
  ]
  if (!findings.some((f) => f.severity === 'problem' || f.severity === 'warning')) {
    const up = input.peers.filter((p) => p.state === 'up').length
    findings.push({
      severity: 'ok',
      code: 'healthy',
      title:
        up === 0
          ? 'Nothing is wrong, and this node is not linked to any other yet.'
          : `Linked to ${plural(up, 'node')}, and nothing is wrong.`,
      advice: '',
    })
  }
  return findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity])
}

function discoveryFindings(discovery: DiscoveryStatus | undefined): Finding[] {
  if (!discovery) return []
  if (!discovery.enabled) {
    return [
      {
        severity: 'info',
        code: 'discovery_off',
        title: 'Discovery is off: this node neither announces itself nor looks for others.',
        advice: 'Turn discovery on in the settings, or link other machines with an invite.',
      },
    ]
  }
  const findings: Finding[] = []
  if (discovery.lastError !== null) {
    findings.push({
      severity: 'problem',
      code: 'discovery_failed',
      title: `Discovery could not start: ${discovery.lastError}.`,
      advice: `Check that no other program uses UDP port ${discovery.port}, then restart the node.`,
    })
  }
  if (discovery.interfaces.length === 0) {
    findings.push({
      severity: 'warning',
      code: 'loopback_only',
      title: 'This node listens only on this machine, so it announces nothing to the network.',
      advice:
        'To let other machines find it, listen on all addresses (host 0.0.0.0) or on this machine’s LAN address.',
    })
  }
  for (const iface of discovery.interfaces) findings.push(...interfaceFindings(iface, discovery))
  if (discovery.otherMeshes > 0) {
    findings.push({
      severity: 'info',
      code: 'other_meshes',
      title: `${plural(discovery.otherMeshes, 'other mesh', 'other meshes')} on this network.`,
      advice:
        'Nodes of another mesh are never linked. To join one, paste an invite from one of its machines.',
    })
  }
  return findings
}

function interfaceFindings(iface: DiscoveryInterface, discovery: DiscoveryStatus): Finding[] {
  const where = `${iface.name} (${iface.address})`
  if (iface.lastError !== null) {
    return [
      {
        severity: 'problem',
        code: 'interface_error',
        title: `Announcements cannot go out on ${where}: ${iface.lastError}.`,
        advice: 'Check that this network connection is up; the node tries again by itself.',
      },
    ]
  }
  if (
    iface.announcementsSent > 0 &&
    iface.announcementsReceived === 0 &&
    iface.mdnsReceived === 0
  ) {
    return [
      {
        severity: 'warning',
        code: 'nothing_heard',
        title: `Announcements go out on ${where}, but none from other nodes came in.`,
        advice:
          `If other machines run Palaver on this network, something between them drops UDP port ${discovery.port} ` +
          'and multicast: Wi-Fi and wired networks or guest networks that are kept apart, a VLAN, a VPN, ' +
          'or a firewall (on Windows, a network set to “Public”). Link one machine with an invite: ' +
          'the others are then found through it.',
      },
    ]
  }
  return []
}

/** Configured peers and links that are down, and clocks that are off. */
function peerFindings(peers: readonly PeerStatus[]): Finding[] {
  const findings: Finding[] = []
  for (const peer of peers) {
    const who = peer.name ?? peer.addr
    if (peer.state !== 'up' && peer.lastError !== null) {
      const problem = linkProblemOf(peer.lastError)
      findings.push({
        severity: 'problem',
        code: `peer_${problem}`,
        title: `${peer.name === null ? peer.addr : `${peer.name} (${peer.addr})`} is not linked: ${reasonOf(problem)}.`,
        advice: describeLinkProblem(peer.lastError),
      })
    }
    if (peer.skewMs !== undefined && peer.skewMs > SKEW_REPORTED_MS) {
      findings.push({
        severity: 'warning',
        code: 'clock_skew',
        title: `${who}’s clock is ${duration(peer.skewMs)} ahead of this machine’s.`,
        advice:
          'Messages from it may sort out of order. Set both machines to take their time from the network.',
      })
    }
  }
  return findings
}

/**
 * Nodes of this mesh found on the network whose last dial failed, and why. A node that is only
 * not linked is fine: a node keeps a few links and reaches the others through them.
 */
function unlinkedFindings(
  nodes: readonly DiscoveredNode[],
  peers: readonly PeerStatus[],
): Finding[] {
  const configured = new Set(peers.map((p) => p.id).filter((id) => id !== null))
  return nodes
    .filter((n) => n.mesh === 'same' && !n.linked && n.lastError !== null)
    .filter((n) => !configured.has(n.id))
    .filter((n) => n.heardMsAgo === null || n.heardMsAgo < GONE_AFTER_MS)
    .map((n) => {
      const problem = linkProblemOf(n.lastError ?? '')
      const found = LIST.format(
        SOURCES.filter((s) => n.sources.includes(s)).map((s) => SOURCE_WORDS[s]),
      )
      return {
        severity: 'problem' as const,
        code: `unlinked_${problem}`,
        title: `Node ${n.id.slice(0, 8)} (found through ${found}, at ${n.addrs.join(', ') || 'no address yet'}) is not linked: ${reasonOf(problem)}.`,
        advice: unlinkedAdvice(n, problem),
      }
    })
}

/**
 * What to do about an unlinked node. One heard on the LAN that does not answer is on and on this
 * network, as its own datagrams show: what stops its peer port is a firewall, and the general
 * advice ("check that it is on") would send the person to look in the wrong place.
 */
function unlinkedAdvice(node: DiscoveredNode, problem: LinkProblem): string {
  if (problem === 'unreachable' && node.heardMsAgo !== null) {
    const port = /:(\d+)$/.exec(node.addrs[0] ?? '')?.[1]
    return (
      'Its announcements reach this machine, so it is on and on this network, but connections to its peer port ' +
      'get no answer: a firewall on that machine, or between the two, drops them. ' +
      `Let Palaver through that firewall${port === undefined ? '' : ` (TCP port ${port})`}.`
    )
  }
  return describeLinkProblem(node.lastError ?? '')
}

/** How a node was found, in the order a sentence names them (whatever order they came in). */
const SOURCE_WORDS: Record<DiscoverySource, string> = {
  announce: 'its announcements',
  mdns: 'mDNS',
  gossip: 'another node',
  manual: 'its address in the settings',
}
const SOURCES = Object.keys(SOURCE_WORDS) as DiscoverySource[]
/** "a, b and c" */
const LIST = new Intl.ListFormat('en-GB', { type: 'conjunction' })

/** A link problem in a few words, after "is not linked: ". */
function reasonOf(problem: LinkProblem): string {
  switch (problem) {
    case 'refused':
      return 'nothing answers on its peer port'
    case 'unknown_host':
      return 'its host name is not known'
    case 'unreachable':
      return 'it does not answer'
    case 'wrong_secret':
      return 'it has another mesh secret'
    case 'other_mesh':
      return 'it is in another mesh'
    case 'other_version':
      return 'it runs another version'
    case 'self':
      return 'this is this node itself'
    case 'forged':
      return 'it claims an identity it cannot prove'
    case 'lost':
      return 'the link was lost'
    case 'unknown':
      return 'the link failed'
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 120) return plural(minutes, 'minute')
  const hours = Math.round(minutes / 60)
  if (hours < 48) return plural(hours, 'hour')
  const days = Math.round(hours / 24)
  return days < 365 ? plural(days, 'day') : 'over a year'
}
