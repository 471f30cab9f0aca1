/**
 * The checker of a chaos run, in the spirit of Jepsen's queue checker: from what every node
 * holds at the end, what writers were acknowledged and what every reader session received, in
 * order, it finds
 *
 * - acknowledged messages missing from any node (lost), and events a node holds twice;
 * - nodes whose histories differ, or disagree with their own `/health`;
 * - reader sessions that got an origin's events out of order, with a hole, or a second time
 *   (including events their `since` covered: docs/protocol.md, "exact resume"), and sessions
 *   that got two events of one `(user.id, cid)` (guarantee 4);
 * - vectors not equal soon enough after the heal.
 *
 * Two nodes cut off from each other may each accept the same resend (guarantee 4): such
 * cid-duplicates are counted, not called lost or stored twice; a node may deliver only one of
 * them to a session, so a session's "hole" made only of those is no hole.
 */
import type { ChatMessage, Vector } from '../../src/shared/protocol.ts'

/** One message as a reader session received it. */
export interface Delivery {
  id: string
  origin: string
  seq: number
  userId: string
  cid: string
}

export interface ReaderSession {
  /** The node it was on (for reports). */
  node: string
  /** The `since` it joined with. */
  since: Vector
  /** The node said its backlog was cut to the newest messages. */
  truncated: boolean
  /** Every message of the room it received, live or backlog, in order. */
  deliveries: Delivery[]
}

export interface ReaderLog {
  name: string
  sessions: ReaderSession[]
}

/** One node's room, read back at the end, with what its `/health` said. */
export interface NodeHistory {
  node: string
  /** Every event of the room the node stored (read from its store file). */
  events: ChatMessage[]
  /** The room as its `history` pages show it to clients: one event per (user.id, cid). */
  shown: ChatMessage[]
  vector: Vector
  count: number
}

export interface Ack {
  userId: string
  cid: string
  id: string
}

export interface CheckInput {
  histories: readonly NodeHistory[]
  acks: readonly Ack[]
  readers: readonly ReaderLog[]
  /** From the heal to equal vectors on every node; undefined when that never happened. */
  convergenceMs: number | undefined
  convergenceLimitMs: number
  /** Things that went wrong outside the checks (a node that exited by itself, …). */
  incidents: readonly string[]
}

export interface Figures {
  events: number
  /** Distinct `(user.id, cid)` acknowledged. */
  acked: number
  /** Acknowledged event ids missing from at least one node. */
  lost: number
  /** Extra copies of an id in one node's history. */
  storedTwice: number
  /** Events beyond the first of each `(user.id, cid)` (resends two nodes each accepted). */
  cidDuplicates: number
  /** Deliveries of an event a session already had or its `since` covered. */
  repeatedDeliveries: number
  /** Deliveries of a second event of a `(user.id, cid)` in one session. */
  cidRepeatDeliveries: number
  outOfOrder: number
  holes: number
  /** Events a reader's last session never got. */
  missedAtEnd: number
  sessions: number
  truncatedSessions: number
  convergenceMs: number | undefined
}

export interface CheckResult {
  figures: Figures
  /** One line per kind of violation, with a count and a few examples. */
  violations: string[]
}

const EXAMPLES = 3

/** Counts findings of one kind and keeps a few examples for the report. */
class Finding {
  count = 0
  readonly examples: string[] = []
  readonly what: string
  constructor(what: string) {
    this.what = what
  }

  add(example: string): void {
    this.count++
    if (this.examples.length < EXAMPLES) this.examples.push(example)
  }

  line(): string | undefined {
    if (this.count === 0) return undefined
    return `${this.what}: ${this.count} (e.g. ${this.examples.join('; ')})`
  }
}

const cidKey = (userId: string, cid: string) => `${userId}\n${cid}`

/** The events of a room by origin and seq, and which events share a `(user.id, cid)`. */
class Reference {
  readonly byOrigin = new Map<string, Map<number, ChatMessage>>()
  readonly byCid = new Map<string, ChatMessage[]>()

  constructor(histories: readonly NodeHistory[]) {
    for (const { events } of histories) {
      for (const event of events) {
        let seqs = this.byOrigin.get(event.origin)
        if (!seqs) this.byOrigin.set(event.origin, (seqs = new Map()))
        if (seqs.has(event.seq)) continue
        seqs.set(event.seq, event)
        const key = cidKey(event.user.id, event.cid)
        const same = this.byCid.get(key)
        if (same) same.push(event)
        else this.byCid.set(key, [event])
      }
    }
  }
}

