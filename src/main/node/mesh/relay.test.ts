/**
 * The relay over a real store and event log, with a stand-in for the link: what it answers to
 * `want`, how it keeps early events and skewed clocks, that an error closes only the link, and
 * how it pushes, announces, prunes and grafts along the tree with peers that speak it (and not
 * with those that do not).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { testIdentity, wireEvent } from '../../../../test/support/fake-peer.ts'
import {
  FEATURE_TREE,
  MAX_WANT_SEQS,
  type PeerFrame,
  peerFrameSchema,
} from '../../../shared/peer-protocol.ts'
import type { EventRefusal } from '../../../shared/signatures.ts'
import { HybridClock } from '../clock.ts'
import { EventLog } from '../event-log.ts'
import { silentLogger } from '../logger.ts'
import { NodeMetrics } from '../metrics.ts'
import type { NodeIdentity } from '../node-identity.ts'
import { checkEventInPool } from '../signing-native.ts'
import { type ChatEvent, Store } from '../store.ts'
import { StoreWriter } from '../store-writer.ts'
import { EARLY_MAX_EVENTS_PER_LINK } from './early-events.ts'
import { FrameDecoder } from './framing.ts'
import type { PeerLink } from './link.ts'
import { MAX_EVENTS_IN_CHECK_PER_LINK, MAX_QUEUED_WANTS, Relay } from './relay.ts'

const origin = testIdentity()
const ORIGIN = origin.id
const WALL = 1_700_000_000_000_000

/** Stands in for a PeerLink: keeps what the relay writes; takes `budget` frames per drain. */
class FakeLink {
  state: 'up' | 'closed' = 'up'
  readonly remote = { id: testIdentity().id, name: 'Peer', url: 'ws://127.0.0.1:1/' }
  readonly remoteFeatures: ReadonlySet<string>
  readonly frames: PeerFrame[] = []
  closedWith: string | undefined
  /** Whether the relay stopped reading from this link, and how often it did. */
  paused = false
  pauses = 0
  budget = Infinity
  #sinceDrain = 0
  #waiters: (() => void)[] = []

  /** A peer that speaks the tree with `tree`; an older node without. */
  constructor({ tree = false } = {}) {
    this.remoteFeatures = new Set(tree ? [FEATURE_TREE] : [])
  }

  pauseReading(): void {
    this.paused = true
    this.pauses++
  }

  resumeReading(): void {
    this.paused = false
  }

  send(frame: Buffer): void {
    const decoder = new FrameDecoder()
    decoder.push(frame)
    this.frames.push(peerFrameSchema.parse(decoder.read()))
    this.#sinceDrain++
  }

  get writable(): boolean {
    return this.#sinceDrain < this.budget
  }

  drained(): Promise<void> {
    if (this.writable) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** The socket's buffer emptied: the relay may write `budget` more. */
  drain(): void {
    this.#sinceDrain = 0
    for (const waiter of this.#waiters.splice(0)) waiter()
  }

  close(reason: string): void {
    this.state = 'closed'
    this.closedWith = reason
    this.drain()
  }

  /** The frames of one type this link was sent. */
  sent<T extends PeerFrame['type']>(type: T): Extract<PeerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<PeerFrame, { type: T }> => f.type === type)
  }

  seqs(origin = ORIGIN): number[] {
    return this.frames.flatMap((f) =>
      f.type === 'event' && f.event.origin === origin ? [f.event.seq] : [],
    )
  }

  get asLink(): PeerLink {
    return this as unknown as PeerLink
  }
}

