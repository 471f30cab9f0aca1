import { memo } from 'react'
import type { TimelineMessage } from '../client/timeline.ts'
import { hueStyle } from '../lib/colors.ts'
import { formatDateTime, formatTime, toDate } from '../lib/format.ts'
import { useAuthenticity } from '../use-authenticity.ts'
import { Avatar } from './Avatar.tsx'
import { MessageText } from './MessageText.tsx'
import { UserMarks } from './UserMarks.tsx'
import './MessageRow.css'

interface Props {
  message: TimelineMessage
  /**
   * The message whose author run this one continues (then it has no avatar or name line), or
   * null.
   */
  runAfter: TimelineMessage | null
  /** The message names this page's user as its author: shown as ours once its signatures agree. */
  claimsSelf: boolean
  /** Another author or online user of the room has the same name. */
  ambiguous: boolean
  onRetry: (cid: string) => void
}

/**
 * One message: author, time, text, and whether it is still sending or failed. Text only, drawn
 * with CSS where it needs a symbol: the message list never holds an image or an SVG.
 *
 * Its signatures are checked once it is drawn (use-authenticity.ts). A message whose signature
 * does not verify says so beside the name it claims, always with its own name line, never in
 * the claimed author's colour and never as the user's own.
 */
export const MessageRow = memo(function MessageRow({
  message,
  runAfter,
  claimsSelf,
  ambiguous,
  onRetry,
}: Props) {
  const authenticity = useAuthenticity(message)
  const invalid = authenticity.status === 'invalid'
  const previous = useAuthenticity(runAfter)
  // A run is one author's: a message that may be anyone's neither joins one nor is joined.
  const grouped = runAfter !== null && !invalid && previous?.status !== 'invalid'
  const own =
    claimsSelf && (authenticity.status === 'verified' || authenticity.status === 'unverified')
  const date = toDate(message.ts)
  const time = (
    <time className="msg__time" dateTime={date.toISOString()} title={formatDateTime(date)}>
      {formatTime(date)}
    </time>
  )
  const classes = ['msg', grouped ? 'msg--grouped' : 'msg--first', `msg--${message.state}`]
  if (own) classes.push('msg--own')
  if (invalid) classes.push('msg--invalid')
  const marks = (
    <UserMarks userId={message.user.id} ambiguous={ambiguous} authenticity={authenticity} />
  )

  return (
    <div
      className={classes.join(' ')}
      style={invalid ? undefined : hueStyle(message.user.id)}
      data-testid="message"
      data-id={message.id ?? ''}
      data-cid={message.cid}
      data-state={message.state}
      data-own={String(own)}
      data-authenticity={authenticity.status}
    >
      <div className="msg__gutter">
        {grouped ? (
          time
        ) : invalid ? (
          <span className="avatar avatar--md msg__forged-avatar" aria-hidden="true">
            !
          </span>
        ) : (
          <Avatar user={message.user} />
        )}
      </div>
      <div className="msg__body">
        {grouped ? (
          <span className="sr-only">
            <span data-testid="author" dir="auto">
              {message.user.name}
            </span>
            {marks}
          </span>
        ) : (
          <div className="msg__meta">
            <span className="msg__author" data-testid="author" dir="auto">
              {message.user.name}
            </span>
            {marks}
            {own && <span className="msg__you">you</span>}
            {time}
          </div>
        )}
        <div className="msg__text" data-testid="text" dir="auto">
          <MessageText text={message.text} />
        </div>
        {message.state === 'failed' && (
          <div className="msg__failed">
            <span className="msg__alert" aria-hidden="true">
              !
            </span>
            <span className="msg__error">Not sent{message.error ? ` — ${message.error}` : ''}</span>
            <button
              type="button"
              className="btn btn--small msg__retry"
              onClick={() => onRetry(message.cid)}
            >
              Retry
            </button>
          </div>
        )}
      </div>
      {message.state === 'pending' && (
        <span className="msg__pending" title="Sending…">
          <span className="sr-only">Sending</span>
        </span>
      )}
    </div>
  )
})
