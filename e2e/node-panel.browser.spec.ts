/**
 * The desktop app's node panel in Debian's Chromium. The page gets a `window.palaver` built by
 * the preload's own `createPalaverApi`, whose calls go to the real IPC handlers in front of a
 * real `NodeController` in this test process: only Electron's IPC transport is replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, type Page, test } from '@playwright/test'
import { createPalaverApi, type InvokeChannel } from '../src/shared/ipc.ts'
import { createIpcHandlers } from '../src/main/ipc-handlers.ts'
import { NodeController } from '../src/main/node-controller.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { cleanupNodes, health, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'

test.use({ viewport: { width: 1280, height: 1000 } })

let controller: NodeController | undefined
let dir: string | undefined

test.afterEach(async () => {
  await controller?.stop().catch(() => {})
  controller = undefined
  await cleanupNodes()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Installs `window.palaver` in the page, over a Playwright binding to the IPC handlers. */
async function bridge(page: Page, handlersOf: NodeController): Promise<void> {
  const handlers = createIpcHandlers(
    handlersOf,
    { setUnread: () => {}, focus: () => {} },
    () => true,
  )
  await page.exposeBinding('__palaverInvoke', (source, channel: InvokeChannel, args: unknown[]) =>
    handlers[channel]({ senderFrame: { url: source.frame.url() } }, ...args),
  )
  handlersOf.on('status', (status) => {
    void page
      .evaluate(
        (s) => (window as unknown as { __palaverEmit: (s: unknown) => void }).__palaverEmit(s),
        status,
      )
      .catch(() => {})
  })
  await page.addInitScript(`(() => {
    const listeners = new Set()
    const createPalaverApi = ${createPalaverApi.toString()}
    window.__palaverEmit = (status) => { for (const listener of listeners) listener(status) }
    window.palaver = createPalaverApi({
      invoke: (channel, ...args) => window.__palaverInvoke(channel, args),
      on: (channel, listener) => {
        if (channel !== 'node:status-changed') return () => {}
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    })
  })()`)
}

test('the node panel starts and stops the node, adds and removes a peer, and shows links live', async ({
  page,
}, testInfo) => {
  // The page comes from one node (any node serves the UI); the panel controls another, ours.
  const server = await startNode({ name: 'Server', logLevel: 'warn' })
  const peer = await startNode({ name: 'Peer', logLevel: 'warn' })
  dir = mkdtempSync(join(tmpdir(), 'palaver-panel-'))
  controller = new NodeController({
    configPath: join(dir, 'node.json'),
    defaults: testNodeConfig(dir),
  })
  await bridge(page, controller)

  const chat = new ChatPage(page)
  await chat.open(server.httpUrl, 'Operator')
  await page.getByRole('button', { name: 'This machine’s node' }).click()
  const panel = page.getByRole('dialog', { name: 'This machine’s node' })
  const state = panel.getByTestId('node-state')
  await expect(state).toHaveAttribute('data-state', 'stopped')

  await panel.getByRole('button', { name: 'Start node' }).click()
  await expect(state).toHaveAttribute('data-state', 'running')
  const ownId = controller.status().id
  expect(ownId).toMatch(/^[a-z0-9]{8,64}$/)
  await expect(panel.getByTestId('map-node')).toHaveCount(1)
  await expect(panel.getByTestId('map-link')).toHaveCount(0)

  await panel.getByLabel('Peer address').fill('not an address')
  await panel.getByRole('button', { name: 'Add peer' }).click()
  await expect(panel.getByRole('alert')).toContainText('HOST:PORT')
  await expect(panel.getByTestId('peer')).toHaveCount(0)

  await panel.getByLabel('Peer address').fill(peer.peerAddr)
  await panel.getByRole('button', { name: 'Add peer' }).click()
  const row = panel.getByTestId('peer').filter({ has: page.getByText('Peer', { exact: true }) })
  await expect(row).toHaveAttribute('data-state', 'up', { timeout: 20_000 })
  await expect(row).toContainText(' ms')
  await expect(panel.getByTestId('map-node')).toHaveCount(2)
  await expect(panel.getByTestId('map-link')).toHaveCount(1)
  const peerId = (await health(peer)).node.id
  await expect(panel.locator(`[data-testid="map-node"][data-id="${peerId}"]`)).toHaveAttribute(
    'data-up',
    'true',
  )
  // The page came from a node: it keeps chatting through that node, not the panel's.
  await expect(chat.connection).toHaveAttribute('data-failed-over', 'false')
  await expect(chat.connection).toHaveAttribute('data-node-id', (await health(server)).node.id)
  await page.screenshot({ path: testInfo.outputPath('node-panel.png') })
  await testInfo.attach('node panel', {
    path: testInfo.outputPath('node-panel.png'),
    contentType: 'image/png',
  })

  await panel.getByRole('button', { name: `Remove ${peer.peerAddr}` }).click()
  await expect(panel.getByTestId('peer')).toHaveCount(0)
  await expect(panel.getByTestId('map-link')).toHaveCount(0, { timeout: 20_000 })
  // The other node sees the link gone, and it is not redialled.
  await expect
    .poll(async () => (await health(peer)).peers.filter((p) => p.state === 'up').length, {
      timeout: 20_000,
    })
    .toBe(0)

  await panel.getByRole('button', { name: 'Stop node' }).click()
  await expect(state).toHaveAttribute('data-state', 'stopped')
  expect(controller.status().state).toBe('stopped')
})

test('a port in use is shown with a way to pick another', async ({ page }) => {
  const server = await startNode({ name: 'Server', logLevel: 'warn' })
  dir = mkdtempSync(join(tmpdir(), 'palaver-panel-'))
  controller = new NodeController({
    configPath: join(dir, 'node.json'),
    // The server's own client port: taken.
    defaults: testNodeConfig(dir, { port: server.clientPort }),
  })
  await bridge(page, controller)
  const chat = new ChatPage(page)
  await chat.open(server.httpUrl, 'Operator')
  await page.getByRole('button', { name: 'This machine’s node' }).click()
  const panel = page.getByRole('dialog', { name: 'This machine’s node' })

  await panel.getByRole('button', { name: 'Start node' }).click()
  await expect(panel.getByRole('alert').first()).toContainText(
    `port ${server.clientPort} is in use`,
  )
  await expect(panel.getByTestId('node-state')).toHaveAttribute('data-state', 'stopped')

  await panel.getByLabel('Client port').fill('0')
  await panel.getByRole('button', { name: 'Save settings' }).click()
  await panel.getByRole('button', { name: 'Start node' }).click()
  await expect(panel.getByTestId('node-state')).toHaveAttribute('data-state', 'running')
})
