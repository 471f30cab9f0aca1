import type { ConnectionState } from '../client/palaver-client.ts'
import { describeConnection } from '../lib/connection-text.ts'
import './ConnectionBar.css'

interface Props {
  connection: ConnectionState
  /** Back to the node the user chose, after a failover. */
  onSwitchBack: () => void
  /** Open the node settings to give an access token. */
  onEnterToken: () => void
}

/**
 * Where the chat is connected, as a live status: the node's name, reconnect attempts, a
 * failover, a refused token, and how many written messages no node has acknowledged yet.
 */
export function ConnectionBar({ connection, onSwitchBack, onEnterToken }: Props) {
  const { tone, text, detail } = describeConnection(connection)
  const { unsent } = connection
  return (
    <div className="connection-area">
      <div
        className={`connection connection--${tone}`}
        role="status"
        data-testid="connection"
        data-status={connection.status}
        data-failed-over={String(connection.failedOver)}
        data-node-id={connection.node?.id ?? ''}
        title={connection.lastError ?? undefined}
      >
        <span className="connection__dot" aria-hidden="true" />
        <span className="connection__text">
          {text}
          {detail !== null && <span className="connection__detail"> · {detail}</span>}
        </span>
        <span className={unsent > 0 ? 'connection__unsent' : 'sr-only'}>
          <span data-testid="unsent">{unsent}</span> unsent
        </span>
      </div>
      {connection.failedOver && connection.status === 'connected' && (
        <button type="button" className="btn btn--small connection__action" onClick={onSwitchBack}>
          Switch back
        </button>
      )}
      {connection.status === 'unauthorized' && connection.refused === 'token' && (
        <button type="button" className="btn btn--small connection__action" onClick={onEnterToken}>
          Enter access token
        </button>
      )}
    </div>
  )
}
