/**
 * The mesh-secret proof of the handshake (PROTOCOL.md, "Handshake"): an HMAC keyed with the
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

/** Checks a peer's proof in constant time. */
export function proofMatches(
  proof: string,
  secret: string,
  mesh: string,
  exporterHex: string,
  peerId: string,
): boolean {
  const expected = Buffer.from(meshProof(secret, mesh, exporterHex, peerId), 'hex')
  const given = Buffer.from(proof, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
