/**
 * The CLI's and the desktop app's guard against errors that escape the node
 * (src/main/process-errors.ts), in real Node processes: one failure is logged and the process
 * goes on; a storm of them ends it with 1.
 */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/** Runs a Node program that guards itself, then fails in the ways `failures` says. */
function runGuarded(failures: string): Promise<{ code: number | null; stdout: string }> {
  const module = resolve(import.meta.dirname, '../src/main/process-errors.ts')
  const program = `
    const { ProcessErrorPolicy, guardProcess } = await import(${JSON.stringify(module)})
    const logger = { debug() {}, info() {}, warn() {}, error: (_f, m) => console.log('logged:', m) }
    guardProcess(new ProcessErrorPolicy(logger), () => process.exit(1))
    ${failures}
  `
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the guarded program did not end: ${stdout}`))
    }, 10_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      done({ code, stdout })
    })
  })
}

describe('guardProcess, in a real process', () => {
  it('keeps the process running after a thrown callback and a rejected promise', async () => {
    const { code, stdout } = await runGuarded(`
      setTimeout(() => { throw new Error('thrown in a timer') }, 1)
      setTimeout(() => void Promise.reject(new Error('nobody awaited this')), 2)
      setTimeout(() => console.log('still serving'), 50)
    `)
    const logged = 'logged: unexpected error outside the node; still serving'
    expect(stdout.trim().split('\n')).toEqual([logged, logged, 'still serving'])
    expect(code).toBe(0)
  })

  it('ends the process with code 1 when errors keep coming', async () => {
    const { code, stdout } = await runGuarded(`
      const timer = setInterval(() => { throw new Error('every time') }, 1)
    `)
    expect(code).toBe(1)
    expect(stdout).toMatch(/exiting/)
  })
})
