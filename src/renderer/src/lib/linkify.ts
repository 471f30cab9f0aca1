/**
 * Splits message text into plain text and web links, for rendering as React text nodes and
 * `<a>` elements: nothing in a message is ever treated as HTML.
 *
 * Only `http://` and `https://` URLs become links; `javascript:`, `data:` and every other scheme
 * stay text. A link ends at whitespace, `<`, `>`, `"` or a backtick, and loses trailing
 * punctuation that belongs to the sentence (`.`, `,`, `!`, an unbalanced `)`, …), the way
 * GitHub's autolinks do. Joining every segment's `text` gives back the input exactly.
 */

export type TextSegment =
  { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

/** A scheme at a word boundary, then everything up to a character a URL cannot hold. */
// eslint-disable-next-line no-control-regex -- control characters end a URL
const CANDIDATE = /\bhttps?:\/\/[^\s<>"`\u0000-\u001f\u007f]+/giu
/** Sentence punctuation that follows a link rather than belonging to it. */
const TRAILING = new Set(['.', ',', ':', ';', '!', '?', "'", '*', '_', '~', '…', '。', '、'])
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' }

export function linkify(text: string): TextSegment[] {
  const segments: TextSegment[] = []
  let last = 0
  for (const match of text.matchAll(CANDIDATE)) {
    const start = match.index
    const candidate = trimTrailing(match[0])
    const href = safeHref(candidate)
    if (href === null) continue
    if (start > last) segments.push({ kind: 'text', text: text.slice(last, start) })
    segments.push({ kind: 'link', text: candidate, href })
    last = start + candidate.length
  }
  if (last < text.length) segments.push({ kind: 'text', text: text.slice(last) })
  return segments
}

/** Drops sentence punctuation and unbalanced closing brackets from the end of a URL. */
function trimTrailing(url: string): string {
  // Counted once: trimming a run of `)))…` stays linear however long the URL is.
  const open: Record<string, number> = { '(': 0, '[': 0, '{': 0 }
  const close: Record<string, number> = { ')': 0, ']': 0, '}': 0 }
  for (const ch of url) {
    if (ch in open) open[ch] = (open[ch] ?? 0) + 1
    else if (ch in close) close[ch] = (close[ch] ?? 0) + 1
  }
  let end = url.length
  while (end > 0) {
    const ch = url[end - 1] as string
    const opener = CLOSERS[ch]
    if (TRAILING.has(ch)) {
      end--
    } else if (opener !== undefined && (close[ch] ?? 0) > (open[opener] ?? 0)) {
      close[ch] = (close[ch] ?? 0) - 1
      end--
    } else {
      break
    }
  }
  return url.slice(0, end)
}

/** The URL as an `href`, or null when it is not a well-formed http(s) URL with a host. */
function safeHref(candidate: string): string | null {
  let url: URL
  try {
    url = new URL(candidate)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  if (url.hostname === '') return null
  return url.href
}
