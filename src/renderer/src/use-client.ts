/**
 * React's view of the chat client: one running `PalaverClient` per user, its state as
 * a snapshot that re-renders on change, and the page's visibility fed to it (for unread counts).
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react'
import type { ChatUser } from '../../shared/signed-frames.ts'
import type { UserSigner } from './client/keyed-user.ts'
import { type ClientState, type KeyValueStorage, PalaverClient } from './client/palaver-client.ts'

export interface ClientConfig {
  /** The node to chat through. */
  url: string
  /** Who the user is: a keyed user has its `key` and a `signer`. */
  user: ChatUser
  signer?: UserSigner
  token: string | null
  /** Where the client keeps joined rooms and unsent messages across reloads. */
  storage: KeyValueStorage
}

/**
 * A started client for `config`, stopped on unmount. One client per user id: a new name or
 * token says hello again on the same client (rooms, their positions, unsent messages and the
 * mesh's nodes stay), and a new URL moves it with `switchNode`, resuming every room exactly
 * where it was, from the other node.
 */
export function usePalaverClient(config: ClientConfig): PalaverClient {
  const { url, user, signer, token, storage } = config
  const client = useMemo(
    () =>
      new PalaverClient({
        url,
        user,
        storage,
        ...(signer === undefined ? {} : { signer }),
        ...(token === null ? {} : { token }),
      }),
    // The first name, token and URL are read once; later ones reach it through the effects below.
    // A user id comes with its key and signer.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [user.id, storage],
  )

  useEffect(() => {
    client.start()
    return () => client.stop()
  }, [client])

  useEffect(() => {
    if (client.user.name !== user.name || client.token !== (token ?? undefined))
      client.setIdentity(user.name, token ?? '')
  }, [client, user.name, token])

  useEffect(() => {
    if (client.getState().connection.homeUrl !== url) client.switchNode(url)
  }, [client, url])

  return client
}

/** The client's state; the component re-renders whenever it changes. */
export function useClientState(client: PalaverClient): ClientState {
  return useSyncExternalStore(client.subscribe, client.getState)
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
