/**
 * The worked examples of docs/protocol.md were captured from real nodes by
 * scripts/capture-examples.ts, so that a reader can check an implementation against them: every
 * signature and proof in them verifies, except the one the text shows refused. An edit that
 * breaks one, or a change to what is signed, fails here; then capture the examples again.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkClientExamples, checkPeerExamples, exampleFrames } from './worked-examples.ts'

const DOC = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8')

/** The text of the `index`-th "Worked examples" section: 0 the client's, 1 the peer's. */
function section(index: number): string {
  const text = DOC.split('\n### Worked examples\n')[index + 1]
  if (text === undefined) throw new Error(`docs/protocol.md has no worked examples ${index}`)
  return text.slice(0, text.indexOf('\n### '))
}

/** The value of the inline code after `label` in `text` ("… was `value`"). */
function codeAfter(text: string, label: string): string {
  const at = text.indexOf(label)
  const match = /^\s+`([^`]+)`/.exec(text.slice(at + label.length))
  if (at < 0 || !match?.[1]) throw new Error(`no "${label}" in the worked examples`)
  return match[1]
}

describe('the worked examples of the client protocol', () => {
  const text = section(0)

  it('hold the frames the text names, as JSON but one', () => {
    const frames = exampleFrames(text)
    const types = new Set(frames.map((f) => f.value?.type))
    for (const type of ['challenge', 'prove', 'welcome', 'message', 'event', 'history', 'nodes']) {
      expect(types.has(type), type).toBe(true)
    }
    expect(frames.filter((f) => f.value === undefined).map((f) => f.text)).toEqual(['not json'])
  })

  it('verify: messages, events, the prove and the usig of each send', () => {
    expect(checkClientExamples(exampleFrames(text))).toEqual({
      checked: { 'keyed user': 1, prove: 1, message: 8, event: 1, usig: 4 },
      problems: [],
    })
  })

  it('would show a message changed after it was signed', () => {
    const changed = text.replace('"text":"back in the cellar"', '"text":"back in the attic"')
    expect(changed).not.toBe(text)
    expect(checkClientExamples(exampleFrames(changed)).problems).toEqual([
      expect.stringMatching(/^message: /),
    ])
  })
})

describe('the worked examples of the peer protocol', () => {
  const text = section(1)
  const link = {
    exporter: codeAfter(text, "session's `exporter` was"),
    secret: codeAfter(text, 'The mesh secret is'),
  }

  it('verify: valid peer frames, the handshake both ways, and all a node signs', () => {
    expect(checkPeerExamples(exampleFrames(text), link)).toEqual({
      checked: {
        'peer frame': 22,
        'link sig': 2,
        proof: 2,
        record: 4,
        event: 3,
        presence: 3,
        typing: 1,
      },
      problems: [],
    })
  })

  it('would show a proof made on another TLS session', () => {
    const other = { ...link, exporter: link.exporter.replace(/^./, (c) => (c === '0' ? '1' : '0')) }
    expect(checkPeerExamples(exampleFrames(text), other).problems).toHaveLength(4)
  })
})
