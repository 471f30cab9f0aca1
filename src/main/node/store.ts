/**
 * The node's durable log of events in SQLite (Node's built-in `node:sqlite`, WAL mode,
 * synchronous=FULL so a commit that returned is on disk).
 *
 * Events are keyed by (origin, seq) and kept as received: the whole signed event as canonical
 * JSON (`body`), whatever its kind and fields, with the columns queries need beside it
 * (docs/protocol.md, "An open envelope"). The node's secret key lives in the same file, so a
 * fresh data directory means a new key, a new id, and a seq is never reused under an id
 * (docs/architecture.md, invariant 4). Every method is synchronous. The node opens the file twice:
 * on its event loop for reads, and in a worker thread that writes (store-writer.ts); batching
 * writes into one transaction is `EventLog`'s job.
 *
 * One send, two events: two nodes cut off from each other may each accept the same resend
 * (same user id and cid). Both events are kept (vectors stay equal), but only the first this
 * node stored is `shown`: clients get one message per (user.id, cid), live, in a backlog and in
 * history alike (docs/protocol.md, "Guarantees to a client", 4).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { decodeBase64url, encodeBase64url } from '../../shared/base64url.ts'
import { canonical } from '../../shared/canonical.ts'
import { SECRET_KEY_BYTES } from '../../shared/ed25519.ts'
import { generateSecretKey } from '../../shared/keys.ts'
import type { Vector } from '../../shared/protocol.ts'
import { checkEvent, MESSAGE_KIND } from '../../shared/signatures.ts'
import { openEventSchema, type OpenEvent } from '../../shared/signed-frames.ts'
import { nodeIdentity, type NodeIdentity } from './node-identity.ts'
import { nativeEd25519 } from './signing-native.ts'

/** One event as the log holds it and the mesh carries it: signed by its origin, any kind. */
export type ChatEvent = OpenEvent

/** Where an event sits in the log. */
export interface EventKey {
  origin: string
  seq: number
}

/** Who sent an event, and the cid they gave it. */
export interface Send {
  userId: string
  cid: string
}

export interface Page {
  /** Events of every kind, oldest first. */
  events: ChatEvent[]
  /** Whether older events exist than the first one returned. */
  more: boolean
}

export const DB_FILE = 'palaver.db'
/** The largest ts the store holds: node:sqlite reads no larger integer into a number. */
export const MAX_TS = Number.MAX_SAFE_INTEGER
/** The meta row that holds the node's Ed25519 secret key (base64url of its 32-byte seed). */
const SECRET_KEY_META = 'node_secret_key'

/** One step of the schema: SQL, or a function for a step SQL alone cannot take. */
export type Migration = string | ((db: DatabaseSync) => void)

/**
 * The schema's history, oldest first: migration `i` takes a store of version `i` to `i + 1`
 * (`PRAGMA user_version`). A store is opened by running, in one transaction, every migration
 * from its version on; a store newer than the last is refused. Append, never edit.
 */
export const MIGRATIONS: readonly Migration[] = [
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
  // 3 → 4: node keys and the open envelope.
  (db) => adoptUnsignedHistory(db),
]
const SCHEMA_VERSION = MIGRATIONS.length

/** Runs one migration on `db` (tests build stores of old versions with it). */
export function runMigration(db: DatabaseSync, migration: Migration): void {
  if (typeof migration === 'string') db.exec(migration)
  else migration(db)
}

/**
 * Migration 3 → 4. The node gets its Ed25519 key (and with it a new id), every event gets its
 * `kind` and its signed `body`. Events stored before there were keys carry no signature that
 * anyone could check, so this node re-issues each of them as an event of its own, signed by its
 * new key, in display order and with its old ts (a ts shared with the event before it moves up by
 * 1 µs, so that the order holds), room, user, text and cid; the unsigned rows go. Every node of an
 * upgraded mesh does the same, and the copies of one old message from several nodes share
 * (user.id, cid): clients are shown one of them (guarantee 4), here the copy this node showed
 * before. A row that could not be signed as a valid event today (a user id of the keyed form, a
 * text the rules now refuse) is left out and logged by count in the `meta` row
 * `unsigned_rows_dropped`.
 */
