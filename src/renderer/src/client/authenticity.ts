/**
 * Whether a message from a node is what it says it is (docs/protocol.md, "Guarantees to a client"
 * 5): the origin's `key` hashes to `origin` and the origin's `sig` verifies, and a keyed user's
 * id is the hash of the user's `key` and the user's `usig` verifies. The UI checks for itself
 * rather than take its node's word, so that no node can make it show a message as someone else's.
 *
 * A check costs two Ed25519 verifications in pure JavaScript, a few ms each, so:
 * - each message is checked once: the result is kept with the message object, which a timeline
 *   holds once per event id, for as long as that object lives (a WeakMap: it bounds itself);
 * - only what is shown is checked, a slice at a time (`AuthenticityChecks`), so that a room's
 *   long backlog never holds up the page.
 */
import type { ChatMessage } from '../../../shared/protocol.ts'
import { checkMessage, EVENT_REFUSALS, type SignedEvent } from '../../../shared/signatures.ts'

export type Authenticity =
  /** A keyed user's message: the origin's and the user's signatures verify. */
  | { status: 'verified' }
  /** A keyless user's message: the origin's signature verifies; the name is the user's word. */
  | { status: 'unverified' }
  /** A signature is missing or does not verify: nothing about the message can be believed. */
  | { status: 'invalid'; reason: string }

const VERIFIED: Authenticity = { status: 'verified' }
const UNVERIFIED: Authenticity = { status: 'unverified' }

/** Every message checked so far, with the result. */
const known = new WeakMap<ChatMessage, Authenticity>()

/** The authenticity of a message from a node, checked now unless it was before. */
export function authenticityOf(message: ChatMessage): Authenticity {
  let result = known.get(message)
  if (result === undefined) {
    result = check(message)
    known.set(message, result)
  }
  return result
}

/** The authenticity of a message from a node if it was checked already; otherwise undefined. */
export function knownAuthenticity(message: ChatMessage): Authenticity | undefined {
  return known.get(message)
}

/**
 * The authenticity of a send of this client that the node has not sent back (yet): it is ours,
 * signed by us when we are a keyed user.
 */
export function ownSendAuthenticity(user: Readonly<Record<string, unknown>>): Authenticity {
  return typeof user.key === 'string' ? VERIFIED : UNVERIFIED
}

function check(message: ChatMessage): Authenticity {
  if (!hasSignatureFields(message)) return { status: 'invalid', reason: 'it is not signed' }
  const result = checkMessage(message)
  if (!result.ok) return { status: 'invalid', reason: EVENT_REFUSALS[result.reason] }
  return message.user.key === undefined ? UNVERIFIED : VERIFIED
}

/**
 * Whether the fields `checkMessage` reads have the types it needs: frames are not checked
 * against a schema on their way in, and a node that breaks the protocol may send anything.
 */
function hasSignatureFields(message: object): message is SignedEvent {
  const { key, sig, usig, origin, user } = message as Partial<Record<string, unknown>>
  if (typeof key !== 'string' || typeof sig !== 'string' || typeof origin !== 'string') return false
  if (usig !== undefined && typeof usig !== 'string') return false
  if (typeof user !== 'object' || user === null) return false
  const { id, key: userKey } = user as Partial<Record<string, unknown>>
  return typeof id === 'string' && (userKey === undefined || typeof userKey === 'string')
}

/** The longest a slice of checks runs before the page may draw again: half a frame at 60 Hz. */
export const CHECK_SLICE_MS = 8

export interface AuthenticityChecksOptions {
  /** Default `CHECK_SLICE_MS`. */
  sliceMs?: number
  /** Runs the next slice later. Default: a new task, so that the page draws in between. */
  schedule?: (run: () => void) => void
  /** Milliseconds, for measuring a slice. Default `performance.now`. */
  now?: () => number
}

/**
 * Checks that someone waits for, a slice of `sliceMs` at a time, oldest wait first. Only what is
 * waited for is checked: the message list waits for the rows it draws, so the queue holds at
 * most those, and a row that goes away before its turn leaves it.
 */
export class AuthenticityChecks {
  readonly #waiting = new Map<ChatMessage, Set<() => void>>()
  readonly #sliceMs: number
  readonly #schedule: (run: () => void) => void
  readonly #now: () => number
  #scheduled = false

  constructor(options: AuthenticityChecksOptions = {}) {
    this.#sliceMs = options.sliceMs ?? CHECK_SLICE_MS
    this.#schedule = options.schedule ?? ((run) => void setTimeout(run, 0))
    this.#now = options.now ?? (() => performance.now())
  }

  /** How many messages wait to be checked. */
  get waiting(): number {
    return this.#waiting.size
  }

  /**
   * Calls `onKnown` once `message` is checked (never if it was already: read
   * `knownAuthenticity` first). Returns the function that stops waiting.
   */
  watch(message: ChatMessage, onKnown: () => void): () => void {
    if (known.has(message)) return () => {}
    let listeners = this.#waiting.get(message)
    if (listeners === undefined) {
      listeners = new Set()
      this.#waiting.set(message, listeners)
    }
    const listener = () => onKnown()
    listeners.add(listener)
    this.#scheduleSlice()
    return () => {
      listeners.delete(listener)
      if (listeners.size === 0 && this.#waiting.get(message) === listeners)
        this.#waiting.delete(message)
    }
  }

  #scheduleSlice(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.#schedule(() => this.#runSlice())
  }

  #runSlice(): void {
    this.#scheduled = false
    const started = this.#now()
    for (const [message, listeners] of this.#waiting) {
      this.#waiting.delete(message)
      authenticityOf(message)
      for (const listener of listeners) listener()
      if (this.#now() - started >= this.#sliceMs) break
    }
    if (this.#waiting.size > 0) this.#scheduleSlice()
  }
}
