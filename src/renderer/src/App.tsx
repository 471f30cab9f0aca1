/**
 * The chat UI: who the user is, which node they chat through, and the screen around the chat
 * client's state. Everything it knows of nodes comes through the client protocol (the
 * `PalaverClient`), so it runs the same in the desktop app and in a browser tab.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { KeyedUser } from './client/keyed-user.ts'
import { Dialog } from './components/Dialog.tsx'
import { NameForm } from './components/NameForm.tsx'
import { NameScreen } from './components/NameScreen.tsx'
import { NodePicker } from './components/NodePicker.tsx'
import { OnlineList } from './components/OnlineList.tsx'
import { RoomList } from './components/RoomList.tsx'
import { RoomView } from './components/RoomView.tsx'
import { TopBar } from './components/TopBar.tsx'
import { desktopApi } from './desktop.ts'
import { NodePanel } from './node-panel/NodePanel.tsx'
import { hostOf } from './lib/connection-text.ts'
import { loadName, saveName } from './lib/display-name.ts'
import { loadPageIdentity, type UserIdentity } from './lib/identity.ts'
import {
  defaultNodeUrl,
  loadNodeChoice,
  loadRecentNodes,
  type NodeChoice,
  saveNodeChoice,
  saveRecentNodes,
  withRecentNode,
} from './lib/node-url.ts'
import { appStorage } from './lib/storage.ts'
import { nameCode, roomAmbiguousUserIds } from './lib/verification.ts'
import { useClientState, usePalaverClient, useVisibility } from './use-client.ts'
import './App.css'

const ACTIVE_ROOM_KEY = 'palaver.room.active'

export function App() {
  const [name, setName] = useState(() => loadName(appStorage))
  const identity = usePageIdentity()
  const defaultUrl = useDefaultNodeUrl()
  const rename = useCallback((name: string) => {
    saveName(appStorage, name)
    setName(name)
  }, [])

  return (
    <div className="app" data-testid="app">
      {name === null ? (
        <NameScreen
          nodeHost={hostOf(loadNodeChoice(appStorage).url ?? defaultUrl)}
          onSubmit={rename}
        />
      ) : (
        // The key comes from IndexedDB, in a moment: the chat starts once it is there.
        identity !== null && (
          <Chat identity={identity} name={name} defaultUrl={defaultUrl} onRename={rename} />
        )
      )}
    </div>
  )
}

/** The user's keyed identity, null until it is loaded (or made, on the first visit). */
function usePageIdentity(): UserIdentity | null {
  const [identity, setIdentity] = useState<UserIdentity | null>(null)
  useEffect(() => {
    let mounted = true
    void loadPageIdentity(appStorage).then((loaded) => {
      if (mounted) setIdentity(loaded)
    })
    return () => {
      mounted = false
    }
  }, [])
  return identity
}

/**
 * The node to chat through unless the user chose another: the one that served the page, or in
 * the desktop app (whose page no node served) its own node, wherever its settings put it.
 */
function useDefaultNodeUrl(): string {
  const [url, setUrl] = useState(() => defaultNodeUrl(window.location))
  useEffect(() => {
    const api = desktopApi()
    const servedByNode =
      window.location.protocol === 'http:' || window.location.protocol === 'https:'
    if (!api || servedByNode) return
    const follow = (localUrl: string | null) => {
      if (localUrl !== null) setUrl(localUrl)
    }
    void api.status().then((result) => result.ok && follow(result.value.localUrl))
    return api.onStatus((status) => follow(status.localUrl))
  }, [])
  return url
}

type Panel = 'rooms' | 'people' | null
type Modal =
  { kind: 'node'; focusToken: boolean } | { kind: 'name' } | { kind: 'node-panel' } | null