function adoptUnsignedHistory(db: DatabaseSync): void {
  db.exec(`ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT '${MESSAGE_KIND}';
           ALTER TABLE events ADD COLUMN body TEXT`)
  const secretKey = generateSecretKey()
  const identity = nodeIdentity(secretKey)
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(
    SECRET_KEY_META,
    encodeBase64url(secretKey),
  )
  db.exec("DELETE FROM meta WHERE key = 'node_id'")
  const old = db
    .prepare(
      `SELECT ts, room, user_id, user_name, text, cid, shown FROM events WHERE body IS NULL
       ORDER BY ts, origin, seq`,
    )
    .all() as {
    ts: number
    room: string
    user_id: string
    user_name: string
    text: string
    cid: string
    shown: number
  }[]
  db.exec('DELETE FROM events WHERE body IS NULL')
  const reissued: { event: ChatEvent; wasShown: boolean }[] = []
  let lastTs = 0
  for (const row of old) {
    const ts = Math.min(MAX_TS, Math.max(row.ts, lastTs + 1))
    const event = signedEvent(identity, {
      kind: MESSAGE_KIND,
      origin: identity.id,
      seq: reissued.length + 1,
      ts,
      room: row.room,
      user: { id: row.user_id, name: row.user_name },
      cid: row.cid,
      text: row.text,
    })
    if (!event) continue
    reissued.push({ event, wasShown: row.shown === 1 })
    lastTs = ts
  }
  // A send keeps the copy clients were shown; one whose shown copy was left out shows its
  // earliest copy in display order, as migration 2 → 3 chose.
  const sendOf = (e: ChatEvent) => `${e.user.id}\n${e.cid}`
  const shownSends = new Set(reissued.filter((r) => r.wasShown).map((r) => sendOf(r.event)))
  const insert = insertStatement(db)
  for (const { event, wasShown } of reissued) {
    const shown = wasShown || !shownSends.has(sendOf(event))
    if (shown) shownSends.add(sendOf(event))
    insertEvent(insert, event, shown)
  }
  const dropped = old.length - reissued.length
  if (dropped > 0) {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('unsigned_rows_dropped', ?)").run(
      String(dropped),
    )
  }
}

/** `fields` signed by the node, if the result is an event every node would accept. */
function signedEvent(
  identity: NodeIdentity,
  fields: Readonly<Record<string, unknown>>,
): ChatEvent | undefined {
  try {
    const parsed = openEventSchema.safeParse(identity.sign(fields))
    if (!parsed.success || !checkEvent(parsed.data, nativeEd25519).ok) return undefined
    return parsed.data
  } catch {
    return undefined // no canonical form
  }
}

