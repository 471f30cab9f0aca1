import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { testIdentity, wireEvent } from '../../../test/support/fake-peer.ts'
import { encodeKey, generateSecretKey, userIdFromKey } from '../../shared/keys.ts'
import { checkEvent, MESSAGE_KIND, signAsUser } from '../../shared/signatures.ts'
import { HybridClock, MAX_CLOCK_AHEAD_MS } from './clock.ts'
import { EventLog, type EventLogOptions, LogFullError } from './event-log.ts'
import { nativeEd25519 } from './signing-native.ts'
import { Store, type ChatEvent } from './store.ts'
import { StoreWriter } from './store-writer.ts'

let dir: string
const opened: Store[] = []
const writers: StoreWriter[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'palaver-event-log-'))
})

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(writers.splice(0).map((writer) => writer.close()))
  for (const store of opened.splice(0)) store.close()
  rmSync(dir, { recursive: true, force: true })
})

const ada = { id: 'user_ada1', name: 'Ada' }
const bob = { id: 'user_bob1', name: 'Bob' }
const remoteNode = testIdentity()
const REMOTE = remoteNode.id

/**
 * A log on a real store in the test's directory, written by a real writer thread, recording what
 * it reports; `failNextCommit` makes the next commit fail with `error` (as a full disk would).
 */
function setup(options: { clock?: HybridClock; maxUncommittedEvents?: number } = {}) {
  const store = new Store(dir)
  opened.push(store)
  const writer = new StoreWriter(dir)
  writers.push(writer)
  let failure: Error | undefined
  const committed: ChatEvent[][] = []
  const timed: number[] = []
  const failed: unknown[] = []
  const logOptions: EventLogOptions = {
    store,
    writer: {
      append: (events) => {
        const error = failure
        failure = undefined
        return error ? Promise.reject(error) : writer.append(events)
      },
    },
    ...(options.maxUncommittedEvents ? { maxUncommittedEvents: options.maxUncommittedEvents } : {}),
    clock: options.clock ?? new HybridClock(undefined, store.maxTs),
    onCommitted: (events) => committed.push([...events]),
    onCommitTimed: (seconds) => timed.push(seconds),
    onCommitFailed: (error) => failed.push(error),
  }
  const failNextCommit = (error: Error) => {
    failure = error
  }
  return { store, writer, log: new EventLog(logOptions), committed, timed, failed, failNextCommit }
}

/** Event `seq` of REMOTE, signed by it; `fields` change it before it is signed. */
function remote(seq: number, ts: number, fields: Record<string, unknown> = {}): ChatEvent {
  return wireEvent(remoteNode, seq, 'general', `remote ${seq}`, {
    ts,
    user: bob,
    cid: `r${seq}`,
    ...fields,
  })
}

