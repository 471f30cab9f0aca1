/**
 * Makes sure Electron's binary is installed before `npm start` and `npm run dev` hand over to
 * electron-vite, which needs it (and otherwise stops with "Error: Electron uninstall" and a stack
 * trace). Since Electron 45, installing the `electron` package no longer downloads the binary, so
 * on a fresh clone this runs the package's own install step (its `install-electron` command)
 * once. When that cannot succeed it prints one sentence, saying what failed and the command to
 * retry, and exits with 1: no stack trace.
 *
 * - The install step is given at most PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS (default
 *   DOWNLOAD_TIMEOUT_MS, 10 minutes: it fetches about 100 MB, from github.com unless
 *   ELECTRON_MIRROR says otherwise), then killed: a stalled connection never hangs `npm start`.
 * - ELECTRON_SKIP_BINARY_DOWNLOAD is honoured: whoever sets it (our CI does for `npm ci`,
 *   packagers and offline machines do) has said this machine must not fetch Electron, so a
 *   missing binary is reported at once instead of being downloaded behind their back.
 * - ELECTRON_EXEC_PATH, which electron-vite uses instead of the package's binary, skips all this.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** How long the install step may take by default, download included. */
export const DOWNLOAD_TIMEOUT_MS = 10 * 60_000

/** What a person runs to try the download again. */
const RETRY_COMMAND = 'npx install-electron'

const electronDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
const electronVersion = (
  JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')) as { version: string }
).version

/** Whether electron-vite will find a binary: path.txt names a file that is in dist/. */
function binaryInstalled(): boolean {
  const pathFile = join(electronDir, 'path.txt')
  return (
    existsSync(pathFile) && existsSync(join(electronDir, 'dist', readFileSync(pathFile, 'utf8')))
  )
}

function downloadTimeoutMs(): number {
  const value = process.env.PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS
  if (value === undefined) return DOWNLOAD_TIMEOUT_MS
  if (!/^[1-9]\d*$/.test(value)) {
    fail(`PALAVER_ELECTRON_DOWNLOAD_TIMEOUT_MS must be a number of milliseconds, not "${value}"`)
  }
  return Number(value)
}

/**
 * Runs the electron package's install step. Resolves with why it failed (the first line of what
 * it printed, without its stack trace), or undefined when it succeeded.
 */
function runInstallStep(timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(electronDir, 'install.js')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(`did not finish within ${Math.round(timeoutMs / 1000)} s`)
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve(error.message)
    })
    // 'close', not 'exit': by then all it printed has been read.
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) return resolve(undefined)
      const firstLine = stderr.split('\n').find((line) => line.trim() !== '') ?? `exit code ${code}`
      // "TypeError: fetch failed" says more as "fetch failed".
      resolve(firstLine.trim().replace(/^\w*Error: /, ''))
    })
  })
}

function fail(sentence: string): never {
  process.stderr.write(`${sentence}\n`)
  process.exit(1)
}

if (!process.env.ELECTRON_EXEC_PATH && !binaryInstalled()) {
  const what = `Electron ${electronVersion} is not installed`
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    fail(
      `${what} and ELECTRON_SKIP_BINARY_DOWNLOAD is set, so it was not downloaded; to install it, run: ${RETRY_COMMAND}`,
    )
  }
  process.stdout.write(`Downloading Electron ${electronVersion} (about 100 MB, once)…\n`)
  const failure = await runInstallStep(downloadTimeoutMs())
  if (failure !== undefined) {
    fail(
      `${what} and its download failed (${failure}); once github.com (or your ELECTRON_MIRROR) can be reached, run: ${RETRY_COMMAND}`,
    )
  }
  if (!binaryInstalled()) {
    fail(`${what}: its install step ended without installing it; run: ${RETRY_COMMAND}`)
  }
}
