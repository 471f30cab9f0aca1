/**
 * Why a link to another node failed, from its last error (a peer's `lastError`: a socket error's
 * message or the mesh's own reason, docs/protocol.md "Handshake"), as a kind and as words for
 * people. The node panel and the network doctor (doctor.ts) both read it.
 */

export type LinkProblem =
  | 'refused'
  | 'unknown_host'
  | 'unreachable'
  | 'wrong_secret'
  | 'other_mesh'
  | 'other_version'
  | 'self'
  | 'forged'
  | 'lost'
  | 'unknown'

/** Each kind, what in a last error shows it, and what happened and what to do. */
const LINK_PROBLEMS: readonly [LinkProblem, RegExp, string][] = [
  [
    'refused',
    /ECONNREFUSED/,
    'Nothing answers at this address. Check that the other node is running and that this is its peer port.',
  ],
  [
    'unknown_host',
    /ENOTFOUND|EAI_AGAIN/,
    'This host name is not known on the network. Check the address, or use the other machine’s IP address.',
  ],
  [
    'unreachable',
    /ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|no TLS connection in time|handshake took too long/,
    'The other machine does not answer. Check that it is on and on this network, and that no firewall blocks its peer port.',
  ],
  [
    'wrong_secret',
    /wrong mesh secret|wrong proof/,
    'The other node has another mesh secret. Set the same secret on both nodes.',
  ],
  [
    'other_mesh',
    /wrong_mesh|^mesh /,
    'The other node is in another mesh. Set the same mesh name on both nodes.',
  ],
  [
    'other_version',
    /\bprotocol\b/,
    'The other node runs another version of Palaver. Update both to the same version.',
  ],
  [
    'self',
    /own id|\bself\b/,
    'This address is this node itself. Add the address of another machine.',
  ],
  [
    'forged',
    /wrong signature|id not of its key|link signature/,
    'The node at this address claims an identity it cannot prove. It may not be the machine you expect.',
  ],
  [
    'lost',
    /ECONNRESET|EPIPE|socket|silent for too long/,
    'The link was lost. The node links again by itself.',
  ],
]

const UNKNOWN = 'The link failed. The node keeps trying to link again.'

/** The kind of problem a link's last error shows. */
export function linkProblemOf(lastError: string): LinkProblem {
  for (const [kind, pattern] of LINK_PROBLEMS) if (pattern.test(lastError)) return kind
  return 'unknown'
}

/** A link's last error as a sentence for people: what happened and what to do. */
export function describeLinkProblem(lastError: string): string {
  for (const [, pattern, text] of LINK_PROBLEMS) if (pattern.test(lastError)) return text
  return UNKNOWN
}
