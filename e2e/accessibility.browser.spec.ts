/**
 * Accessibility in Debian's Chromium, in the light and the dark theme: axe-core finds nothing on
 * the name screen, the chat view, the "Change node" dialog and the node panel; the text that
 * fell short of WCAG AA's 4.5:1 (own messages' times, the green badges) meets it, as computed
 * from the styles; and the name button is named by the name it shows (WCAG 2.5.3).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { NodeController } from '../src/main/node-controller.ts'
import { ChatClient, randomUser } from '../test/support/chat-client.ts'
import { freePort } from '../test/support/mesh.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { cleanupNodes, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { bridgeToController, NodePanelPage } from './pages/node-panel-page.ts'
import { expectNoAxeViolations, textContrast } from './support/page-checks.ts'

/** WCAG 2.2 AA, normal text. */
const AA_TEXT = 4.5

let controller: NodeController | undefined
let dir: string | undefined
let other: ChatClient | undefined

test.afterEach(async () => {
  other?.close()
  other = undefined
  await controller?.stop().catch(() => {})
  controller = undefined
  await cleanupNodes()
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme, viewport: { width: 1280, height: 900 } })

    test('the name screen, the chat view and the Change node dialog pass axe', async ({ page }) => {
      const node = await startNode({ name: 'A', logLevel: 'warn' })
      await page.goto(node.httpUrl)
      await expect(page.getByLabel('Display name')).toBeVisible()
      await expectNoAxeViolations(page, 'the name screen')

      const chat = new ChatPage(page)
      await page.getByLabel('Display name').fill('Ada')
      await page.getByRole('button', { name: 'Start chatting' }).click()
      await chat.expectConnected()
      other = await ChatClient.connect(node.wsUrl, randomUser('Bob'))
      await other.join('general')
      await other.say('general', 'Hello from Bob, https://example.com')
      await chat.send('Hello from Ada')
      await chat.expectSent('Hello from Ada')
      await expect(chat.message('Hello from Bob, https://example.com')).toHaveCount(1)
      await expectNoAxeViolations(page, 'the chat view')

      // The time of an own message, on its tinted row and with the pointer over it.
      const ownTime = chat.message('Hello from Ada').locator('time')
      expect(await textContrast(ownTime)).toBeGreaterThanOrEqual(AA_TEXT)
      await chat.message('Hello from Ada').hover()
      expect(await textContrast(ownTime)).toBeGreaterThanOrEqual(AA_TEXT)

      await chat.openNodePicker()
      await expect(chat.reachabilityOf('A')).toHaveText('up')
      expect(await textContrast(chat.reachabilityOf('A'))).toBeGreaterThanOrEqual(AA_TEXT)
      await expectNoAxeViolations(page, 'the Change node dialog')
    })

    test('the node panel passes axe, with a peer up, a peer down and an error', async ({
      page,
    }) => {
      const server = await startNode({ name: 'Server', logLevel: 'warn' })
      const peer = await startNode({ name: 'Peer', logLevel: 'warn' })
      dir = mkdtempSync(join(tmpdir(), 'palaver-a11y-'))
      controller = new NodeController({
        configPath: join(dir, 'node.json'),
        defaults: testNodeConfig(dir),
      })
      await bridgeToController(page, controller)
      await new ChatPage(page).open(server.httpUrl, 'Operator')
      const panel = new NodePanelPage(page)
      await panel.open()
      await expectNoAxeViolations(page, 'the stopped node panel')

      await panel.start()
      await panel.addPeer(peer.peerAddr)
      const up = panel.peer(peer.peerAddr)
      await expect(up).toHaveAttribute('data-state', 'up', { timeout: 20_000 })
      const closed = `127.0.0.1:${await freePort()}`
      await panel.addPeer(closed)
      await expect(panel.peer(closed)).toContainText('Nothing answers', { timeout: 20_000 })
      await panel.addPeer('not an address')
      await expect(panel.alerts()).toHaveCount(1)
      await expectNoAxeViolations(page, 'the running node panel')

      expect(await textContrast(panel.state)).toBeGreaterThanOrEqual(AA_TEXT)
      expect(await textContrast(up.getByText('up', { exact: true }))).toBeGreaterThanOrEqual(
        AA_TEXT,
      )
    })
  })
}

test.describe('the name button', () => {
  for (const width of [1280, 390]) {
    test(`is named by the name it shows, ${width} px wide`, async ({ page }) => {
      await page.setViewportSize({ width, height: 800 })
      const node = await startNode({ name: 'A', logLevel: 'warn' })
      const chat = new ChatPage(page)
      await chat.open(node.httpUrl, 'Ada Lovelace')
      const button = chat.nameButton()
      // Speech users say what they see: the accessible name starts with the visible name.
      // (The hidden suffix is a block to the name computation, hence a space before it.)
      await expect(button).toHaveAccessibleName(/^Ada Lovelace ?, change your name$/)
      if (width > 719) await expect(button.getByText('Ada Lovelace')).toBeVisible()
      await button.click()
      await expect(page.getByRole('dialog', { name: 'Change your name' })).toBeVisible()
    })
  }
})
