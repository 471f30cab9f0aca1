/**
 * The UI at phone widths, in Debian's Chromium emulating a phone (a layout viewport that grows
 * with wide content, as on a phone): every screen, drawer and dialog fits from 360 px up, with
 * no sideways scroll. Screenshots of each are attached, to look at.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, type Page, type TestInfo, test } from '@playwright/test'
import { NodeController } from '../src/main/node-controller.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { cleanupNodes, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { bridgeToController, NodePanelPage } from './pages/node-panel-page.ts'
import { expectFitsViewport } from './support/page-checks.ts'

let controller: NodeController | undefined
let dir: string | undefined

test.afterEach(async () => {
  await controller?.stop().catch(() => {})
  controller = undefined
  await cleanupNodes()
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`)
  await page.screenshot({ path })
  await testInfo.attach(name, { path, contentType: 'image/png' })
}

/** Phones: a small Android and a current iPhone. */
const PHONES = [
  { width: 360, height: 640 },
  { width: 390, height: 844 },
]

for (const viewport of PHONES) {
  test.describe(`${viewport.width} px wide`, () => {
    test.use({ viewport, isMobile: true, hasTouch: true })

    test('the name screen, the chat, its drawers and its dialogs fit', async ({
      page,
    }, testInfo) => {
      const node = await startNode({ name: 'A node with a rather long name', logLevel: 'warn' })
      const chat = new ChatPage(page)
      await page.goto(node.httpUrl)
      await expect(page.getByLabel('Display name')).toBeVisible()
      await expectFitsViewport(page)
      await screenshot(page, testInfo, 'name-screen')

      await page.getByLabel('Display name').fill('Ada Lovelace of the Analytical Engine')
      await page.getByRole('button', { name: 'Start chatting' }).click()
      await chat.expectConnected()
      await chat.send(
        `A long word: ${'x'.repeat(200)} and a link https://example.com/${'y'.repeat(80)}`,
      )
      await chat.send('Emoji 👋🎉 and a flag 🏳️‍🌈')
      await chat.expectSent('Emoji 👋🎉 and a flag 🏳️‍🌈')
      await expectFitsViewport(page)
      await screenshot(page, testInfo, 'chat')

      await page.getByRole('button', { name: 'Rooms menu' }).click()
      const rooms = page.getByRole('navigation', { name: 'Rooms' })
      await expect(rooms).toBeInViewport({ ratio: 1 })
      await expectFitsViewport(page)
      await screenshot(page, testInfo, 'rooms-drawer')
      await page.keyboard.press('Escape')
      await expect(rooms).not.toBeInViewport()

      await page.getByRole('button', { name: /online, show people$/ }).click()
      const people = page.getByRole('complementary', { name: 'People' })
      await expect(people).toBeInViewport({ ratio: 1 })
      await expectFitsViewport(page)
      await screenshot(page, testInfo, 'people-drawer')
      await page.keyboard.press('Escape')
      await expect(people).not.toBeInViewport()

      const picker = await chat.openNodePicker()
      await expectFitsViewport(page, picker)
      await screenshot(page, testInfo, 'change-node')
      await picker.getByRole('button', { name: 'Cancel' }).click()

      await chat.nameButton().click()
      const rename = page.getByRole('dialog', { name: 'Change your name' })
      await expect(rename).toBeVisible()
      await expectFitsViewport(page, rename)
      await screenshot(page, testInfo, 'change-name')
    })

    test('the node panel fits', async ({ page }, testInfo) => {
      const server = await startNode({ name: 'Server', logLevel: 'warn' })
      const peer = await startNode({ name: 'Peer', logLevel: 'warn' })
      dir = mkdtempSync(join(tmpdir(), 'palaver-layout-'))
      controller = new NodeController({
        configPath: join(dir, 'node.json'),
        defaults: testNodeConfig(dir),
      })
      await bridgeToController(page, controller)
      await new ChatPage(page).open(server.httpUrl, 'Operator')
      // The top bar with the desktop app's extra button still fits.
      await expectFitsViewport(page)

      const panel = new NodePanelPage(page)
      await panel.open()
      await panel.start()
      await panel.addPeer(peer.peerAddr)
      await expect(panel.peer(peer.peerAddr)).toHaveAttribute('data-state', 'up', {
        timeout: 20_000,
      })
      await expectFitsViewport(page, panel.dialog)
      await screenshot(page, testInfo, 'node-panel')
      // Scrolled within the dialog, its end fits too.
      await panel.dialog.getByRole('button', { name: 'Save settings' }).scrollIntoViewIfNeeded()
      await expect(panel.dialog.getByRole('button', { name: 'Save settings' })).toBeInViewport({
        ratio: 1,
      })
      await expectFitsViewport(page, panel.dialog)
      await screenshot(page, testInfo, 'node-panel-settings')
    })
  })
}
