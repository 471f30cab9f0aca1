import { type FormEvent, useId, useState } from 'react'
import type { NodeSettings, NodeStatus } from '../../../shared/ipc.ts'
import { isLoopbackHost } from './loopback.ts'

interface Props {
  status: NodeStatus
  /** Resolves with an error message, or null when saved. */
  onSave: (settings: NodeSettings) => Promise<string | null>
}

interface Draft {
  name: string
  host: string
  port: string
  peerPort: string
  mesh: string
  secret: string
  token: string
  discovery: boolean
}

function draftOf(status: NodeStatus): Draft {
  return {
    name: status.name,
    host: status.host,
    port: String(status.port),
    peerPort: String(status.peerPort),
    mesh: status.mesh,
    secret: '',
    token: '',
    discovery: status.discovery,
  }
}

/**
 * The node's settings. The mesh secret and the access token are write-only: the UI is told
 * only whether one is set; a blank field leaves it as it is, and Clear removes it.
 */
export function SettingsForm({ status, onSave }: Props) {
  const id = useId()
  const [draft, setDraft] = useState(() => draftOf(status))
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const portInUse = status.error?.code === 'port_in_use'

  function set<K extends keyof Draft>(key: K, value: Draft[K]) {
    setDraft((d) => ({ ...d, [key]: value }))
  }

  async function save(settings: NodeSettings, done: string) {
    setBusy(true)
    const problem = await onSave(settings)
    setBusy(false)
    setMessage(problem === null ? { error: false, text: done } : { error: true, text: problem })
    if (problem === null) setDraft((d) => ({ ...d, secret: '', token: '' }))
  }

  function submit(event: FormEvent) {
    event.preventDefault()
    const port = Number(draft.port)
    const peerPort = Number(draft.peerPort)
    if (
      !/^\d{1,5}$/.test(draft.port) ||
      port > 65_535 ||
      !/^\d{1,5}$/.test(draft.peerPort) ||
      peerPort > 65_535
    ) {
      setMessage({ error: true, text: 'Ports are numbers from 0 to 65535.' })
      return
    }
    const settings: NodeSettings = {
      name: draft.name,
      host: draft.host,
      port,
      peerPort,
      mesh: draft.mesh,
      discovery: draft.discovery,
    }
    if (draft.secret !== '') settings.secret = draft.secret
    if (draft.token !== '') settings.token = draft.token
    void save(
      settings,
      status.state === 'running' ? 'Saved; the node restarted with them.' : 'Saved.',
    )
  }

  const field = (
    key: Exclude<keyof Draft, 'discovery'>,
    label: string,
    props: Record<string, unknown> = {},
  ) => (
    <div className="field">
      <label className="field__label" htmlFor={`${id}-${key}`}>
        {label}
      </label>
      <input
        id={`${id}-${key}`}
        className="input"
        value={draft[key]}
        onChange={(event) => set(key, event.target.value)}
        spellCheck={false}
        autoCapitalize="none"
        {...props}
      />
    </div>
  )

  return (
    <form className="settings" noValidate onSubmit={submit}>
      <div className="settings__grid">
        {field('name', 'Node name', { maxLength: 64 })}
        {field('host', 'Host', { placeholder: '0.0.0.0' })}
        {field('port', 'Client port', { inputMode: 'numeric', 'aria-invalid': portInUse })}
        {field('peerPort', 'Peer port', { inputMode: 'numeric' })}
        {field('mesh', 'Mesh name')}
        {field('secret', 'Mesh secret', {
          type: 'password',
          autoComplete: 'new-password',
          placeholder: status.secretSet ? 'set (type to replace)' : 'none',
        })}
        {field('token', 'Access token', {
          type: 'password',
          autoComplete: 'new-password',
          placeholder: status.tokenSet ? 'set (type to replace)' : 'none',
        })}
      </div>
      <div className="settings__check">
        <input
          id={`${id}-discovery`}
          type="checkbox"
          checked={draft.discovery}
          aria-describedby={`${id}-discovery-hint`}
          onChange={(event) => set('discovery', event.target.checked)}
        />
        <div>
          <label className="field__label" htmlFor={`${id}-discovery`}>
            Find this mesh’s machines on the local network
          </label>
          <p className="field__hint" id={`${id}-discovery-hint`}>
            This node tells the local network it is here, and links by itself with the machines of
            its mesh it hears of. Off: it links only with the peers listed above.
          </p>
        </div>
      </div>
      {!status.secretSet && !isLoopbackHost(status.host) && (
        <p className="node-panel__hint" data-testid="open-mesh">
          No mesh secret: any node that reaches this machine’s peer port can join the mesh and read
          every room. Set a secret, or join a mesh with an invite.
        </p>
      )}
      <div className="settings__actions">
        <button type="submit" className="btn btn--primary" disabled={busy}>
          Save settings
        </button>
        {status.secretSet && (
          <button
            type="button"
            className="btn btn--ghost"
            disabled={busy}
            onClick={() => void save({ secret: '' }, 'Secret cleared.')}
          >
            Clear secret
          </button>
        )}
        {status.tokenSet && (
          <button
            type="button"
            className="btn btn--ghost"
            disabled={busy}
            onClick={() => void save({ token: '' }, 'Token cleared.')}
          >
            Clear token
          </button>
        )}
      </div>
      {message && (
        <p
          className={message.error ? 'field__error' : 'node-panel__hint'}
          role={message.error ? 'alert' : 'status'}
        >
          {message.text}
        </p>
      )}
    </form>
  )
}
