import { describe, expect, it } from 'vitest'
import { contain } from './containment.ts'
import type { LogFn } from './logger.ts'
import { NodeMetrics } from './metrics.ts'

function sink() {
  const errors: string[] = []
  const log: LogFn = (...args: [object, string] | [string]) => {
    errors.push(String(args.at(-1)))
  }
  const nothing: LogFn = () => {}
  return {
    errors,
    sink: {
      logger: { debug: nothing, info: nothing, warn: nothing, error: log },
      metrics: new NodeMetrics(),
    },
  }
}

async function count(metrics: NodeMetrics, scope: string): Promise<number> {
  const metric = await metrics.internalErrors.get()
  return metric.values.find((v) => v.labels.scope === scope)?.value ?? -1
}

describe('contain', () => {
  it('returns the result when nothing throws, and counts nothing', async () => {
    const { sink: s } = sink()
    expect(contain(s, 'session', 'a frame', () => 7)).toBe(7)
    expect(await count(s.metrics, 'session')).toBe(0)
  })

  it('logs, counts and closes what the error happened in, and throws nothing', async () => {
    const { sink: s, errors } = sink()
    let closedWith: unknown
    const result = contain(
      s,
      'link',
      'a peer frame',
      () => {
        throw new Error('boom')
      },
      (error) => (closedWith = error),
    )
    expect(result).toBeUndefined()
    expect((closedWith as Error).message).toBe('boom')
    expect(errors).toEqual(['a peer frame failed'])
    expect(await count(s.metrics, 'link')).toBe(1)
  })

  it('contains an error thrown while closing, too', async () => {
    const { sink: s } = sink()
    const run = () =>
      contain(
        s,
        'timer',
        'presence',
        () => {
          throw new Error('first')
        },
        () => {
          throw new Error('second')
        },
      )
    expect(run).not.toThrow()
    expect(await count(s.metrics, 'timer')).toBe(2)
  })
})
