/**
 * React's view of a message's authenticity (client/authenticity.ts): known at once for a message
 * checked before, otherwise "checking" until the page-wide queue, which checks a slice at a time,
 * gets to it. A row that goes away stops waiting, so only what is drawn is ever checked.
 */
import { useCallback, useSyncExternalStore } from 'react'
import {
  type Authenticity,
  AuthenticityChecks,
  knownAuthenticity,
  ownSendAuthenticity,
} from './client/authenticity.ts'
import type { TimelineMessage } from './client/timeline.ts'

/** What a row shows: a message's authenticity, or that its check has not run yet. */
export type ShownAuthenticity = Authenticity | { status: 'checking' }

const CHECKING: ShownAuthenticity = { status: 'checking' }

const pageChecks = new AuthenticityChecks()

const noUnsubscribe = () => {}

export function useAuthenticity(message: TimelineMessage): ShownAuthenticity {
  const { received, user } = message
  const subscribe = useCallback(
    (onChange: () => void) =>
      received === null ? noUnsubscribe : pageChecks.watch(received, onChange),
    [received],
  )
  return useSyncExternalStore(subscribe, () =>
    received === null ? ownSendAuthenticity(user) : (knownAuthenticity(received) ?? CHECKING),
  )
}
