/**
 * Whether a user is who their id says, and how two people with the same name are told apart.
 * A keyed user carries its public key as `key`, and its id is derived from it; a keyless user
 * (a script, a bot) has an id of its choosing and is unverified (docs/protocol.md, "Shared
 * terms"). Whether a message is a keyed user's is for its signatures to say (authenticity.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { keyOwnsUserId } from '../../../shared/keys.ts'

/** Hex digits of the id's SHA-256 shown beside a shared name: 16 bits, enough among a room. */
const NAME_CODE_HEX_DIGITS = 4

export interface NamedUser {
  id: string
  name: string
  key?: unknown
}

/**
 * Whether a user (an author, or one a node lists as online in `joined` and `presence`) is a keyed
 * user: it has a `key`, and its id is that key's hash. A node lists a keyed user with its key
 * only once the user proved it holds it (`challenge` / `prove`); what the user writes is checked
 * by its own signatures besides (authenticity.ts).
 */
export function isVerified(user: NamedUser): boolean {
  return typeof user.key === 'string' && keyOwnsUserId(user.key, user.id)
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
