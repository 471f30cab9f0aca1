import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react'
import { MAX_TEXT_LENGTH } from '../../../shared/limits.ts'
import { isSendableText } from '../../../shared/text.ts'
import { appStorage } from '../lib/storage.ts'
import { SendIcon } from './Icons.tsx'
import './Composer.css'

/** The character counter shows from this many characters left. */
const COUNT_FROM_LEFT = 500

interface Props {
  room: string
  /** Sends the text; returns why it could not, or null. */
  onSend: (text: string) => string | null
  onTyping: () => void
}

const draftKey = (room: string) => `palaver.draft.${room}`

/**
 * Where a message is written. Enter sends and Shift+Enter starts a new line; the draft of each
 * room is kept (across reloads too) until it is sent.
 */
export function Composer({ room, onSend, onTyping }: Props) {
  const id = useId()
  const textareaRef = useRef<HTMLTextAreaElement>(null)
  const [text, setText] = useState(() => appStorage.getItem(draftKey(room)) ?? '')
  const [error, setError] = useState<string | null>(null)
  const left = MAX_TEXT_LENGTH - text.length
  const tooLong = left < 0
  const canSend = isSendableText(text) && !tooLong

  // Ready to type on entering a room, where a keyboard is at hand (not on touch screens, where
  // focusing would pop the on-screen keyboard over the messages).
  useEffect(() => {
    if (matchMedia('(pointer: fine)').matches) textareaRef.current?.focus()
  }, [])

  function change(value: string) {
    setText(value)
    setError(null)
    if (value === '') appStorage.removeItem(draftKey(room))
    else appStorage.setItem(draftKey(room), value)
    if (value.trim() !== '') onTyping()
  }

  function send() {
    if (!canSend) return
    const failure = onSend(text)
    if (failure !== null) {
      setError(failure)
      return
    }
    change('')
  }

  function submit(event: FormEvent) {
    event.preventDefault()
    send()
    textareaRef.current?.focus()
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Not while an input method is composing: its Enter picks a candidate.
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return
    event.preventDefault()
    send()
  }

  const showCount = left <= COUNT_FROM_LEFT
  const describedBy = [showCount ? `${id}-count` : '', error !== null ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ')

  return (
    <form className="composer" onSubmit={submit}>
      <div className={`composer__box${tooLong ? ' composer__box--over' : ''}`}>
        <textarea
          ref={textareaRef}
          className="composer__input"
          aria-label={`Message ${room}`}
          aria-describedby={describedBy || undefined}
          aria-invalid={tooLong || error !== null}
          placeholder={`Message #${room}`}
          rows={1}
          value={text}
          onChange={(e) => change(e.target.value)}
          onKeyDown={keyDown}
          dir="auto"
        />
        <button type="submit" className="composer__send" aria-label="Send" disabled={!canSend}>
          <SendIcon size={18} />
        </button>
      </div>
      <div className="composer__footer">
        {error !== null ? (
          <span className="composer__error" id={`${id}-error`} role="alert">
            {error}
          </span>
        ) : showCount ? (
          <span
            className={`composer__count${tooLong ? ' composer__count--over' : ''}`}
            id={`${id}-count`}
          >
            {tooLong
              ? `${-left} characters over the limit of ${MAX_TEXT_LENGTH}`
              : `${left} characters left`}
          </span>
        ) : (
          <span />
        )}
        <span className="composer__hint" aria-hidden="true">
          <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line
        </span>
      </div>
    </form>
  )
}
