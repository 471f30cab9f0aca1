/**
 * Emoji on a system without a colour emoji font (like the Debian machine these tests run on):
 * the UI ships Noto Color Emoji (src/renderer/src/styles/emoji-font.css), and the browser
 * fetches it from the node that served the page only once the page shows an emoji.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, type Locator, type Page, test } from '@playwright/test'
import { cleanupNodes, startNode } from '../test/support/node-process.ts'
import { ChatPage } from './pages/chat-page.ts'

test.use({ viewport: { width: 1280, height: 900 } })

test.afterEach(cleanupNodes)

/** The built UI's files (`npx electron-vite build`). */
const ASSETS = resolve(import.meta.dirname, '../out/renderer/assets')

interface PlatformFont {
  familyName: string
  isCustomFont: boolean
  glyphCount: number
}

/** The fonts Chromium drew an element's text with, as its DevTools protocol reports them. */
async function fontsDrawing(page: Page, element: Locator): Promise<PlatformFont[]> {
  const cdp = await page.context().newCDPSession(page)
  try {
    await cdp.send('DOM.enable')
    await cdp.send('CSS.enable')
    await cdp.send('DOM.getDocument')
    const handle = await element.elementHandle()
    if (!handle) throw new Error('no such element')
    // A handle Playwright holds has no CDP object id: find the element again by a mark.
    await handle.evaluate((el) => el.setAttribute('data-font-probe', ''))
    const { result } = await cdp.send('Runtime.evaluate', {
      expression: 'document.querySelector("[data-font-probe]")',
    })
    await handle.evaluate((el) => el.removeAttribute('data-font-probe'))
    if (!result.objectId) throw new Error('the element was not found again')
    const { nodeId } = await cdp.send('DOM.requestNode', { objectId: result.objectId })
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId })
    return fonts
  } finally {
    await cdp.detach()
  }
}

test('emoji are drawn in colour by the font the UI ships, fetched only when one shows', async ({
  page,
}) => {
  const node = await startNode({ name: 'A', logLevel: 'warn' })
  const fontResponses: { url: string; status: number }[] = []
  page.on('response', (response) => {
    if (/\.woff2?$/.test(new URL(response.url()).pathname))
      fontResponses.push({ url: response.url(), status: response.status() })
  })
  const chat = new ChatPage(page)
  await chat.open(node.httpUrl, 'Ada')

  // Digits, # and * are in the emoji font's ranges too, but the text font draws them: no fetch.
  await chat.send('Plain text, 0123456789 # * only')
  await chat.expectSent('Plain text, 0123456789 # * only')
  await page.evaluate(() => document.fonts.ready)
  expect(fontResponses).toEqual([])

  await chat.send('Waving 👋')
  await chat.expectSent('Waving 👋')
  const text = chat.message('Waving 👋').getByTestId('text')
  await expect
    .poll(async () => (await fontsDrawing(page, text)).find((f) => f.isCustomFont), {
      message: 'the emoji drawn with the shipped font',
    })
    .toMatchObject({ familyName: 'Noto Color Emoji', glyphCount: 1 })
  expect(await page.evaluate(() => document.fonts.check('16px "Palaver Emoji"', '👋'))).toBe(true)

  // In colour: the glyph has saturated pixels, where a box or a black-and-white glyph has none.
  const colourful = await page.evaluate(() => {
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 64
    const context = canvas.getContext('2d', { willReadFrequently: true })
    if (!context) return 0
    context.font = '48px "Palaver Emoji"'
    context.textBaseline = 'top'
    context.fillText('👋', 4, 4)
    const { data } = context.getImageData(0, 0, 64, 64)
    let count = 0
    for (let i = 0; i < data.length; i += 4) {
      const [r = 0, g = 0, b = 0, a = 0] = data.subarray(i, i + 4)
      if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 80) count++
    }
    return count
  })
  expect(colourful).toBeGreaterThan(100)

  // Served once by the node, from the built UI.
  expect(fontResponses).toHaveLength(1)
  expect(fontResponses[0]?.status).toBe(200)
  expect(fontResponses[0]?.url.startsWith(`${node.httpUrl}/assets/noto-color-emoji-`)).toBe(true)
})

test('the build ships one emoji font, as woff2, and nothing more of it', () => {
  const fonts = readdirSync(ASSETS).filter((f) => /\.(woff2?|ttf|otf|eot)$/.test(f))
  expect(fonts).toEqual([expect.stringMatching(/^noto-color-emoji-emoji-400-normal-.*\.woff2$/)])
  const bytes = fonts.reduce((sum, f) => sum + statSync(join(ASSETS, f)).size, 0)
  // 5.5 MiB: fetched once, only by a page that shows an emoji, and cached after.
  expect(bytes).toBeLessThan(6 * 1024 * 1024)
})
