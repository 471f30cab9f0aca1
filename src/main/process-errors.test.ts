import { describe, expect, it } from 'vitest'
import type { LogFn } from './node/logger.ts'
import {
  MAX_PROCESS_ERRORS,
  PROCESS_ERROR_WINDOW_MS,
  ProcessErrorPolicy,
} from './process-errors.ts'

function recording() {
  const lines: string[] = []
  const log: LogFn = (...args: [object, string] | [string]) => void lines.push(String(args.at(-1)))
  const nothing: LogFn = () => {}
  return { lines, logger: { debug: nothing, info: nothing, warn: nothing, error: log } }
}

describe('ProcessErrorPolicy', () => {
  it('logs each error and keeps serving, up to the bound within the window', () => {
    let now = 0
    const { lines, logger } = recording()
    const policy = new ProcessErrorPolicy(logger, () => now)
    for (let i = 0; i < MAX_PROCESS_ERRORS; i++) {
      expect(policy.handle('uncaughtException', new Error(`e${i}`))).toBe('keep-serving')
      now += 1_000
    }
    expect(lines).toHaveLength(MAX_PROCESS_ERRORS)
    expect(policy.handle('unhandledRejection', new Error('one too many'))).toBe('exit')
    expect(lines.at(-1)).toMatch(/exiting/)
  })

  it('forgets errors older than the window', () => {
    let now = 0
    const policy = new ProcessErrorPolicy(recording().logger, () => now)
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < MAX_PROCESS_ERRORS; i++) {
        expect(policy.handle('uncaughtException', new Error('again'))).toBe('keep-serving')
      }
      now += PROCESS_ERROR_WINDOW_MS
    }
  })
})