function insertStatement(db: DatabaseSync): StatementSync {
  return db.prepare(
    `INSERT INTO events (origin, seq, ts, room, user_id, user_name, text, cid, shown, kind, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
}

function insertEvent(insert: StatementSync, e: ChatEvent, shown: boolean): void {
  insert.run(
    e.origin,
    e.seq,
    e.ts,
    e.room,
    e.user.id,
    e.user.name,
    typeof e.text === 'string' ? e.text : '',
    e.cid,
    shown ? 1 : 0,
    e.kind,
    canonical(e),
  )
}

/** The event a row's `body` holds (every row has one from schema 4 on). */
function eventOf(row: { body: string }): ChatEvent {
  return JSON.parse(row.body) as ChatEvent
}

export class Store {
  readonly identity: NodeIdentity
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
  readonly #sendsAfter: StatementSync

  /** Opens (creating when missing) the log in `dir`. */
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true })
    this.#db = new DatabaseSync(join(dir, DB_FILE))
    this.#db.exec('PRAGMA journal_mode = WAL')
    this.#db.exec('PRAGMA synchronous = FULL')
    this.#db.exec('PRAGMA busy_timeout = 5000')
    this.#migrate()
    this.identity = this.#loadIdentity()

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

    this.#insert = insertStatement(this.#db)
    this.#byId = this.#db.prepare('SELECT body FROM events WHERE origin = ? AND seq = ?')
    this.#byCid = this.#db.prepare(
      `SELECT body FROM events WHERE user_id = ? AND cid = ?
       ORDER BY shown DESC, ts, origin LIMIT 1`,
    )
    this.#cidTaken = this.#db.prepare('SELECT 1 FROM events WHERE user_id = ? AND cid = ? LIMIT 1')
    // `kind` is bound twice: null for events of every kind, or the one kind a page holds.
    this.#latest = this.#db.prepare(
      `SELECT body, ts, origin FROM events
       WHERE room = ? AND shown = 1 AND (? IS NULL OR kind = ?)
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    this.#before = this.#db.prepare(
      `SELECT body, ts, origin FROM events
       WHERE room = ? AND shown = 1 AND (? IS NULL OR kind = ?)
         AND (ts < ? OR (ts = ? AND origin < ?))
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    this.#originAfter = this.#db.prepare(
      `SELECT body, ts, origin FROM events WHERE room = ? AND origin = ? AND seq > ? AND shown = 1
       ORDER BY seq DESC LIMIT ?`,
    )
    this.#range = this.#db.prepare(
      'SELECT body FROM events WHERE origin = ? AND seq >= ? AND seq <= ? ORDER BY seq',
    )
    this.#sendsAfter = this.#db.prepare(
      `SELECT origin, seq, user_id, cid FROM events WHERE (origin, seq) > (?, ?)
       ORDER BY origin, seq LIMIT ?`,
    )
  }

  get nodeId(): string {
    return this.identity.id
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
      for (const migration of MIGRATIONS.slice(version)) runMigration(this.#db, migration)
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
      this.#db.exec('COMMIT')
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
  }

  #loadIdentity(): NodeIdentity {
    const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(SECRET_KEY_META) as
      { value: string } | undefined
    const secretKey = row && decodeBase64url(row.value, SECRET_KEY_BYTES)
    if (!secretKey) throw new Error(`the store's ${SECRET_KEY_META} is missing or damaged`)
    return nodeIdentity(secretKey)
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
   * Writes `events` in one transaction; returns once it is committed to disk, with the indices
   * of the events stored as not shown (a later copy of a (user, cid) this store already held).
   * Each event must be its origin's next seq (the caller orders them); on any error nothing is
   * written. The node calls this in its writer thread (store-worker.ts), never on its event loop.
   */
  append(events: readonly ChatEvent[]): number[] {
    const hidden: number[] = []
    if (events.length === 0) return hidden
    this.#db.exec('BEGIN')
    try {
      events.forEach((e, i) => {
        // Inside the transaction, so an earlier copy in this very batch counts too.
        const shown = this.#cidTaken.get(e.user.id, e.cid) === undefined
        if (!shown) hidden.push(i)
        insertEvent(this.#insert, e, shown)
      })
      this.#db.exec('COMMIT')
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
    this.recordCommitted(events)
    return hidden
  }

  /**
   * Counts `events` as held: called with each commit, by the writer itself or, on the event
   * loop, when the writer thread reports one. Until then, queries leave those events out, so a
   * backlog never holds an event that has not been fanned out yet (it would come twice).
   */
  recordCommitted(events: readonly ChatEvent[]): void {
    for (const e of events) {
      this.#vector.set(e.origin, e.seq)
      if (e.ts > this.#maxTs) this.#maxTs = e.ts
    }
    this.#count += events.length
  }

  /** The event a row holds, unless another connection committed it and it is not counted yet. */
  #held(row: { body: string }): ChatEvent | undefined {
    const event = eventOf(row)
    return event.seq <= this.seqOf(event.origin) ? event : undefined
  }

  get(origin: string, seq: number): ChatEvent | undefined {
    const row = this.#byId.get(origin, seq) as { body: string } | undefined
    return row && this.#held(row)
  }

  /** The event a user sent with this cid, the shown one when there are several (idempotent send). */
  findByCid(userId: string, cid: string): ChatEvent | undefined {
    const row = this.#byCid.get(userId, cid) as { body: string } | undefined
    return row && this.#held(row)
  }

  /**
   * The (user.id, cid) of up to `limit` events after `after` in (origin, seq) order, with the
   * key to pass as `after` for the next page: `EventLog` reads every send this way, a page per
   * turn, into its filter of sends held.
   */
  sendsPage(after: EventKey | undefined, limit: number): { sends: Send[]; last?: EventKey } {
    const rows = this.#sendsAfter.all(after?.origin ?? '', after?.seq ?? 0, limit) as unknown as {
      origin: string
      seq: number
      user_id: string
      cid: string
    }[]
    const last = rows.at(-1)
    return {
      sends: rows.map((row) => ({ userId: row.user_id, cid: row.cid })),
      ...(last ? { last: { origin: last.origin, seq: last.seq } } : {}),
    }
  }

  /** The events of one origin with seq in [from, to], in seq order. */
  range(origin: string, from: number, to: number): ChatEvent[] {
    const rows = this.#range.all(origin, from, Math.min(to, this.seqOf(origin)))
    return (rows as unknown as { body: string }[]).map(eventOf)
  }

  /**
   * The newest `limit` events of a room, oldest first; with `kind`, only events of that kind
   * count and are returned (a `history` page holds messages, and `limit` of them).
   */
  latest(room: string, limit: number, kind?: string): Page {
    const only = kind ?? null
    return this.#page(limit, (fetch) => [this.#latest.all(room, only, only, fetch)])
  }

  /** The `limit` events of a room just older than `before` (of `kind` only), oldest first. */
  before(room: string, before: ChatEvent, limit: number, kind?: string): Page {
    const only = kind ?? null
    return this.#page(limit, (fetch) => [
      this.#before.all(room, only, only, before.ts, before.ts, before.origin, fetch),
    ])
  }

  /**
   * The events of a room that `since` does not cover, oldest first; past `limit`, the newest
   * `limit` of them with `more` set.
   */
  missing(room: string, since: ReadonlyMap<string, number>, limit: number): Page {
    // A client may name up to 1024 origins; only those this store holds can need a query.
    const known = [...since.keys()].filter((origin) => this.#vector.has(origin))
    const others = this.#db.prepare(
      `SELECT body, ts, origin FROM events
       WHERE room = ? AND shown = 1 AND origin NOT IN (${known.map(() => '?').join(',')})
       ORDER BY ts DESC, origin DESC LIMIT ?`,
    )
    return this.#page(limit, (fetch) => [
      ...known.map((origin) => this.#originAfter.all(room, origin, since.get(origin) ?? 0, fetch)),
      others.all(room, ...known, fetch),
    ])
  }

  /**
   * A page oldest first of the newest `limit` rows `query` finds (it returns lists of rows,
   * each newest first and `fetch` long at most). Events the writer committed but that are
   * not counted yet are left out (they reach clients live), and as many more rows fetched, so
   * that the page is still full and `more` still tells whether older events exist.
   */
  #page(limit: number, query: (fetch: number) => unknown[][]): Page {
    for (let fetch = limit + 1; ;) {
      const lists = query(fetch) as PageRow[][]
      const rows = lists.flat()
      if (lists.length > 1) rows.sort(newestFirst)
      const held = rows.flatMap((row) => this.#held(row) ?? [])
      const exhausted = lists.every((list) => list.length < fetch)
      if (held.length > limit || exhausted || held.length === rows.length) {
        return { events: held.slice(0, limit).reverse(), more: held.length > limit || !exhausted }
      }
      fetch += rows.length - held.length
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}

/** A row of a page query: the event and its display order. */
interface PageRow {
  body: string
  ts: number
  origin: string
}

/** Display order, newest first: ts, then origin. */
function newestFirst(a: PageRow, b: PageRow): number {
  return b.ts - a.ts || (a.origin < b.origin ? 1 : a.origin > b.origin ? -1 : 0)
}
