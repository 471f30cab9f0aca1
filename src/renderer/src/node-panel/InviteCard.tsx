import { useId, useRef, useState } from 'react'
import type { MeshInvite, PalaverApi } from '../../../shared/ipc.ts'
import { describeNodeProblem } from '../lib/node-problems.ts'
import { hostOf, isLoopbackHost } from './loopback.ts'
import { QrCode } from './QrCode.tsx'

interface Props {
  api: PalaverApi
}

/**
 * An invite to this node's mesh for another machine: the mesh name, the mesh secret and this
 * node's peer address, as a code to copy and as a QR code. It is made in the main process only
 * when asked for (its code holds the secret), and forgotten when hidden or when the panel
 * closes; the panel mounts a fresh card when the mesh or the node's address changes.
 */
export function InviteCard({ api }: Props) {
  const id = useId()
  const codeRef = useRef<HTMLTextAreaElement>(null)
  const [invite, setInvite] = useState<MeshInvite | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [copied, setCopied] = useState(false)
  const [busy, setBusy] = useState(false)

  async function show() {
    setBusy(true)
    const result = await api.createInvite()
    setBusy(false)
    setInvite(result.ok ? result.value : null)
    setProblem(result.ok ? null : describeNodeProblem(result.error, 'invite'))
  }

  async function copy(code: string) {
    // Selected either way, so that a refused clipboard still leaves Ctrl+C one key away.
    codeRef.current?.select()
    try {
      await navigator.clipboard.writeText(code)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }

  function hide() {
    setInvite(null)
    setCopied(false)
  }

  if (invite === null) {
    return (
      <div className="invite">
        <p className="node-panel__hint">
          Another machine joins this mesh with an invite: a code that holds the mesh secret and this
          node’s address.
        </p>
        <div className="settings__actions">
          <button type="button" className="btn" disabled={busy} onClick={() => void show()}>
            Show invite
          </button>
        </div>
        {problem !== null && (
          <p className="field__error" role="alert">
            {problem}
          </p>
        )}
      </div>
    )
  }

  return (
    <div className="invite invite--shown">
      <QrCode text={invite.code} label={`QR code of the invite to mesh ${invite.mesh}`} />
      <div className="invite__text">
        <label className="field__label" htmlFor={`${id}-code`}>
          Invite to mesh “{invite.mesh}” at {invite.peer}
        </label>
        <textarea
          id={`${id}-code`}
          ref={codeRef}
          className="input invite__code"
          data-testid="invite-code"
          value={invite.code}
          readOnly
          rows={3}
          spellCheck={false}
          onFocus={(event) => event.target.select()}
        />
        <p className="node-panel__hint">
          Anyone with this code can join the mesh and read every room: give it only to machines you
          trust.
        </p>
        {isLoopbackHost(hostOf(invite.peer)) && (
          <p className="node-panel__hint">
            This node listens on this machine only. Set Host to 0.0.0.0 for other machines to reach
            it.
          </p>
        )}
        <div className="settings__actions">
          <button type="button" className="btn" onClick={() => void copy(invite.code)}>
            Copy code
          </button>
          <button type="button" className="btn btn--ghost" onClick={hide}>
            Hide invite
          </button>
        </div>
        <p className="node-panel__hint" role="status">
          {copied ? 'Copied.' : ''}
        </p>
      </div>
    </div>
  )
}
