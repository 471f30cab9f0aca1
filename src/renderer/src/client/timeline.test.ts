import { describe, expect, it } from 'vitest'
import type { ChatMessage, User } from '../../../shared/protocol.ts'
import { Timeline } from './timeline.ts'

const ann: User = { id: 'ann-00001', name: 'Ann' }
const bob: User = { id: 'bob-00001', name: 'Bob' }

/**
 * A message as a node sends it; `id` is `origin:seq`. The timeline does not check signatures
 * (authenticity.ts does): `key` and `sig` are placeholders.
 */
function msg(
  origin: string,
  seq: number,
  ts: number,
  { user = bob, cid = `${origin}-${seq}`, text = `${origin}:${seq}` } = {},
): ChatMessage {
  const id = `${origin}:${seq}`
  return { room: 'general', id, origin, seq, ts, user, text, cid, key: 'key', sig: 'sig' }
}

const ids = (t: Timeline) => t.messages.map((m) => m.id)
const texts = (t: Timeline) => t.messages.map((m) => m.text)

describe('Timeline order', () => {
  it('orders by ts and puts a late message in place, not at the end', () => {
    const t = new Timeline()
    t.addFromNode([msg('nodea', 1, 100), msg('nodea', 2, 300)])
    t.addFromNode([msg('nodeb', 1, 500)])
    // Written earlier on a node that was cut off; it arrives last.
    const added = t.addFromNode([msg('nodeb', 2, 200)])
    expect(added.map((m) => m.id)).toEqual(['nodeb:2'])
    expect(ids(t)).toEqual(['nodea:1', 'nodeb:2', 'nodea:2', 'nodeb:1'])
  })

  it('orders equal ts by origin, whatever the arrival order', () => {
    const t = new Timeline()
    t.addFromNode([msg('nodec', 1, 100), msg('nodea', 1, 100)])
    t.addFromNode([msg('nodeb', 1, 100)])
    expect(ids(t)).toEqual(['nodea:1', 'nodeb:1', 'nodec:1'])
  })

  it('sorts a batch given newest first', () => {
    const t = new Timeline()
    t.addFromNode([msg('nodea', 3, 30), msg('nodea', 2, 20), msg('nodea', 1, 10)])
    expect(ids(t)).toEqual(['nodea:1', 'nodea:2', 'nodea:3'])
  })

  it('shows a pending send of ours after node messages of the same ts', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'mine', 'c1', 100)
    t.addFromNode([msg('nodea', 1, 100)])
    expect(texts(t)).toEqual(['nodea:1', 'mine'])
  })
})

describe('Timeline dedupe', () => {
  it('keeps one copy per id, in one batch and across batches', () => {
    const t = new Timeline()
    expect(t.addFromNode([msg('nodea', 1, 100), msg('nodea', 1, 100)])).toHaveLength(1)
    const before = t.messages
    expect(t.addFromNode([msg('nodea', 1, 100)])).toEqual([])
    expect(ids(t)).toEqual(['nodea:1'])
    // Nothing changed: the same array, so a UI need not re-render.
    expect(t.messages).toBe(before)
  })

  it('keeps one copy of a send two nodes each accepted (same user and cid, other id)', () => {
    const t = new Timeline()
    const first = msg('nodea', 4, 100, { user: bob, cid: 'same', text: 'hello' })
    const second = msg('nodeb', 9, 150, { user: bob, cid: 'same', text: 'hello' })
    expect(t.addFromNode([first])).toHaveLength(1)
    expect(t.addFromNode([second])).toEqual([])
    expect(ids(t)).toEqual(['nodea:4'])
    // The dropped copy still counts as seen, so a resume does not ask for it again.
    expect(Object.fromEntries(t.vector)).toEqual({ nodea: 4, nodeb: 9 })
    // The same cid from another user is another message.
    t.addFromNode([msg('nodeb', 10, 160, { user: ann, cid: 'same' })])
    expect(ids(t)).toEqual(['nodea:4', 'nodeb:10'])
  })

  it('drops the second copy of a cross-node duplicate also within one batch', () => {
    const t = new Timeline()
    t.addFromNode([
      msg('nodea', 1, 100, { cid: 'x' }),
      msg('nodeb', 1, 90, { cid: 'x' }),
      msg('nodeb', 2, 120),
    ])
    expect(ids(t)).toEqual(['nodea:1', 'nodeb:2'])
  })
})

