/**
 * The chat UI in Debian's Chromium against real headless nodes: pages on different nodes of a
 * mesh chat; a killed node's page fails over and loses nothing; a reload resumes; hostile
 * strings render as text.
 */
import { expect, test } from '@playwright/test'
import { startFullMesh } from '../test/support/mesh.ts'
import { type NodeProcess, cleanupNodes, health, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'

test.use({ viewport: { width: 1280, height: 900 } })

let nodes: NodeProcess[] = []

/** A full mesh of A, B, C (the first `count`), waited on until every link is up. */
async function mesh(count: number): Promise<NodeProcess[]> {
  return (await startFullMesh(['A', 'B', 'C'].slice(0, count), { logLevel: 'warn' })).nodes
}

test.afterEach(async () => {
  await cleanupNodes()
  nodes = []
})

test('pages on different nodes chat, and a killed node’s page fails over losing nothing', async ({
  browser,
}, testInfo) => {
  nodes = await mesh(3)
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess]
  const pages = await Promise.all(
    [a, b, c].map(async () => new ChatPage(await (await browser.newContext()).newPage())),
  )
  const [ada, bob, cyd] = pages as [ChatPage, ChatPage, ChatPage]
  await ada.open(a.httpUrl, 'Ada')
  await bob.open(b.httpUrl, 'Bob')
  await cyd.open(c.httpUrl, 'Cyd')
  await expect(ada.connection).toContainText('A')

  await ada.send('hello from A')
  await bob.send('hello from B')
  await cyd.send('hello from C')
  for (const page of pages) {
    for (const text of ['hello from A', 'hello from B', 'hello from C'])
      await expect(page.message(text)).toHaveCount(1)
  }
  // Everyone is online across the mesh.
  await expect(ada.page.getByLabel('Online in general').getByRole('listitem')).toHaveCount(3)

  await ada.page.screenshot({ path: testInfo.outputPath('main-view.png'), fullPage: false })
  await testInfo.attach('main view', {
    path: testInfo.outputPath('main-view.png'),
    contentType: 'image/png',
  })

  const aId = (await health(a)).node.id
  await a.kill('SIGKILL')
  await expect(ada.connection).toHaveAttribute('data-failed-over', 'true', { timeout: 30_000 })
  await ada.expectConnected()
  const nowOn = await ada.connection.getAttribute('data-node-id')
  expect(nowOn).toMatch(/^[a-z0-9]{8,64}$/)
  expect(nowOn).not.toBe(aId)

  await ada.send('after failover from Ada')
  await bob.send('after failover from Bob')
  for (const page of pages) {
    for (const text of [
      'hello from A',
      'hello from B',
      'hello from C',
      'after failover from Ada',
      'after failover from Bob',
    ]) {
      await expect(page.message(text)).toHaveCount(1)
    }
    await expect(page.messages()).toHaveCount(5)
  }
  await ada.expectSent('after failover from Ada')
})

test('a message written while the node is down is sent once it is back, and a reload resumes', async ({
  page,
}) => {
  nodes = await mesh(1)
  const [a] = nodes as [NodeProcess]
  const ada = new ChatPage(page)
  await ada.open(a.httpUrl, 'Ada')
  await ada.send('before the outage')
  await ada.expectSent('before the outage')

  const dataDir = a.dataDir
  const peerPort = a.peerPort
  const port = a.clientPort
  await a.kill('SIGKILL')
  await expect(ada.connection).toHaveAttribute('data-status', 'reconnecting')
  await ada.send('written while the node was down')
  await expect(ada.message('written while the node was down')).toHaveAttribute(
    'data-state',
    'pending',
  )
  await expect(ada.unsent).toHaveText('1')

  nodes = [
    await startNode({
      name: 'A',
      dataDir,
      peerPort,
      args: ['--port', String(port)],
      logLevel: 'warn',
    }),
  ]
  await ada.expectSent('written while the node was down')
  await expect(ada.unsent).toHaveText('0')

  await page.reload()
  // No name screen again: the name and the rooms are remembered.
  await ada.expectConnected()
  await ada.expectSent('before the outage')
  await ada.expectSent('written while the node was down')
  await expect(ada.messages()).toHaveCount(2)
})

test('hostile strings in messages and names render literally, run nothing and break no layout', async ({
  page,
}) => {
  nodes = await mesh(1)
  const [a] = nodes as [NodeProcess]
  const alarms: string[] = []
  page.on('dialog', (dialog) => {
    alarms.push(dialog.message())
    void dialog.dismiss()
  })
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      alarms.push(message.text())
  })
  const chat = new ChatPage(page)
  const hostileName = '<img src=x onerror=alert(1)>'
  await chat.open(a.httpUrl, hostileName)

  const corpus = [
    '<img src=x onerror="window.__pwned=1">',
    '<script>window.__pwned=2</script>',
    'javascript:window.__pwned=3',
    '[click](javascript:alert(4))',
    '<svg onload="window.__pwned=5"></svg>',
    '<a href="javascript:alert(6)">x</a>',
    `${'W'.repeat(3000)}`,
    'مرحبا بالعالم — שלום עולם',
    '👩‍👩‍👧‍👦🏳️‍🌈 family & flags',
    '{{constructor.constructor("window.__pwned=7")()}}',
  ]
  for (const text of corpus) await chat.send(text)
  for (const text of corpus) await chat.expectSent(text)

  // Each text is shown exactly as written, as text.
  const shown = await chat.texts()
  for (const text of corpus) expect(shown).toContain(text)
  await expect(chat.log().locator('img, script, svg, iframe, object, embed')).toHaveCount(0)
  await expect(chat.log().locator('a[href^="javascript:" i], a[href^="data:" i]')).toHaveCount(0)
  await expect(chat.messages().first().getByTestId('author')).toHaveText(hostileName)

  // Nothing ran.
  expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined()
  expect(alarms).toEqual([])

  // The 3000-character word wraps inside the list: no sideways scrolling anywhere.
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  )
  expect(overflow).toBeLessThanOrEqual(0)
  const logBox = await chat.log().boundingBox()
  const longRow = await chat.message('W'.repeat(3000)).boundingBox()
  expect(logBox && longRow && longRow.x + longRow.width <= logBox.x + logBox.width + 1).toBe(true)

  // A text over the limit is kept whole and says by how much; it cannot be sent until cut.
  const composer = chat.composer()
  await composer.fill('Z'.repeat(4003))
  await expect(composer).toHaveValue('Z'.repeat(4003))
  await expect(page.getByText('3 characters over the limit of 4000')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled()
  await composer.press('Enter')
  await expect(chat.message('Z'.repeat(4003))).toHaveCount(0)
  await composer.press('Backspace')
  await composer.press('Backspace')
  await composer.press('Backspace')
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled()
  await composer.press('Enter')
  await chat.expectSent('Z'.repeat(4000))

  // A room name that is not a room name is refused with a message; nothing is joined.
  await page.getByLabel('Join or create a room').fill('<script>')
  await page.getByRole('button', { name: 'Join', exact: true }).click()
  await expect(
    page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /script/ }),
  ).toHaveCount(0)
})
