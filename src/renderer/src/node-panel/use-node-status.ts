import { useEffect, useState } from 'react'
import type { NodeStatus, PalaverApi } from '../../../shared/ipc.ts'
import type { NodeProblem } from '../lib/node-problems.ts'

/** The node's status, live: read once, then kept current by the status subscription. */
export function useNodeStatus(api: PalaverApi): {
  status: NodeStatus | null
  /** Why the status could not be read, when it could not. */
  error: NodeProblem | null
} {
  const [status, setStatus] = useState<NodeStatus | null>(null)
  const [error, setError] = useState<NodeProblem | null>(null)
  useEffect(() => {
    let live = true
    const unsubscribe = api.onStatus((next) => {
      if (live) setStatus(next)
    })
    void api.status().then((result) => {
      if (!live) return
      if (result.ok) setStatus(result.value)
      else setError(result.error)
    })
    return () => {
      live = false
      unsubscribe()
    }
  }, [api])
  return { status, error }
}