describe('Timeline pending sends', () => {
  it('replaces a pending message in place by the node copy, keeping its key', () => {
    const t = new Timeline()
    t.addFromNode([msg('nodea', 1, 100), msg('nodea', 2, 400)])
    t.addPending('general', ann, 'mine', 'c1', 300)
    const pending = t.messages.find((m) => m.cid === 'c1')
    expect(pending).toMatchObject({ key: 'cid:c1', state: 'pending', id: null, origin: null })
    expect(t.pending().map((m) => m.cid)).toEqual(['c1'])

    const added = t.addFromNode([msg('nodeb', 1, 200, { user: ann, cid: 'c1', text: 'mine' })])
    expect(added.map((m) => m.id)).toEqual(['nodeb:1'])
    expect(t.messages).toHaveLength(3)
    const sent = t.messages.find((m) => m.cid === 'c1')
    expect(sent).toMatchObject({
      key: 'cid:c1',
      state: 'sent',
      id: 'nodeb:1',
      origin: 'nodeb',
      ts: 200,
      error: null,
    })
    // Moved to the node's ts.
    expect(ids(t)).toEqual(['nodea:1', 'nodeb:1', 'nodea:2'])
    expect(t.pending()).toEqual([])
  })

  it('keeps the object each message came in, and none for a send of ours', () => {
    const t = new Timeline()
    const fromNode = msg('nodea', 1, 100)
    t.addFromNode([fromNode])
    t.addPending('general', ann, 'mine', 'c1', 300)
    expect(t.messages.map((m) => m.received)).toEqual([fromNode, null])
    expect(t.messages[0]?.received).toBe(fromNode)
  })

  it('a message that is not the copy of our pending send is a row of its own', () => {
    const forged = msg('nodeb', 1, 200, { user: ann, cid: 'c1', text: 'not mine' })
    const copy = msg('nodeb', 2, 250, { user: ann, cid: 'c1', text: 'mine' })
    const t = new Timeline({ isCopyOfPending: (m) => m !== forged })
    t.addPending('general', ann, 'mine', 'c1', 300)

    expect(t.addFromNode([forged])).toEqual([forged])
    expect(t.messages.map((m) => [m.key, m.state, m.text])).toEqual([
      ['id:nodeb:1', 'sent', 'not mine'],
      ['cid:c1', 'pending', 'mine'],
    ])
    expect(t.pending().map((m) => m.cid)).toEqual(['c1'])

    // The real copy still takes the pending send's place.
    t.addFromNode([copy])
    expect(t.messages.map((m) => [m.key, m.state, m.text])).toEqual([
      ['id:nodeb:1', 'sent', 'not mine'],
      ['cid:c1', 'sent', 'mine'],
    ])
    expect(t.pending()).toEqual([])
  })

  it('acknowledge before the node copy: sent at once, the copy later adds nothing', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'mine', 'c1', 500)
    t.addFromNode([msg('nodea', 1, 100)])
    t.acknowledge(ann.id, 'c1', 'node-x:7', 50)
    expect(t.messages[0]).toMatchObject({
      key: 'cid:c1',
      state: 'sent',
      id: 'node-x:7',
      origin: 'node-x',
      ts: 50,
    })
    expect(ids(t)).toEqual(['node-x:7', 'nodea:1'])
    expect(t.pending()).toEqual([])

    const copy = msg('node-x', 7, 50, { user: ann, cid: 'c1', text: 'mine' })
    expect(t.addFromNode([copy])).toEqual([])
    expect(t.messages).toHaveLength(2)
    expect(t.messages[0]?.key).toBe('cid:c1')
    expect(Object.fromEntries(t.vector)).toEqual({ nodea: 1, 'node-x': 7 })
    // A later copy by id alone is dropped too.
    expect(t.addFromNode([copy])).toEqual([])
    expect(t.messages).toHaveLength(2)
  })

  it('acknowledge after the node copy changes nothing', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'mine', 'c1', 500)
    t.addFromNode([msg('nodea', 3, 120, { user: ann, cid: 'c1', text: 'mine' })])
    const before = t.messages
    // An ack naming another node's copy (the send was taken twice) keeps the one shown.
    t.acknowledge(ann.id, 'c1', 'nodeb:9', 130)
    t.acknowledge(ann.id, 'c1', 'nodea:3', 120)
    expect(t.messages).toBe(before)
    expect(t.messages).toHaveLength(1)
    expect(t.messages[0]).toMatchObject({ key: 'cid:c1', id: 'nodea:3', state: 'sent' })
    // The other node's copy, when it comes, is a duplicate.
    t.addFromNode([msg('nodeb', 9, 130, { user: ann, cid: 'c1', text: 'mine' })])
    expect(ids(t)).toEqual(['nodea:3'])
  })

  it('fails a pending send and retries it', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'one', 'c1', 100)
    t.addPending('general', ann, 'two', 'c2', 200)
    t.fail(ann.id, 'c1', 'too long')
    expect(t.messages[0]).toMatchObject({ cid: 'c1', state: 'failed', error: 'too long' })
    expect(t.pending().map((m) => m.cid)).toEqual(['c2'])

    t.retry(ann.id, 'c1')
    expect(t.messages[0]).toMatchObject({ cid: 'c1', state: 'pending', error: null })
    expect(t.pending().map((m) => m.cid)).toEqual(['c1', 'c2'])
  })

  it('does not fail a sent message, nor retry one that did not fail', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'one', 'c1', 100)
    t.acknowledge(ann.id, 'c1', 'nodea:1', 100)
    const before = t.messages
    t.fail(ann.id, 'c1', 'late error')
    t.retry(ann.id, 'c1')
    t.fail(ann.id, 'unknown', 'no such send')
    expect(t.messages).toBe(before)
    expect(t.messages[0]).toMatchObject({ state: 'sent', error: null })
  })

  it('lists pending sends oldest first, without sent or failed ones', () => {
    const t = new Timeline()
    t.addPending('general', ann, 'late', 'c3', 300)
    t.addPending('general', ann, 'early', 'c1', 100)
    t.addPending('general', ann, 'middle', 'c2', 200)
    t.addPending('general', ann, 'acked', 'c4', 250)
    t.fail(ann.id, 'c2', 'nope')
    t.acknowledge(ann.id, 'c4', 'nodea:1', 250)
    expect(t.pending().map((m) => m.text)).toEqual(['early', 'late'])
  })
})