/** For each `(user.id, cid)`, the ids of the events of it a session got. */
function cidsOf(...sessions: ReaderSession[]): Map<string, Set<string>> {
  const ids = new Map<string, Set<string>>()
  for (const d of sessions.flatMap((session) => session.deliveries)) {
    const key = cidKey(d.userId, d.cid)
    ids.set(key, (ids.get(key) ?? new Set()).add(d.id))
  }
  return ids
}

/**
 * Whether a session may be left without `event`: it got another event of the same
 * `(user.id, cid)` (a node delivers at most one of them to a session, guarantee 4).
 */
function coveredByCid(got: Map<string, Set<string>>, event: ChatMessage): boolean {
  const ids = got.get(cidKey(event.user.id, event.cid))
  return ids !== undefined && (ids.size > 1 || !ids.has(event.id))
}

/**
 * What a reader's last session still lacks: for each origin, the events after the last one it
 * got (or after its `since`), except those of a `(user.id, cid)` the reader already got as
 * another event, in this session or an earlier one (a node shows one copy of a send, and the
 * copy a node hides may be the twin of one the reader got elsewhere).
 */
function missingFrom(reader: ReaderLog, reference: Reference): ChatMessage[] {
  const session = reader.sessions.at(-1)
  if (!session) return []
  const got = cidsOf(...reader.sessions)
  const last = new Map(Object.entries(session.since))
  for (const d of session.deliveries) last.set(d.origin, Math.max(last.get(d.origin) ?? 0, d.seq))
  const missing: ChatMessage[] = []
  for (const [origin, seqs] of reference.byOrigin) {
    for (const [seq, event] of seqs) {
      if (seq > (last.get(origin) ?? 0) && !coveredByCid(got, event)) {
        missing.push(event)
      }
    }
  }
  return missing
}

/** Whether every reader's last session holds everything the nodes hold (see `missingFrom`). */
export function readersComplete(
  readers: readonly ReaderLog[],
  histories: readonly NodeHistory[],
): boolean {
  const reference = new Reference(histories)
  return readers.every((r) => r.sessions.length > 0 && missingFrom(r, reference).length === 0)
}

