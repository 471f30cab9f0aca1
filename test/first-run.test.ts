/**
 * A newcomer's first run on a fresh clone. `npm start` and `npm run dev` need Electron's binary,
 * which Electron 45 downloads only on demand: where that download cannot succeed they say so in
 * one sentence, with the command to retry, and exit with 1, within a bounded time and without a
 * stack trace. The headless node, `npm run chat-node`, serves the chat page once built.
 *
 * The download tests run only where the binary is not installed (as here and on CI, which
 * reach no host but the npm registry); a local mirror plays a download host that fails.
 */
import { lookup } from 'node:dns/promises'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ChatClient, randomUser } from './support/chat-client.ts'
import { cleanupNodes, health, startNode } from './support/node-process.ts'
import { type ProcessResult, runProcess } from './support/run-process.ts'

afterAll(cleanupNodes)

const ROOT = resolve(import.meta.dirname, '..')
const ELECTRON_DIR = join(ROOT, 'node_modules/electron')
const ELECTRON_VERSION = (
  JSON.parse(readFileSync(join(ELECTRON_DIR, 'package.json'), 'utf8')) as { version: string }
).version
/** npm, a build-less start and a failed download on a loaded machine: generous. */
const RUN_TIMEOUT_MS = 90_000
const INSTALLED = existsSync(join(ELECTRON_DIR, 'path.txt'))
const NOT_INSTALLED = `Electron ${ELECTRON_VERSION} is not installed`

/** This environment without anything that tells Electron's download where or whether to go. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([key]) => !/^(ELECTRON_|npm_config_electron|PALAVER_ELECTRON_)/i.test(key),
  )
  return { ...Object.fromEntries(kept), ...extra }
}

function npm(script: string, env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return runProcess('npm', ['run', script], { cwd: ROOT, env, timeoutMs: RUN_TIMEOUT_MS })
}

/** The one line the run printed on stderr besides npm's own, checked to be a plain sentence. */
function theSentence(result: ProcessResult): string {
  expect(result.stderr).not.toMatch(/^\s+at /m) // no stack trace
  const lines = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('npm '))
  expect(lines).toHaveLength(1)
  return lines[0] ?? ''
}

/** A download host on 127.0.0.1 that answers with `status`, or never when `status` is undefined. */
async function startMirror(status: number | undefined): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = []
  const server = createServer((req, res) => {
    asked.push(req.url ?? '')
    if (status !== undefined) res.writeHead(status).end()
  })
  servers.push(server)
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, asked }
}

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((closed) => server.close(closed))
  }
})

describe('npm start without Electron’s binary', () => {
  it('on this machine, says the download failed and how to retry, and exits with 1', async (ctx) => {
    if (INSTALLED) return ctx.skip('Electron’s binary is installed here')
    const reachable = await lookup('github.com').then(
      () => true,
      () => false,
    )
    // Where the download could succeed, this test would install Electron and start the app.
    if (reachable) return ctx.skip('github.com resolves here, so the download might succeed')
    // Whatever way the network fails here, quickly or by hanging, the run ends within the limit.
    const result = await npm('start', cleanEnv({ PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS: '30000' }))
    expect(theSentence(result)).toMatch(
      new RegExp(
        `^${NOT_INSTALLED} and its download failed \\(.+\\); once github\\.com \\(or your ELECTRON_MIRROR\\) can be reached, run: npx install-electron$`,
      ),
    )
    expect(result.stdout).not.toMatch(/vite v\d/) // electron-vite never ran
    expect(result.code).toBe(1)
  })

  it('does not download when ELECTRON_SKIP_BINARY_DOWNLOAD is set, and says so', async (ctx) => {
    if (INSTALLED) return ctx.skip('Electron’s binary is installed here')
    const mirror = await startMirror(404)
    const env = cleanEnv({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ELECTRON_MIRROR: mirror.url })
    const result = await npm('start', env)
    expect(theSentence(result)).toBe(
      `${NOT_INSTALLED} and ELECTRON_SKIP_BINARY_DOWNLOAD is set, so it was not downloaded; to install it, run: npx install-electron`,
    )
    expect(result.code).toBe(1)
    expect(mirror.asked).toEqual([])
  })

  it('npm run dev names the download host’s answer', async (ctx) => {
    if (INSTALLED) return ctx.skip('Electron’s binary is installed here')
    const mirror = await startMirror(404)
    const result = await npm('dev', cleanEnv({ ELECTRON_MIRROR: mirror.url }))
    expect(theSentence(result)).toContain(
      `download failed (Response code 404 (Not Found) for ${mirror.url}v${ELECTRON_VERSION}/`,
    )
    expect(result.code).toBe(1)
    expect(mirror.asked).toHaveLength(1)
  })

  it('gives up on a download host that never answers after PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS', async (ctx) => {
    if (INSTALLED) return ctx.skip('Electron’s binary is installed here')
    const mirror = await startMirror(undefined)
    const env = cleanEnv({
      ELECTRON_MIRROR: mirror.url,
      PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS: '2000',
    })
    const result = await npm('start', env)
    expect(theSentence(result)).toContain('download failed (did not finish within 2 s)')
    expect(result.code).toBe(1)
    expect(mirror.asked).toHaveLength(1)
    expect(result.ms).toBeGreaterThanOrEqual(2000)
  })
})

describe('the built chat-node (npm run chat-node)', () => {
  it('serves the chat page from the build, and stores through its writer thread', async (ctx) => {
    const built = join(ROOT, 'out/main/cli.js')
    if (!existsSync(built)) return ctx.skip('not built (npm run build)')
    const node = await startNode({ cli: built })
    const page = await fetch(`${node.httpUrl}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<div id="root">')
    // The build finds store-worker.js beside its chunks: a message is acked once stored.
    const client = await ChatClient.connect(node.wsUrl, randomUser())
    await client.join('built')
    const ack = await client.say('built', 'stored by the build')
    expect((await health(node)).events).toBe(1)
    expect(ack.id.endsWith(':1')).toBe(true)
  })
})
