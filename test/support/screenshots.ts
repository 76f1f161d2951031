import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { REPO } from './gateway.js'

/** README's pictures are taken at this size. */
export const SCREENSHOT_VIEWPORT = { width: 1366, height: 768 } as const

/**
 * Takes the page's picture at README's size (the test sees that it is not blank) and writes it to
 * `docs/screenshots/<name>.png` only when asked (`QIAO_UPDATE_SCREENSHOTS=1`), so a test run never changes the tree.
 * A CJK font (Debian's fonts-wqy-microhei) is needed for the characters to show.
 */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  await page.setViewportSize(SCREENSHOT_VIEWPORT)
  const shot = await page.screenshot()
  if (shot.length < 10_000) throw new Error(`screenshot ${name} looks blank (${shot.length} bytes)`)
  if (process.env.QIAO_UPDATE_SCREENSHOTS === '1') {
    await mkdir(join(REPO, 'docs/screenshots'), { recursive: true })
    await writeFile(join(REPO, 'docs/screenshots', `${name}.png`), shot)
  }
  return shot
}
