/**
 * The desktop app's node panel in Debian's Chromium, driving a real `NodeController` in this
 * test process through the real IPC handlers (see ./pages/node-panel-page.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, type Page, test } from '@playwright/test'
import { NodeController } from '../src/main/node-controller.ts'
import { freePort } from '../test/support/mesh.ts'
import { closeFakePeers, FakePeer, wireEvent } from '../test/support/fake-peer.ts'
import { testNodeConfig } from '../test/support/node-config.ts'
import { cleanupNodes, health, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { bridgeToController, NodePanelPage } from './pages/node-panel-page.ts'

test.use({ viewport: { width: 1280, height: 1000 } })

let controller: NodeController | undefined
let dir: string | undefined

test.afterEach(async () => {
  closeFakePeers()
  await controller?.stop().catch(() => {})
  controller = undefined
  await cleanupNodes()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

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
  await bridgeToController(page, controller)

  const chat = new ChatPage(page)
  await chat.open(server.httpUrl, 'Operator')
  const nodePanel = new NodePanelPage(page)
  await nodePanel.open()
  const panel = nodePanel.dialog
  const state = nodePanel.state
  await expect(state).toHaveAttribute('data-state', 'stopped')

  await panel.getByRole('button', { name: 'Start node' }).click()
  await expect(state).toHaveAttribute('data-state', 'running')
  const ownId = controller.status().id
  expect(ownId).toMatch(/^[a-z0-9]{8,64}$/)
  await expect(panel.getByTestId('map-node')).toHaveCount(1)
  await expect(panel.getByTestId('map-link')).toHaveCount(0)

  await nodePanel.addPeer('not an address')
  await expect(nodePanel.alerts()).toContainText('That is not a peer address.')
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
  await bridgeToController(page, controller)
  const chat = new ChatPage(page)
  await chat.open(server.httpUrl, 'Operator')
  const nodePanel = new NodePanelPage(page)
  await nodePanel.open()
  const panel = nodePanel.dialog

  await panel.getByRole('button', { name: 'Start node' }).click()
  const problem = nodePanel.alerts().first()
  await expect(problem).toHaveText(
    `Port ${server.clientPort} is already used by another program. Choose another client or peer port in the settings below, then save.`,
  )
  // The code stays for programs.
  await expect(problem).toHaveAttribute('data-code', 'port_in_use')
  await expect(nodePanel.state).toHaveAttribute('data-state', 'stopped')

  await panel.getByLabel('Client port').fill('0')
  await panel.getByRole('button', { name: 'Save settings' }).click()
  await panel.getByRole('button', { name: 'Start node' }).click()
  await expect(panel.getByTestId('node-state')).toHaveAttribute('data-state', 'running')
})

/**
 * A page served by another node, bridged to a fresh controller whose node the panel starts:
 * the panel of a desktop app with its node running.
 */
async function openPanelOnRunningNode(
  page: Page,
): Promise<{ nodePanel: NodePanelPage; controller: NodeController }> {
  const server = await startNode({ name: 'Server', logLevel: 'warn' })
  dir = mkdtempSync(join(tmpdir(), 'palaver-panel-'))
  const ours = new NodeController({
    configPath: join(dir, 'node.json'),
    defaults: testNodeConfig(dir),
  })
  controller = ours
  await bridgeToController(page, ours)
  await new ChatPage(page).open(server.httpUrl, 'Operator')
  const nodePanel = new NodePanelPage(page)
  await nodePanel.open()
  await nodePanel.start()
  return { nodePanel, controller: ours }
}

