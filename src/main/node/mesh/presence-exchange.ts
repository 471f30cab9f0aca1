/**
 * Presence and typing across the mesh (docs/protocol.md, "Steady state" and "Presence"): this
 * node's announcements, signed, and other nodes' frames, checked and passed on. Both are flooded
 * with a version (presence) or counter (typing) per node, so neither loops: a frame no newer than
 * the last one held of its node goes no further. A frame is verified only when it is newer, so
 * the many copies a mesh delivers cost one check.
 */
import { MAX_PRESENCE_LINKS, type PeerFrameOf } from '../../../shared/peer-protocol.ts'
import type { OnlineUser, User } from '../../../shared/protocol.ts'
import { verifyPresence, verifyTyping } from '../../../shared/signatures.ts'
import { type ChatUser, shownUser } from '../../../shared/signed-frames.ts'
import type { HybridClock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { NodeIdentity } from '../node-identity.ts'
import { nativeEd25519 } from '../signing-native.ts'
import { encodeFrame, tryEncodeFrame } from './framing.ts'
import type { PeerLink } from './link.ts'
import { setRecent } from '../recent-map.ts'
import { announcedRooms, PresenceTable } from './presence.ts'
import type { Refuse } from './refusals.ts'

/** Origins whose last typing counter is remembered (the oldest is forgotten past this). */
export const MAX_TYPING_ORIGINS = 1_000

export interface PresenceExchangeOptions {
  identity: NodeIdentity
  /** Stamps presence versions and typing counters: increasing even across restarts. */
  clock: HybridClock
  logger: Logger
  /** Rooms of this node's presence one announcement names at most (`presenceMaxRooms`). */
  maxRooms: number
  /** A presence not heard for this long is forgotten (`meshTimings.presenceTtlMs`). */
  ttlMs: number
  /** Who is online here, by room. */
  localRooms: () => ReadonlyMap<string, User[]>
  /** The ids of the nodes this node has links to now. */
  linkedIds: () => string[]
  /** Writes a frame to every link but `except`. */
  flood: (frame: Buffer, except?: PeerLink) => void
  refuse: Refuse
  /** The online users of these rooms changed. */
  onRoomsChanged: (rooms: ReadonlySet<string>) => void
  /** Someone on another node is typing in `room`. */
  onTyping: (room: string, user: ChatUser) => void
  /** A node was heard from (it is alive). */
  onHeardOf: (id: string) => void
}

export class PresenceExchange {
  readonly #options: PresenceExchangeOptions
  readonly #table: PresenceTable
  /** Per origin, the newest typing counter seen; least recently updated first. */
  readonly #typingSeen = new Map<string, number>()
  /** Rooms the last announcement left out (logged when that starts). */
  #roomsOmitted = 0

  constructor(options: PresenceExchangeOptions) {
    this.#options = options
    this.#table = new PresenceTable({ ttlMs: options.ttlMs })
  }

  /** Announces this node's whole local presence, signed, to every link. */
  announce(): void {
    const { identity, clock, logger, maxRooms } = this.#options
    const { rooms, omitted } = announcedRooms(this.#options.localRooms(), maxRooms)
    if (omitted > 0 && this.#roomsOmitted === 0) {
      logger.warn(
        { omitted, announced: Object.keys(rooms).length },
        'too many rooms to announce: users of the quietest are not shown online on other nodes',
      )
    }
    this.#roomsOmitted = omitted
    const frame = identity.sign({
      type: 'presence' as const,
      node: identity.id,
      // The clock is strictly increasing, even across restarts: every announcement is newer.
      version: clock.now(),
      rooms,
      links: this.#options.linkedIds().slice(0, MAX_PRESENCE_LINKS),
    })
    this.#options.flood(encodeFrame(frame))
  }

  onPresence(link: PeerLink, frame: PeerFrameOf<'presence'>): void {
    if (frame.node === this.#options.identity.id) return
    if (!this.#table.isNewer(frame.node, frame.version)) return
    if (!verifyPresence(frame, nativeEd25519)) {
      return this.#options.refuse(link, 'presence', 'not signed by its node', frame.node)
    }
    const changed = this.#table.apply(frame.node, frame.version, frame.rooms, link, frame.links)
    if (!changed) return
    // Passed on as received; one whose encoding would pass the frame limit goes no further.
    const forwarded = tryEncodeFrame(frame)
    if (forwarded) this.#options.flood(forwarded, link)
    this.#options.onHeardOf(frame.node)
    this.#options.onRoomsChanged(changed)
  }

  /** Tells every link that a local user is typing in `room`. */
  typing(room: string, user: User): void {
    const { identity, clock } = this.#options
    const frame = identity.sign({
      type: 'typing' as const,
      origin: identity.id,
      eseq: clock.now(),
      room,
      user: shownUser(user),
    })
    this.#options.flood(encodeFrame(frame))
  }

  onTyping(link: PeerLink, frame: PeerFrameOf<'typing'>): void {
    if (frame.origin === this.#options.identity.id) return
    if ((this.#typingSeen.get(frame.origin) ?? 0) >= frame.eseq) return
    if (!verifyTyping(frame, nativeEd25519)) {
      return this.#options.refuse(link, 'typing', 'not signed by its origin', frame.origin)
    }
    setRecent(this.#typingSeen, frame.origin, frame.eseq, MAX_TYPING_ORIGINS)
    const forwarded = tryEncodeFrame(frame)
    if (forwarded) this.#options.flood(forwarded, link)
    // Clients get what they show, as with presence: a user's other fields stay between nodes.
    this.#options.onTyping(frame.room, shownUser(frame.user))
  }

  /** The presence that came over `link` goes with it (a node reachable otherwise re-announces). */
  linkDown(link: PeerLink): void {
    this.#changed(this.#table.dropVia(link))
  }

  /** Forgets presence not heard within its TTL. */
  expire(): void {
    this.#changed(this.#table.expire())
  }

  /** Whether `id`'s presence is held (it was heard from lately). */
  has(id: string): boolean {
    return this.#table.has(id)
  }

  /** Who is online in `room` on other nodes. */
  usersIn(room: string): OnlineUser[] {
    return this.#table.usersIn(room)
  }

  /** Each known node's links, as it last announced them. */
  links(): [string, readonly string[]][] {
    return this.#table.links()
  }

  #changed(rooms: ReadonlySet<string>): void {
    this.#options.onRoomsChanged(rooms)
  }
}
