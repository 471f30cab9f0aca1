/**
 * React's view of the chat client: one running `PalaverClient` per user and token, its state as
 * a snapshot that re-renders on change, and the page's visibility fed to it (for unread counts).
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react'
import type { User } from '../../shared/protocol.ts'
import { type ClientState, type KeyValueStorage, PalaverClient } from './client/palaver-client.ts'

export interface ClientConfig {
  /** The node to chat through. */
  url: string
  user: User
  token: string | null
  /** Where the client keeps joined rooms and unsent messages across reloads. */
  storage: KeyValueStorage
}

function createClient({ url, user, token, storage }: ClientConfig): PalaverClient {
  return new PalaverClient({
    url,
    user: { id: user.id, name: user.name },
    storage,
    ...(token === null ? {} : { token }),
  })
}

/**
 * A started client for `config`, stopped on unmount.
 *
 * The user and the token travel in the session's `hello`, so a new name or token means a new
 * client (the old one is stopped; rooms and unsent messages carry over through storage, keyed by
 * the user id). A new URL keeps the client and moves it with `switchNode`: it resumes every room
 * exactly where it was, from the other node.
 */
export function usePalaverClient(config: ClientConfig): PalaverClient {
  const identity = `${config.user.id}\n${config.user.name}\n${config.token ?? ''}`
  const [current, setCurrent] = useState(() => ({ identity, client: createClient(config) }))
  let client = current.client
  if (current.identity !== identity) {
    // Made during render but started only in the effect below, so a render React throws away
    // leaves nothing running.
    client = createClient(config)
    setCurrent({ identity, client })
  }

  useEffect(() => {
    client.start()
    return () => client.stop()
  }, [client])

  const { url } = config
  useEffect(() => {
    if (client.getState().connection.homeUrl !== url) client.switchNode(url)
  }, [client, url])

  return client
}

/** The client's state; the component re-renders whenever it changes. */
export function useClientState(client: PalaverClient): ClientState {
  // The client's methods use private fields: they must be called on the client, not detached.
  const subscribe = useCallback((onChange: () => void) => client.subscribe(onChange), [client])
  const getSnapshot = useCallback(() => client.getState(), [client])
  return useSyncExternalStore(subscribe, getSnapshot)
}

/** Tells the client whether the page is visible: messages that come while hidden are unread. */
export function useVisibility(client: PalaverClient): void {
  useEffect(() => {
    const update = () => client.setVisible(document.visibilityState === 'visible')
    update()
    document.addEventListener('visibilitychange', update)
    return () => document.removeEventListener('visibilitychange', update)
  }, [client])
}