describe('EventLog.send', () => {
  it("refuses a keyed user's message without a usig, and a keyless user's with one", async () => {
    const { store, log } = setup()
    const keyed = { ...ada, key: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }
    await expect(log.send('general', keyed, 'unsigned', 'c1')).rejects.toThrow(/usig/)
    await expect(log.send('general', ada, 'signed', 'c2', 'a-usig')).rejects.toThrow(/usig/)
    expect(store.count).toBe(0)
    // Neither took a seq: the next message is 1.
    expect((await log.send('general', keyed, 'signed', 'c3', 'a-usig')).seq).toBe(1)
  })

  it('answers a resend with a peer’s copy of the same send that waits in the batch', async () => {
    const { store, log, committed } = setup()
    // A peer relays bob's message r1; before it is committed, bob resends it here.
    expect(log.accept(remote(1, 1_000, { cid: 'same' }))).toBe('accepted')
    const acked = await log.send('general', bob, 'remote 1', 'same')
    expect(acked).toEqual(remote(1, 1_000, { cid: 'same' }))
    expect(store.count).toBe(1)
    expect(committed.flat()).toEqual([acked])
  })

  it('numbers local events 1, 2, 3… with strictly increasing ts', async () => {
    // A wall clock that stands still: the ts must still increase.
    const { store, log } = setup({ clock: new HybridClock(() => 1_000_000) })
    const first = await log.send('general', ada, 'one', 'c1')
    const rest = await Promise.all([
      log.send('general', ada, 'two', 'c2'),
      log.send('other', bob, 'three', 'c3'),
      log.send('general', ada, 'four', 'c4'),
    ])
    const events = [first, ...rest]
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(events.every((e) => e.origin === store.nodeId)).toBe(true)
    for (let i = 1; i < events.length; i++) {
      expect(events[i]?.ts).toBeGreaterThan(events[i - 1]?.ts as number)
    }
    expect(first).toEqual(
      store.identity.sign({
        kind: MESSAGE_KIND,
        origin: store.nodeId,
        seq: 1,
        ts: 1_000_000,
        room: 'general',
        user: ada,
        text: 'one',
        cid: 'c1',
      }),
    )
    expect(log.nodeId).toBe(store.nodeId)
    expect(store.range(store.nodeId, 1, 10)).toEqual(events)
  })

  it('resolves only once the event is in the store', async () => {
    const { store, log, committed } = setup()
    const sent = log.send('general', ada, 'hi', 'c1')
    expect(store.vector()).toEqual({})
    expect(log.acceptedSeq(store.nodeId)).toBe(1)
    const seen = await sent.then((event) => ({
      event,
      vector: store.vector(),
      count: store.count,
      stored: store.get(event.origin, event.seq),
      committed: committed.length,
    }))
    expect(seen.vector).toEqual({ [store.nodeId]: 1 })
    expect(seen.count).toBe(1)
    expect(seen.stored).toEqual(seen.event)
    expect(seen.committed).toBe(1)
  })

  it('signs each event with the node key, a keyed user’s usig inside, so any node can check it', async () => {
    const { log } = setup()
    const userSigner = nativeEd25519.signer(generateSecretKey())
    const cat = {
      id: userIdFromKey(userSigner.publicKey),
      name: 'Cat',
      key: encodeKey(userSigner.publicKey),
    }
    const usig = signAsUser(userSigner, {
      kind: MESSAGE_KIND,
      room: 'general',
      cid: 'k1',
      text: 'signed',
      user: cat,
    })
    const keyed = await log.send('general', cat, 'signed', 'k1', usig)
    expect(keyed).toMatchObject({ user: cat, usig })
    const keyless = await log.send('general', ada, 'unsigned user', 'c1')
    expect(keyless).not.toHaveProperty('usig')
    for (const event of [keyed, keyless]) {
      expect(checkEvent(event, nativeEd25519)).toEqual({ ok: true })
      expect(checkEvent({ ...event, text: 'changed' }, nativeEd25519)).toEqual({
        ok: false,
        reason: 'sig',
      })
    }
  })

  it('copies the user, keeping only its id and name', async () => {
    const { log } = setup()
    const user = { ...ada, avatar: 'x.png' }
    const event = await log.send('general', user, 'hi', 'c1')
    user.name = 'changed'
    expect(event.user).toEqual(ada)
  })

  it('commits the sends of one turn in one batch', async () => {
    const { store, log, committed, timed } = setup()
    const sends = Array.from({ length: 25 }, (_, i) => log.send('general', ada, `m${i}`, `c${i}`))
    expect(committed).toHaveLength(0)
    const events = await Promise.all(sends)
    expect(committed).toHaveLength(1)
    expect(timed).toHaveLength(1)
    expect(timed[0]).toBeGreaterThanOrEqual(0)
    expect(committed[0]).toEqual(events)
    expect(store.count).toBe(25)

    // The next turn is a new batch.
    await Promise.all([log.send('general', ada, 'x', 'x1'), log.send('general', ada, 'y', 'y1')])
    expect(committed.map((batch) => batch.length)).toEqual([25, 2])
    expect(timed).toHaveLength(2)
  })

  it('includes sends made after awaits within the same turn', async () => {
    const { log, committed } = setup()
    const sends = [log.send('general', ada, 'a', 'c1')]
    await Promise.resolve()
    sends.push(log.send('general', ada, 'b', 'c2'))
    await Promise.resolve()
    sends.push(log.send('general', ada, 'c', 'c3'))
    await Promise.all(sends)
    expect(committed.map((batch) => batch.length)).toEqual([3])
  })

  it('gathers what is written while a commit is on disk into the next commit', async () => {
    const { log, committed } = setup()
    const first = log.send('general', ada, 'first', 'c0')
    // The first batch goes to the writer on the next turn; these wait for its commit.
    await new Promise((resolve) => setImmediate(resolve))
    const more = Array.from({ length: 30 }, (_, i) =>
      log.send('general', ada, `m${i}`, `c${i + 1}`),
    )
    const events = await Promise.all([first, ...more])
    expect(committed.map((batch) => batch.length)).toEqual([1, 30])
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1))
  })

  it('refuses sends and defers peers’ events while MAX_UNCOMMITTED_EVENTS wait', async () => {
    const { store, log } = setup({ maxUncommittedEvents: 3 })
    const sends = [1, 2, 3].map((i) => log.send('general', ada, `m${i}`, `c${i}`))
    await expect(log.send('general', ada, 'one too many', 'c4')).rejects.toThrow(LogFullError)
    expect(log.accept(remote(1, 100))).toBe('deferred')
    expect(log.acceptedSeq(REMOTE)).toBe(0)
    await Promise.all(sends)
    // Committed: room again, and the refused send goes through with the next seq.
    expect((await log.send('general', ada, 'one too many', 'c4')).seq).toBe(4)
    expect(log.accept(remote(1, 100))).toBe('accepted')
    await log.flush()
    expect(store.vector()).toEqual({ [store.nodeId]: 4, [REMOTE]: 1 })
  })
})

