/**
 * Checks of what a page is to people, for browser tests: an axe-core scan, the contrast of an
 * element's text as computed from its styles, and whether the page and a dialog fit the screen.
 */
import { AxeBuilder } from '@axe-core/playwright'
import { expect, type Locator, type Page } from '@playwright/test'

/** WCAG 2.0-2.2 levels A and AA, and axe's best practices. */
const AXE_TAGS = [
  'wcag2a',
  'wcag2aa',
  'wcag21a',
  'wcag21aa',
  'wcag22a',
  'wcag22aa',
  'best-practice',
]

/**
 * Scans the page as it is now with axe-core and fails with every violation found. Label in name
 * (WCAG 2.5.3), still "experimental" in axe and so off by default, is checked too.
 */
export async function expectNoAxeViolations(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(AXE_TAGS)
    .options({ rules: { 'label-content-name-mismatch': { enabled: true } } })
    .analyze()
  const found = results.violations.map(
    (v) =>
      `${v.id}: ${v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary ?? ''})`).join('; ')}`,
  )
  expect(found, `axe violations in ${what}`).toEqual([])
}

/**
 * The WCAG contrast ratio of an element's text against what is behind it, from the computed
 * colours of the element and its ancestors (translucent backgrounds composited in order).
 */
export function textContrast(locator: Locator): Promise<number> {
  return locator.evaluate((element) => {
    // Any CSS colour (hex, rgb, oklch, …) as 8-bit sRGB with alpha, as the browser paints it.
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = 1
    const context = canvas.getContext('2d', { willReadFrequently: true })
    if (!context) throw new Error('no 2d canvas')
    const rgba = (css: string): [number, number, number, number] => {
      context.clearRect(0, 0, 1, 1)
      context.fillStyle = css
      context.fillRect(0, 0, 1, 1)
      const [r = 0, g = 0, b = 0, a = 0] = context.getImageData(0, 0, 1, 1).data
      return [r, g, b, a / 255]
    }
    const over = (top: number[], bottom: number[]) =>
      [0, 1, 2].map((i) => (top[i] ?? 0) * (top[3] ?? 1) + (bottom[i] ?? 0) * (1 - (top[3] ?? 1)))

    const layers: [number, number, number, number][] = []
    for (let el: Element | null = element; el; el = el.parentElement) {
      const layer = rgba(getComputedStyle(el).backgroundColor)
      if (layer[3] > 0) layers.push(layer)
      if (layer[3] === 1) break
    }
    let behind = [255, 255, 255]
    for (const layer of layers.reverse()) behind = over(layer, behind)
    const text = over(rgba(getComputedStyle(element).color), behind)

    const luminance = (rgb: number[]) => {
      const [r = 0, g = 0, b = 0] = rgb.map((c) => {
        const s = c / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * r + 0.7152 * g + 0.0722 * b
    }
    const [light, dark] = [luminance(text), luminance(behind)].sort((a, b) => b - a)
    return ((light ?? 0) + 0.05) / ((dark ?? 0) + 0.05)
  })
}

/**
 * The page scrolls no wider than the viewport, and `dialog`, when given, lies wholly inside it:
 * nothing is cut off or needs a sideways scroll.
 */
export async function expectFitsViewport(page: Page, dialog?: Locator): Promise<void> {
  const viewport = page.viewportSize()
  if (!viewport) throw new Error('the page has no fixed viewport')
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
  expect(scrollWidth, 'the page’s width').toBeLessThanOrEqual(viewport.width)
  if (!dialog) return
  const box = await dialog.boundingBox()
  if (!box) throw new Error('the dialog is not shown')
  expect(box.x, 'the dialog’s left edge').toBeGreaterThanOrEqual(0)
  expect(box.y, 'the dialog’s top edge').toBeGreaterThanOrEqual(0)
  expect(box.x + box.width, 'the dialog’s right edge').toBeLessThanOrEqual(viewport.width)
  expect(box.y + box.height, 'the dialog’s bottom edge').toBeLessThanOrEqual(viewport.height)
}
