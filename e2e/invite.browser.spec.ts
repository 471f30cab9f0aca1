/**
 * Joining a mesh by invite, in Debian's Chromium: two desktop apps' node panels (two real
 * `NodeController`s in this test process, each behind its own page through the real IPC
 * handlers). The first is a first run (a private mesh with a random secret); its invite,
 * pasted into the second, makes the two nodes link.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, expect, test } from '@playwright/test'
import { firstRunConfig } from '../src/main/config-store.ts'
import { NodeController } from '../src/main/node-controller.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { cleanupNodes, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { bridgeToController, NodePanelPage } from './pages/node-panel-page.ts'
import { expectNoAxeViolations } from './support/page-checks.ts'

test.use({ viewport: { width: 1280, height: 1000 } })

const controllers: NodeController[] = []
let dir: string | undefined
let guestContext: BrowserContext | undefined

test.afterEach(async () => {
  await guestContext?.close()
  guestContext = undefined
  await Promise.all(controllers.splice(0).map((c) => c.stop().catch(() => {})))
  await cleanupNodes()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('an invite from one machine’s panel, pasted into another’s, links the two nodes', async ({
  page,
  browser,
}, testInfo) => {
  // The pages come from a node (any node serves the UI); each panel controls its own node.
  const server = await startNode({ name: 'Server', logLevel: 'warn' })
  dir = mkdtempSync(join(tmpdir(), 'palaver-invite-'))
  const loopback = { host: '127.0.0.1', port: 0, peerPort: 0 }
  const host = new NodeController({
    configPath: join(dir, 'host.json'),
    defaults: { ...firstRunConfig('Host', join(dir, 'host-data')), ...loopback },
  })
  const guest = new NodeController({
    configPath: join(dir, 'guest.json'),
    defaults: testNodeConfig(dir, { name: 'Guest', dataDir: join(dir, 'guest-data') }),
  })
  controllers.push(host, guest)

  // Another machine: a browser context of its own (its own storage, its own name).
  guestContext = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  const guestPage = await guestContext.newPage()
  await bridgeToController(page, host)
  await bridgeToController(guestPage, guest)
  await new ChatPage(page).open(server.httpUrl, 'Host person')
  await new ChatPage(guestPage).open(server.httpUrl, 'Guest person')
  const hostPanel = new NodePanelPage(page)
  const guestPanel = new NodePanelPage(guestPage)
  await hostPanel.open()
  await guestPanel.open()
  await hostPanel.start()
  await guestPanel.start()

  const code = await hostPanel.showInvite()
  const peerAddr = `127.0.0.1:${host.status().boundPeerPort}`
  const invite = hostPanel.section('Invite a machine')
  const mesh = host.config.mesh
  await expect(invite).toContainText(`Invite to mesh “${mesh}” at ${peerAddr}`)
  await expect(
    invite.getByRole('img', { name: `QR code of the invite to mesh ${mesh}` }),
  ).toBeVisible()
  // The secret is in the code the person asked to see, and nowhere else on the page.
  expect(host.config.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
  await expect(hostPanel.dialog).not.toContainText(host.config.secret)
  await page.screenshot({ path: testInfo.outputPath('invite.png') })
  await testInfo.attach('invite', {
    path: testInfo.outputPath('invite.png'),
    contentType: 'image/png',
  })

  // A damaged code is refused in plain words, and changes nothing.
  const damaged = code.slice(0, 25) + (code.charAt(25) === 'A' ? 'B' : 'A') + code.slice(26)
  await guestPanel.joinMesh(damaged)
  await expect(guestPanel.section('Join a mesh').getByRole('alert')).toHaveText(
    'That is not a whole invite code. Copy it again from the other machine’s node panel, from “palaver1:” to its end.',
  )
  await expect(guestPanel.peers).toHaveCount(0)
  await expectNoAxeViolations(page, 'the panel with an invite shown')
  await expectNoAxeViolations(guestPage, 'the panel with a refused invite')

  // The code as copied, with the line break a chat program or e-mail may add.
  await guestPanel.joinMesh(`${code.slice(0, 60)}\n${code.slice(60)}\n`)
  await expect(guestPanel.section('Join a mesh').getByRole('status')).toHaveText(
    'Joined. The node restarted in that mesh and links to it.',
  )
  await expect(guestPanel.peer(peerAddr)).toHaveAttribute('data-state', 'up', { timeout: 20_000 })
  await expect(guestPanel.peer(peerAddr)).toContainText('Host')
  // The host sees the guest's link too, and both maps show the two nodes linked.
  const guestRow = hostPanel.peers.filter({ hasText: 'Guest' })
  await expect(guestRow).toHaveAttribute('data-state', 'up', { timeout: 20_000 })
  await expect(hostPanel.dialog.getByTestId('map-link')).toHaveCount(1)
  await expect(guestPanel.dialog.getByTestId('map-link')).toHaveCount(1)
  expect(guest.config).toMatchObject({
    mesh: host.config.mesh,
    secret: host.config.secret,
    peers: [peerAddr],
  })
})
