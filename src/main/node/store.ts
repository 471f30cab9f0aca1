/**
 * The node's durable log of chat events in SQLite (Node's built-in `node:sqlite`, WAL mode,
 * synchronous=FULL so a commit that returned is on disk).
 *
 * Events are keyed by (origin, seq). The node's own id lives in the same file, so a fresh data
 * directory means a new id and a seq is never reused under an id (docs/architecture.md, invariant 4).
 * Every method is synchronous; batching writes into one transaction is `EventLog`'s job.
 *
 * One send, two events: two nodes cut off from each other may each accept the same resend
 * (same user id and cid). Both events are kept (vectors stay equal), but only the first this
 * node stored is `shown`: clients get one message per (user.id, cid), live, in a backlog and in
 * history alike (docs/protocol.md, "Guarantees to a client", 4).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { ChatMessage, User, Vector } from '../../shared/protocol.ts'
import { eventId } from '../../shared/protocol.ts'

/** One chat event as the log holds it and the mesh carries it. */
export interface ChatEvent {
  origin: string
  seq: number
  ts: number
  room: string
  user: User
  text: string
  cid: string
}

export interface Page {
  messages: ChatMessage[]
  /** Whether older messages exist than the first one returned. */
  more: boolean
}

export const DB_FILE = 'palaver.db'
/** The largest ts the store holds: node:sqlite reads no larger integer into a number. */
export const MAX_TS = Number.MAX_SAFE_INTEGER
/**
 * The schema's history, oldest first: migration `i` takes a store of version `i` to `i + 1`
 * (`PRAGMA user_version`). A store is opened by running, in one transaction, every migration
 * from its version on; a store newer than the last is refused. Append, never edit.
 */
