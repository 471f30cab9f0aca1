/**
 * `npm run test:faults`: the chaos run of test/mesh-chaos.test.ts, as long as asked. Prints each
 * run's seed, timeline and figures; exits 1 when a check failed, 2 on bad flags.
 *
 *   npm run test:faults                                   both topologies, 150 faults in 300 s each
 *   npm run test:faults -- --faults 40 --duration 60      shorter
 *   npm run test:faults -- --topology ring --seed 1234    replay one run
 */
import { parseArgs } from 'node:util'
import { formatReport, runChaos } from '../test/support/chaos.ts'
import { fullMesh, ring, type Topology } from '../test/support/chaos-schedule.ts'
import { cleanupNodes } from '../test/support/node-process.ts'
import { Prng } from '../test/support/prng.ts'

const USAGE = `Usage: npm run test:faults -- [flags]

  --topology T   mesh (3 nodes, full mesh), ring (5 nodes) or both (default both)
  --faults N     faults per run (default 150)
  --duration S   seconds of faults per run (default 300)
  --seed N       the schedule's seed (default: a fresh one, printed)
  --writers N    writers (default 3)
  --rate N       messages per second per writer (default 8)
`

class UsageError extends Error {}

function integer(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag}: expected an integer of at least ${min}, got "${value}"`)
  }
  return n
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string', default: 'both' },
      faults: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      writers: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const topologies: Topology[] =
    { mesh: [fullMesh(3)], ring: [ring(5)], both: [fullMesh(3), ring(5)] }[values.topology] ?? []
  if (topologies.length === 0)
    throw new UsageError(`--topology: expected mesh, ring or both, got "${values.topology}"`)
  const faults = integer('--faults', values.faults, 150)
  const durationMs = integer('--duration', values.duration, 300) * 1000
  const seed = values.seed === undefined ? Prng.freshSeed() : integer('--seed', values.seed, 0, 0)
  const writers = integer('--writers', values.writers, 3)
  const perSecond = integer('--rate', values.rate, 8)

  let failed = false
  for (const topology of topologies) {
    console.log(`\n${topology.name}: seed ${seed}, ${faults} faults in ${durationMs / 1000} s`)
    const report = await runChaos({
      topology,
      faults,
      durationMs,
      seed,
      writers,
      perSecond,
      log: (line) => console.log(`  ${line}`),
    })
    console.log(formatReport(report))
    failed ||= report.violations.length > 0
  }
  return failed ? 1 : 0
}

main()
  .then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`${error.message}\n\n${USAGE}`)
        process.exitCode = 2
      } else {
        console.error(error)
        process.exitCode = 1
      }
    },
  )
  .finally(() => cleanupNodes())
