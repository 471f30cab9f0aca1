import { useVirtualizer } from '@tanstack/react-virtual'
import {
  memo,
  type UIEvent,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react'
import type { RoomState } from '../client/palaver-client.ts'
import { buildRows, type Row } from '../lib/timeline-rows.ts'
import { roomAmbiguousUserIds } from '../lib/verification.ts'
import { useToday } from '../use-today.ts'
import { DaySeparator } from './DaySeparator.tsx'
import { ArrowDownIcon } from './Icons.tsx'
import { MessageRow } from './MessageRow.tsx'
import { RoomStart } from './RoomStart.tsx'
import './MessageList.css'

/** Older messages are asked for when the view comes this close to the top. */
const LOAD_OLDER_WITHIN_PX = 800
/** The view counts as "at the bottom" (and follows new messages) this close to it. */
const AT_END_WITHIN_PX = 48
/**
 * Once the whole history is in, a first row shows the room's beginning. It is never there while
 * older messages may come: on a prepend the view is anchored to the row at its top, and that
 * must be a message that moves down, not a fixed first row.
 */
const START_KEY = 'start'

interface Props {
  room: RoomState
  selfId: string
  /** Changes each time the user sends: the list then goes to the bottom, to show it. */
  sendCount: number
  onLoadOlder: () => void
  onRetry: (cid: string) => void
}

/** A first guess at a row's height, before it is measured; close guesses keep scrolling calm. */
function estimateRow(row: Row | undefined): number {
  if (row === undefined) return 150
  const text = row.message.text
  let lines = 1
  for (let i = 0; i < text.length && lines < 60; i++) if (text.charCodeAt(i) === 10) lines++
  lines += Math.floor(text.length / 90)
  return (row.dayStart === null ? 0 : 46) + (row.grouped ? 4 : 36) + lines * 22
}

/**
 * A room's messages as a virtualized list: only the rows in view (and a few around them) are in
 * the page, each measured as it renders, so ten thousand messages scroll as smoothly as ten.
 *
 * It stays at the bottom while the user is there and new messages come; otherwise a pill offers
 * to jump down. Near the top it asks for older messages, and when they are put in above it keeps
 * the rows in view where they were (the virtualizer's `anchorTo: 'end'`).
 */
export const MessageList = memo(function MessageList({
  room,
  selfId,
  sendCount,
  onLoadOlder,
  onRetry,
}: Props) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const today = useToday()
  const rows = useMemo(() => buildRows(room.messages), [room.messages])
  const ambiguous = useMemo(
    () => roomAmbiguousUserIds({ messages: room.messages, users: room.users }),
    [room.messages, room.users],
  )
  const { hasMore, loadingOlder } = room
  // The room's start is shown once the node said there is nothing older (not before it spoke).
  const lead = room.loaded && !hasMore ? 1 : 0
  const rowAt = useCallback(
    (index: number): Row | undefined => (index < lead ? undefined : rows[index - lead]),
    [rows, lead],
  )

  const virtualizer = useVirtualizer({
    count: rows.length + lead,
    getScrollElement: () => scrollRef.current,
    estimateSize: useCallback((index: number) => estimateRow(rowAt(index)), [rowAt]),
    getItemKey: useCallback((index: number) => rowAt(index)?.key ?? START_KEY, [rowAt]),
    overscan: 10,
    paddingEnd: 12,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: AT_END_WITHIN_PX,
  })

  useLayoutEffect(() => {
    // A row that starts at the very top of the view and changes size there (the view's first
    // message losing its day separator to an older message of the same day) moves what is below
    // it; compensate like for rows wholly above the view, so the text the user reads stays put.
    virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, instance) =>
      item.index > 0 && item.start <= (instance.scrollOffset ?? 0)
    // Open at the newest message.
    virtualizer.scrollToEnd()
  }, [virtualizer])

  // The user sent something: show it, wherever they were.
  const firstSendCount = useRef(sendCount)
  useEffect(() => {
    if (sendCount !== firstSendCount.current) virtualizer.scrollToEnd()
  }, [sendCount, virtualizer])

  // Whether the view is at the bottom, and the newest message the user has seen there: a newer
  // one while they are scrolled up brings the "new messages" pill.
  const lastMessage = room.messages.at(-1)
  const lastKey = lastMessage?.key ?? null
  const [atEnd, setAtEnd] = useState(true)
  const [seenKey, setSeenKey] = useState(lastKey)
  const showPill = !atEnd && lastKey !== seenKey && lastMessage?.user.id !== selfId

  // At the bottom, stay there whatever changed: the library follows appends, and this covers
  // the rest (the first backlog landing above a restored unsent message, a page of history
  // filling a short room).
  useLayoutEffect(() => {
    if (atEnd) virtualizer.scrollToEnd()
  }, [rows, atEnd, virtualizer])

  const wantOlder = hasMore && !loadingOlder
  const onScroll = (event: UIEvent<HTMLDivElement>) => {
    const el = event.currentTarget
    const end = el.scrollHeight - el.scrollTop - el.clientHeight <= AT_END_WITHIN_PX
    if (end !== atEnd) setAtEnd(end)
    if (end && seenKey !== lastKey) setSeenKey(lastKey)
    if (wantOlder && el.scrollTop < LOAD_OLDER_WITHIN_PX) onLoadOlder()
  }

  // The view is near the top with no scroll to come (a short room, or a page of history that
  // left it there): ask for more now, since no scroll event would.
  useEffect(() => {
    const el = scrollRef.current
    if (el && wantOlder && el.scrollTop < LOAD_OLDER_WITHIN_PX) onLoadOlder()
  }, [wantOlder, rows, onLoadOlder])

  return (
    <div className="messages">
      <div
        ref={scrollRef}
        className="log"
        role="log"
        aria-live="polite"
        aria-label={`Messages in ${room.name}`}
        aria-busy={!room.loaded && room.refused === null}
        data-state={room.refused !== null ? 'refused' : room.loaded ? 'loaded' : 'loading'}
        tabIndex={0}
        onScroll={onScroll}
      >
        <div className="log__sizer" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rowAt(item.index)
            return (
              <div
                key={item.key}
                className="log__row"
                data-index={item.index}
                ref={virtualizer.measureElement}
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row === undefined ? (
                  <RoomStart room={room.name} />
                ) : (
                  <>
                    {row.dayStart !== null && <DaySeparator ts={row.message.ts} today={today} />}
                    <MessageRow
                      message={row.message}
                      runAfter={row.grouped ? (rowAt(item.index - 1)?.message ?? null) : null}
                      claimsSelf={row.message.user.id === selfId}
                      ambiguous={ambiguous.has(row.message.user.id)}
                      onRetry={onRetry}
                    />
                  </>
                )}
              </div>
            )
          })}
        </div>
      </div>
      {/* Until the node has sent the room once, an empty list means nothing yet. */}
      {room.refused !== null && (
        <div className="log-loading" role="alert">
          This node did not let you into {room.name}: {room.refused}. Leave a room you no longer
          need, or change node.
        </div>
      )}
      {!room.loaded && room.refused === null && (
        <div className="log-loading" role="status">
          <span className="spinner" aria-hidden="true" />
          Loading messages…
        </div>
      )}
      {loadingOlder && (
        <div className="loading-older" role="status">
          <span className="spinner" aria-hidden="true" />
          Loading older messages…
        </div>
      )}
      {showPill && (
        <button
          type="button"
          className="new-pill"
          onClick={() => virtualizer.scrollToEnd({ behavior: 'smooth' })}
        >
          New messages
          <ArrowDownIcon size={15} />
        </button>
      )}
    </div>
  )
})
