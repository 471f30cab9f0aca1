/**
 * Whether a user's name can be trusted, and how two people with the same name are told apart.
 * Today every user is unverified (docs/protocol.md: keyless, an id of their choosing); a keyed
 * user, once keys land, carries its public key as `key`.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'

/** Hex digits of the id's SHA-256 shown beside a shared name: 16 bits, enough among a room. */
const NAME_CODE_HEX_DIGITS = 4

export interface NamedUser {
  id: string
  name: string
  key?: unknown
}

/** A user is verified only when it holds a key; the node checks that the key proves the id. */
export function isVerified(user: NamedUser): boolean {
  return typeof user.key === 'string' && user.key !== ''
}

/** The short code that tells apart people with the same name: the id's SHA-256, first hex. */
export function nameCode(userId: string): string {
  return bytesToHex(sha256(utf8ToBytes(userId))).slice(0, NAME_CODE_HEX_DIGITS)
}

/** Names that look the same to a reader (case and Unicode compatibility forms aside) match. */
function nameLooks(name: string): string {
  return name.normalize('NFKC').toLowerCase()
}

/**
 * The ids of the users whose name is shared with a different id among `users` (the authors and
 * online people of one room): those are shown with their code.
 */
export function ambiguousUserIds(users: Iterable<NamedUser>): ReadonlySet<string> {
  const idsByName = new Map<string, Set<string>>()
  for (const user of users) {
    const look = nameLooks(user.name)
    const ids = idsByName.get(look) ?? new Set<string>()
    ids.add(user.id)
    idsByName.set(look, ids)
  }
  const ambiguous = new Set<string>()
  for (const ids of idsByName.values()) {
    if (ids.size > 1) for (const id of ids) ambiguous.add(id)
  }
  return ambiguous
}

/** The ids to show with a code in a room: among its messages' authors and its online people. */
export function roomAmbiguousUserIds(room: {
  messages: readonly { user: NamedUser }[]
  users: readonly NamedUser[]
}): ReadonlySet<string> {
  return ambiguousUserIds([...room.messages.map((m) => m.user), ...room.users])
}
