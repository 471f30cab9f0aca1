/**
 * Mesh invites: what another machine needs to join this node's mesh (the mesh name, the mesh
 * secret and this node's peer address) as one short code to copy, paste or scan.
 *
 *   palaver1:<base64url of (JSON [mesh, secret, peerAddr]) + 4 check bytes>
 *
 * The check bytes are the first 4 bytes of SHA-256 of the JSON bytes: a mistyped, cut or
 * pasted-twice code is refused instead of joining a wrong mesh or dialling a wrong address.
 * Format and rules: docs/protocol.md, "Invites".
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { meshNameSchema, peerAddrSchema } from '../shared/peer-protocol.ts'

export const INVITE_PREFIX = 'palaver1:'
/** Bytes of SHA-256 kept as the check. */
const CHECK_BYTES = 4
/** Longer text is not looked at (a mesh secret is at most 1024 characters). */
const MAX_INVITE_CHARS = 2_048

export interface Invite {
  mesh: string
  /** The mesh secret (never empty: a mesh without one needs no invite). */
  secret: string
  /** The inviting node's peer address, `HOST:PORT`. */
  peer: string
}

const inviteSchema = z.tuple([meshNameSchema, z.string().min(1).max(1024), peerAddrSchema])

/** Why a code is not an invite, for the person who pasted it. */
export type InviteProblem = 'not_invite' | 'damaged'

export function encodeInvite(invite: Invite): string {
  const json = Buffer.from(JSON.stringify([invite.mesh, invite.secret, invite.peer]), 'utf8')
  return INVITE_PREFIX + Buffer.concat([json, check(json)]).toString('base64url')
}

/**
 * Reads a code as pasted: white space anywhere (a wrapped line, a trailing newline) and the
 * prefix's case do not matter. Never throws: anything that is not a whole, valid invite is a
 * problem, `not_invite` (no prefix, or not text of the code's alphabet) or `damaged` (the check
 * bytes or the content do not hold: a typo, or a code cut short).
 */
export function decodeInvite(
  text: string,
): { ok: true; invite: Invite } | { ok: false; problem: InviteProblem } {
  if (text.length > MAX_INVITE_CHARS) return { ok: false, problem: 'not_invite' }
  const code = text.replace(/\s+/g, '')
  if (code.slice(0, INVITE_PREFIX.length).toLowerCase() !== INVITE_PREFIX) {
    return { ok: false, problem: 'not_invite' }
  }
  const body = code.slice(INVITE_PREFIX.length)
  // Buffer.from skips characters outside base64url silently: they must not get that far.
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return { ok: false, problem: 'not_invite' }
  const bytes = Buffer.from(body, 'base64url')
  const json = bytes.subarray(0, bytes.length - CHECK_BYTES)
  // The last character may carry unused bits: only the code's one spelling of its bytes counts,
  // so that a typo there is caught too.
  const canonical = bytes.toString('base64url') === body
  if (
    !canonical ||
    bytes.length <= CHECK_BYTES ||
    !check(json).equals(bytes.subarray(json.length))
  ) {
    return { ok: false, problem: 'damaged' }
  }
  let value: unknown
  try {
    value = JSON.parse(json.toString('utf8'))
  } catch {
    return { ok: false, problem: 'damaged' }
  }
  const parsed = inviteSchema.safeParse(value)
  if (!parsed.success) return { ok: false, problem: 'damaged' }
  const [mesh, secret, peer] = parsed.data
  return { ok: true, invite: { mesh, secret, peer } }
}

function check(json: Buffer): Buffer {
  return createHash('sha256').update(json).digest().subarray(0, CHECK_BYTES)
}
