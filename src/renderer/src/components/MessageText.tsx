import { Fragment, memo, useMemo } from 'react'
import { linkify } from '../lib/linkify.ts'

/**
 * A message's text: plain text nodes, with http(s) URLs as links that open in a new tab.
 * Nothing from a message is ever parsed as HTML.
 */
export const MessageText = memo(function MessageText({ text }: { text: string }) {
  const segments = useMemo(() => linkify(text), [text])
  return segments.map((segment, i) =>
    segment.kind === 'link' ? (
      <a key={i} href={segment.href} target="_blank" rel="noopener noreferrer">
        {segment.text}
      </a>
    ) : (
      <Fragment key={i}>{segment.text}</Fragment>
    ),
  )
})
