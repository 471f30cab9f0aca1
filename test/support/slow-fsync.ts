/**
 * Slow commits in a real node process, with no hook in the node: `slowFsync()` compiles
 * `slow-fsync.c` (an LD_PRELOAD shim around fsync and fdatasync) with gcc into a temporary
 * directory and returns the environment to start nodes with (`startNode({ env })`) and the
 * controls of the delay. The delay applies from the moment `delay()` is called, to every process
 * started with that environment; SQLite's commits (synchronous=FULL) wait for it.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir } from './node-process.ts'
import { runProcess } from './run-process.ts'

const SOURCE = resolve(import.meta.dirname, 'slow-fsync.c')
/** How long gcc may take on a loaded machine. */
const COMPILE_TIMEOUT_MS = 60_000

export interface SlowFsync {
  /** The environment for `startNode`: LD_PRELOAD of the shim, and its control and log files. */
  readonly env: NodeJS.ProcessEnv
  /** From now on every fsync and fdatasync sleeps `ms` (at most 60 s) before it runs. */
  delay(ms: number): void
  /** From now on fsync and fdatasync run at once. */
  off(): void
  /** How many delayed calls have begun their sleep, and how many have ended it, so far. */
  delays(): { begun: number; ended: number }
}

/**
 * Compiles the shim (needs gcc) into a temporary directory that `cleanupNodes()` removes.
 * Rejects with gcc's output when it does not compile.
 */
export async function slowFsync(): Promise<SlowFsync> {
  const dir = tempDir('palaver-slow-fsync-')
  const library = join(dir, 'slow-fsync.so')
  const control = join(dir, 'delay-ms')
  const log = join(dir, 'delays.log')
  const gcc = await runProcess(
    'gcc',
    ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', library, SOURCE, '-ldl'],
    { timeoutMs: COMPILE_TIMEOUT_MS },
  ).catch((error: Error) => {
    throw new Error(`slowFsync needs gcc to build its LD_PRELOAD shim: ${error.message}`)
  })
  if (gcc.code !== 0) throw new Error(`gcc could not build ${SOURCE}:\n${gcc.stderr}`)
  writeFileSync(log, '')

  const lines = (what: string) =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${what} `))
  return {
    env: {
      LD_PRELOAD: library,
      PALAVER_SLOW_FSYNC_CONTROL: control,
      PALAVER_SLOW_FSYNC_LOG: log,
    },
    delay(ms) {
      // Written whole and renamed into place: the shim never reads half a number.
      const next = `${control}.next`
      writeFileSync(next, String(ms))
      renameSync(next, control)
    },
    off() {
      rmSync(control, { force: true })
    },
    delays() {
      return { begun: lines('begin').length, ended: lines('end').length }
    },
  }
}
