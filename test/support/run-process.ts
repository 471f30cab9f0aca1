/**
 * Runs a command to completion and collects what it printed: for commands that are expected to
 * end on their own (`npm start` refusing to run, a CLI given bad flags).
 */
import { spawn } from 'node:child_process'

export interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** How long it ran, in milliseconds. */
  ms: number
}

export interface RunOptions {
  cwd?: string
  /** The whole environment of the process (the test's own by default). */
  env?: NodeJS.ProcessEnv
  /** How long it may run before it and everything it started are killed, and the run fails. */
  timeoutMs?: number
}

/**
 * Runs `command` in a process group of its own, so that a run that outlives `timeoutMs` is
 * killed with everything it started (npm starts a shell, which starts node, …).
 */
export function runProcess(
  command: string,
  args: readonly string[],
  { cwd, env = process.env, timeoutMs = 10_000 }: RunOptions = {},
): Promise<ProcessResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      const output = `stdout:\n${stdout}\nstderr:\n${stderr}`
      reject(new Error(`${command} ${args.join(' ')} did not end in ${timeoutMs} ms\n${output}`))
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}
