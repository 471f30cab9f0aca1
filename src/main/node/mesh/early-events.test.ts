import { describe, expect, it } from 'vitest'
import { testIdentity, wireEvent } from '../../../../test/support/fake-peer.ts'
import type { ChatEvent } from '../store.ts'
import {
  EARLY_MAX_BYTES_PER_LINK,
  EARLY_MAX_EVENTS_PER_LINK,
  EARLY_MAX_EVENTS_PER_ORIGIN,
  EARLY_TTL_MS,
  EarlyEvents,
  eventBytes,
} from './early-events.ts'

const signer = testIdentity()

/**
 * Event `seq` of `origin`. Signed by one key whatever the origin: the relay checks an event before
 * it keeps one, and what is kept here is only counted.
 */
function ev(origin: string, seq: number, text = `text ${seq}`): ChatEvent {
  const user = { id: 'user_ada1', name: 'Ada' }
  return wireEvent(signer, seq, 'general', text, { origin, ts: 1_000 + seq, user, cid: `c${seq}` })
}

/** Kept events on a clock the test moves by hand. */
function early() {
  const clock = { now: 1_000_000 }
  return { early: new EarlyEvents(() => clock.now), clock }
}

const linkA = {}
const linkB = {}

describe('EarlyEvents', () => {
  it('keeps an event once and gives it back once', () => {
    const { early: kept } = early()
    expect(kept.keep(ev('nodea001', 3), linkA)).toBe(true)
    expect(kept.keep(ev('nodea001', 3), linkB)).toBe(false)
    expect(kept.count).toBe(1)
    expect(kept.take('nodea001', 3)).toMatchObject({ origin: 'nodea001', seq: 3 })
    expect(kept.take('nodea001', 3)).toBeUndefined()
    expect(kept.count).toBe(0)
    expect(kept.bytes).toBe(0)
  })

  it('keeps at most EARLY_MAX_EVENTS_PER_LINK from one link, and others from another', () => {
    const { early: kept } = early()
    let taken = 0
    for (let i = 0; i < EARLY_MAX_EVENTS_PER_LINK + 10; i++)
      if (kept.keep(ev(`node${i}aaaa`, 5), linkA)) taken++
    expect(taken).toBe(EARLY_MAX_EVENTS_PER_LINK)
    expect(kept.keep(ev('nodeb001', 5), linkB)).toBe(true)
  })

  it('keeps at most EARLY_MAX_BYTES_PER_LINK from one link', () => {
    const { early: kept } = early()
    const big = (seq: number) => ev(`node${seq}aaaa`, 5, 'x'.repeat(4_000))
    let taken = 0
    for (let seq = 0; seq < EARLY_MAX_EVENTS_PER_LINK; seq++)
      if (kept.keep(big(seq), linkA)) taken++
    expect(kept.bytes).toBeLessThanOrEqual(EARLY_MAX_BYTES_PER_LINK)
    expect(taken).toBe(Math.floor(EARLY_MAX_BYTES_PER_LINK / eventBytes(big(0))))
  })

  it('keeps at most EARLY_MAX_EVENTS_PER_ORIGIN of one origin, across links', () => {
    const { early: kept } = early()
    let taken = 0
    for (let seq = 2; seq < EARLY_MAX_EVENTS_PER_ORIGIN + 12; seq++)
      if (kept.keep(ev('nodea001', seq), seq % 2 ? linkA : linkB)) taken++
    expect(taken).toBe(EARLY_MAX_EVENTS_PER_ORIGIN)
    expect(kept.keep(ev('nodeb001', 2), linkA)).toBe(true)
  })

  it('forgets an origin’s events up to a seq', () => {
    const { early: kept } = early()
    for (const seq of [3, 4, 6]) kept.keep(ev('nodea001', seq), linkA)
    kept.keep(ev('nodeb001', 3), linkA)
    kept.dropThrough('nodea001', 4)
    expect(kept.count).toBe(2)
    expect(kept.take('nodea001', 6)).toBeDefined()
    expect(kept.take('nodeb001', 3)).toBeDefined()
  })

  it('forgets what a link brought when it closes, and frees its share', () => {
    const { early: kept } = early()
    for (let i = 0; i < EARLY_MAX_EVENTS_PER_LINK; i++) kept.keep(ev(`node${i}aaaa`, 5), linkA)
    kept.keep(ev('nodeb001', 5), linkB)
    kept.dropVia(linkA)
    expect(kept.count).toBe(1)
    expect(kept.keep(ev('nodec001', 5), linkA)).toBe(true)
  })

  it('forgets what was kept longer than EARLY_TTL_MS', () => {
    const { early: kept, clock } = early()
    kept.keep(ev('nodea001', 3), linkA)
    clock.now += EARLY_TTL_MS / 2
    kept.keep(ev('nodea001', 4), linkA)
    clock.now += EARLY_TTL_MS / 2
    kept.expire()
    expect(kept.count).toBe(2)
    clock.now += 1
    kept.expire()
    expect(kept.count).toBe(1)
    expect(kept.take('nodea001', 4)).toBeDefined()
  })
})
