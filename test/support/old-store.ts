/**
 * Writes a store as an older Palaver left it: the schema of `version` (the first `version`
 * entries of the store's own MIGRATIONS), a node id, and events in the columns every version has
 * (and, from version 3 on, whether clients were shown each). For tests that a store of any
 * version opens and keeps every message.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { DB_FILE, MIGRATIONS, runMigration } from '../../src/main/node/store.ts'

/** The first version whose rows say whether clients are shown them (`shown`). */
const SHOWN_SINCE_VERSION = 3

/** An event row as every schema version holds it; `ts` may be a bigint past 2^53. */
export interface OldEventRow {
  origin: string
  seq: number
  ts: number | bigint
  room: string
  userId: string
  userName: string
  text: string
  cid: string
  /**
   * From version 3 on: false for a later copy of a send (user id and cid) that the node stored
   * after another and hides from clients. Shown by default.
   */
  shown?: boolean
}

export function writeOldStore(
  dataDir: string,
  version: number,
  nodeId: string,
  events: readonly OldEventRow[],
): void {
  if (version < 1 || version >= MIGRATIONS.length) throw new RangeError(`no old version ${version}`)
  mkdirSync(dataDir, { recursive: true })
  const db = new DatabaseSync(join(dataDir, DB_FILE))
  try {
    for (const migration of MIGRATIONS.slice(0, version)) runMigration(db, migration)
    db.prepare("INSERT INTO meta (key, value) VALUES ('node_id', ?)").run(nodeId)
    const hasShown = version >= SHOWN_SINCE_VERSION
    const insert = db.prepare(
      `INSERT INTO events (origin, seq, ts, room, user_id, user_name, text, cid${hasShown ? ', shown' : ''})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?${hasShown ? ', ?' : ''})`,
    )
    for (const e of events) {
      if (!hasShown && e.shown !== undefined) {
        throw new RangeError(`a store of version ${version} does not say what is shown`)
      }
      const row = [e.origin, e.seq, e.ts, e.room, e.userId, e.userName, e.text, e.cid] as const
      if (hasShown) insert.run(...row, e.shown === false ? 0 : 1)
      else insert.run(...row)
    }
    db.exec(`PRAGMA user_version = ${version}`)
  } finally {
    db.close()
  }
}
