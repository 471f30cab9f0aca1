import type { IpcResult, NodeSettings, NodeStatus, PalaverApi } from '../../../shared/ipc.ts'
import { Dialog } from '../components/Dialog.tsx'
import { describeNodeProblem, type NodeOperation } from '../lib/node-problems.ts'
import { InviteCard } from './InviteCard.tsx'
import { JoinMeshForm } from './JoinMeshForm.tsx'
import { MeshMap } from './MeshMap.tsx'
import { describeNearby } from './nearby.ts'
import { NetworkDoctor } from './NetworkDoctor.tsx'
import { PeerList } from './PeerList.tsx'
import { QrCode } from './QrCode.tsx'
import { SettingsForm } from './SettingsForm.tsx'
import { useNodeStatus } from './use-node-status.ts'
import './NodePanel.css'

interface Props {
  api: PalaverApi
  onClose: () => void
}

const STATE_TEXT = {
  stopped: 'Stopped',
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping…',
}

/** What went wrong with a call, in words for people, or null when it worked. */
async function problemOf(
  call: Promise<IpcResult<unknown>>,
  operation: NodeOperation,
): Promise<string | null> {
  const result = await call
  return result.ok ? null : describeNodeProblem(result.error, operation)
}

/** What discovery found beyond this node's mesh, or that it is off. */
function Nearby({ status }: { status: NodeStatus }) {
  const nearby = describeNearby(status)
  if (nearby === null) return null
  return (
    <p className="node-panel__hint" data-testid="nearby" data-state={nearby.state}>
      {nearby.text}
    </p>
  )
}

/**
 * The desktop app's own node: running or not, its settings, its peers and their links, the
 * addresses others can chat at, invites to its mesh and joining another's, and a live map of
 * the mesh. Shown only in the desktop app.
 */
export function NodePanel({ api, onClose }: Props) {
  const { status, error } = useNodeStatus(api)

  return (
    <Dialog title="This machine’s node" wide onClose={onClose}>
      {status === null ? (
        <p className="node-panel__hint" role={error ? 'alert' : 'status'} data-code={error?.code}>
          {error ? describeNodeProblem(error, 'status') : 'Reading the node’s status…'}
        </p>
      ) : (
        <div className="node-panel" aria-label="Node panel">
          <section className="node-panel__head">
            <span
              className={`badge badge--${status.state}`}
              data-testid="node-state"
              data-state={status.state}
            >
              {STATE_TEXT[status.state]}
            </span>
            <span className="node-panel__name">
              {status.name}
              {status.boundPort !== null && (
                <span className="node-panel__ports">
                  {' '}
                  · chat port {status.boundPort} · peer port {status.boundPeerPort}
                </span>
              )}
            </span>
            {status.state === 'running' ? (
              <button type="button" className="btn" onClick={() => void api.stop()}>
                Stop node
              </button>
            ) : (
              <button
                type="button"
                className="btn btn--primary"
                disabled={status.state !== 'stopped'}
                onClick={() => void api.start()}
              >
                Start node
              </button>
            )}
          </section>
          {status.error && (
            <p className="field__error" role="alert" data-code={status.error.code}>
              {describeNodeProblem(status.error, 'start')}
            </p>
          )}

          <section aria-labelledby="np-join">
            <h3 id="np-join" className="node-panel__title">
              Chat from other machines
            </h3>
            {status.lanUrls.length > 0 ? (
              <ul className="join-urls" aria-label="Join addresses">
                {status.lanUrls.map((url) => (
                  <li key={url} className="join-urls__item">
                    <QrCode text={url} />
                    <span className="join-urls__url">{url}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="node-panel__hint">
                {status.state === 'running'
                  ? 'The node listens on this machine only. Set Host to 0.0.0.0 to let others join.'
                  : 'Start the node to let others join.'}
              </p>
            )}
          </section>

          <section aria-labelledby="np-invite">
            <h3 id="np-invite" className="node-panel__title">
              Invite a machine
            </h3>
            {/* A new mesh or address makes a shown invite wrong: a fresh card forgets it. */}
            <InviteCard
              key={`${status.mesh} ${status.host} ${status.boundPeerPort ?? status.peerPort}`}
              api={api}
            />
          </section>

          <section aria-labelledby="np-join-mesh">
            <h3 id="np-join-mesh" className="node-panel__title">
              Join a mesh
            </h3>
            <JoinMeshForm onJoin={(code) => problemOf(api.joinMesh(code), 'join-mesh')} />
          </section>

          <section aria-labelledby="np-mesh" className="node-panel__mesh">
            <h3 id="np-mesh" className="node-panel__title">
              Mesh
            </h3>
            <MeshMap selfId={status.id} nodes={status.nodes} links={status.links} />
            <Nearby status={status} />
            <PeerList
              peers={status.peers}
              onAdd={(addr) => problemOf(api.addPeer(addr), 'add-peer')}
              onRemove={(addr) => problemOf(api.removePeer(addr), 'remove-peer')}
            />
          </section>

          {status.state === 'running' && status.id !== null && (
            <section aria-labelledby="np-doctor">
              <h3 id="np-doctor" className="node-panel__title">
                Network doctor
              </h3>
              <NetworkDoctor
                node={{ id: status.id, name: status.name }}
                peers={status.peers}
                {...(status.network ? { discovery: status.network } : {})}
              />
            </section>
          )}

          <section aria-labelledby="np-settings">
            <h3 id="np-settings" className="node-panel__title">
              Settings
            </h3>
            <SettingsForm
              status={status}
              onSave={(settings: NodeSettings) => problemOf(api.configure(settings), 'configure')}
            />
          </section>
        </div>
      )}
    </Dialog>
  )
}
