/**
 * The chaos run's checker and schedule on their own, with hand-made histories: each check finds
 * what it is for and stays quiet on a clean run, so that a green chaos run means something.
 */
import { describe, expect, it } from 'vitest'
import type { ChatMessage } from '../src/shared/protocol.ts'
import {
  type Ack,
  type CheckInput,
  checkChaos,
  type Delivery,
  type NodeHistory,
  readersComplete,
  type ReaderSession,
} from './support/chaos-check.ts'
import { countByKind, FAULT_KINDS, fullMesh, makeSchedule, ring } from './support/chaos-schedule.ts'

/**
 * Event `seq` of origin `o`, written by `user` with `cid` (by default one cid per event). Not
 * signed: the checker goes by ids, seqs and cids, and the nodes checked signatures before.
 */
function event(o: string, seq: number, cid = `${o}${seq}`, user = 'writer-1'): ChatMessage {
  return {
    room: 'chaos',
    id: `${o}:${seq}`,
    origin: o,
    seq,
    ts: seq * 1000 + o.charCodeAt(0),
    user: { id: user, name: 'W' },
    text: `text ${cid}`,
    cid,
    key: '',
    sig: '',
  }
}

const deliver = (e: ChatMessage): Delivery => ({
  id: e.id,
  origin: e.origin,
  seq: e.seq,
  userId: e.user.id,
  cid: e.cid,
})

/** A node holding `events`, whose history pages show the first of each (user.id, cid). */
function history(node: string, events: ChatMessage[]): NodeHistory {
  const vector: Record<string, number> = {}
  for (const e of events) vector[e.origin] = Math.max(vector[e.origin] ?? 0, e.seq)
  const sends = new Map<string, ChatMessage>()
  for (const e of events)
    if (!sends.has(`${e.user.id}/${e.cid}`)) sends.set(`${e.user.id}/${e.cid}`, e)
  return { node, events, shown: [...sends.values()], vector, count: events.length }
}

const A1 = event('a', 1)
const A2 = event('a', 2)
const A3 = event('a', 3)
const B1 = event('b', 1)
const ALL = [A1, B1, A2, A3]
const acks: Ack[] = ALL.map((e) => ({ userId: e.user.id, cid: e.cid, id: e.id }))
const session = (deliveries: ChatMessage[], since = {}): ReaderSession => ({
  node: 'n',
  since,
  truncated: false,
  deliveries: deliveries.map(deliver),
})

/** A clean run of two nodes and one reader, with `change` applied. */
function run(change: Partial<CheckInput> = {}): CheckInput {
  return {
    histories: [history('N0', ALL), history('N1', ALL)],
    acks,
    readers: [{ name: 'r', sessions: [session(ALL)] }],
    convergenceMs: 800,
    convergenceLimitMs: 5_000,
    incidents: [],
    ...change,
  }
}

