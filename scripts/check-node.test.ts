import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MIN_NODE_MAJOR } from './check-node.js'

const ROOT = join(import.meta.dirname, '..')

describe('the Node.js version Palaver needs', () => {
  it('is the one package.json gives npm, which enforces it on install (.npmrc)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string }
    }
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_MAJOR}`)
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m)
  })
})
