/**
 * What the chat shows about the connection is true, in Debian's Chromium against real nodes
 * that are SIGKILLed and started again: your own "online" dot is lit only while you are; a node
 * marked unreachable stops being so once it is back, and the page returns to it by itself; a
 * reloaded room says it is loading until its history has come, never that it is empty.
 */
import { expect, test } from '@playwright/test'
import { startFullMesh } from '../test/support/mesh.ts'
import { cleanupNodes, health, restartNode, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { expectFitsViewport } from './support/page-checks.ts'

test.afterEach(cleanupNodes)

test.describe('on a wide screen', () => {
  test.use({ viewport: { width: 1280, height: 900 } })

  test('your own online dot follows the connection when the node dies and comes back', async ({
    page,
  }) => {
    const node = await startNode({ name: 'A', logLevel: 'warn' })
    const chat = new ChatPage(page)
    await chat.open(node.httpUrl, 'Ada')
    const self = chat.selfInPeople()
    const people = page.getByRole('complementary', { name: 'People' })
    await expect(self).toHaveAttribute('data-online', 'true')

    await node.kill('SIGKILL')
    await expect(chat.connection).toHaveAttribute('data-status', 'reconnecting')
    await expect(self).toHaveAttribute('data-online', 'false')
    await expect(self).toContainText('(you, offline)')
    await expect(people.getByRole('status')).toHaveText(
      'Not connected: who else is here shows again once you are back online.',
    )

    await restartNode(node, { logLevel: 'warn' })
    await chat.expectConnected()
    await expect(self).toHaveAttribute('data-online', 'true')
    await expect(people.getByRole('status')).toHaveCount(0)
  })

  test('a reloaded room says it is loading until its history has come, not that it is empty', async ({
    page,
  }) => {
    const node = await startNode({ name: 'A', logLevel: 'warn' })
    const chat = new ChatPage(page)
    await chat.open(node.httpUrl, 'Ada')
    await chat.send('written before the reload')
    await chat.expectSent('written before the reload')

    // The node's answer to the room's join is held back until the test lets it through: the
    // page is connected, and the room's history is on its way.
    let release = (): void => {}
    const released = new Promise<void>((resolve) => (release = resolve))
    await page.routeWebSocket(node.wsUrl, (ws) => {
      const server = ws.connectToServer()
      server.onMessage((data) => {
        const type = typeof data === 'string' ? (JSON.parse(data) as { type: string }).type : ''
        if (type === 'message' || type === 'joined') void released.then(() => ws.send(data))
        else ws.send(data)
      })
    })
    await page.reload()
    await chat.expectConnected()
    await expect(chat.log()).toHaveAttribute('data-state', 'loading')
    await expect(page.getByText('Loading messages…')).toBeVisible()
    await expect(chat.selfInPeople()).toHaveAttribute('data-online', 'false')
    await expect(page.getByText('Loading who else is here…')).toBeVisible()
    await expect(page.getByText(/Nobody here|Welcome to #general/)).toHaveCount(0)
    await expect(chat.messages()).toHaveCount(0)

    release()
    await expect(chat.log()).toHaveAttribute('data-state', 'loaded')
    await chat.expectSent('written before the reload')
    await expect(page.getByText('Loading messages…')).toHaveCount(0)
    await expect(chat.selfInPeople()).toHaveAttribute('data-online', 'true')
  })
})

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })

  test('a node shown unreachable is shown up once it is back, and the page returns to it', async ({
    page,
  }) => {
    const { nodes, ids } = await startFullMesh(['A', 'B'], { logLevel: 'warn' })
    const [a, b] = nodes
    const [idA, idB] = ids
    if (!a || !b || !idA || !idB) throw new Error('the mesh did not start')
    const chat = new ChatPage(page)
    await chat.open(a.httpUrl, 'Ada')
    await expect(chat.connection).toHaveAttribute('data-node-id', idA)

    await a.kill('SIGKILL')
    await expect(chat.connection).toHaveAttribute('data-failed-over', 'true', { timeout: 30_000 })
    await expect(chat.connection).toHaveAttribute('data-node-id', idB)
    await expect(chat.connection).toContainText('unreachable')
    await expectFitsViewport(page)
    const picker = await chat.openNodePicker()
    await expect(chat.reachabilityOf('A')).toHaveText('down', { timeout: 20_000 })
    await picker.getByRole('button', { name: 'Cancel' }).click()

    // A starts again where it was; the page was told of nothing but what the mesh says.
    await restartNode(a, { logLevel: 'warn', args: ['--peer', b.peerAddr] })
    await expect(chat.connection).toHaveAttribute('data-failed-over', 'false', { timeout: 30_000 })
    await expect(chat.connection).toHaveAttribute('data-node-id', idA)
    await expect(chat.connection).not.toContainText('unreachable')
    await chat.openNodePicker()
    await expect(chat.reachabilityOf('A')).toHaveText('up')
    await expect(chat.reachabilityOf('B')).toHaveText('up')
    await page.keyboard.press('Escape')

    await chat.send('back on A')
    await chat.expectSent('back on A')
    expect((await health(a)).clients).toBeGreaterThanOrEqual(1)
  })
})
