import { describe, expect, it } from 'vitest'
import { linkify, type TextSegment } from './linkify.ts'

const links = (segments: TextSegment[]) =>
  segments.filter((s) => s.kind === 'link').map((s) => s.text)
const joined = (segments: TextSegment[]) => segments.map((s) => s.text).join('')

describe('linkify', () => {
  it('keeps plain text as one text segment', () => {
    expect(linkify('hello there')).toEqual([{ kind: 'text', text: 'hello there' }])
    expect(linkify('')).toEqual([])
  })

  it('never turns markup into anything but text', () => {
    const text = '<script>alert(1)</script><img src=x onerror=alert(1)>'
    expect(linkify(text)).toEqual([{ kind: 'text', text }])
  })

  it('never links javascript: or data: URLs', () => {
    for (const text of [
      'javascript:alert(1)',
      'JavaScript:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'vbscript:msgbox(1)',
      'ftp://example.com/file',
      'file:///etc/passwd',
    ]) {
      expect(linkify(text), text).toEqual([{ kind: 'text', text }])
    }
  })

  it('does not link a scheme glued to a word', () => {
    expect(links(linkify('javascripthttp://x.y'))).toEqual([])
    expect(links(linkify('xhttps://x.y'))).toEqual([])
  })

  it('links http and https URLs and keeps the text around them', () => {
    expect(linkify('see https://example.com/a?b=1#c now')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
      { kind: 'text', text: ' now' },
    ])
    expect(links(linkify('http://a.b and HTTP://C.D/x'))).toEqual(['http://a.b', 'HTTP://C.D/x'])
  })

  it('ends a link before markup', () => {
    expect(linkify('http://x.y/<img>')).toEqual([
      { kind: 'link', text: 'http://x.y/', href: 'http://x.y/' },
      { kind: 'text', text: '<img>' },
    ])
    const quoted = linkify('http://x.y/"onmouseover="alert(1)')
    expect(links(quoted)).toEqual(['http://x.y/'])
    expect(joined(quoted)).toBe('http://x.y/"onmouseover="alert(1)')
  })

  it('links an http URL inside a javascript: one only as itself', () => {
    const segments = linkify('javascript:alert("http://x.y")')
    expect(links(segments)).toEqual(['http://x.y'])
    for (const s of segments) if (s.kind === 'link') expect(s.href).toBe('http://x.y/')
  })

  it('leaves trailing sentence punctuation out of the link', () => {
    expect(links(linkify('Look: https://example.com.'))).toEqual(['https://example.com'])
    expect(links(linkify('https://example.com/x?, then'))).toEqual(['https://example.com/x'])
    expect(links(linkify('wow https://example.com/!!!'))).toEqual(['https://example.com/'])
    expect(links(linkify("'https://example.com/'"))).toEqual(['https://example.com/'])
    expect(links(linkify('https://example.com/…'))).toEqual(['https://example.com/'])
  })

  it('keeps balanced brackets and drops unbalanced closing ones', () => {
    expect(links(linkify('(see https://en.wikipedia.org/wiki/Foo_(bar))'))).toEqual([
      'https://en.wikipedia.org/wiki/Foo_(bar)',
    ])
    expect(links(linkify('(https://example.com/x)'))).toEqual(['https://example.com/x'])
    expect(links(linkify('[https://example.com/]'))).toEqual(['https://example.com/'])
    expect(links(linkify('http://[::1]:8080/ ok'))).toEqual(['http://[::1]:8080/'])
  })

  it('needs a host', () => {
    expect(links(linkify('http:// nothing'))).toEqual([])
    expect(links(linkify('https://'))).toEqual([])
  })

  it('links several URLs', () => {
    const segments = linkify('a http://a.b b https://c.d/e c')
    expect(links(segments)).toEqual(['http://a.b', 'https://c.d/e'])
    expect(segments).toHaveLength(5)
  })

  it('handles very long URLs and punctuation runs quickly', () => {
    const long = `https://example.com/${'a'.repeat(100_000)}`
    expect(links(linkify(`${long} end`))).toEqual([long])
    const parens = `https://example.com/${')'.repeat(50_000)}`
    const started = performance.now()
    expect(links(linkify(parens))).toEqual(['https://example.com/'])
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('gives back the input when the segments are joined', () => {
    for (const text of [
      'plain',
      'x https://a.b/c). y',
      '<a href="https://evil">https://good.example/</a>',
      'line one\nhttps://a.b\n\nline three',
      'mixed עברית https://example.co.il/שלום end',
      'http://x.y/<img>',
    ]) {
      expect(joined(linkify(text)), text).toBe(text)
    }
  })

  it('gives only http(s) hrefs', () => {
    const segments = linkify('https://a.b http://c.d/x javascript:void(0) data:,x')
    for (const s of segments) if (s.kind === 'link') expect(s.href).toMatch(/^https?:\/\//)
  })
})
