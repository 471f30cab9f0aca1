import { type FormEvent, useId, useState } from 'react'
import type { MeshNode } from '../../../shared/protocol.ts'
import { parseNodeUrl } from '../lib/node-url.ts'
import { Dialog } from './Dialog.tsx'
import { ServerIcon } from './Icons.tsx'
import './NodePicker.css'

interface Props {
  /** The node URL in use now. */
  current: string
  /** The node the page came from (or the local node in the desktop app). */
  defaultUrl: string
  token: string | null
  /** URLs used before, newest first. */
  recent: readonly string[]
  /** The nodes of the mesh, as the connected node tells. */
  meshNodes: readonly MeshNode[]
  /** Connected now: `meshNodes` is live, not what the last node said before the link dropped. */
  connected: boolean
  /** Start with the access token field focused (the node refused the session). */
  focusToken?: boolean
  /** `url` null: back to the default node. */
  onConnect: (url: string | null, token: string | null) => void
  onClose: () => void
}

/** Chat through another node: type its address, or pick one used before or one of the mesh. */
export function NodePicker(props: Props) {
  const { current, defaultUrl, recent, meshNodes, connected, focusToken = false } = props
  const { onConnect, onClose } = props
  const id = useId()
  const [url, setUrl] = useState(current)
  const [token, setToken] = useState(props.token ?? '')
  const [error, setError] = useState<string | null>(null)
  const tokenValue = token.trim() === '' ? null : token.trim()

  function submit(event: FormEvent) {
    event.preventDefault()
    const parsed = parseNodeUrl(url)
    if (!parsed.ok) {
      setError(parsed.error)
      return
    }
    onConnect(parsed.value === defaultUrl ? null : parsed.value, tokenValue)
  }

  function pick(value: string) {
    setUrl(value)
    setError(null)
  }

  const others = recent.filter((u) => u !== defaultUrl)
  const suggestions = meshNodes.filter((n) => n.url !== '')

  return (
    <Dialog title="Change node" onClose={onClose}>
      <form className="node-picker" noValidate onSubmit={submit}>
        <p className="dialog__text">
          Palaver chats through one node of the mesh. Any node will do: they all hold the same
          messages.
        </p>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-url`}>
            Node URL
          </label>
          <input
            id={`${id}-url`}
            className="input node-picker__url"
            value={url}
            onChange={(e) => pick(e.target.value)}
            placeholder="ws://192.168.1.20:8080/"
            autoComplete="url"
            autoCapitalize="none"
            spellCheck={false}
            data-autofocus={focusToken ? undefined : true}
            aria-invalid={error !== null}
            aria-describedby={error !== null ? `${id}-error` : `${id}-hint`}
          />
          {error !== null ? (
            <p className="field__error" id={`${id}-error`} role="alert">
              {error}
            </p>
          ) : (
            <p className="field__hint" id={`${id}-hint`}>
              A ws:// or wss:// address; an http:// page address works too.
            </p>
          )}
        </div>

        {suggestions.length > 0 && (
          <div className="node-picker__group">
            <h3 className="node-picker__heading">
              {connected ? 'Nodes in this mesh' : 'Nodes in this mesh, as last known'}
            </h3>
            <ul className="node-picker__list">
              {suggestions.map((node) => (
                <li key={node.id}>
                  <button
                    type="button"
                    className="node-option"
                    aria-pressed={url === node.url}
                    onClick={() => pick(node.url)}
                  >
                    <ServerIcon size={16} className="node-option__icon" />
                    <span className="node-option__main">
                      <span className="node-option__name">{node.name}</span>
                      <span className="node-option__url">{node.url}</span>
                    </span>
                    {/* Whether a node is up is known only while connected to the mesh. */}
                    {connected && (
                      <span
                        className={`node-option__state node-option__state--${node.up ? 'up' : 'down'}`}
                        data-testid="node-reachability"
                      >
                        {node.up ? 'up' : 'down'}
                      </span>
                    )}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}

        {others.length > 0 && (
          <div className="node-picker__group">
            <h3 className="node-picker__heading">Used before</h3>
            <ul className="node-picker__list">
              {others.map((recentUrl) => (
                <li key={recentUrl}>
                  <button
                    type="button"
                    className="node-option"
                    aria-pressed={url === recentUrl}
                    onClick={() => pick(recentUrl)}
                  >
                    <ServerIcon size={16} className="node-option__icon" />
                    <span className="node-option__main">
                      <span className="node-option__name">{recentUrl}</span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}

        <div className="field">
          <label className="field__label" htmlFor={`${id}-token`}>
            Access token <span className="node-picker__optional">(if the node asks for one)</span>
          </label>
          <input
            id={`${id}-token`}
            className="input"
            type="password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="off"
            data-autofocus={focusToken ? true : undefined}
          />
        </div>

        <div className="node-picker__actions">
          {current !== defaultUrl && (
            <button
              type="button"
              className="btn btn--ghost node-picker__default"
              onClick={() => onConnect(null, tokenValue)}
              title={defaultUrl}
            >
              Use the default node
            </button>
          )}
          <span className="node-picker__spacer" />
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--primary">
            Connect
          </button>
        </div>
      </form>
    </Dialog>
  )
}