describe('the chaos checker', () => {
  it('finds nothing wrong with a clean run', () => {
    const { violations, figures } = checkChaos(run())
    expect(violations).toEqual([])
    expect(figures).toMatchObject({ events: 4, acked: 4, lost: 0, sessions: 1 })
  })

  it('finds an acked message one node lacks, and says the nodes differ', () => {
    const { violations, figures } = checkChaos(
      run({ histories: [history('N0', ALL), history('N1', [A1, B1, A2])] }),
    )
    expect(figures.lost).toBe(1)
    expect(violations.join('\n')).toMatch(/lost.*a:3 not on N1/)
    expect(violations.join('\n')).toMatch(/N1 lacks a:3/)
  })

  it('finds an event stored twice, and a history that disagrees with /health', () => {
    const twice = { ...history('N1', ALL), events: [...ALL, A2] }
    const { violations, figures } = checkChaos(run({ histories: [history('N0', ALL), twice] }))
    expect(figures.storedTwice).toBe(1)
    expect(violations.join('\n')).toMatch(/holds twice.*a:2 on N1/)
    expect(violations.join('\n')).toMatch(/disagree with the node's \/health/)
  })

  it('counts a resend two nodes accepted, but not one node accepting it twice', () => {
    const resent = event('b', 2, 'a3') // b took the resend of a:3's cid
    const fine = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, resent])),
        readers: [{ name: 'r', sessions: [session([...ALL])] }],
      }),
    )
    expect(fine.figures.cidDuplicates).toBe(1)
    expect(fine.violations).toEqual([])

    // Its history pages must show one of the two copies, not both.
    const both = { ...history('N1', [...ALL, resent]), shown: [...ALL, resent] }
    const shownTwice = checkChaos(
      run({ histories: [history('N0', [...ALL, resent]), both], readers: [] }),
    )
    expect(shownTwice.violations.join('\n')).toMatch(/show a \(user.id, cid\) twice.*b:2 on N1/)

    const again = event('a', 4, 'a3')
    const bad = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, again])),
        readers: [{ name: 'r', sessions: [session([...ALL, again])] }],
      }),
    )
    expect(bad.violations.join('\n')).toMatch(/one node accepted twice/)
    // And a session that got both copies breaks guarantee 4.
    expect(bad.figures.cidRepeatDeliveries).toBe(1)
  })

  it('finds a session given what its since covered, or an event twice', () => {
    const resumed = session([A2, A3], { a: 2 })
    const { violations, figures } = checkChaos(
      run({
        readers: [{ name: 'r', sessions: [session([A1, B1, A2]), resumed] }],
      }),
    )
    expect(figures.repeatedDeliveries).toBe(1)
    expect(violations.join('\n')).toMatch(/a:2 though since had a:2/)

    const twice = checkChaos(run({ readers: [{ name: 'r', sessions: [session([...ALL, A3])] }] }))
    expect(twice.violations.join('\n')).toMatch(/a:3 twice/)
  })

  it('finds events out of order and holes, but a left-out cid-duplicate is no hole', () => {
    const swapped = checkChaos(
      run({ readers: [{ name: 'r', sessions: [session([A1, B1, A3, A2])] }] }),
    )
    expect(swapped.figures.outOfOrder).toBe(1)
    expect(swapped.figures.holes).toBe(1) // a:2 was not there when a:3 came

    const hole = checkChaos(run({ readers: [{ name: 'r', sessions: [session([A1, B1, A3])] }] }))
    expect(hole.violations.join('\n')).toMatch(/a:2 missing before a:3/)

    // b:2 repeats a:2's cid: a node may leave it out for a session that got a:2.
    const dup = event('b', 2, 'a2')
    const skipped = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, dup])),
        readers: [{ name: 'r', sessions: [session(ALL)] }],
      }),
    )
    expect(skipped.violations).toEqual([])

    // Nor when the reader got a:2 in an earlier session, and its last one resumed past it.
    const resumedPast = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, dup])),
        readers: [{ name: 'r', sessions: [session([A1, B1, A2]), session([A3], { a: 2, b: 1 })] }],
      }),
    )
    expect(resumedPast.violations).toEqual([])
    // Nor a hole in a later session's live traffic where b:2 would have been.
    const b3 = event('b', 3)
    const liveGap = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, dup, b3])),
        readers: [
          {
            name: 'r',
            sessions: [session([A1, B1, A2]), session([A3, b3], { a: 2, b: 1 })],
          },
        ],
      }),
    )
    expect(liveGap.violations).toEqual([])
    // But b:2 is missing for a reader that never got a:2 in any session.
    const never = checkChaos(
      run({
        histories: ['N0', 'N1'].map((n) => history(n, [...ALL, dup])),
        readers: [{ name: 'r', sessions: [session([A1, B1]), session([A3], { a: 2, b: 1 })] }],
      }),
    )
    expect(never.violations.join('\n')).toMatch(/never got b:2/)
  })

  it('finds a reader that never got everything, and waits for readers until they have', () => {
    const behind = { name: 'r', sessions: [session([A1, B1, A2])] }
    const { violations } = checkChaos(run({ readers: [behind] }))
    expect(violations.join('\n')).toMatch(/never got a:3/)
    expect(readersComplete([behind], [history('N0', ALL)])).toBe(false)
    expect(readersComplete([{ name: 'r', sessions: [session(ALL)] }], [history('N0', ALL)])).toBe(
      true,
    )
  })

  it('finds a slow or missing convergence, and reports incidents as they are', () => {
    expect(checkChaos(run({ convergenceMs: 9_000 })).violations).toEqual([
      'vectors equal only 9000 ms after the heal (limit 5000 ms)',
    ])
    expect(checkChaos(run({ convergenceMs: undefined })).violations).toEqual([
      'vectors never became equal after the heal',
    ])
    expect(checkChaos(run({ incidents: ['N1 exited by itself'] })).violations).toEqual([
      'N1 exited by itself',
    ])
  })
})

describe('the chaos schedule', () => {
  const options = { readers: 3, faults: 16, durationMs: 25_000, pauseMs: 21_000 }

  it('is the same for the same seed and has every kind of fault', () => {
    for (const topology of [fullMesh(3), ring(5)]) {
      for (const seed of [1, 2, 3, 224964377]) {
        const a = makeSchedule({ ...options, topology, seed })
        expect(makeSchedule({ ...options, topology, seed })).toEqual(a)
        expect(a).toHaveLength(options.faults)
        const counts = countByKind(a)
        for (const kind of FAULT_KINDS) expect(counts[kind]).toBeGreaterThan(0)
      }
    }
  })

  it('never has two faults on one node or link at once, nor too many nodes down', () => {
    const topology = ring(5)
    const schedule = makeSchedule({ ...options, topology, faults: 60, durationMs: 60_000, seed: 7 })
    const busy = (f: (typeof schedule)[number]) =>
      f.kind === 'kill' || f.kind === 'pause'
        ? [`node ${f.node}`]
        : f.kind === 'partition'
          ? f.links.map((l) => `link ${l}`)
          : f.kind === 'hop'
            ? []
            : [`link ${f.link}`]
    for (const [i, f] of schedule.entries()) {
      const during = schedule.filter(
        (g, j) => j < i && g.atMs + g.durationMs + (g.kind === 'kill' ? 3_000 : 0) > f.atMs,
      )
      for (const thing of busy(f)) expect(during.flatMap(busy)).not.toContain(thing)
      const down = during.filter((g) => g.kind === 'kill' || g.kind === 'pause').length
      expect(down).toBeLessThanOrEqual(3)
    }
  })
})
