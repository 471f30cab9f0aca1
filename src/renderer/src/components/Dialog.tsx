import { type ReactNode, useId, useLayoutEffect, useRef } from 'react'
import { CloseIcon } from './Icons.tsx'
import './Dialog.css'

interface Props {
  title: string
  /** A wide dialog, for panels with columns (the node panel). */
  wide?: boolean
  onClose: () => void
  children: ReactNode
}

/**
 * A modal dialog on the native `<dialog>`: it traps focus, makes the page behind it inert, and
 * closes on Escape (and on a click on the backdrop). Rendered only while open; focus starts on
 * the element marked `data-autofocus` and goes back to where it was when it closes.
 */
export function Dialog({ title, wide = false, onClose, children }: Props) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()

  useLayoutEffect(() => {
    const dialog = ref.current
    const opener = document.activeElement
    if (dialog && !dialog.open) {
      dialog.showModal()
      // showModal focuses the first focusable element (the close button); start where the user
      // is meant to type instead. (React's autoFocus sets no attribute the dialog could follow.)
      dialog.querySelector<HTMLElement>('[data-autofocus]')?.focus()
    }
    return () => {
      dialog?.close()
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
    }
  }, [])

  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog dialog--wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(event) => {
        // Escape: let React unmount it rather than the browser closing it under React.
        event.preventDefault()
        onClose()
      }}
      onClick={(event) => {
        if (event.target === event.currentTarget) onClose()
      }}
    >
      <div className="dialog__panel">
        <header className="dialog__header">
          <h2 className="dialog__title" id={titleId}>
            {title}
          </h2>
          <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
            <CloseIcon />
          </button>
        </header>
        {children}
      </div>
    </dialog>
  )
}
