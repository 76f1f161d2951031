import { type Browser, chromium, type Page } from 'playwright-core'

/** Debian's chromium (`.ci/run` installs it when missing); playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = process.env.QIAO_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Headless Chromium with nothing of its own on the network (no component updates, no background requests), so
 * every request a test sees comes from the page under test.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
}

/** What a page did that a test should see: requests to another origin, script errors, console errors (CSP). */
export interface PageWatch {
  /** URLs requested from any origin but `origin` (data: and blob: URLs never leave the page). */
  readonly foreignRequests: string[]
  readonly pageErrors: string[]
  readonly consoleErrors: string[]
}

export function watchPage(page: Page, origin: string): PageWatch {
  const watch: PageWatch = { foreignRequests: [], pageErrors: [], consoleErrors: [] }
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.protocol === 'data:' || url.protocol === 'blob:') return
    if (url.origin !== origin) watch.foreignRequests.push(request.url())
  })
  page.on('pageerror', (err) => watch.pageErrors.push(err.message))
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text())
  })
  return watch
}
