/**
 * Property-based fuzzing of a real `chat-node` (fast-check): generated hostile runs of client
 * frames (every type, each field valid or hostile, raw text, binary, bytes that are not UTF-8)
 * and of peer frames after a valid handshake (every type, and bytes that are not frames). After
 * each run: both processes alive, honest sessions on the target and on an honest node linked
 * to it still chat both ways, and nothing invalid stored on the target or relayed to the honest
 * node (test/support/fuzz-target.ts); once all runs passed, both stay up through a presence
 * announcement (a timer may trip over what the runs left) and still chat. Each property gets
 * fresh nodes. A run's failure ends the property (no shrinking against a node that may have
 * died) and prints how to replay it.
 *
 * Bounded in runs and time. Environment:
 *   PALAVER_FUZZ_SEED, PALAVER_FUZZ_PATH  replay (the failure message gives both)
 *   PALAVER_FUZZ_RUNS                     runs per property (default 100)
 *   PALAVER_FUZZ_TIME_MS                  time per property's runs (default 17000)
 *   PALAVER_FUZZ_SHRINK=1                 shrink a failure (restarting dead nodes between runs)
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { FuzzTarget } from './support/fuzz-target.ts'
import { clientRun, peerRun } from './support/hostile.ts'
import { cleanupNodes } from './support/node-process.ts'
import { Prng } from './support/prng.ts'

const env = process.env
// fast-check takes 32-bit signed seeds (and reports them so).
const SEED = (env.PALAVER_FUZZ_SEED ? Number(env.PALAVER_FUZZ_SEED) : Prng.freshSeed()) | 0
const PATH = env.PALAVER_FUZZ_PATH
const RUNS = Number(env.PALAVER_FUZZ_RUNS ?? 100)
const TIME_MS = Number(env.PALAVER_FUZZ_TIME_MS ?? 17_000)
const SHRINK = env.PALAVER_FUZZ_SHRINK === '1'

let world: FuzzTarget | undefined

/** Fresh nodes: for a new property, or after a run killed one (when shrinking). */
async function freshWorld(): Promise<FuzzTarget> {
  await world?.stop()
  world = await FuzzTarget.start()
  return world
}

async function liveWorld(): Promise<FuzzTarget> {
  return world && (await world.serving()) ? world : freshWorld()
}

afterAll(async () => {
  await world?.stop()
  await cleanupNodes()
})

/** A counterexample with its long strings (deep JSON, huge frames) cut to a readable length. */
function shorten(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.){120,}"/g, (s) => `${s.slice(0, 40)}…" (${s.length} chars)`)
}

/** Runs `property` and fails with its seed, path, counterexample and a command to replay it. */
async function fuzz<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  run: (w: FuzzTarget, input: T) => Promise<void>,
) {
  console.log(`fuzz "${name}": seed ${SEED}, up to ${RUNS} runs in ${TIME_MS} ms`)
  await freshWorld()
  let runs = 0
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      runs++
      const w = await liveWorld()
      await run(w, input).catch(async (error: Error) => {
        throw await w.explain(error)
      })
      await w.check()
    }),
    {
      seed: SEED,
      ...(PATH ? { path: PATH } : {}),
      numRuns: RUNS,
      endOnFailure: !SHRINK,
      plugins: [fc.interruptAfterTimeLimit(TIME_MS)],
    },
  )
  const { local, remote } = world?.readBack ?? { local: 0, remote: 0 }
  const forged = world?.model.forged ?? 0
  const refused = (await world?.refusedByTarget().catch(() => undefined)) ?? 'unknown'
  console.log(
    `fuzz "${name}": ${runs} runs, ${details.failed ? 'failed' : 'passed'}; ` +
      `audits read back ${local} messages from clients and ${remote} events from peers so far; ` +
      `${forged} events sent whose signatures do not hold, ${refused} frames refused for theirs`,
  )
  if (details.failed) {
    const replay = `PALAVER_FUZZ_SEED=${details.seed} PALAVER_FUZZ_PATH=${details.counterexamplePath} npx vitest run test/node-fuzz.test.ts -t '${name}'`
    throw new Error(
      `${name}: failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath})\n` +
        `replay: ${replay}\n` +
        `counterexample: ${shorten(fc.stringify(details.counterexample))}\n` +
        `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
    )
  }
  expect(runs).toBeGreaterThan(0)
  await world?.finalCheck().catch((error: Error) => {
    const replay = `PALAVER_FUZZ_SEED=${SEED} PALAVER_FUZZ_RUNS=${runs} npx vitest run test/node-fuzz.test.ts -t '${name}'`
    throw new Error(`${name}: after ${runs} runs passed (replay: ${replay}):\n${error.message}`)
  })
}

describe('a node fuzzed with hostile input', () => {
  it(
    'client frames',
    async () => {
      await fuzz('client frames', clientRun, (w, run) => w.runClient(run))
    },
    TIME_MS + 60_000,
  )

  it(
    'peer frames after a valid handshake',
    async () => {
      await fuzz('peer frames after a valid handshake', peerRun, (w, run) => w.runPeer(run))
    },
    TIME_MS + 60_000,
  )
})
