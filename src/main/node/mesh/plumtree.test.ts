/**
 * The tree's state machine on its own, with a clock the test moves: which links are eager for
 * which origin, what a duplicate, a prune and a graft change, how announcements are batched,
 * and when what was announced and did not come is grafted, from whom.
 */
import { describe, expect, it } from 'vitest'
import { MAX_WANT_SEQS } from '../../../shared/peer-protocol.ts'
import {
  DUPLICATES_TO_PRUNE,
  MAX_ANNOUNCERS,
  MAX_LAZY_ORIGINS_PER_LINK,
  MAX_MISSING_ORIGINS,
  Plumtree,
  type TreeAction,
} from './plumtree.ts'

const SETTINGS = { ihaveIntervalMs: 100, graftTimeoutMs: 500, ihaveMaxOrigins: 3 }

function tree() {
  const clock = { now: 1_000 }
  const held = new Map<string, number>()
  const t = new Plumtree<string>(SETTINGS, () => clock.now)
  const due = (): TreeAction<string>[] => t.due((origin) => held.get(origin) ?? 0)
  /** A link to a peer that speaks the tree, lazy for `origins`. */
  const lazyLink = (link: string, ...origins: string[]) => {
    t.linkUp(link, true)
    for (const origin of origins) t.pruned(link, origin)
  }
  return { t, clock, held, due, lazyLink }
}

describe('Plumtree: eager and lazy links, per origin', () => {
  it('starts a link eager; duplicates in a row make it lazy for that origin only, once', () => {
    const { t } = tree()
    t.linkUp('a', true)
    t.linkUp('b', true)
    expect(t.isEager('a', 'o1')).toBe(true)
    expect(DUPLICATES_TO_PRUNE).toBe(2)
    t.received('b', 'o1', 1)
    expect(t.duplicate('a', 'o1')).toBe(false) // one may be a race
    t.received('b', 'o1', 2)
    expect(t.duplicate('a', 'o1')).toBe(true) // two in a row: send prune
    expect(t.isEager('a', 'o1')).toBe(false)
    expect(t.isEager('a', 'o2')).toBe(true) // another origin's tree is its own
    expect(t.duplicate('a', 'o1')).toBe(false) // lazy already: no second prune
    expect(t.lazyCount).toBe(1)
  })

  it('counts duplicates in a row only: a first copy over the link starts again', () => {
    const { t } = tree()
    t.linkUp('a', true)
    t.linkUp('b', true)
    t.received('b', 'o1', 1)
    expect(t.duplicate('a', 'o1')).toBe(false)
    t.received('a', 'o1', 2) // a was first this time
    t.received('b', 'o1', 3)
    expect(t.duplicate('a', 'o1')).toBe(false)
    expect(t.isEager('a', 'o1')).toBe(true)
  })

  it('keeps a link to a peer that does not speak tree eager, whatever comes', () => {
    const { t, clock, due } = tree()
    t.linkUp('old', false)
    expect(t.duplicate('old', 'o1')).toBe(false)
    t.pruned('old', 'o1')
    expect(t.isEager('old', 'o1')).toBe(true)
    t.announce('old', 'o1', 1)
    clock.now += 1_000
    expect(due()).toEqual([]) // nothing is ever announced to it
  })

  it('makes a link eager again for an origin on a graft either way, not on a new event it brought', () => {
    const { t, lazyLink } = tree()
    lazyLink('a', 'o1')
    lazyLink('b', 'o1', 'o2')
    t.grafted('a', 'o1')
    expect(t.isEager('a', 'o1')).toBe(true)
    expect(t.isEager('a', 'o2')).toBe(true)
    t.received('b', 'o1', 1) // a catch-up stream, say
    expect(t.isEager('b', 'o1')).toBe(false)
  })

  it('counts a duplicate only when another eager link brought the first copy', () => {
    const { t, lazyLink } = tree()
    t.linkUp('parent', true)
    t.linkUp('other', true)
    lazyLink('stale', 'o1')
    /** `link` brings DUPLICATES_TO_PRUNE duplicates; whether that prunes it. */
    const prunedBy = (link: string, origin = 'o1') => {
      let pruned = false
      for (let i = 0; i < DUPLICATES_TO_PRUNE; i++) pruned = t.duplicate(link, origin)
      return pruned
    }
    // The first copy over a lazy link (a push sent before it heard of its prune): the copy from
    // the eager link is the tree's, and that link stays.
    t.received('stale', 'o1', 1)
    expect(prunedBy('parent')).toBe(false)
    // The first copy over the same link, then again (a catch-up stream): it stays too.
    t.received('parent', 'o1', 2)
    expect(prunedBy('parent')).toBe(false)
    // The first copy over an eager link, more over another: that one goes.
    expect(prunedBy('other')).toBe(true)
    expect(t.isEager('parent', 'o1')).toBe(true)
    // This node's own events come back only as duplicates: any eager link bringing them goes.
    expect(prunedBy('parent', 'self')).toBe(true)
  })

  it('is lazy for at most MAX_LAZY_ORIGINS_PER_LINK origins per link, eager for the rest', () => {
    const { t } = tree()
    t.linkUp('a', true)
    for (let i = 0; i < MAX_LAZY_ORIGINS_PER_LINK; i++) t.pruned('a', `o${i}`)
    expect(t.duplicate('a', 'one-more')).toBe(false)
    expect(t.isEager('a', 'one-more')).toBe(true)
    expect(t.lazyCount).toBe(MAX_LAZY_ORIGINS_PER_LINK)
  })
})

