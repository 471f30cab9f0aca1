/**
 * Anyone can pick any name: the UI tells apart two people who chose the same name by a short
 * code of their user id. Every page is a keyed user, so every author and online user here is
 * marked verified (keyless scripts, marked unverified, are in keyed-identity.browser.spec.ts).
 */
import { expect, test } from '@playwright/test'
import { nameCode } from '../src/renderer/src/lib/verification.ts'
import { cleanupNodes, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'
import { expectNoAxeViolations, textContrast } from './support/page-checks.ts'

/** WCAG 2.2 AA, normal text. */
const AA_TEXT = 4.5

test.use({ viewport: { width: 1280, height: 900 } })

test.afterEach(async () => {
  await cleanupNodes()
})

test('two people named Ada are told apart by their codes, and each is marked verified', async ({
  browser,
}) => {
  const node = await startNode({ name: 'A', logLevel: 'warn' })
  const pages = await Promise.all(
    [0, 1, 2].map(async () => new ChatPage(await (await browser.newContext()).newPage())),
  )
  const [ada1, ada2, cyd] = pages as [ChatPage, ChatPage, ChatPage]
  await ada1.open(node.httpUrl, 'Ada')
  await ada2.open(node.httpUrl, 'Ada')
  await cyd.open(node.httpUrl, 'Cyd')
  await ada1.send('hello from the first Ada')
  await ada2.send('hello from the second Ada')

  const codes = [nameCode(await ada1.userId()), nameCode(await ada2.userId())]
  expect(codes[0]).not.toBe(codes[1])

  const first = cyd.message('hello from the first Ada')
  const second = cyd.message('hello from the second Ada')
  for (const [row, code] of [
    [first, codes[0]],
    [second, codes[1]],
  ] as const) {
    await expect(row.getByTestId('author')).toHaveText('Ada')
    await expect(row.getByTestId('name-code')).toHaveText(`· ${code}, code ${code}`)
    await expect(row.getByTestId('verified')).toHaveAttribute(
      'title',
      'Verified: signed with this person’s own key, so nobody else can write as them',
    )
  }

  // The people list: both Adas with their codes; Cyd's name is unique, so no code; all verified.
  await expect(cyd.onlineUsers()).toHaveCount(3)
  const adas = cyd.onlineUsers().filter({ hasText: 'Ada' })
  await expect(adas.getByTestId('name-code')).toHaveCount(2)
  expect(
    (
      await adas.getByTestId('name-code').evaluateAll((els) => els.map((e) => e.dataset.code))
    ).sort(),
  ).toEqual([...codes].sort())
  const self = cyd.selfInPeople()
  await expect(self.getByTestId('name-code')).toHaveCount(0)
  await expect(self.getByTestId('verified')).toBeVisible()
  await expect(cyd.onlineUsers().getByTestId('verified')).toHaveCount(3)
  await expect(cyd.onlineUsers().getByTestId('unverified')).toHaveCount(0)

  await expectNoAxeViolations(cyd.page, 'the chat view with a shared name')

  // The marks stay readable on an own message's tinted row, with the pointer over it too.
  const own = ada1.message('hello from the first Ada')
  for (const hover of [false, true]) {
    if (hover) await own.hover()
    for (const mark of ['name-code', 'verified'])
      expect(await textContrast(own.getByTestId(mark))).toBeGreaterThanOrEqual(AA_TEXT)
  }

  // The name dialog says where the identity lives, and the code others tell Cyd apart by.
  await cyd.nameButton().click()
  const dialog = cyd.page.getByRole('dialog', { name: 'Change your name' })
  await expect(dialog).toContainText(
    'Your identity is kept in this browser; another browser or device is another you.',
  )
  await expect(dialog).toContainText(`(yours is ${nameCode(await cyd.userId())})`)
  await expectNoAxeViolations(cyd.page, 'the Change your name dialog')
})
