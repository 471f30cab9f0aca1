/**
 * The mesh-secret proof of the handshake (docs/protocol.md, "Handshake"): an HMAC keyed with the
 * secret over the mesh name, the link's TLS exporter and the prover's node id. Bound to the TLS
 * session, so a proof cannot be replayed on another link or relayed by someone in the middle.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export function meshProof(
  secret: string,
  mesh: string,
  exporterHex: string,
  nodeId: string,
): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`palaver-v1|${mesh}|${exporterHex}|${nodeId}`, 'utf8')
    .digest('hex')
}

/** A proof as `meshProof` writes it: 32 bytes in lower-case hex. */
const PROOF_HEX = /^[0-9a-f]{64}$/

/** Checks a peer's proof in constant time. Anything but 64 lower-case hex digits fails. */
export function proofMatches(
  proof: string,
  secret: string,
  mesh: string,
  exporterHex: string,
  peerId: string,
): boolean {
  // Buffer.from(…, 'hex') stops at the first non-hex pair and drops an odd last digit, so
  // without this a right proof with junk after it ("…ab", "…abzz", "…ab0") would match.
  if (!PROOF_HEX.test(proof)) return false
  const expected = Buffer.from(meshProof(secret, mesh, exporterHex, peerId), 'hex')
  const given = Buffer.from(proof, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
