/**
 * The fuzz suite's oracle: what a node may store from what was sent to it, and an audit that
 * reads a node's store back through the client protocol and finds anything it holds that
 * nobody validly sent, holds twice, holds differently from another node, cannot read back, or
 * holds with signatures that do not verify.
 *
 * What may be stored (docs/protocol.md): a client's `send` that is a valid frame whose text
 * has a visible character and no lone surrogate, as the user of the session's accepted `hello`;
 * a peer's `event` that is a valid event (the wire schema) whose signatures hold ("Verification
 * and limits": its key is its origin's, its `sig` and a keyed user's `usig` verify), as sent,
 * every field of it. Refusing a valid one is allowed (a `send` before `join`, an early event);
 * storing anything else (an event unsigned, signed by another key or changed after it was
 * signed), or storing it changed, is not.
 */
import { canonical } from '../../src/shared/canonical.ts'
import { parseClientFrame, type User } from '../../src/shared/protocol.ts'
import { checkEvent, eventFromMessage, MESSAGE_KIND } from '../../src/shared/signatures.ts'
import { openEventSchema, type OpenEvent } from '../../src/shared/signed-frames.ts'
import { nativeEd25519 } from '../../src/main/node/signing-native.ts'
import { ChatClient, ReplyError } from './chat-client.ts'
import { storedSignedEvents } from './mesh.ts'
import { health, type NodeProcess } from './node-process.ts'

/** A ts more than this far ahead of a node's clock must never move it (docs/protocol.md). */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** Text that shows nothing: white space and the zero-width characters. */
const INVISIBLE_ONLY = /^(?:\s|\u200b|\u200c|\u200d|\u2060|\ufeff)*$/

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s)
}

const sendKey = (userId: string, cid: string) => `${userId}\n${cid}`
const eventKey = (origin: string, seq: number) => `${origin}\n${seq}`

