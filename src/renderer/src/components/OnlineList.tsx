import { useId, useMemo } from 'react'
import type { MeshNode, OnlineUser } from '../../../shared/protocol.ts'
import { Avatar } from './Avatar.tsx'
import './OnlineList.css'

interface Props {
  room: string
  users: readonly OnlineUser[]
  selfId: string
  /** The mesh's nodes, to name the node each person is on. */
  nodes: readonly MeshNode[]
  /** The node this client is on: named even before the mesh list comes. */
  currentNode: { id: string; name: string } | null
}

/** Who is in the room right now, on any node of the mesh, and which node they are on. */
export function OnlineList({ room, users, selfId, nodes, currentNode }: Props) {
  const sorted = useMemo(
    () =>
      [...users].sort((a, b) => {
        if ((a.id === selfId) !== (b.id === selfId)) return a.id === selfId ? -1 : 1
        return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' })
      }),
    [users, selfId],
  )
  const headingId = useId()
  const nodeName = (id: string) =>
    nodes.find((n) => n.id === id)?.name ?? (currentNode?.id === id ? currentNode.name : id)

  return (
    <section className="online" aria-labelledby={headingId}>
      <h2 className="online__heading" id={headingId}>
        Online <span className="online__count">{users.length}</span>
      </h2>
      <ul className="online__list" aria-label={`Online in ${room}`}>
        {sorted.map((user) => (
          <li key={`${user.id}@${user.node}`} className="online__user">
            <span className="online__avatar">
              <Avatar user={user} size="sm" />
              <span className="online__dot" aria-hidden="true" />
            </span>
            <span className="online__who">
              <span className="online__name">
                <bdi>{user.name}</bdi>
                {user.id === selfId && <span className="online__you"> (you)</span>}
              </span>
              <span className="online__node">
                on <bdi>{nodeName(user.node)}</bdi>
              </span>
            </span>
          </li>
        ))}
      </ul>
      {users.length === 0 && <p className="online__empty">Nobody here yet.</p>}
    </section>
  )
}
