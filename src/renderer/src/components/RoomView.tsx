import { type MouseEvent, useCallback, useState } from 'react'
import type { PalaverClient, RoomState } from '../client/palaver-client.ts'
import { Composer } from './Composer.tsx'
import { HashIcon, UsersIcon } from './Icons.tsx'
import { MessageList } from './MessageList.tsx'
import { TypingIndicator } from './TypingIndicator.tsx'
import './RoomView.css'

interface Props {
  client: PalaverClient
  room: RoomState
  selfId: string
  peopleOpen: boolean
  onTogglePeople: (event: MouseEvent<HTMLButtonElement>) => void
}

/** The open room: its header, messages, who is typing, and the composer. */
export function RoomView({ client, room, selfId, peopleOpen, onTogglePeople }: Props) {
  const name = room.name
  const [sendCount, setSendCount] = useState(0)

  const onSend = useCallback(
    (text: string) => {
      try {
        client.send(name, text)
      } catch (error) {
        if (error instanceof RangeError) return error.message
        throw error
      }
      setSendCount((n) => n + 1)
      return null
    },
    [client, name],
  )
  const onTyping = useCallback(() => client.typing(name), [client, name])
  const onRetry = useCallback((cid: string) => client.retry(name, cid), [client, name])
  const onLoadOlder = useCallback(() => client.loadOlder(name), [client, name])

  return (
    <>
      <header className="room-header">
        <h1 className="room-header__title">
          <HashIcon size={19} className="room-header__hash" />
          <span className="room-header__name">{name}</span>
        </h1>
        <button
          type="button"
          className="btn btn--ghost btn--small room-header__people"
          aria-expanded={peopleOpen}
          aria-controls="people-panel"
          onClick={onTogglePeople}
          title="Who is online"
        >
          <UsersIcon size={16} />
          {/* Until the room is joined on this connection, nobody knows who is online. */}
          <span>{room.joined ? room.users.length : '–'}</span>
          <span className="sr-only"> online, show people</span>
        </button>
      </header>
      <MessageList
        room={room}
        selfId={selfId}
        sendCount={sendCount}
        onLoadOlder={onLoadOlder}
        onRetry={onRetry}
      />
      <TypingIndicator users={room.typing} />
      <Composer key={name} room={name} onSend={onSend} onTyping={onTyping} />
    </>
  )
}