export const MIGRATIONS: readonly string[] = [
  // 0 → 1: events and meta.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE events (
     origin TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, room TEXT NOT NULL,
     user_id TEXT NOT NULL, user_name TEXT NOT NULL, text TEXT NOT NULL, cid TEXT NOT NULL,
     PRIMARY KEY (origin, seq)
   ) WITHOUT ROWID;
   CREATE INDEX events_room_ts ON events (room, ts, origin);
   CREATE INDEX events_room_origin_seq ON events (room, origin, seq);
   -- Not unique: two nodes cut off from each other may each accept the same send.
   CREATE INDEX events_user_cid ON events (user_id, cid);`,
  // 1 → 2: every ts readable. Before clocks were bounded, one event with ts = MAX_SAFE_INTEGER
  // could push a node's clock past it, and node:sqlite cannot read such integers back. Every
  // node clamps them the same way, so copies of an event stay equal.
  `UPDATE events SET ts = ${MAX_TS} WHERE ts > ${MAX_TS}`,
  // 2 → 3: `shown`, one event per (user, cid) for clients: of the events of one (user, cid)
  // already held, the earliest in display order.
  `ALTER TABLE events ADD COLUMN shown INTEGER NOT NULL DEFAULT 1;
   UPDATE events SET shown = 0 WHERE EXISTS (
     SELECT 1 FROM events AS first
     WHERE first.user_id = events.user_id AND first.cid = events.cid
       AND (first.ts < events.ts OR (first.ts = events.ts AND first.origin < events.origin))
   );`,
]
const SCHEMA_VERSION = MIGRATIONS.length

/** One row of the `events` table (the columns of COLUMNS). */
export interface EventRow {
  origin: string
  seq: number
  ts: number
  room: string
  user_id: string
  user_name: string
  text: string
  cid: string
}

const COLUMNS = 'origin, seq, ts, room, user_id, user_name, text, cid'

export class Store {
  readonly nodeId: string
  readonly #db: DatabaseSync
  readonly #vector = new Map<string, number>()
  #count: number
  #maxTs: number
  readonly #insert: StatementSync
  readonly #byId: StatementSync
  readonly #byCid: StatementSync
  readonly #cidTaken: StatementSync
  readonly #latest: StatementSync
  readonly #before: StatementSync
  readonly #originAfter: StatementSync
  readonly #range: StatementSync

  /** Opens (creating when missing) the log in `dir`. */
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true })
    this.#db = new DatabaseSync(join(dir, DB_FILE))
    this.#db.exec('PRAGMA journal_mode = WAL')
    this.#db.exec('PRAGMA synchronous = FULL')
    this.#db.exec('PRAGMA busy_timeout = 5000')
    this.#migrate()
    this.nodeId = this.#loadNodeId()

    for (const row of this.#db
      .prepare('SELECT origin, MAX(seq) AS seq FROM events GROUP BY origin')
      .all() as { origin: string; seq: number }[]) {
      this.#vector.set(row.origin, row.seq)
    }
    const totals = this.#db.prepare('SELECT COUNT(*) AS n, MAX(ts) AS ts FROM events').get() as {
      n: number
      ts: number | null
    }
    this.#count = totals.n
    this.#maxTs = totals.ts ?? 0

    this.#insert = this.#db.prepare(
      `INSERT INTO events (${COLUMNS}, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.#byId = this.#db.prepare(`SELECT ${COLUMNS} FROM events WHERE origin = ? AND seq = ?`)
    this.#byCid = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE user_id = ? AND cid = ?
       ORDER BY shown DESC, ts, origin LIMIT 1`,
    )
    this.#cidTaken = this.#db.prepare('SELECT 1 FROM events WHERE user_id = ? AND cid = ? LIMIT 1')
    this.#latest = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE room = ? AND shown = 1
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    this.#before = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events
       WHERE room = ? AND shown = 1 AND (ts < ? OR (ts = ? AND origin < ?))
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    this.#originAfter = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE room = ? AND origin = ? AND seq > ? AND shown = 1
       ORDER BY seq DESC LIMIT ?`,
    )
    this.#range = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events WHERE origin = ? AND seq >= ? AND seq <= ? ORDER BY seq`,
    )
  }

  #migrate(): void {
    const { user_version: version } = this.#db.prepare('PRAGMA user_version').get() as {
      user_version: number
    }
    if (version > SCHEMA_VERSION) {
      throw new Error(`the data was written by a newer Palaver (schema ${version})`)
    }
    if (version === SCHEMA_VERSION) return
    this.#db.exec('BEGIN')
    try {
      for (const migration of MIGRATIONS.slice(version)) this.#db.exec(migration)
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
      this.#db.exec('COMMIT')
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
  }

  #loadNodeId(): string {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as
      { value: string } | undefined
    if (row) return row.value
    const id = randomBytes(10).toString('hex')
    this.#db.prepare("INSERT INTO meta (key, value) VALUES ('node_id', ?)").run(id)
    return id
  }

  /** For each origin, the highest seq held (there are no gaps below it). */
  vector(): Vector {
    return Object.fromEntries(this.#vector)
  }

  seqOf(origin: string): number {
    return this.#vector.get(origin) ?? 0
  }

  get count(): number {
    return this.#count
  }

  /** The highest ts stored: a floor for the clock after a restart. */
  get maxTs(): number {
    return this.#maxTs
  }

  /**
   * Writes `events` in one transaction; returns once it is committed to disk, with the events
   * stored as not shown (a later copy of a (user, cid) this node already held). Each event must
   * be its origin's next seq (the caller orders them); on any error nothing is written.
   */
  append(events: readonly ChatEvent[]): ReadonlySet<ChatEvent> {
    const hidden = new Set<ChatEvent>()
    if (events.length === 0) return hidden
    this.#db.exec('BEGIN')
    try {
      for (const e of events) {
        // Inside the transaction, so an earlier copy in this very batch counts too.
        const shown = this.#cidTaken.get(e.user.id, e.cid) === undefined
        if (!shown) hidden.add(e)
        this.#insert.run(
          e.origin,
          e.seq,
          e.ts,
          e.room,
          e.user.id,
          e.user.name,
          e.text,
          e.cid,
          shown ? 1 : 0,
        )
      }
      this.#db.exec('COMMIT')
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
    for (const e of events) {
      this.#vector.set(e.origin, e.seq)
      if (e.ts > this.#maxTs) this.#maxTs = e.ts
    }
    this.#count += events.length
    return hidden
  }

  get(origin: string, seq: number): ChatEvent | undefined {
    const row = this.#byId.get(origin, seq) as EventRow | undefined
    return row && toEvent(row)
  }

  /** The event a user sent with this cid, the shown one when there are several (idempotent send). */
  findByCid(userId: string, cid: string): ChatEvent | undefined {
    const row = this.#byCid.get(userId, cid) as EventRow | undefined
    return row && toEvent(row)
  }

  /** The events of one origin with seq in [from, to], in seq order. */
  range(origin: string, from: number, to: number): ChatEvent[] {
    return (this.#range.all(origin, from, to) as unknown as EventRow[]).map(toEvent)
  }

  /** The newest `limit` messages of a room, oldest first. */
  latest(room: string, limit: number): Page {
    return page(this.#latest.all(room, limit + 1) as unknown as EventRow[], limit)
  }

  /** The `limit` messages of a room just older than `before`, oldest first. */
  before(room: string, before: ChatEvent, limit: number): Page {
    const rows = this.#before.all(room, before.ts, before.ts, before.origin, limit + 1)
    return page(rows as unknown as EventRow[], limit)
  }

  /**
   * The messages of a room that `since` does not cover, oldest first; past `limit`, the newest
   * `limit` of them with `more` set.
   */
  missing(room: string, since: ReadonlyMap<string, number>, limit: number): Page {
    const rows: EventRow[] = []
    // A client may name up to 1024 origins; only those this store holds can need a query.
    const known = [...since.keys()].filter((origin) => this.#vector.has(origin))
    for (const origin of known) {
      rows.push(
        ...(this.#originAfter.all(
          room,
          origin,
          since.get(origin) ?? 0,
          limit + 1,
        ) as unknown as EventRow[]),
      )
    }
    const others = this.#db.prepare(
      `SELECT ${COLUMNS} FROM events
       WHERE room = ? AND shown = 1 AND origin NOT IN (${known.map(() => '?').join(',')})
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    rows.push(...(others.all(room, ...known, limit + 1) as unknown as EventRow[]))
    rows.sort((a, b) => b.ts - a.ts || (a.origin < b.origin ? 1 : a.origin > b.origin ? -1 : 0))
    return page(rows, limit)
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}

/** Rows newest first, up to limit + 1 of them, to a page oldest first. */
function page(rows: EventRow[], limit: number): Page {
  const more = rows.length > limit
  return {
    messages: rows
      .slice(0, limit)
      .reverse()
      .map((row) => toMessage(toEvent(row))),
    more,
  }
}

export function toEvent(row: EventRow): ChatEvent {
  return {
    origin: row.origin,
    seq: row.seq,
    ts: row.ts,
    room: row.room,
    user: { id: row.user_id, name: row.user_name },
    text: row.text,
    cid: row.cid,
  }
}

export function toMessage(event: ChatEvent): ChatMessage {
  return {
    room: event.room,
    id: eventId(event.origin, event.seq),
    origin: event.origin,
    seq: event.seq,
    ts: event.ts,
    user: event.user,
    text: event.text,
    cid: event.cid,
  }
}
