import type { User } from '../../../shared/protocol.ts'
import { typingText } from '../lib/typing-text.ts'
import './TypingIndicator.css'

/** "Ana is typing…" under the messages; the line keeps its height so nothing jumps. */
export function TypingIndicator({ users }: { users: readonly User[] }) {
  const text = typingText(users.map((u) => u.name))
  return (
    <div className="typing">
      {text !== null && (
        <span className="typing__text" data-testid="typing">
          <span className="typing__dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          {text}
        </span>
      )}
    </div>
  )
}
