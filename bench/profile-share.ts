/**
 * How much of a node's event loop went to signatures, from the `.cpuprofile` a profiled node
 * writes (`--profile DIR`): the share of its main thread's busy samples whose stack passes
 * through the code that signs, verifies or makes canonical bytes (`SIGNING_FILES`), callees
 * included (OpenSSL's work shows under the JavaScript function that called it). The writer
 * thread (which signs the node's own events) writes a profile of its own, and libuv's pool
 * (which verifies) none: their work is not counted here, only what is left on the loop.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Source files whose functions, and everything they call, count as signature work. */
const SIGNING_FILES = ['signing-native.ts', 'signatures.ts', 'canonical.ts', 'keys.ts']
/** Samples of these pseudo-frames are not CPU work. */
const NOT_BUSY = new Set(['(idle)', '(program)', '(garbage collector)'])

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
}

export interface SigningShare {
  /** Samples in which the thread was running JavaScript or native code called from it. */
  busySamples: number
  /** Of those, samples inside signature work. */
  signingSamples: number
}

/** The signing share of one profile. */
export function signingShare(profile: Profile): SigningShare {
  const parent = new Map<number, number>()
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const signing = new Map<number, boolean>()
  const isSigning = (id: number): boolean => {
    const known = signing.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)
    const up = parent.get(id)
    const own = SIGNING_FILES.some((file) => node?.callFrame.url.endsWith(file) ?? false)
    const result = own || (up !== undefined && isSigning(up))
    signing.set(id, result)
    return result
  }
  let busySamples = 0
  let signingSamples = 0
  for (const id of profile.samples) {
    if (NOT_BUSY.has(byId.get(id)?.callFrame.functionName ?? '')) continue
    busySamples++
    if (isSigning(id)) signingSamples++
  }
  return { busySamples, signingSamples }
}

/**
 * The signing share of the main thread's profile in `dir` of each process of `pids`, by pid.
 * Node names a profile `CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`; the main thread is 0.
 */
export function signingShares(dir: string, pids: readonly number[]): Map<number, SigningShare> {
  const shares = new Map<number, SigningShare>()
  for (const file of readdirSync(dir)) {
    const pid = pids.find((p) => file.endsWith('.cpuprofile') && file.includes(`.${p}.0.`))
    if (pid === undefined) continue
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile
    shares.set(pid, signingShare(profile))
  }
  return shares
}
