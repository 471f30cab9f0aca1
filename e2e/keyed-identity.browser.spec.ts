/**
 * Keyed users in Chromium, with the page loaded the way a LAN guest loads it: from a host name
 * over plain http, an origin that is not a secure context, so WebCrypto's `subtle` is missing
 * and the page signs in JavaScript. Two keyed users chat across two real nodes and see each
 * other verified; a keyless script's message shows as unverified; a reload keeps the identity.
 */
import { expect, test } from '@playwright/test'
import { ChatClient } from '../test/support/chat-client.ts'
import { nodeId, waitForPeersUp } from '../test/support/mesh.ts'
import { cleanupNodes, type NodeProcess, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { expectNoAxeViolations } from './support/page-checks.ts'

/** The name a LAN guest types; Chromium resolves it to 127.0.0.1 (`--host-resolver-rules`). */
const LAN_HOST = 'palaver-lan.test'

test.use({ viewport: { width: 1280, height: 900 } })

test.afterEach(async () => {
  await cleanupNodes()
})

/** A node that other machines reach as `LAN_HOST` (so its own page there is let in). */
function lanNode(name: string, peers: NodeProcess[] = []): Promise<NodeProcess> {
  return startNode({
    name,
    logLevel: 'warn',
    args: ['--advertise-host', LAN_HOST, ...peers.flatMap((p) => ['--peer', p.peerAddr])],
  })
}

const lanUrl = (node: NodeProcess) => `http://${LAN_HOST}:${node.clientPort}/`

test('keyed users chat across two nodes from a page that is not a secure context', async ({
  playwright,
  launchOptions,
}) => {
  const a = await lanNode('A')
  const b = await lanNode('B', [a])
  await waitForPeersUp(b, [await nodeId(a)])

  const browser = await playwright.chromium.launch({
    ...launchOptions,
    args: [...(launchOptions.args ?? []), `--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`],
  })
  try {
    const [ada, bob] = await Promise.all(
      [0, 1].map(async () => new ChatPage(await (await browser.newContext()).newPage())),
    )
    if (!ada || !bob) throw new Error('two pages')

    await ada.open(lanUrl(a), 'Ada')
    await bob.open(lanUrl(b), 'Bob')
    for (const page of [ada, bob]) {
      expect(
        await page.page.evaluate(() => ({
          secure: isSecureContext,
          subtle: typeof crypto.subtle,
        })),
      ).toEqual({ secure: false, subtle: 'undefined' })
      expect(await page.userId()).toMatch(/^k[0-9a-f]{40}$/)
    }

    await ada.send('hello from Ada on A')
    await bob.send('hello from Bob on B')
    for (const page of [ada, bob]) {
      for (const text of ['hello from Ada on A', 'hello from Bob on B']) {
        const row = page.message(text)
        await expect(row).toHaveAttribute('data-authenticity', 'verified')
        await expect(row.getByTestId('verified')).toHaveCount(1)
        await expect(row.getByTestId('unverified')).toHaveCount(0)
      }
    }
    await expect(ada.message('hello from Ada on A')).toHaveAttribute('data-own', 'true')
    await expect(ada.message('hello from Bob on B')).toHaveAttribute('data-own', 'false')
    // Each sees the other online, verified, across the mesh.
    await expect(ada.onlineUsers().filter({ hasText: 'Bob' }).getByTestId('verified')).toHaveCount(
      1,
    )

    // A script without a key writes on A: Bob, on B, sees it unverified.
    const script = await ChatClient.connect(a.wsUrl, { id: 'script-0001', name: 'Beep bot' })
    try {
      await script.join('general')
      await script.say('general', 'beep, unsigned')
    } finally {
      script.close()
    }
    const beep = bob.message('beep, unsigned')
    await expect(beep).toHaveAttribute('data-authenticity', 'unverified')
    await expect(beep.getByTestId('unverified')).toHaveAttribute(
      'title',
      'This name is not verified: anyone can use it',
    )
    await expect(beep.getByTestId('verified')).toHaveCount(0)
    await expectNoAxeViolations(bob.page, 'the chat with verified and unverified authors')

    // A reload is the same person: the same id, still verified, the earlier message still ours.
    const bobId = await bob.userId()
    await bob.page.reload()
    await bob.expectConnected()
    expect(await bob.userId()).toBe(bobId)
    const earlier = bob.message('hello from Bob on B')
    await expect(earlier).toHaveAttribute('data-authenticity', 'verified')
    await expect(earlier).toHaveAttribute('data-own', 'true')
    await bob.send('Bob again, after a reload')
    await bob.expectSent('Bob again, after a reload')
    const again = ada.message('Bob again, after a reload')
    await expect(again).toHaveAttribute('data-authenticity', 'verified')

    // The name dialog says where the identity lives.
    await bob.nameButton().click()
    await expect(bob.page.getByTestId('identity-note')).toContainText(
      'Your identity is kept in this browser; another browser or device is another you.',
    )
  } finally {
    await browser.close()
  }
})