test('the panel says what went wrong and what to do, in plain words', async ({ page }) => {
  const peer = await startNode({ name: 'Peer', logLevel: 'warn' })
  const { nodePanel } = await openPanelOnRunningNode(page)
  const { dialog } = nodePanel

  // What the main process answers ("argument 0: a peer is HOST:PORT", a zod message) is for
  // programs; the person reads what to type.
  const mesh = nodePanel.section('Mesh')
  await nodePanel.addPeer('nonsense')
  await expect(mesh.getByRole('alert')).toHaveText(
    'That is not a peer address. Write the other node’s host and peer port, like 192.168.1.20:9080.',
  )

  // A peer where nothing listens: the link's socket error ("connect ECONNREFUSED …") in words.
  const closed = `127.0.0.1:${await freePort()}`
  await nodePanel.addPeer(closed)
  await expect(nodePanel.peer(closed)).toContainText(
    'Nothing answers at this address. Check that the other node is running and that this is its peer port.',
    { timeout: 20_000 },
  )
  // The network doctor says the same, as a problem found, with what to do.
  const finding = nodePanel.section('Network doctor').getByTestId('finding').first()
  await expect(finding).toHaveAttribute('data-code', 'peer_refused')
  await expect(finding).toContainText(`${closed} is not linked: nothing answers on its peer port.`)
  await nodePanel.addPeer(peer.peerAddr)
  await expect(nodePanel.peer(peer.peerAddr)).toHaveAttribute('data-state', 'up', {
    timeout: 20_000,
  })
  await nodePanel.addPeer(peer.peerAddr)
  await expect(mesh.getByRole('alert')).toHaveText('That node is already one of the peers.')

  await dialog.getByLabel('Mesh name').fill('our office')
  await dialog.getByRole('button', { name: 'Save settings' }).click()
  await expect(nodePanel.section('Settings').getByRole('alert')).toHaveText(
    'A mesh name is 1 to 64 letters, digits, dots, dashes or underscores, without spaces.',
  )

  // Nowhere in the panel: errno codes, argument positions, schema wording.
  await expect(dialog).not.toContainText(/E[A-Z]{5,}|argument \d|HOST:PORT|expected string/)
})

test('a peer whose events come from far in the future is shown with its clock’s skew', async ({
  page,
}) => {
  const { nodePanel, controller } = await openPanelOnRunningNode(page)
  const port = controller.status().boundPeerPort
  if (port === null) throw new Error('the node has no peer port')

  // A peer (the mesh has no secret) whose event carries the largest ts there is.
  const skewed = await FakePeer.connect({ port, node: { name: 'Skewed' } })
  const sync = await skewed.handshake('')
  skewed.send({ type: 'sync', vector: sync.vector })
  skewed.send({
    type: 'event',
    event: wireEvent(skewed.keys, 1, 'general', 'from the future', { ts: Number.MAX_SAFE_INTEGER }),
  })
  const row = nodePanel.peers.filter({ hasText: 'Skewed' })
  await expect(row).toHaveAttribute('data-state', 'up')
  await expect(row.getByTestId('peer-skew')).toHaveText('· its clock is over a year ahead')
  await expect(
    nodePanel.section('Network doctor').locator('[data-code="clock_skew"]'),
  ).toContainText('Skewed’s clock is over a year ahead of this machine’s.')
})

test('discovery is switched on and off in the settings, and the panel says when it is off', async ({
  page,
}) => {
  // The test config starts with discovery off; the node listens on 127.0.0.1, so it announces
  // nothing either way, as every node the tests start on this machine.
  const { nodePanel, controller } = await openPanelOnRunningNode(page)
  const settings = nodePanel.section('Settings')
  const mesh = nodePanel.section('Mesh')
  const discovery = settings.getByRole('checkbox', {
    name: 'Find this mesh’s machines on the local network',
  })
  const nearby = mesh.getByTestId('nearby')
  const saved = settings.getByRole('status')
  await expect(discovery).not.toBeChecked()
  await expect(nearby).toHaveAttribute('data-state', 'off')
  await expect(nearby).toHaveText('Discovery is off: this node links only with the peers below.')

  const nodeBefore = controller.status().id
  await discovery.check()
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await expect(saved).toHaveText('Saved; the node restarted with them.')
  await expect(nearby).toHaveCount(0)
  // Saved, and the node restarted with it (the same node: its data stayed).
  expect(controller.config.discovery).toBe(true)
  await expect.poll(() => controller.status().otherMeshes).toBe(0)
  expect(controller.status()).toMatchObject({ id: nodeBefore, discovery: true })

  await discovery.uncheck()
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await expect(nearby).toHaveAttribute('data-state', 'off')
  expect(controller.config.discovery).toBe(false)
  await expect.poll(() => controller.status().state).toBe('running')
  expect(controller.status()).toMatchObject({ discovery: false, otherMeshes: null })
})