let dir: string
let store: Store
let writer: StoreWriter

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'palaver-relay-'))
  store = new Store(dir)
  writer = new StoreWriter(dir)
})
afterEach(async () => {
  await writer.close()
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Event `seq` of `keys`'s node (ORIGIN by default), signed by it; `fields` change it first. */
function ev(
  seq: number,
  fields: Record<string, unknown> = {},
  keys: NodeIdentity = origin,
): ChatEvent {
  return wireEvent(keys, seq, 'general', `t${seq}`, {
    ts: WALL + seq,
    user: { id: 'user_ada1', name: 'Ada' },
    cid: `c${seq}`,
    ...fields,
  })
}

/** The tree's timings in these tests: short, so that a test waits milliseconds. */
const TREE = { ihaveIntervalMs: 5, graftTimeoutMs: 30, ihaveMaxOrigins: 256 }

/** A relay whose store holds `held` events of ORIGIN, and a synced link that holds them too. */
function setup(held = 0) {
  store.append(Array.from({ length: held }, (_, i) => ev(i + 1)))
  const clock = new HybridClock(() => WALL, store.maxTs)
  const metrics = new NodeMetrics()
  const log = new EventLog({ store, writer, clock, onCommitted: () => {} })
  const refused: { event: ChatEvent; reason: EventRefusal }[] = []
  // The real check, on the thread pool; `checked` waits until every event given so far is taken.
  let inCheck: Promise<unknown> = Promise.resolve()
  const check = (event: ChatEvent) => {
    const result = checkEventInPool(event)
    inCheck = Promise.all([inCheck, result])
    return result
  }
  const checked = async () => {
    await inCheck
    await new Promise((resolve) => setImmediate(resolve))
  }
  const relay = new Relay({
    log,
    store,
    clock,
    sink: { logger: silentLogger, metrics },
    onEventSent: () => {},
    check,
    onRefused: (_, event, reason) => refused.push({ event, reason }),
    tree: TREE,
  })
  const link = new FakeLink()
  relay.linkUp(link.asLink)
  relay.onSync(link.asLink, store.vector())
  /** Another link, synced: to a peer that speaks the tree unless `tree` is false. */
  const another = ({ tree = true } = {}) => {
    const l = new FakeLink({ tree })
    relay.linkUp(l.asLink)
    relay.onSync(l.asLink, store.vector())
    return l
  }
  return { relay, link, log, clock, metrics, refused, another, checked }
}

/** Lets the relay's pumps run until they wait on the link. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

describe('Relay: want', () => {
  it('answers exactly the seqs asked for, not the history after them', async () => {
    const { relay, link } = setup(50)
    relay.onWant(link.asLink, { type: 'want', origin: ORIGIN, from: 1, to: 1 })
    relay.onWant(link.asLink, { type: 'want', origin: ORIGIN, from: 10, to: 12 })
    await settle()
    expect(link.seqs()).toEqual([1, 10, 11, 12])
  })

  it('answers at most MAX_WANT_SEQS of a longer range, and only seqs it holds', async () => {
    const { relay, link } = setup(MAX_WANT_SEQS + 100)
    relay.onWant(link.asLink, { type: 'want', origin: ORIGIN, from: 1, to: 1_000_000 })
    relay.onWant(link.asLink, {
      type: 'want',
      origin: ORIGIN,
      from: MAX_WANT_SEQS + 90,
      to: MAX_WANT_SEQS + 200,
    })
    relay.onWant(link.asLink, { type: 'want', origin: 'nobody001', from: 1, to: 5 })
    for (let i = 0; i < 5; i++) await settle()
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i)
    expect(link.seqs()).toEqual([
      ...range(1, MAX_WANT_SEQS),
      ...range(MAX_WANT_SEQS + 90, MAX_WANT_SEQS + 100),
    ])
  })

  it('writes no faster than the link drains, and queues at most MAX_QUEUED_WANTS', async () => {
    const { relay, link } = setup(10)
    link.budget = 1
    link.drain() // the sync sent at link up is out
    for (let i = 0; i < MAX_QUEUED_WANTS + 5; i++)
      relay.onWant(link.asLink, { type: 'want', origin: ORIGIN, from: 1, to: 1 })
    await settle()
    expect(link.seqs()).toHaveLength(1)
    for (let i = 0; i < MAX_QUEUED_WANTS + 5; i++) {
      link.drain()
      await settle()
    }
    expect(link.seqs()).toHaveLength(MAX_QUEUED_WANTS)
  })

  it('closes only the link when answering fails, and counts the error', async () => {
    const { relay, link, metrics } = setup(10)
    store.close() // every read throws from now on
    relay.onWant(link.asLink, { type: 'want', origin: ORIGIN, from: 1, to: 1 })
    await settle()
    expect(link.closedWith).toBe('internal error while answering')
    const counted = (await metrics.internalErrors.get()).values.find(
      (v) => v.labels.scope === 'link',
    )
    expect(counted?.value).toBe(1)
  })
})

describe('Relay: clocks', () => {
  it('stores an event far ahead of the clock without following it, and reports the skew', async () => {
    const { relay, link, clock, log, checked } = setup(0)
    relay.onEvent(link.asLink, ev(1, { ts: Number.MAX_SAFE_INTEGER }))
    await checked()
    expect(relay.skewMs(ORIGIN)).toBe(Math.round((Number.MAX_SAFE_INTEGER - WALL) / 1000))
    expect(clock.now()).toBe(WALL)
    relay.onEvent(link.asLink, ev(2, { ts: WALL + 60_000_000 })) // a minute ahead: fine
    await checked()
    expect(relay.skewMs(ORIGIN)).toBeUndefined()
    await log.flush()
    expect(store.range(ORIGIN, 1, 2).map((e) => e.ts)).toEqual([
      Number.MAX_SAFE_INTEGER,
      WALL + 60_000_000,
    ])
  })
})

describe('Relay: early events', () => {
  it('keeps at most EARLY_MAX_EVENTS_PER_LINK from a link and forgets them when it goes', async () => {
    const { relay, link, metrics, checked } = setup(0)
    for (let i = 0; i < EARLY_MAX_EVENTS_PER_LINK + 50; i++)
      relay.onEvent(link.asLink, ev(5, {}, testIdentity()))
    await checked()
    expect((await metrics.earlyEvents.get()).values[0]?.value).toBe(EARLY_MAX_EVENTS_PER_LINK)
    // Each kept one asked for its hole, once.
    expect(link.frames.filter((f) => f.type === 'want')).toHaveLength(EARLY_MAX_EVENTS_PER_LINK)
    relay.linkDown(link.asLink)
    expect((await metrics.earlyEvents.get()).values[0]?.value).toBe(0)
    expect((await metrics.earlyEventBytes.get()).values[0]?.value).toBe(0)
  })

  it('takes kept events once the hole below them is filled', async () => {
    const { relay, link, log, checked } = setup(0)
    relay.onEvent(link.asLink, ev(3))
    relay.onEvent(link.asLink, ev(2))
    await checked()
    expect(log.acceptedSeq(ORIGIN)).toBe(0)
    relay.onEvent(link.asLink, ev(1))
    await checked()
    expect(log.acceptedSeq(ORIGIN)).toBe(3)
    await log.flush()
    expect(store.vector()).toEqual({ [ORIGIN]: 3 })
  })
})

describe('Relay: verification', () => {
  it('drops an event whose signatures do not hold, keeps none early, and takes the real one', async () => {
    const { relay, link, log, metrics, refused, checked } = setup(0)
    const mallory = testIdentity()
    const real = ev(1)
    // ORIGIN's next event with other text: signed by another key, or by ORIGIN before the change.
    const forgeries = [
      ev(1, { origin: ORIGIN, text: 'forged' }, mallory),
      { ...real, text: 'forged' },
      // Kept aside if it were believed: an early one is checked before it is kept.
      { ...ev(3), text: 'forged' },
    ]
    for (const forged of forgeries) relay.onEvent(link.asLink, forged)
    await checked()
    expect(refused.map((r) => r.reason)).toEqual(['origin_key', 'sig', 'sig'])
    expect(log.acceptedSeq(ORIGIN)).toBe(0)
    expect((await metrics.earlyEvents.get()).values[0]?.value).toBe(0)
    expect(link.frames.filter((f) => f.type === 'want')).toEqual([])

    relay.onEvent(link.asLink, real)
    await checked()
    expect(log.acceptedSeq(ORIGIN)).toBe(1)
    await log.flush()
    expect(store.get(ORIGIN, 1)).toEqual(real)
    expect(refused).toHaveLength(3)
  })

  it('drops a copy of a seq it holds unchecked, and a newer event under its own id', async () => {
    const { relay, link, log, refused, checked } = setup(2)
    relay.onEvent(link.asLink, { ...ev(2), text: 'forged' })
    // Signed with this node's key, yet not made by it: its seqs are its own to give.
    relay.onEvent(link.asLink, wireEvent(store.identity, 1, 'general'))
    await checked()
    await log.flush()
    expect(refused).toEqual([])
    expect(store.get(ORIGIN, 2)?.text).toBe('t2')
    expect(log.acceptedSeq(store.nodeId)).toBe(0)
    expect(store.vector()).toEqual({ [ORIGIN]: 2 })
  })
})

describe('Relay: events in verification', () => {
  it('takes them in the order they came, and stops reading a link that brings too many', async () => {
    const { relay, link, log, checked } = setup(0)
    const events = Array.from({ length: MAX_EVENTS_IN_CHECK_PER_LINK + 10 }, (_, i) => ev(i + 1))
    for (const event of events) relay.onEvent(link.asLink, event)
    expect(link.paused).toBe(true)
    expect(log.acceptedSeq(ORIGIN)).toBe(0) // nothing is taken before it is verified
    await checked()
    expect(link.paused).toBe(false)
    expect(link.pauses).toBe(1)
    // In order: no event was early, so none asked for a hole.
    expect(log.acceptedSeq(ORIGIN)).toBe(events.length)
    expect(link.sent('want')).toEqual([])
  })

  it('takes a verified event whose link went meanwhile, and relays it', async () => {
    const ctx = setup(0)
    const b = ctx.another()
    ctx.relay.onEvent(ctx.link.asLink, ev(1))
    ctx.relay.linkDown(ctx.link.asLink)
    await ctx.checked()
    expect(ctx.log.acceptedSeq(ORIGIN)).toBe(1)
    await ctx.log.flush()
    ctx.relay.forward([ev(1)])
    expect(b.seqs()).toEqual([1])
  })
})

describe('Relay: the tree', () => {
  /** ORIGIN's next event, accepted from `from` and committed: the relay forwards it. */
  async function arrives(
    ctx: ReturnType<typeof setup>,
    from: FakeLink,
    seq: number,
  ): Promise<ChatEvent> {
    const event = ev(seq)
    ctx.relay.onEvent(from.asLink, event)
    await ctx.checked()
    await ctx.log.flush()
    ctx.relay.forward([event])
    return event
  }

  it('prunes an eager link that brought duplicates, then announces to it instead of pushing', async () => {
    const ctx = setup(0)
    const [a, b] = [ctx.another(), ctx.another()]
    for (const seq of [1, 2]) {
      await arrives(ctx, a, seq)
      ctx.relay.onEvent(b.asLink, ev(seq)) // b had it from elsewhere too
      await ctx.checked()
    }
    expect(b.seqs()).toEqual([1, 2]) // pushed: every link starts eager
    expect(b.sent('prune')).toEqual([{ type: 'prune', origin: ORIGIN }]) // at the second in a row
    expect(ctx.relay.isEager(b.asLink, ORIGIN)).toBe(false)

    await arrives(ctx, a, 3)
    expect(b.seqs()).toEqual([1, 2])
    await vi.waitFor(() =>
      expect(b.sent('ihave')).toEqual([{ type: 'ihave', vector: { [ORIGIN]: 3 } }]),
    )
    ctx.relay.onEvent(b.asLink, ev(1)) // another duplicate from a lazy link: no second prune
    await ctx.checked()
    expect(b.sent('prune')).toHaveLength(1)
  })

  it('never prunes, nor announces to, a peer that does not speak the tree', async () => {
    const ctx = setup(0)
    const [a, old] = [ctx.another(), ctx.another({ tree: false })]
    await arrives(ctx, a, 1)
    ctx.relay.onEvent(old.asLink, ev(1))
    await ctx.checked()
    await arrives(ctx, a, 2)
    expect(old.seqs()).toEqual([1, 2])
    expect(old.frames.map((f) => f.type)).not.toContain('prune')
    expect(old.frames.map((f) => f.type)).not.toContain('ihave')
  })

  it('grafts an announced event that the tree did not bring, and takes it from the answer', async () => {
    const ctx = setup(0)
    const a = ctx.another()
    ctx.relay.onIhave(a.asLink, { type: 'ihave', vector: { [ORIGIN]: 3 } })
    await vi.waitFor(() =>
      expect(a.sent('graft')).toEqual([{ type: 'graft', origin: ORIGIN, from: 1, to: 3 }]),
    )
    expect(ctx.relay.isEager(a.asLink, ORIGIN)).toBe(true)
    for (const seq of [1, 2, 3]) ctx.relay.onEvent(a.asLink, ev(seq))
    await ctx.checked()
    expect(ctx.log.acceptedSeq(ORIGIN)).toBe(3)
  })

  it('grafts nothing when the tree brings the announced event in time', async () => {
    const ctx = setup(1)
    const [a, b] = [ctx.another(), ctx.another()]
    ctx.relay.onIhave(b.asLink, { type: 'ihave', vector: { [ORIGIN]: 2 } })
    await arrives(ctx, a, 2)
    await new Promise((r) => setTimeout(r, 3 * TREE.graftTimeoutMs))
    expect([...a.sent('graft'), ...b.sent('graft')]).toEqual([])
    // b said it holds it: it is neither pushed nor announced to b.
    expect(b.seqs()).toEqual([])
    expect(b.sent('ihave')).toEqual([])
  })

  it('answers a graft with the seqs asked for, then pushes the next event, not a stream again', async () => {
    const ctx = setup(3)
    const a = ctx.another()
    const b = ctx.another()
    ctx.relay.onPrune(b.asLink, { type: 'prune', origin: ORIGIN })
    ctx.relay.onGraft(b.asLink, { type: 'graft', origin: ORIGIN, from: 2, to: 3 })
    await settle()
    expect(b.seqs()).toEqual([2, 3])
    expect(ctx.relay.isEager(b.asLink, ORIGIN)).toBe(true)
    await arrives(ctx, a, 4)
    await settle()
    expect(b.seqs()).toEqual([2, 3, 4])
  })

  it('takes a prune only for an origin it holds (made-up origins would grow its state)', () => {
    const ctx = setup(1)
    const a = ctx.another()
    const stranger = testIdentity().id
    ctx.relay.onPrune(a.asLink, { type: 'prune', origin: stranger })
    ctx.relay.onPrune(a.asLink, { type: 'prune', origin: ORIGIN })
    expect(ctx.relay.isEager(a.asLink, stranger)).toBe(true)
    expect(ctx.relay.isEager(a.asLink, ORIGIN)).toBe(false)
  })

  it('does not remember what a peer announces of origins this node has never held', async () => {
    const ctx = setup(0)
    const [a, c] = [ctx.another(), ctx.another()]
    // Made-up origins would grow what the relay keeps per link without bound: a peer's
    // announcements count as what it holds only for origins this node holds.
    const unknown = Object.fromEntries(
      Array.from({ length: 100 }, () => [testIdentity().id, 1_000_000]),
    )
    ctx.relay.onIhave(a.asLink, { type: 'ihave', vector: { ...unknown, [ORIGIN]: 5 } })
    await arrives(ctx, c, 1)
    expect(a.seqs()).toEqual([1]) // pushed: ORIGIN was not held when a announced it
    ctx.relay.onIhave(a.asLink, { type: 'ihave', vector: { [ORIGIN]: 5 } })
    await arrives(ctx, c, 2)
    expect(a.seqs()).toEqual([1]) // held now: a's word counts
  })
})