export function checkChaos(input: CheckInput): CheckResult {
  const reference = new Reference(input.histories)
  const lost = new Finding('acknowledged messages missing from a node (lost)')
  const storedTwice = new Finding('events a node holds twice')
  const disagree = new Finding('nodes that hold different events')
  const differ = new Finding('copies of an event that differ between nodes')
  const health = new Finding("histories that disagree with the node's /health")
  const resendTwice = new Finding('resends one node accepted twice (same origin, same cid)')
  const repeated = new Finding('deliveries of an event the session had or its since covered')
  const cidRepeats = new Finding('sessions given two events of one (user.id, cid) (guarantee 4)')
  const outOfOrder = new Finding('deliveries out of seq order within a session')
  const holes = new Finding('holes in what a session got of an origin')
  const missedAtEnd = new Finding("events a reader's last session never got")
  const historyWrong = new Finding(
    'history pages that show a (user.id, cid) twice, miss one, or show an event not stored',
  )

  // Every node: no id twice, consistent with /health, the same events as the others.
  const all = new Map<string, ChatMessage>()
  for (const { events } of input.histories) for (const e of events) all.set(e.id, e)
  const held = new Map<string, Set<string>>()
  for (const history of input.histories) {
    const ids = new Map<string, ChatMessage>()
    held.set(history.node, new Set(history.events.map((e) => e.id)))
    for (const event of history.events) {
      if (ids.has(event.id)) storedTwice.add(`${event.id} on ${history.node}`)
      ids.set(event.id, event)
    }
    const keys = new Set(history.events.map((e) => cidKey(e.user.id, e.cid)))
    const shownKeys = new Set<string>()
    for (const event of history.shown) {
      const key = cidKey(event.user.id, event.cid)
      if (shownKeys.has(key) || !ids.has(event.id))
        historyWrong.add(`${event.id} on ${history.node}`)
      shownKeys.add(key)
    }
    if (shownKeys.size !== keys.size)
      historyWrong.add(`${history.node}: ${keys.size - shownKeys.size} sends not shown`)
    const vectorSum = Object.values(history.vector).reduce((sum, seq) => sum + seq, 0)
    if (history.events.length !== history.count || vectorSum !== history.count) {
      health.add(
        `${history.node}: ${history.events.length} read back, /health events ${history.count}, vector sum ${vectorSum}`,
      )
    }
    for (const [id, event] of all) {
      const mine = ids.get(id)
      if (!mine) disagree.add(`${history.node} lacks ${id}`)
      else if (JSON.stringify(mine) !== JSON.stringify(event))
        differ.add(`${id} on ${history.node}`)
    }
  }

  // No acknowledged message lost, on any node.
  const acked = new Set(input.acks.map((a) => cidKey(a.userId, a.cid)))
  const ackedIds = new Set(input.acks.map((a) => a.id))
  const lostIds = new Set<string>()
  for (const id of ackedIds) {
    for (const history of input.histories) {
      if (!held.get(history.node)?.has(id)) {
        lostIds.add(id)
        lost.add(`${id} not on ${history.node}`)
      }
    }
  }

  // Resends: two events of one (user.id, cid) are fine from two origins, not from one.
  let cidDuplicates = 0
  for (const [key, events] of reference.byCid) {
    cidDuplicates += events.length - 1
    const origins = new Set(events.map((e) => e.origin))
    if (origins.size < events.length)
      resendTwice.add(`${key.replace('\n', ' ')}: ${events.map((e) => e.id).join(', ')}`)
  }

  // Every reader session: each origin in seq order, no hole, nothing twice.
  let sessions = 0
  let truncatedSessions = 0
  for (const reader of input.readers) {
    for (const [i, session] of reader.sessions.entries()) {
      sessions++
      if (session.truncated) truncatedSessions++
      const where = `${reader.name} session ${i + 1} on ${session.node}`
      const findings = { repeated, cidRepeats, outOfOrder, holes }
      checkSession(session, where, reference, findings, reader.sessions.slice(0, i))
    }
    for (const event of missingFrom(reader, reference)) {
      missedAtEnd.add(`${reader.name} never got ${event.id}`)
    }
  }

  const convergence = input.convergenceMs
  const late =
    convergence === undefined
      ? ['vectors never became equal after the heal']
      : convergence > input.convergenceLimitMs
        ? [
            `vectors equal only ${Math.round(convergence)} ms after the heal (limit ${input.convergenceLimitMs} ms)`,
          ]
        : []

  const violations = [
    ...input.incidents,
    ...[
      lost,
      storedTwice,
      disagree,
      differ,
      health,
      resendTwice,
      repeated,
      cidRepeats,
      outOfOrder,
      holes,
      missedAtEnd,
      historyWrong,
    ].flatMap((f) => f.line() ?? []),
    ...late,
  ]
  return {
    violations,
    figures: {
      events: reference.byCid.size + cidDuplicates,
      acked: acked.size,
      lost: lostIds.size,
      storedTwice: storedTwice.count,
      cidDuplicates,
      repeatedDeliveries: repeated.count,
      cidRepeatDeliveries: cidRepeats.count,
      outOfOrder: outOfOrder.count,
      holes: holes.count,
      missedAtEnd: missedAtEnd.count,
      sessions,
      truncatedSessions,
      convergenceMs: convergence,
    },
  }
}

function checkSession(
  session: ReaderSession,
  where: string,
  reference: Reference,
  findings: { repeated: Finding; cidRepeats: Finding; outOfOrder: Finding; holes: Finding },
  earlier: readonly ReaderSession[],
): void {
  const seen = new Set<string>()
  const byCid = new Map<string, string>()
  // A node shows one copy of a send: the one it leaves out may be the twin of one the reader
  // got in this session or an earlier one.
  const got = cidsOf(...earlier, session)
  const last = new Map<string, number>()
  for (const d of session.deliveries) {
    const key = cidKey(d.userId, d.cid)
    const sameCid = byCid.get(key)
    if (sameCid !== undefined && sameCid !== d.id) {
      findings.cidRepeats.add(`${where}: ${sameCid} then ${d.id}`)
    }
    byCid.set(key, d.id)

    const covered = session.since[d.origin] ?? 0
    if (seen.has(d.id)) {
      findings.repeated.add(`${where}: ${d.id} twice`)
      continue
    }
    seen.add(d.id)
    if (d.seq <= covered) {
      findings.repeated.add(`${where}: ${d.id} though since had ${d.origin}:${covered}`)
      continue
    }
    const previous = last.get(d.origin)
    if (previous !== undefined && d.seq < previous) {
      findings.outOfOrder.add(`${where}: ${d.id} after ${d.origin}:${previous}`)
      continue
    }
    // Between the previous one (or since) and this one, only cid-duplicates of events the
    // reader got may be left out. A truncated backlog starts anywhere.
    const from = previous ?? (session.truncated ? d.seq - 1 : covered)
    const seqs = reference.byOrigin.get(d.origin)
    for (let seq = from + 1; seq < d.seq; seq++) {
      const skipped = seqs?.get(seq)
      if (skipped && !coveredByCid(got, skipped)) {
        findings.holes.add(`${where}: ${skipped.id} missing before ${d.id}`)
      }
    }
    last.set(d.origin, d.seq)
  }
}