describe('EventLog.send: idempotence', () => {
  it('a resend while the first is pending resolves to the same event', async () => {
    const { store, log, committed } = setup()
    const first = log.send('general', ada, 'hi', 'c1')
    const again = log.send('general', ada, 'hi (resent)', 'c1')
    const [a, b] = await Promise.all([first, again])
    expect(b).toEqual(a)
    expect(a.text).toBe('hi')
    expect(store.count).toBe(1)
    expect(committed.flat()).toHaveLength(1)
  })

  it('a resend after the commit resolves to the stored event and writes nothing', async () => {
    const { store, log, committed } = setup()
    const first = await log.send('general', ada, 'hi', 'c1')
    const again = await log.send('other', { ...ada, name: 'Ada 2' }, 'different', 'c1')
    expect(again).toEqual(first)
    expect(store.count).toBe(1)
    expect(committed).toHaveLength(1)
    // The resend took no seq: the next new send is 2.
    expect((await log.send('general', ada, 'next', 'c2')).seq).toBe(2)
  })

  it('a resend to a new log on the reopened store resolves to the first event', async () => {
    const before = setup()
    const first = await before.log.send('general', ada, 'hi', 'c1')
    before.store.close()

    const after = setup()
    expect(after.store.nodeId).toBe(before.store.nodeId)
    const again = await after.log.send('general', ada, 'hi', 'c1')
    expect(again).toEqual(first)
    expect(after.store.count).toBe(1)
    expect(after.committed).toHaveLength(0)
    const next = await after.log.send('general', ada, 'next', 'c2')
    expect(next.seq).toBe(2)
    expect(next.ts).toBeGreaterThan(first.ts)
  })

  it('the same cid from another user is a new event', async () => {
    const { store, log } = setup()
    const [a, b] = await Promise.all([
      log.send('general', ada, 'hi', 'c1'),
      log.send('general', bob, 'hi', 'c1'),
    ])
    const c = await log.send('general', { id: 'user_cat1', name: 'Cat' }, 'hi', 'c1')
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3])
    expect(store.count).toBe(3)
    expect(store.findByCid(bob.id, 'c1')).toEqual(b)
  })

  it('a resend of a cid first accepted from another origin resolves to that event', async () => {
    const { store, log } = setup()
    log.accept(remote(1, 500, { user: ada, cid: 'c1' }))
    await log.flush()
    const event = await log.send('general', ada, 'hi', 'c1')
    expect(event).toEqual(remote(1, 500, { user: ada, cid: 'c1' }))
    expect(store.seqOf(store.nodeId)).toBe(0)
  })
})

