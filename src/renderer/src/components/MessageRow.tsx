import { memo } from 'react'
import type { TimelineMessage } from '../client/timeline.ts'
import { hueStyle } from '../lib/colors.ts'
import { formatDateTime, formatTime, toDate } from '../lib/format.ts'
import { Avatar } from './Avatar.tsx'
import { MessageText } from './MessageText.tsx'
import { UserMarks } from './UserMarks.tsx'
import './MessageRow.css'

interface Props {
  message: TimelineMessage
  /** Continues the previous message's author run: no avatar or name line. */
  grouped: boolean
  own: boolean
  /** Another author or online user of the room has the same name. */
  ambiguous: boolean
  onRetry: (cid: string) => void
}

/**
 * One message: author, time, text, and whether it is still sending or failed. Text only, drawn
 * with CSS where it needs a symbol: the message list never holds an image or an SVG.
 */
export const MessageRow = memo(function MessageRow({
  message,
  grouped,
  own,
  ambiguous,
  onRetry,
}: Props) {
  const date = toDate(message.ts)
  const time = (
    <time className="msg__time" dateTime={date.toISOString()} title={formatDateTime(date)}>
      {formatTime(date)}
    </time>
  )
  const classes = ['msg', grouped ? 'msg--grouped' : 'msg--first', `msg--${message.state}`]
  if (own) classes.push('msg--own')

  return (
    <div
      className={classes.join(' ')}
      style={hueStyle(message.user.id)}
      data-testid="message"
      data-id={message.id ?? ''}
      data-cid={message.cid}
      data-state={message.state}
      data-own={String(own)}
    >
      <div className="msg__gutter">{grouped ? time : <Avatar user={message.user} />}</div>
      <div className="msg__body">
        {grouped ? (
          <span className="sr-only">
            <span data-testid="author" dir="auto">
              {message.user.name}
            </span>
            <UserMarks user={message.user} ambiguous={ambiguous} />
          </span>
        ) : (
          <div className="msg__meta">
            <span className="msg__author" data-testid="author" dir="auto">
              {message.user.name}
            </span>
            <UserMarks user={message.user} ambiguous={ambiguous} />
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
