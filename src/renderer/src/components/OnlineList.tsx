import { useId, useMemo } from 'react'
import type { MeshNode, OnlineUser, User } from '../../../shared/protocol.ts'
import { isVerified } from '../lib/verification.ts'
import { Avatar } from './Avatar.tsx'
import { UserMarks } from './UserMarks.tsx'
import './OnlineList.css'

interface Props {
  room: string
  users: readonly OnlineUser[]
  /** The user of this page: always listed, online only while the room is live. */
  self: User
  /**
   * The room is joined on the current connection, so `users` is the mesh's word. Otherwise it is
   * at best what was true before the connection dropped: only the user is shown, offline.
   */
  live: boolean
  /** Connected to a node (the room is then on its way). */
  connected: boolean
  /** The mesh's nodes, to name the node each person is on. */
  nodes: readonly MeshNode[]
  /** The node this client is on: named even before the mesh list comes. */
  currentNode: { id: string; name: string } | null
  /** The ids whose name another author or online user of the room shares. */
  ambiguous: ReadonlySet<string>
}

/** Who is in the room right now, on any node of the mesh, and which node they are on. */
export function OnlineList({
  room,
  users,
  self,
  live,
  connected,
  nodes,
  currentNode,
  ambiguous,
}: Props) {
  const shown = useMemo(() => {
    if (!live) return [{ ...self, node: currentNode?.id ?? '' }]
    return [...users].sort((a, b) => {
      if ((a.id === self.id) !== (b.id === self.id)) return a.id === self.id ? -1 : 1
      return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' })
    })
  }, [users, self, live, currentNode])
  const headingId = useId()
  const nodeName = (id: string) =>
    nodes.find((n) => n.id === id)?.name ?? (currentNode?.id === id ? currentNode.name : id)

  return (
    <section className="online" aria-labelledby={headingId} data-live={String(live)}>
      <h2 className="online__heading" id={headingId}>
        Online {live && <span className="online__count">{users.length}</span>}
      </h2>
      <ul className="online__list" aria-label={`Online in ${room}`}>
        {shown.map((user) => (
          <li
            key={`${user.id}@${user.node}`}
            className="online__user"
            data-testid="online-user"
            data-self={String(user.id === self.id)}
            data-online={String(live)}
          >
            <span className="online__avatar">
              <Avatar user={user} size="sm" />
              <span className="online__dot" aria-hidden="true" />
            </span>
            <span className="online__who">
              <span className="online__name">
                <bdi>{user.name}</bdi>{' '}
                <UserMarks
                  userId={user.id}
                  ambiguous={ambiguous.has(user.id)}
                  authenticity={{ status: isVerified(user) ? 'verified' : 'unverified' }}
                />
                {user.id === self.id && (
                  <span className="online__you">{live ? ' (you)' : ' (you, offline)'}</span>
                )}
              </span>
              {live && (
                <span className="online__node">
                  on <bdi>{nodeName(user.node)}</bdi>
                </span>
              )}
            </span>
          </li>
        ))}
      </ul>
      {!live && (
        <p className="online__empty" role="status">
          {connected
            ? 'Loading who else is here…'
            : 'Not connected: who else is here shows again once you are back online.'}
        </p>
      )}
    </section>
  )
}
