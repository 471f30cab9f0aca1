/**
 * Node 24, said up front: under an older Node.js every entry point prints one sentence and exits
 * with 2 before doing anything else, and `npm ci` stops with npm's engine error. Runs the
 * system's Node 20 (`/usr/bin/node`, on this machine and on CI) through the same npm.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, realpathSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupNodes, CLI, tempDir } from './support/node-process.ts'
import { runProcess } from './support/run-process.ts'
import { MIN_NODE_MAJOR } from '../scripts/check-node.js'

afterAll(cleanupNodes)

const ROOT = resolve(import.meta.dirname, '..')
const BUILT_CLI = join(ROOT, 'out/main/cli.js')
const OLD_NODE = '/usr/bin/node'
/** npm and a node process under load: generous, this is not a speed test. */
const RUN_TIMEOUT_MS = 60_000

function sentence(version: string): string {
  return `Palaver needs Node.js ${MIN_NODE_MAJOR} or newer (this is ${version})`
}

/** The version of the system's Node when it is older than Palaver needs, or why not. */
function oldNode(): { version: string } | { skip: string } {
  if (!existsSync(OLD_NODE)) return { skip: `${OLD_NODE} is not installed` }
  const version = spawnSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()
  const major = Number(version.slice(1).split('.')[0])
  if (major >= MIN_NODE_MAJOR) return { skip: `${OLD_NODE} is ${version}, not an older Node` }
  return { version }
}

/** npm's own script (npm-cli.js), found on PATH, so that the old Node can run it. */
function npmCli(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const npm = join(dir, 'npm')
    if (existsSync(npm)) return realpathSync(npm)
  }
  return undefined
}

const old = oldNode()
const npm = npmCli()
/** Only the old Node on PATH, so that every `node` the npm scripts run is that one. */
const oldNodeEnv = { PATH: [dirname(OLD_NODE), '/bin'].join(delimiter), HOME: process.env.HOME }

describe(`under ${OLD_NODE}`, () => {
  const scripts = [
    'start',
    'dev',
    'cluster',
    'test',
    'test:unit',
    'test:integration',
    'test:e2e',
    'test:faults',
    'bench',
    'chat-node',
  ]
  for (const script of scripts) {
    it(`npm run ${script} says Node ${MIN_NODE_MAJOR} is needed and exits with 2`, async (ctx) => {
      if ('skip' in old) return ctx.skip(old.skip)
      if (npm === undefined) return ctx.skip('npm is not on PATH')
      if (script === 'chat-node' && !existsSync(BUILT_CLI)) return ctx.skip('not built')
      const result = await runProcess(OLD_NODE, [npm, 'run', script], {
        cwd: ROOT,
        env: oldNodeEnv,
        timeoutMs: RUN_TIMEOUT_MS,
      })
      // npm may add lines of its own; everything else is the one sentence.
      const ours = result.stderr
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('npm '))
      expect(ours).toEqual([sentence(old.version)])
      expect(result.code).toBe(2)
    })
  }

  it('the built chat-node (out/main/cli.js) says so before it creates anything', async (ctx) => {
    if ('skip' in old) return ctx.skip(old.skip)
    if (!existsSync(BUILT_CLI)) return ctx.skip('not built (npm run build)')
    const data = join(tempDir(), 'data')
    const result = await runProcess(OLD_NODE, [BUILT_CLI, '--data', data], {
      env: oldNodeEnv,
      timeoutMs: RUN_TIMEOUT_MS,
    })
    expect(result.stderr).toBe(`${sentence(old.version)}\n`)
    expect(result.code).toBe(2)
    expect(existsSync(data)).toBe(false)
  })

  it('npm ci stops with npm engine error before it installs anything', async (ctx) => {
    if ('skip' in old) return ctx.skip(old.skip)
    if (npm === undefined) return ctx.skip('npm is not on PATH')
    // A copy of what npm ci reads; --dry-run and --offline: were the check to fail, nothing
    // would be fetched or written.
    const dir = tempDir('palaver-npm-ci-')
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
      copyFileSync(join(ROOT, file), join(dir, file))
    }
    const result = await runProcess(
      OLD_NODE,
      [npm, 'ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      { cwd: dir, env: oldNodeEnv, timeoutMs: RUN_TIMEOUT_MS },
    )
    expect(result.stderr).toContain('EBADENGINE')
    expect(result.stderr).toContain(`Required: {"node":">=${MIN_NODE_MAJOR}"}`)
    expect(result.code).not.toBe(0)
    expect(existsSync(join(dir, 'node_modules'))).toBe(false)
  })
})

describe('src/main/cli.ts', () => {
  // No Node older than 22.18 runs a .ts file at all (it stops with ERR_UNKNOWN_FILE_EXTENSION
  // before any code runs); a Node 22 or 23 that does is played by this Node reporting v22.
  it('says Node 24 is needed on a Node that runs TypeScript but is too old, before it creates anything', async () => {
    const data = join(tempDir(), 'data')
    const posing =
      'data:text/javascript,Object.defineProperty(process,"version",{value:"v22.18.0"})'
    const result = await runProcess(process.execPath, ['--import', posing, CLI, '--data', data], {
      timeoutMs: RUN_TIMEOUT_MS,
    })
    expect(result.stderr).toBe(`${sentence('v22.18.0')}\n`)
    expect(result.code).toBe(2)
    expect(existsSync(data)).toBe(false)
  })
})