describe('EventLog.accept', () => {
  it('accepts only the next seq of an origin, and commits it with the next batch', async () => {
    const { store, log, committed } = setup()
    expect(log.accept(remote(1, 100))).toBe('accepted')
    expect(log.acceptedSeq(REMOTE)).toBe(1)
    expect(store.seqOf(REMOTE)).toBe(0)
    // While pending, the same seq is already held.
    expect(log.accept(remote(1, 100))).toBe('duplicate')
    expect(log.accept(remote(2, 200))).toBe('accepted')
    expect(log.accept(remote(4, 400))).toBe('early')
    expect(store.count).toBe(0)

    await vi.waitFor(() => expect(committed).toHaveLength(1))
    expect(committed[0]).toEqual([remote(1, 100), remote(2, 200)])
    expect(store.vector()).toEqual({ [REMOTE]: 2 })
    expect(store.count).toBe(2)

    expect(log.accept(remote(1, 100))).toBe('duplicate')
    expect(log.accept(remote(2, 200))).toBe('duplicate')
    expect(log.accept(remote(4, 400))).toBe('early')
    expect(store.get(REMOTE, 4)).toBeUndefined()
    expect(log.accept(remote(3, 300))).toBe('accepted')
    expect(log.accept(remote(4, 400))).toBe('accepted')
    await log.flush()
    expect(store.vector()).toEqual({ [REMOTE]: 4 })
    expect(committed.map((batch) => batch.map((e) => e.seq))).toEqual([
      [1, 2],
      [3, 4],
    ])
  })

  it('stores nothing of an early event, even after a flush', async () => {
    const { store, log, committed } = setup()
    expect(log.accept(remote(2, 200))).toBe('early')
    expect(log.acceptedSeq(REMOTE)).toBe(0)
    await log.flush()
    expect(store.count).toBe(0)
    expect(committed).toHaveLength(0)
  })

  it('knows what the store held before it was opened', async () => {
    const first = setup()
    first.log.accept(remote(1, 100))
    await first.log.flush()
    await first.writer.close()
    first.store.close()
    const { log } = setup()
    expect(log.acceptedSeq(REMOTE)).toBe(1)
    expect(log.accept(remote(1, 100))).toBe('duplicate')
    expect(log.accept(remote(3, 300))).toBe('early')
    expect(log.accept(remote(2, 200))).toBe('accepted')
  })

  it('treats a local event coming back from the mesh as a duplicate', async () => {
    const { store, log } = setup()
    const mine = await log.send('general', ada, 'hi', 'c1')
    expect(log.accept(mine)).toBe('duplicate')
    const pending = log.send('general', ada, 'again', 'c2')
    expect(log.accept({ ...mine, seq: 2 })).toBe('duplicate')
    await pending
    expect(store.count).toBe(2)
  })

  it('commits local and remote events of one turn together, in order', async () => {
    const { store, log, committed } = setup({ clock: new HybridClock(() => 1_000) })
    const sent = log.send('general', ada, 'mine', 'c1')
    log.accept(remote(1, 50))
    const sent2 = log.send('general', ada, 'mine 2', 'c2')
    await Promise.all([sent, sent2])
    expect(committed).toHaveLength(1)
    expect(committed[0]?.map((e) => `${e.origin}:${e.seq}`)).toEqual([
      `${store.nodeId}:1`,
      `${REMOTE}:1`,
      `${store.nodeId}:2`,
    ])
  })

  it('pushes the clock past the accepted event, so a later send is newer', async () => {
    const { log } = setup({ clock: new HybridClock(() => 1_000) })
    const ahead = 1_000 + (MAX_CLOCK_AHEAD_MS - 1) * 1000 // just within the bound
    expect(log.accept(remote(1, ahead))).toBe('accepted')
    const event = await log.send('general', ada, 'reply', 'c1')
    expect(event.ts).toBeGreaterThan(ahead)
  })

  it('stores an event too far ahead of the clock, but the clock does not follow it', async () => {
    const { log, store } = setup({ clock: new HybridClock(() => 1_000) })
    expect(log.accept(remote(1, Number.MAX_SAFE_INTEGER))).toBe('accepted')
    const event = await log.send('general', ada, 'reply', 'c1')
    expect(event.ts).toBe(1_000)
    expect(store.get(REMOTE, 1)?.ts).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('does not push the clock for a duplicate or an early event', async () => {
    const { log } = setup({ clock: new HybridClock(() => 1_000) })
    log.accept(remote(1, 2_000))
    await log.flush()
    expect(log.accept(remote(1, 9_000_000))).toBe('duplicate')
    expect(log.accept(remote(5, 9_000_000))).toBe('early')
    const event = await log.send('general', ada, 'hi', 'c1')
    expect(event.ts).toBe(2_001)
  })
})

describe('EventLog: a failed commit', () => {
  it('rejects the waiting sends, reports the error, and takes the same seqs again', async () => {
    const { store, log, committed, failed, failNextCommit } = setup()
    const first = await log.send('general', ada, 'ok', 'c0')
    const error = new Error('disk full')
    failNextCommit(error)

    const doomed = [log.send('general', ada, 'a', 'c1'), log.send('general', bob, 'b', 'c2')]
    const results = await Promise.allSettled(doomed)
    expect(results).toEqual([
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
    ])
    expect(failed).toEqual([error])
    expect(committed).toHaveLength(1)
    expect(store.vector()).toEqual({ [store.nodeId]: 1 })
    expect(store.count).toBe(1)
    expect(log.acceptedSeq(store.nodeId)).toBe(1)

    // No gap in the local seq: the next sends take 2 and 3 again.
    const next = await log.send('general', ada, 'retry', 'c3')
    expect(next.seq).toBe(2)
    expect(next.ts).toBeGreaterThan(first.ts)
    expect((await log.send('general', ada, 'more', 'c4')).seq).toBe(3)
    expect(store.vector()).toEqual({ [store.nodeId]: 3 })
    expect(committed).toHaveLength(3)
  })

  it('lets a failed send be resent with the same cid', async () => {
    const { store, log, failNextCommit } = setup()
    failNextCommit(new Error('disk full'))
    await expect(log.send('general', ada, 'hi', 'c1')).rejects.toThrow('disk full')
    const again = await log.send('general', ada, 'hi', 'c1')
    expect(again.seq).toBe(1)
    expect(store.findByCid(ada.id, 'c1')).toEqual(again)
  })

  it('drops accepted remote events, which are then accepted again', async () => {
    const { store, log, failed, failNextCommit } = setup()
    failNextCommit(new Error('disk full'))
    expect(log.accept(remote(1, 100))).toBe('accepted')
    expect(log.accept(remote(2, 200))).toBe('accepted')
    await log.flush()
    expect(failed).toHaveLength(1)
    expect(store.count).toBe(0)
    expect(log.acceptedSeq(REMOTE)).toBe(0)
    expect(log.accept(remote(2, 200))).toBe('early')
    expect(log.accept(remote(1, 100))).toBe('accepted')
    await log.flush()
    expect(store.vector()).toEqual({ [REMOTE]: 1 })
  })

  it('rejects the waiting sends when the writer was closed', async () => {
    const { log, writer, committed, failed } = setup()
    const sent = log.send('general', ada, 'hi', 'c1')
    await writer.close()
    await expect(sent).rejects.toThrow()
    expect(failed).toHaveLength(1)
    expect(committed).toHaveLength(0)
    const reopened = new Store(dir)
    opened.push(reopened)
    expect(reopened.count).toBe(0)
  })
})
