/**
 * The overlay's views on their own, with links, dials and a clock the test plays: which links
 * a node closes past its active view's size and which it never closes, whom it dials and when,
 * what it tells its peers, and how its passive view stays bounded.
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_OVERLAY_DIALS,
  OVERLAY_FAILED_REST_MS,
  OVERLAY_REFUSED_REST_MS,
  Overlay,
  type DialOutcome,
  type OverlayFrame,
} from './overlay.ts'

interface Options {
  active?: number
  passive?: number
  configured?: string[]
  up?: string[]
  excluded?: string[]
}

/** An overlay whose links are the remote ids, and what it did. */
function overlay({
  active = 3,
  passive = 5,
  configured = [],
  up = [],
  excluded = [],
}: Options = {}) {
  const clock = { now: 0 }
  const sent: [string, OverlayFrame][] = []
  const closed: string[] = []
  const dials = new Map<string, (outcome: DialOutcome) => void>()
  const configuredIds = new Set(configured)
  const upIds = new Set(up)
  const o: Overlay<string> = new Overlay<string>({
    activeViewSize: active,
    passiveViewSize: passive,
    ownId: 'self',
    isConfigured: (id) => configuredIds.has(id),
    isExcluded: (id) => excluded.includes(id),
    isUp: (id) => upIds.has(id),
    dial: (addr, onEnd) => {
      dials.set(addr, onEnd)
      return true
    },
    send: (link, frame) => sent.push([link, frame]),
    // A closed link goes down at once, as the mesh's do.
    close: (link) => {
      closed.push(link)
      o.linkDown(link, link)
    },
    now: () => clock.now,
    random: () => 0,
  })
  /** A link to `id` comes up, and `id` says whether it keeps or needs it. */
  const link = (id: string, { keep = false, high = false, openedHere = false } = {}) => {
    o.linkUp(id, id, { speaks: true, openedHere })
    o.onNeighbor(id, id, { keep, priority: high ? 'high' : 'low' })
  }
  const neighborFrames = (id: string) =>
    sent.filter(([l, f]) => l === id && f.type === 'neighbor').map(([, f]) => f)
  return { o, clock, sent, closed, dials, configuredIds, upIds, link, neighborFrames }
}

describe('Overlay: the active view', () => {
  it('closes the newest links neither end holds once past activeViewSize, saying disconnect', () => {
    const { link, closed, sent } = overlay({ active: 2 })
    link('a')
    link('b')
    link('c')
    expect(closed).toEqual(['c'])
    expect(sent).toContainEqual(['c', { type: 'disconnect' }])
  })

  it('never closes a configured peer, a link the peer keeps or needs, nor one of an older node it opened', () => {
    const { o, link, closed } = overlay({ active: 1, configured: ['conf'] })
    link('conf')
    link('kept', { keep: true })
    link('needy', { high: true })
    o.linkUp('old', 'old', { speaks: false, openedHere: false }) // an older node dialled us
    expect(closed).toEqual([])
    // An older node this node dialled for the overlay is closed like any other (no disconnect).
    o.linkUp('old2', 'old2', { speaks: false, openedHere: true })
    expect(closed).toEqual(['old2'])
  })

  it('closes nothing before the peer said whether it keeps the link', () => {
    const { o, link, closed } = overlay({ active: 1 })
    link('a')
    o.linkUp('b', 'b', { speaks: true, openedHere: false })
    expect(closed).toEqual([])
    o.onNeighbor('b', 'b', { keep: false, priority: 'low' })
    expect(closed).toEqual(['b'])
  })

  it('makes room for a node with no other link by closing the newest other one', () => {
    const { link, closed } = overlay({ active: 2 })
    link('a')
    link('b')
    link('lonely', { high: true })
    expect(closed).toEqual(['b'])
  })

  it('tells each peer whether it keeps the link and whether it is its only one, when that changes', () => {
    const { o, link, neighborFrames, configuredIds } = overlay({ active: 3 })
    link('a')
    expect(neighborFrames('a')).toEqual([{ type: 'neighbor', keep: false, priority: 'high' }])
    link('b')
    expect(neighborFrames('a').at(-1)).toEqual({ type: 'neighbor', keep: false, priority: 'low' })
    configuredIds.add('b')
    o.maintain()
    expect(neighborFrames('b').at(-1)).toEqual({ type: 'neighbor', keep: true, priority: 'low' })
    o.maintain()
    expect(neighborFrames('b')).toHaveLength(2) // nothing changed: nothing sent
  })
})