/** The JSON value a receiver sees when `value` is sent (undefined fields gone, and so on). */
export function asSent(value: unknown): unknown {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

/** What the runs sent that a node may store. */
export class FuzzModel {
  readonly #sends = new Map<string, { room: string; text: string; name: string }[]>()
  /** Per (origin, seq), the canonical text of each valid, well-signed event sent. */
  readonly #events = new Map<string, string[]>()
  /** Rooms of the events of each origin and of the sends that had the shape to be stored. */
  readonly #eventRooms = new Map<string, Set<string>>()
  readonly #sendRooms = new Set<string>()
  /** Events sent with a valid shape whose signatures do not hold: each must be refused. */
  forged = 0

  /**
   * Takes a client text frame sent by a session whose accepted hello named `user` (undefined:
   * no hello accepted yet). Returns the user the session has after it: a valid `hello` names it.
   */
  clientText(text: string, user: User | undefined): User | undefined {
    const parsed = parseClientFrame(text)
    if (!parsed.ok) return user
    const f = parsed.frame
    if (f.type === 'hello') return user ?? { id: f.user.id, name: f.user.name }
    if (f.type !== 'send' || !user) return user
    // Read back whatever a send of this shape may have stored, to show it when it should not.
    this.#sendRooms.add(f.room)
    if (hasLoneSurrogate(f.text) || INVISIBLE_ONLY.test(f.text)) return user
    const key = sendKey(user.id, f.cid)
    const candidates = this.#sends.get(key) ?? []
    candidates.push({ room: f.room, text: f.text, name: user.name })
    this.#sends.set(key, candidates)
    return user
  }

  /** Takes an `event` frame's event as a peer sent it. */
  peerEvent(event: unknown): void {
    const parsed = openEventSchema.safeParse(asSent(event))
    if (!parsed.success) return
    const e = parsed.data
    const rooms = this.#eventRooms.get(e.origin) ?? new Set()
    this.#eventRooms.set(e.origin, rooms.add(e.room))
    // A lone surrogate has no canonical form: such an event cannot verify either.
    if (!checkEvent(e, nativeEd25519).ok) {
      this.forged++
      return
    }
    const key = eventKey(e.origin, e.seq)
    this.#events.set(key, [...(this.#events.get(key) ?? []), canonical(e)])
  }

  /** Rooms where events of `origin` may be: a local origin's come from sends. */
  roomsOf(origin: string, local: boolean): string[] {
    return [...((local ? this.#sendRooms : this.#eventRooms.get(origin)) ?? [])]
  }

  /** Records an honest send (the suite's own sessions), so that the audit finds it explained. */
  honestSend(user: User, room: string, text: string, cid: string): void {
    this.clientText(JSON.stringify({ type: 'send', room, text, cid }), user)
  }

  /** Whether a stored event is one the runs validly sent, unchanged. */
  explains(stored: OpenEvent, local: boolean): boolean {
    if (local) {
      return (
        stored.kind === MESSAGE_KIND &&
        (this.#sends.get(sendKey(stored.user.id, stored.cid)) ?? []).some(
          (c) => c.room === stored.room && c.text === stored.text && c.name === stored.user.name,
        )
      )
    }
    return (this.#events.get(eventKey(stored.origin, stored.seq)) ?? []).includes(canonical(stored))
  }
}

/**
 * Reads back, after each run, what each node newly holds: every origin whose seq went up since
 * the last audit, from each room the model says its events may be in, through `join` with a
 * `since` that covers every other origin (so the backlog is exactly that origin's new events).
 */
export class StoreAudit {
  readonly #model: FuzzModel
  /** Origins whose events come from this node's clients, not from peers. */
  readonly #local: ReadonlySet<string>
  /** Per node name, per origin, the seq audited so far. */
  readonly #audited = new Map<string, Map<string, number>>()
  /** Events read back so far, on every node: from local clients and from peers. */
  readonly readBack = { local: 0, remote: 0 }

  constructor(model: FuzzModel, localOrigins: ReadonlySet<string>) {
    this.#model = model
    this.#local = localOrigins
  }

  /** Audits every node; returns the problems found (empty when all is well). */
  async check(nodes: readonly NodeProcess[]): Promise<string[]> {
    const problems: string[] = []
    const copies = new Map<string, string>()
    for (const node of nodes) {
      const doc = await health(node)
      const sum = Object.values(doc.vector).reduce((total, seq) => total + seq, 0)
      if (sum !== doc.events) {
        problems.push(`${node.name}: /health counts ${doc.events} events, its vector ${sum}`)
      }
      const audited = this.#audited.get(node.name) ?? new Map<string, number>()
      this.#audited.set(node.name, audited)
      const reader = await ChatClient.connect(node.wsUrl)
      try {
        for (const [origin, held] of Object.entries(doc.vector)) {
          const from = audited.get(origin) ?? 0
          if (held <= from) continue
          // A later copy of a send this node already held is stored but never shown: it is
          // read from the store file, and must be as valid as what clients see.
          const found = [
            ...(await this.#readNew(reader, origin, from, doc.vector)),
            ...storedSignedEvents(node, { hiddenOf: origin, from: from + 1, to: held }),
          ]
          problems.push(...this.#judge(node.name, origin, from, held, found, copies))
          audited.set(origin, held)
        }
      } finally {
        reader.close()
      }
    }
    return problems
  }

  /**
   * The events of `origin` after seq `from`, from every room they may be in, as a client gets
   * them: messages, and events of other kinds.
   */
  async #readNew(
    reader: ChatClient,
    origin: string,
    from: number,
    vector: Record<string, number>,
  ): Promise<unknown[]> {
    const local = this.#local.has(origin)
    const since = Object.fromEntries(
      Object.entries(vector).map(([o, seq]) => [o, o === origin ? from : seq]),
    )
    const found: unknown[] = []
    for (const room of this.#model.roomsOf(origin, local)) {
      for (;;) {
        try {
          const { backlog, events } = await reader.join(room, since)
          found.push(
            ...backlog.map((m) => eventFromMessage({ ...m })),
            ...events.map((f) => f.event),
          )
          break
        } catch (error) {
          if (!(error instanceof ReplyError) || error.code !== 'rate_limited') throw error
          // Many rooms take more joins than one burst allows: pacing, not waiting on state.
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }
    return found
  }

  #judge(
    node: string,
    origin: string,
    from: number,
    held: number,
    found: readonly unknown[],
    copies: Map<string, string>,
  ): string[] {
    const problems: string[] = []
    const local = this.#local.has(origin)
    const seqs = new Set<number>()
    for (const read of found) {
      const parsed = openEventSchema.safeParse(read)
      if (!parsed.success) {
        problems.push(`${node} gave a client what is not an event: ${JSON.stringify(read)}`)
        continue
      }
      const e = parsed.data
      const id = `${e.origin}:${e.seq}`
      if (e.origin !== origin || e.seq <= from || e.seq > held || seqs.has(e.seq)) {
        problems.push(`${node}: reading ${origin} after ${from} gave ${id} (twice or not asked)`)
        continue
      }
      seqs.add(e.seq)
      this.readBack[local ? 'local' : 'remote']++
      if (!checkEvent(e, nativeEd25519).ok) {
        problems.push(`${node} holds an event whose signatures do not hold: ${JSON.stringify(e)}`)
      }
      if (!this.#model.explains(e, local)) {
        problems.push(`${node} stored what nobody validly sent: ${JSON.stringify(e)}`)
      }
      if (local && e.ts / 1000 > Date.now() + MAX_CLOCK_AHEAD_MS) {
        problems.push(`${node}'s clock was moved far ahead: ${id} has ts ${e.ts}`)
      }
      const copy = canonical(e)
      const other = copies.get(id)
      if (other !== undefined && other !== copy) {
        problems.push(`${node}'s copy of ${id} differs: ${copy} vs ${other}`)
      }
      copies.set(id, copy)
    }
    const unread = held - from - seqs.size
    if (unread > 0) {
      problems.push(
        `${node} holds ${unread} events of ${origin} (seq ${from + 1}..${held}) in no room a valid message of it named`,
      )
    }
    return problems
  }
}
