/**
 * The built desktop app (`npm run build` first) in Electron: it starts its own node, its window
 * connects to it, and a message sent from the composer is acknowledged.
 *
 * Electron's binary is downloaded from GitHub when the package is installed; where that did not
 * happen, the test reports itself skipped, with the reason, instead of failing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import type { PalaverApi } from '../src/shared/ipc.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { ChatPage } from './pages/chat-page.ts'

const MAIN = resolve(import.meta.dirname, '../out/main/index.js')
const SKIP_REASON =
  'Electron binary not installed here (its download comes from GitHub, which this network does not reach); this test runs where it is'

const require = createRequire(import.meta.url)

/**
 * The Electron binary Playwright launches, or undefined when it is not installed. electron's
 * index.js tries to download a missing binary before it throws, so the files it names are looked
 * for first and the package is asked only when they are there.
 */
function electronBinary(): string | undefined {
  let packageDir: string
  try {
    packageDir = dirname(require.resolve('electron/package.json'))
  } catch {
    return undefined
  }
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH === undefined) {
    const pathFile = join(packageDir, 'path.txt')
    if (!existsSync(pathFile)) return undefined
    if (!existsSync(join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim())))
      return undefined
  }
  try {
    const binary: unknown = require('electron')
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined
  } catch {
    return undefined
  }
}

/**
 * A fresh user data folder whose node config listens on 127.0.0.1 with free ports (the app's
 * first-run default is every interface, ports 8080 and 9080). Launched with a script path,
 * Electron names the app from no package.json ("Electron"); launched from the folder, from ours
 * ("palaver"): the config goes in both places.
 */
function freshHome(): { home: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'palaver-electron-'))
  const config = join(home, '.config')
  for (const appName of ['Electron', 'palaver']) {
    const userData = join(config, appName)
    mkdirSync(userData, { recursive: true })
    const node = testNodeConfig(userData, { name: 'Desktop' })
    writeFileSync(join(userData, 'node.json'), `${JSON.stringify(node, null, 2)}\n`)
  }
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value
  return { home, env: { ...env, HOME: home, XDG_CONFIG_HOME: config } }
}

test('the app runs its node, and a message from its window is acknowledged', async () => {
  if (electronBinary() === undefined) {
    // The list reporter shows a skip without its reason: say it on the output too.
    console.log(`[electron] skipped: ${SKIP_REASON}`)
    test.skip(true, SKIP_REASON)
    return
  }
  expect(existsSync(MAIN), `${MAIN} exists (run npm run build first)`).toBe(true)

  const { home, env } = freshHome()
  // Chromium refuses to run as root with its sandbox (CI containers); the page keeps
  // `sandbox: true` in its web preferences either way.
  const args = process.getuid?.() === 0 ? [MAIN, '--no-sandbox'] : [MAIN]
  const app = await electron.launch({ args, env })
  try {
    const page = await app.firstWindow()

    // The node runs: the preload's API says so (the UI shows it below).
    await expect
      .poll(
        () =>
          page.evaluate(async () => {
            const api = (window as unknown as { palaver?: PalaverApi }).palaver
            if (!api) return 'no window.palaver'
            const result = await api.status()
            return result.ok ? result.value.state : result.error.code
          }),
        { timeout: 30_000 },
      )
      .toBe('running')

    // A first run asks for a name first.
    const chat = new ChatPage(page)
    const nameField = page.getByLabel('Display name')
    await expect(nameField.or(chat.connection)).toBeVisible({ timeout: 30_000 })
    if (await nameField.isVisible()) {
      await nameField.fill('Ada')
      await page.getByRole('button', { name: 'Start chatting' }).click()
    }
    await chat.expectConnected()

    const text = `hello from the desktop app ${Date.now()}`
    await chat.send(text)
    await chat.expectSent(text)
  } finally {
    await app.close()
    rmSync(home, { recursive: true, force: true })
  }
})