describe('Overlay: the passive view', () => {
  it('never keeps or dials a node removed from the peers, and forgets one on request', () => {
    const { o, dials } = overlay({ active: 0, excluded: ['gone'] })
    o.learn('gone', '10.0.0.9:9080')
    o.learn('kept', '10.0.0.8:9080')
    expect(o.passiveIds()).toEqual(['kept'])
    o.forget('kept')
    expect(o.passiveIds()).toEqual([])
    expect(dials.size).toBe(0)
  })

  it('dials known nodes while the active view has room, those heard from lately first', () => {
    const { o, link, dials, upIds } = overlay({ active: 1 })
    link('busy', { keep: true })
    o.learn('x', 'x:1')
    upIds.add('y')
    o.learn('y', 'y:1')
    expect(dials.size).toBe(0) // no room
    o.linkDown('busy', 'busy')
    expect([...dials.keys()]).toEqual(['y:1'])
  })

  it('dials at most MAX_OVERLAY_DIALS at once', () => {
    const { o, dials } = overlay({ active: 5 })
    for (const id of ['x', 'y', 'z']) o.learn(id, `${id}:1`)
    expect(dials.size).toBe(MAX_OVERLAY_DIALS)
    o.linkUp('x', 'x', { speaks: true, openedHere: true })
    dials.get('x:1')?.({ linkedTo: 'x' })
    expect([...dials.keys()]).toEqual(['x:1', 'y:1', 'z:1']) // z once x's dial ended
  })

  it('does not keep itself, a linked node, a configured peer or a node with no address', () => {
    const { o, link } = overlay({ active: 1, configured: ['conf'] })
    link('linked')
    for (const id of ['self', 'linked', 'conf']) o.learn(id, '10.0.0.9:9080')
    o.learn('nowhere', '')
    expect(o.passiveIds()).toEqual([])
  })

  it('keeps at most passiveViewSize nodes, forgetting the one that failed most', () => {
    const { o, link, dials, clock } = overlay({ active: 1, passive: 3 })
    link('busy') // the active view is full: nothing is dialled
    for (const id of ['p', 'q', 'r']) o.learn(id, `${id}:1`)
    expect(dials.size).toBe(0)
    // q is dialled after busy goes, and fails.
    o.linkDown('busy', 'busy')
    const [addr, end] = [...dials][0] ?? []
    end?.({ error: 'refused' })
    clock.now += 1
    o.learn('s', 's:1')
    expect(o.passiveIds()).toHaveLength(3)
    expect(o.passiveIds()).not.toContain(addr?.split(':')[0])
  })

  it('takes a node whose link failed back, and dials it again only after a rest', () => {
    const { o, link, dials, clock } = overlay({ active: 1 })
    link('a')
    o.learn('a', 'a:1')
    o.linkDown('a', 'a')
    expect(o.passiveIds()).toEqual(['a'])
    expect(dials.size).toBe(0) // resting
    clock.now += OVERLAY_FAILED_REST_MS
    o.maintain()
    expect([...dials.keys()]).toEqual(['a:1'])
  })

  it('lets a node that said disconnect rest for OVERLAY_REFUSED_REST_MS', () => {
    const { o, link, dials, clock } = overlay({ active: 2 })
    o.learn('full', 'full:1')
    const end = dials.get('full:1')
    link('full', { openedHere: true })
    end?.({ linkedTo: 'full' })
    o.onDisconnect('full', 'full')
    o.linkDown('full', 'full')
    dials.clear()
    clock.now += OVERLAY_REFUSED_REST_MS - 1
    o.maintain()
    expect(dials.size).toBe(0)
    clock.now += 1
    o.maintain()
    expect([...dials.keys()]).toEqual(['full:1'])
  })

  it('keeps nothing and dials nothing with a passive view of size 0', () => {
    const { o, link, dials } = overlay({ active: 3, passive: 0 })
    link('a')
    o.learn('x', 'x:1')
    o.linkDown('a', 'a')
    expect(o.passiveIds()).toEqual([])
    expect(dials.size).toBe(0)
  })
})
