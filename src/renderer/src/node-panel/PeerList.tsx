import { type FormEvent, useId, useState } from 'react'
import type { PeerStatus } from '../../../shared/protocol.ts'
import { describeSkew } from '../lib/clock-skew.ts'
import { describeLinkProblem } from '../../../shared/link-problems.ts'

interface Props {
  peers: readonly PeerStatus[]
  /** Resolve with what went wrong, in words for people, or null when done. */
  onAdd: (addr: string) => Promise<string | null>
  onRemove: (addr: string) => Promise<string | null>
}

const STATE_TEXT: Record<PeerStatus['state'], string> = {
  connecting: 'connecting',
  up: 'up',
  down: 'down',
}

/** A link's round-trip time, or why it is not up, in words for people. */
function linkDetail(peer: PeerStatus): string {
  if (peer.rttMs !== null) return `${peer.rttMs} ms`
  if (peer.state === 'up') return 'measuring…'
  if (peer.lastError !== null) return describeLinkProblem(peer.lastError)
  return peer.state === 'connecting' ? 'linking…' : 'not linked'
}

/** The node's peers with each link's live state, and a way to add and remove them. */
export function PeerList({ peers, onAdd, onRemove }: Props) {
  const id = useId()
  const [addr, setAddr] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function add(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    const problem = await onAdd(addr.trim())
    setBusy(false)
    setError(problem)
    if (problem === null) setAddr('')
  }

  return (
    <div className="peers">
      {peers.length === 0 ? (
        <p className="node-panel__hint">
          No peers yet. Add another node’s address (its host and peer port).
        </p>
      ) : (
        <ul className="peers__list" aria-label="Peers">
          {peers.map((peer) => (
            <li
              key={peer.addr}
              className="peers__row"
              data-testid="peer"
              data-addr={peer.addr}
              data-state={peer.state}
            >
              <span className={`badge badge--${peer.state}`}>{STATE_TEXT[peer.state]}</span>
              <span className="peers__who">
                <span className="peers__name">{peer.name ?? peer.addr}</span>
                <span className="peers__detail">
                  {peer.name !== null ? `${peer.addr} · ` : ''}
                  {linkDetail(peer)}
                  {peer.skewMs !== undefined && (
                    <span data-testid="peer-skew"> · {describeSkew(peer.skewMs)}</span>
                  )}
                </span>
              </span>
              <button
                type="button"
                className="btn btn--small btn--ghost"
                aria-label={`Remove ${peer.addr}`}
                onClick={() => void onRemove(peer.addr).then(setError)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form className="peers__add" noValidate onSubmit={(event) => void add(event)}>
        <label className="sr-only" htmlFor={`${id}-addr`}>
          Peer address
        </label>
        <input
          id={`${id}-addr`}
          className="input"
          value={addr}
          onChange={(event) => setAddr(event.target.value)}
          placeholder="192.168.1.20:9080"
          autoCapitalize="none"
          spellCheck={false}
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${id}-error` : undefined}
        />
        <button type="submit" className="btn" disabled={busy || addr.trim() === ''}>
          Add peer
        </button>
      </form>
      {error !== null && (
        <p className="field__error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