function Chat({
  identity,
  name,
  defaultUrl,
  onRename,
}: {
  identity: UserIdentity
  name: string
  defaultUrl: string
  onRename: (name: string) => void
}) {
  const user: KeyedUser = useMemo(() => identity.user(name), [identity, name])
  const [choice, setChoice] = useState<NodeChoice>(() => loadNodeChoice(appStorage))
  const [recent, setRecent] = useState(() => loadRecentNodes(appStorage))
  const url = choice.url ?? defaultUrl
  const client = usePalaverClient({
    url,
    user,
    signer: identity,
    token: choice.token,
    storage: appStorage,
  })
  const state = useClientState(client)
  useVisibility(client)
  const { connection, rooms } = state

  // The room on screen: the one chosen last, or else the first joined.
  const [chosenRoom, setChosenRoom] = useState(() => appStorage.getItem(ACTIVE_ROOM_KEY))
  const active = rooms.find((r) => r.name === chosenRoom) ?? rooms[0]
  const activeName = active?.name
  useEffect(() => client.setActiveRoom(activeName), [client, activeName])
  const activeMessages = active?.messages
  const activeUsers = active?.users
  const ambiguous = useMemo(
    () => roomAmbiguousUserIds({ messages: activeMessages ?? [], users: activeUsers ?? [] }),
    [activeMessages, activeUsers],
  )

  const [panel, setPanel] = useState<Panel>(null)
  const [modal, setModal] = useState<Modal>(null)
  const desktop = useMemo(() => desktopApi(), [])
  const menuButton = useRef<HTMLElement | null>(null)

  const selectRoom = useCallback((name: string) => {
    setChosenRoom(name)
    appStorage.setItem(ACTIVE_ROOM_KEY, name)
    setPanel(null)
  }, [])
  const joinRoom = useCallback(
    (name: string) => {
      client.join(name)
      selectRoom(name)
    },
    [client, selectRoom],
  )
  const leaveRoom = useCallback(
    (name: string) => {
      if (name === activeName) {
        // Move to the neighbour, as a closed tab does.
        const at = rooms.findIndex((r) => r.name === name)
        const next = rooms[at + 1] ?? rooms[at - 1]
        if (next) selectRoom(next.name)
      }
      client.leave(name)
    },
    [client, rooms, activeName, selectRoom],
  )

  const connectTo = useCallback(
    (nextUrl: string | null, token: string | null) => {
      const next = { url: nextUrl, token }
      saveNodeChoice(appStorage, next)
      setChoice(next)
      const used = nextUrl ?? defaultUrl
      const updated = withRecentNode(recent, used)
      saveRecentNodes(appStorage, updated)
      setRecent(updated)
      setModal(null)
      // The same URL again: connect again now (after a refused token, say).
      if (used === url && token === choice.token) client.switchNode(used)
    },
    [client, url, choice.token, defaultUrl, recent],
  )

  // The tab's title counts unread messages, so they show in a background tab.
  const unread = rooms.reduce((sum, r) => sum + r.unread, 0)
  useEffect(() => {
    const room = activeName ? `#${activeName} · ` : ''
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${room}Palaver`
  }, [unread, activeName])

  // Escape closes a drawer (on narrow windows), and focus goes back to what opened it.
  useEffect(() => {
    if (panel === null || modal !== null) return
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return
      setPanel(null)
      menuButton.current?.focus()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [panel, modal])

  function togglePanel(which: Exclude<Panel, null>, opener: HTMLElement) {
    menuButton.current = opener
    setPanel((open) => (open === which ? null : which))
  }

  return (
    <div className="chat" data-panel={panel ?? 'none'}>
      <TopBar
        user={user}
        connection={connection}
        roomsOpen={panel === 'rooms'}
        onToggleRooms={(event) => togglePanel('rooms', event.currentTarget)}
        onChangeNode={() => setModal({ kind: 'node', focusToken: false })}
        onEnterToken={() => setModal({ kind: 'node', focusToken: true })}
        onSwitchBack={() => client.returnHome()}
        onChangeName={() => setModal({ kind: 'name' })}
        onOpenNodePanel={desktop ? () => setModal({ kind: 'node-panel' }) : undefined}
      />
      <div className="chat__body">
        <aside className="chat__rooms" id="rooms-panel">
          <RoomList
            rooms={rooms}
            active={activeName}
            onSelect={selectRoom}
            onJoin={joinRoom}
            onLeave={leaveRoom}
          />
        </aside>
        <main className="chat__main" aria-label={activeName ? `#${activeName}` : 'Chat'}>
          {active ? (
            <RoomView
              key={active.name}
              client={client}
              room={active}
              selfId={user.id}
              peopleOpen={panel === 'people'}
              onTogglePeople={(event) => togglePanel('people', event.currentTarget)}
            />
          ) : (
            <div className="chat__empty">
              <p className="chat__empty-title">No room open</p>
              <p>Join or create a room to start chatting.</p>
            </div>
          )}
        </main>
        <aside className="chat__people" id="people-panel" aria-label="People">
          {active && (
            <OnlineList
              room={active.name}
              users={active.users}
              self={user}
              live={active.joined}
              connected={connection.status === 'connected'}
              nodes={connection.nodes}
              currentNode={connection.node}
              ambiguous={ambiguous}
            />
          )}
        </aside>
        <div className="chat__scrim" aria-hidden="true" onClick={() => setPanel(null)} />
      </div>

      {modal?.kind === 'node' && (
        <NodePicker
          current={url}
          defaultUrl={defaultUrl}
          token={choice.token}
          recent={recent}
          meshNodes={connection.nodes}
          connected={connection.status === 'connected'}
          focusToken={modal.focusToken}
          onConnect={connectTo}
          onClose={() => setModal(null)}
        />
      )}
      {modal?.kind === 'node-panel' && desktop && (
        <NodePanel api={desktop} onClose={() => setModal(null)} />
      )}
      {modal?.kind === 'name' && (
        <Dialog title="Change your name" onClose={() => setModal(null)}>
          <p className="dialog__text">
            Others see this name beside your messages. You will reconnect with the new name.
          </p>
          <p className="dialog__text" data-testid="identity-note">
            {identity.persistent
              ? 'Your identity is kept in this browser; another browser or device is another you.'
              : 'This browser does not let the page keep your identity: once you close the page, you come back as someone new.'}{' '}
            What you write is signed with it, so nobody else can write as you. Anyone can choose the
            same name; people with the same name are told apart by a short code (yours is{' '}
            <span className="dialog__code">{nameCode(user.id)}</span>).
          </p>
          <NameForm
            initial={user.name}
            submitLabel="Save"
            onCancel={() => setModal(null)}
            onSubmit={(name) => {
              setModal(null)
              if (name !== user.name) onRename(name)
            }}
          />
        </Dialog>
      )}
    </div>
  )
}
