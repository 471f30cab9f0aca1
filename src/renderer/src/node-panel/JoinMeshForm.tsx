import { type FormEvent, useId, useState } from 'react'

interface Props {
  /** Resolves with what went wrong, in words for people, or null once joined. */
  onJoin: (code: string) => Promise<string | null>
}

/**
 * "Join a mesh": takes the invite code of another machine's node. The main process reads it,
 * takes its mesh name and secret, adds its address as a peer and restarts the node; the new
 * peer then shows in the peer list.
 */
export function JoinMeshForm({ onJoin }: Props) {
  const id = useId()
  const [code, setCode] = useState('')
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)

  async function join(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    const problem = await onJoin(code)
    setBusy(false)
    if (problem === null) {
      setCode('')
      setMessage({ error: false, text: 'Joined. The node restarted in that mesh and links to it.' })
    } else {
      setMessage({ error: true, text: problem })
    }
  }

  return (
    <form className="join-mesh" noValidate onSubmit={(event) => void join(event)}>
      <label className="field__label" htmlFor={`${id}-code`}>
        Invite code from another machine
      </label>
      <textarea
        id={`${id}-code`}
        className="input invite__code"
        value={code}
        onChange={(event) => setCode(event.target.value)}
        placeholder="palaver1:…"
        rows={2}
        spellCheck={false}
        autoCapitalize="none"
        aria-invalid={message?.error === true}
        aria-describedby={message !== null ? `${id}-message` : undefined}
      />
      <div className="settings__actions">
        <button type="submit" className="btn btn--primary" disabled={busy || code.trim() === ''}>
          Join mesh
        </button>
      </div>
      {message !== null && (
        <p
          id={`${id}-message`}
          className={message.error ? 'field__error' : 'node-panel__hint'}
          role={message.error ? 'alert' : 'status'}
        >
          {message.text}
        </p>
      )}
    </form>
  )
}
