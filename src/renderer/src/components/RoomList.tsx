import { type FormEvent, useId, useRef, useState } from 'react'
import type { RoomState } from '../client/palaver-client.ts'
import { parseRoomName } from '../lib/room-name.ts'
import { CloseIcon, HashIcon, PlusIcon } from './Icons.tsx'
import './RoomList.css'

interface Props {
  rooms: readonly RoomState[]
  active: string | undefined
  onSelect: (room: string) => void
  onJoin: (room: string) => void
  onLeave: (room: string) => void
}

/** The joined rooms with their unread counts, and the field to join or create one. */
export function RoomList({ rooms, active, onSelect, onJoin, onLeave }: Props) {
  return (
    <nav className="rooms" aria-label="Rooms">
      <h2 className="rooms__heading">Rooms</h2>
      {rooms.length === 0 ? (
        <p className="rooms__empty">You are in no room. Join one below.</p>
      ) : (
        <ul className="rooms__list">
          {rooms.map((room) => (
            <li key={room.name} className="rooms__item">
              <button
                type="button"
                className="room-btn"
                aria-current={room.name === active ? 'true' : undefined}
                onClick={() => onSelect(room.name)}
              >
                <HashIcon size={16} className="room-btn__hash" />
                <span className="room-btn__name">{room.name}</span>
                {room.unread > 0 && (
                  <>
                    <span className="room-btn__badge" data-testid={`unread-${room.name}`}>
                      {room.unread}
                    </span>
                    <span className="sr-only"> unread</span>
                  </>
                )}
              </button>
              <button
                type="button"
                className="icon-btn room-leave"
                aria-label={`Leave ${room.name}`}
                title={`Leave #${room.name}`}
                onClick={() => onLeave(room.name)}
              >
                <CloseIcon size={15} />
              </button>
            </li>
          ))}
        </ul>
      )}
      <JoinRoom onJoin={onJoin} />
    </nav>
  )
}

function JoinRoom({ onJoin }: { onJoin: (room: string) => void }) {
  const id = useId()
  const [value, setValue] = useState('')
  const [error, setError] = useState<string | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)

  function submit(event: FormEvent) {
    event.preventDefault()
    const parsed = parseRoomName(value)
    if (!parsed.ok) {
      setError(parsed.error)
      inputRef.current?.focus()
      return
    }
    setValue('')
    setError(null)
    onJoin(parsed.value)
  }

  return (
    <form className="join" noValidate onSubmit={submit}>
      <label className="sr-only" htmlFor={`${id}-room`}>
        Join or create a room
      </label>
      <div className="join__row">
        <span className="join__hash" aria-hidden="true">
          <HashIcon size={15} />
        </span>
        <input
          ref={inputRef}
          id={`${id}-room`}
          className="input join__input"
          value={value}
          onChange={(e) => {
            setValue(e.target.value)
            setError(null)
          }}
          placeholder="Join or create a room"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${id}-error` : undefined}
        />
        <button type="submit" className="join__btn">
          <PlusIcon size={14} />
          Join
        </button>
      </div>
      {error !== null && (
        <p className="field__error join__error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </form>
  )
}
