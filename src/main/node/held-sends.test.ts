import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HeldSends, type SendsSource } from './held-sends.ts'
import type { Send } from './store.ts'

/** A source that pages through `sends` as `Store.sendsPage` does, counting its reads. */
function pagedSource(sends: Send[]): { source: SendsSource; reads: () => number } {
  let reads = 0
  const source: SendsSource = (after, limit) => {
    reads++
    const from = after ? after.seq : 0
    const page = sends.slice(from, from + limit)
    return {
      sends: page,
      ...(page.length > 0 ? { last: { origin: 'o', seq: from + page.length } } : {}),
    }
  }
  return { source, reads: () => reads }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('HeldSends', () => {
  it('never says "absent" for a pair it was given', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 200 }), (pairs) => {
        const held = new HeldSends(1024)
        held.fill(pagedSource([]).source)
        for (const [userId, cid] of pairs) held.add(userId, cid)
        for (const [userId, cid] of pairs) expect(held.mayHold(userId, cid)).toBe(true)
      }),
    )
  })

  it('says "maybe" to everything until it has read the whole store', async () => {
    const stored = Array.from({ length: 25 }, (_, i) => ({ userId: `user_u${i}`, cid: `c${i}` }))
    const { source, reads } = pagedSource(stored)
    const held = new HeldSends()
    held.fill(source, 10)
    expect(held.filled).toBe(false)
    expect(held.mayHold('user_new', 'never sent')).toBe(true)
    // A page per turn: the event loop is never held for the whole store.
    expect(reads()).toBe(1)
    await turn()
    expect(reads()).toBe(2)
    await turn()
    expect(held.filled).toBe(true)
    expect(reads()).toBe(3)
    for (const { userId, cid } of stored) expect(held.mayHold(userId, cid)).toBe(true)
    expect(held.mayHold('user_new', 'never sent')).toBe(false)
  })

  it('answers "absent" for nearly every new pair of a store of 100,000 sends', () => {
    const held = new HeldSends()
    held.fill(pagedSource([]).source)
    for (let i = 0; i < 100_000; i++) held.add(`user_${i % 300}`, `cid-${i}`)
    let maybe = 0
    for (let i = 0; i < 100_000; i++) if (held.mayHold(`user_${i % 300}`, `new-${i}`)) maybe++
    expect(maybe).toBeLessThan(100) // under 0.1 %
  })

  it('keeps answering "maybe" when reading the store fails', () => {
    const held = new HeldSends()
    held.fill(() => {
      throw new Error('the store is closed')
    })
    expect(held.filled).toBe(false)
    expect(held.mayHold('user_a', 'c1')).toBe(true)
  })

  it('takes only a power of two of at least 32 bits', () => {
    expect(() => new HeldSends(1000)).toThrow(RangeError)
    expect(() => new HeldSends(16)).toThrow(RangeError)
  })
})
