import { type FormEvent, useId, useRef, useState } from 'react'
import { parseDisplayName } from '../lib/display-name.ts'

interface Props {
  initial?: string
  submitLabel: string
  onSubmit: (name: string) => void
  onCancel?: () => void
}

/** The display-name field with its check, for the first run and for renaming. */
export function NameForm({ initial = '', submitLabel, onSubmit, onCancel }: Props) {
  const id = useId()
  const [value, setValue] = useState(initial)
  const [error, setError] = useState<string | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)

  function submit(event: FormEvent) {
    event.preventDefault()
    const parsed = parseDisplayName(value)
    if (parsed.ok) onSubmit(parsed.value)
    else {
      setError(parsed.error)
      inputRef.current?.focus()
    }
  }

  return (
    <form className="name-form" noValidate onSubmit={submit}>
      <div className="field">
        <label className="field__label" htmlFor={`${id}-name`}>
          Display name
        </label>
        <input
          ref={inputRef}
          id={`${id}-name`}
          className="input"
          value={value}
          onChange={(e) => {
            setValue(e.target.value)
            setError(null)
          }}
          autoComplete="nickname"
          autoFocus
          data-autofocus
          spellCheck={false}
          placeholder="e.g. Ada Lovelace"
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${id}-error` : undefined}
        />
        {error !== null && (
          <p className="field__error" id={`${id}-error`} role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="name-form__actions">
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="btn btn--primary">
          {submitLabel}
        </button>
      </div>
    </form>
  )
}