describe('Timeline position', () => {
  it('keeps per origin the highest seq seen, whatever order they came in', () => {
    const t = new Timeline()
    expect(Object.fromEntries(t.vector)).toEqual({})
    t.addFromNode([msg('nodea', 5, 500), msg('nodeb', 2, 200)])
    // An older page (history) must not lower it.
    t.addFromNode([msg('nodea', 1, 100), msg('nodea', 2, 110)])
    t.addFromNode([msg('nodeb', 3, 600)])
    expect(Object.fromEntries(t.vector)).toEqual({ nodea: 5, nodeb: 3 })
    // Pending and acknowledged sends are not a position: only what the node sent is.
    t.addPending('general', ann, 'mine', 'c1', 700)
    t.acknowledge(ann.id, 'c1', 'nodec:9', 700)
    expect(Object.fromEntries(t.vector)).toEqual({ nodea: 5, nodeb: 3 })
  })

  it('resetFromNode keeps only unsent messages and starts over', () => {
    const t = new Timeline()
    t.addFromNode([msg('nodea', 1, 100), msg('nodea', 2, 200)])
    t.addPending('general', ann, 'waiting', 'c1', 150)
    t.addPending('general', ann, 'refused', 'c2', 160)
    t.fail(ann.id, 'c2', 'nope')
    t.addPending('general', ann, 'acked', 'c3', 170)
    t.acknowledge(ann.id, 'c3', 'nodea:3', 300)

    t.resetFromNode()
    expect(texts(t)).toEqual(['waiting', 'refused'])
    expect(Object.fromEntries(t.vector)).toEqual({})
    expect(t.oldestId).toBeNull()

    // What the node sent before can come again, and a kept pending send is still replaced by
    // its copy.
    t.addFromNode([
      msg('nodea', 2, 200),
      msg('nodea', 4, 400, { user: ann, cid: 'c1', text: 'waiting' }),
    ])
    expect(t.messages.map((m) => [m.text, m.state])).toEqual([
      ['refused', 'failed'],
      ['nodea:2', 'sent'],
      ['waiting', 'sent'],
    ])
    expect(t.messages.find((m) => m.cid === 'c1')?.key).toBe('cid:c1')
    expect(Object.fromEntries(t.vector)).toEqual({ nodea: 4 })
  })

  it('oldestId is the first stored message shown, skipping pending ones', () => {
    const t = new Timeline()
    expect(t.oldestId).toBeNull()
    t.addPending('general', ann, 'mine', 'c1', 10)
    expect(t.oldestId).toBeNull()
    t.addFromNode([msg('nodeb', 1, 300), msg('nodea', 7, 200)])
    expect(t.oldestId).toBe('nodea:7')
    t.addFromNode([msg('nodec', 1, 50)])
    expect(t.oldestId).toBe('nodec:1')
  })

  it('makes a new messages array on every change', () => {
    const t = new Timeline()
    const seen = [t.messages]
    t.addFromNode([msg('nodea', 1, 100)])
    seen.push(t.messages)
    t.addPending('general', ann, 'mine', 'c1', 200)
    seen.push(t.messages)
    t.acknowledge(ann.id, 'c1', 'nodea:2', 200)
    seen.push(t.messages)
    expect(new Set(seen).size).toBe(4)
    expect(seen[1]).toHaveLength(1)
  })
})