describe('Plumtree: announcements', () => {
  it('batches what a lazy link lacks, the highest seq per origin, for ihaveIntervalMs', () => {
    const { t, clock, due, lazyLink } = tree()
    lazyLink('a', 'o1', 'o2')
    t.announce('a', 'o1', 1)
    t.announce('a', 'o1', 2)
    t.announce('a', 'o2', 7)
    expect(due()).toEqual([])
    expect(t.nextDue()).toBe(1_100)
    clock.now = 1_100
    expect(due()).toEqual([
      {
        type: 'ihave',
        link: 'a',
        vector: new Map([
          ['o1', 2],
          ['o2', 7],
        ]),
      },
    ])
    expect(due()).toEqual([]) // sent once
    expect(t.nextDue()).toBeUndefined()
  })

  it('sends a batch at once when it names ihaveMaxOrigins origins', () => {
    const { t, due, lazyLink } = tree()
    lazyLink('a', 'o1', 'o2', 'o3')
    for (const origin of ['o1', 'o2', 'o3']) t.announce('a', origin, 1)
    expect(due().map((a) => a.type)).toEqual(['ihave'])
  })

  it('announces nothing of an origin a link is eager for (its events are pushed there)', () => {
    const { t, clock, due, lazyLink } = tree()
    lazyLink('a', 'o2')
    t.announce('a', 'o1', 1)
    clock.now += 1_000
    expect(due()).toEqual([])
  })
})

describe('Plumtree: grafts', () => {
  it('grafts what was announced and did not come within graftTimeoutMs, from the first announcer', () => {
    const { t, clock, held, due, lazyLink } = tree()
    lazyLink('a', 'o1')
    lazyLink('b', 'o1')
    held.set('o1', 3)
    t.announced('a', [['o1', 5]], (o) => held.get(o) ?? 0)
    t.announced('b', [['o1', 6]], (o) => held.get(o) ?? 0)
    clock.now += 499
    expect(due()).toEqual([])
    clock.now += 1
    expect(due()).toEqual([{ type: 'graft', link: 'a', origin: 'o1', from: 4, to: 6 }])
    expect(t.isEager('a', 'o1')).toBe(true) // a graft puts the link on the origin's tree
    expect(t.isEager('b', 'o1')).toBe(false)
    // Still missing after as long again: the next announcer.
    clock.now += 500
    expect(due()).toEqual([{ type: 'graft', link: 'b', origin: 'o1', from: 4, to: 6 }])
    clock.now += 500
    expect(due()).toEqual([]) // every announcer was asked: the periodic sync repairs
    expect(t.nextDue()).toBeUndefined()
  })

  it('grafts nothing when the tree brings the event in time, or when what was announced is held', () => {
    const { t, clock, held, due } = tree()
    t.linkUp('a', true)
    t.linkUp('b', true)
    t.announced('a', [['o1', 2]], () => 0)
    t.announced('a', [['o2', 1]], () => 0)
    t.announced('a', [['o3', 4]], () => 4)
    t.received('b', 'o1', 2)
    held.set('o2', 1) // came through want or sync
    clock.now += 10_000
    expect(due()).toEqual([])
  })

  it('asks at most MAX_WANT_SEQS in one graft', () => {
    const { t, clock, due } = tree()
    t.linkUp('a', true)
    t.announced('a', [['o1', 5 * MAX_WANT_SEQS]], () => 0)
    clock.now += 500
    expect(due()).toEqual([{ type: 'graft', link: 'a', origin: 'o1', from: 1, to: MAX_WANT_SEQS }])
  })

  it('forgets an announcer whose link went down', () => {
    const { t, clock, due } = tree()
    t.linkUp('a', true)
    t.linkUp('b', true)
    t.announced('a', [['o1', 1]], () => 0)
    t.announced('b', [['o1', 1]], () => 0)
    t.linkDown('a')
    clock.now += 500
    expect(due()).toEqual([{ type: 'graft', link: 'b', origin: 'o1', from: 1, to: 1 }])
  })

  it('awaits at most MAX_MISSING_ORIGINS origins and MAX_ANNOUNCERS announcers of each', () => {
    const { t, clock, due } = tree()
    const links = Array.from({ length: MAX_ANNOUNCERS + 2 }, (_, i) => `l${i}`)
    for (const l of links) t.linkUp(l, true)
    const many = Array.from({ length: MAX_MISSING_ORIGINS + 50 }, (_, i) => [`o${i}`, 1] as const)
    t.announced('l0', many, () => 0)
    for (const l of links.slice(1)) t.announced(l, [['o0', 1]], () => 0)
    let grafts = 0
    let fromO0 = 0
    for (let round = 0; round < links.length + 1; round++) {
      clock.now += 500
      for (const action of due()) {
        if (action.type !== 'graft') continue
        grafts++
        if (action.origin === 'o0') fromO0++
      }
    }
    expect(fromO0).toBe(MAX_ANNOUNCERS)
    expect(grafts).toBe(MAX_MISSING_ORIGINS - 1 + MAX_ANNOUNCERS)
  })
})
