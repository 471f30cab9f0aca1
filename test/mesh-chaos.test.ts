/**
 * The short chaos run of `npm test` (test/support/chaos.ts): three nodes in a full mesh and
 * five in a ring, every peer link through a proxy, about 35 faults in all (kills and restarts,
 * pauses past the liveness timeout, partitions, flapping and slow links, readers moving) while
 * writers fail over and readers resume. After the heal, from every node: no acknowledged message
 * lost, nothing stored twice, no reader session that got an origin's events out of order, with
 * a hole or twice, and vectors equal within 5 s.
 *
 * Each run prints its seed and figures. Replay one with PALAVER_FAULTS_SEED=<seed>; longer
 * runs: `npm run test:faults -- --help`.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { formatReport, runChaos } from './support/chaos.ts'
import { fullMesh, ring } from './support/chaos-schedule.ts'
import { cleanupNodes } from './support/node-process.ts'
import { Prng } from './support/prng.ts'

afterAll(cleanupNodes)

const seedFromEnv = process.env.PALAVER_FAULTS_SEED
const seed = seedFromEnv ? Number(seedFromEnv) : Prng.freshSeed()

describe('a mesh under faults', () => {
  it.each([
    ['a full mesh of 3', fullMesh(3), 16],
    ['a ring of 5', ring(5), 18],
  ])(
    '%s loses nothing, repeats nothing and agrees again after the heal',
    async (_, topology, faults) => {
      const timeline: string[] = []
      const report = await runChaos({
        topology,
        faults,
        durationMs: 25_000,
        seed,
        log: (line) => timeline.push(line),
      })
      console.log(formatReport(report))
      if (report.violations.length > 0) {
        console.log(
          `timeline (replay with PALAVER_FAULTS_SEED=${seed}):\n  ${timeline.join('\n  ')}`,
        )
      }
      expect(report.violations).toEqual([])
      // A run that wrote nothing, or injected nothing, would prove nothing.
      expect(report.figures.acked).toBeGreaterThan(100)
      expect(report.figures.sessions).toBeGreaterThan(topology.nodes)
    },
    180_000,
  )
})
