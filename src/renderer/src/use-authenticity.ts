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

/** The authenticity of a message as a row shows it (null for no message). */
export function useAuthenticity(message: TimelineMessage): ShownAuthenticity
export function useAuthenticity(message: TimelineMessage | null): ShownAuthenticity | null
export function useAuthenticity(message: TimelineMessage | null): ShownAuthenticity | null {
  const received = message?.received ?? null
  const subscribe = useCallback(
    (onChange: () => void) =>
      received === null ? noUnsubscribe : pageChecks.watch(received, onChange),
    [received],
  )
  return useSyncExternalStore(subscribe, () => {
    if (message === null) return null
    if (received === null) return ownSendAuthenticity(message.user)
    return knownAuthenticity(received) ?? CHECKING
  })
}
