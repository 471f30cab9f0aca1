import type { MouseEvent } from 'react'
import type { ConnectionState } from '../client/palaver-client.ts'
import type { User } from '../../../shared/protocol.ts'
import { Avatar } from './Avatar.tsx'
import { ConnectionBar } from './ConnectionBar.tsx'
import { LogoMark, MenuIcon, NodeIcon, ServerIcon } from './Icons.tsx'
import './TopBar.css'

interface Props {
  user: User
  connection: ConnectionState
  roomsOpen: boolean
  onToggleRooms: (event: MouseEvent<HTMLButtonElement>) => void
  onChangeNode: () => void
  onEnterToken: () => void
  onSwitchBack: () => void
  onChangeName: () => void
  /** Opens the desktop app's node panel; absent in a browser tab. */
  onOpenNodePanel?: () => void
}

/** The bar across the top: the app, the connection, the node and the user's name. */
export function TopBar(props: Props) {
  const { user, connection, roomsOpen } = props
  return (
    <header className="topbar">
      <button
        type="button"
        className="icon-btn topbar__menu"
        aria-label="Rooms menu"
        aria-expanded={roomsOpen}
        aria-controls="rooms-panel"
        onClick={props.onToggleRooms}
      >
        <MenuIcon />
      </button>
      <span className="topbar__brand">
        <LogoMark size={26} />
        <span className="topbar__name">Palaver</span>
      </span>
      <ConnectionBar
        connection={connection}
        onSwitchBack={props.onSwitchBack}
        onEnterToken={props.onEnterToken}
      />
      <span className="topbar__spacer" />
      {props.onOpenNodePanel && (
        <button
          type="button"
          className="btn btn--ghost topbar__node"
          onClick={props.onOpenNodePanel}
        >
          <NodeIcon size={16} />
          <span className="topbar__node-label">This machine’s node</span>
        </button>
      )}
      <button type="button" className="btn btn--ghost topbar__node" onClick={props.onChangeNode}>
        <ServerIcon size={16} />
        <span className="topbar__node-label">Change node</span>
      </button>
      {/* Named by the name it shows, then what it does (WCAG 2.5.3, label in name). */}
      <button
        type="button"
        className="topbar__me"
        data-user-id={user.id}
        onClick={props.onChangeName}
        title="Change your name"
      >
        <Avatar user={user} size="sm" />
        <span className="topbar__me-name" data-testid="me-name">
          {user.name}
        </span>
        <span className="sr-only">, change your name</span>
      </button>
    </header>
  )
}
