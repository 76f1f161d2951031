import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { loadOrCreateDevKey, mintDevToken } from '../../gateway/auth/dev-keys.js'
import { DEMO_ISSUER } from '../../gateway/config/settings.js'
import { REPO } from './gateway.js'

/** A running `qiao demo` (gateway, simulators, console) in its own data directory. */
export interface DemoProcess {
  /** The gateway's origin, e.g. http://127.0.0.1:41234 */
  readonly origin: string
  readonly dataDir: string
  output(): string
  close(): Promise<void>
}

/** Starts `qiao demo` on a free port with `env` added, and waits until it says it is up. */
export async function startDemo(env: Readonly<Record<string, string>> = {}): Promise<DemoProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'qiao-demo-'))
  const demo = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'demo'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      QIAO_DATA_DIR: dataDir,
      QIAO_PORT: '0',
      QIAO_LOG_LEVEL: 'warn',
      ...env,
    },
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not come up:\n${out}`)), 40_000)
    const onData = (b: Buffer) => {
      out += b.toString()
      const found = /Qiao demo gateway: (http:\/\/\S+)/.exec(out)
      if (found && out.includes('Ctrl-C stops')) {
        clearTimeout(timer)
        resolve(found[1] as string)
      }
    }
    demo.stdout?.on('data', onData)
    demo.stderr?.on('data', onData)
    demo.once('exit', (code) => reject(new Error(`demo exited ${code}:\n${out}`)))
  })
  return {
    origin: new URL(url).origin,
    dataDir,
    output: () => out,
    async close() {
      if (demo.exitCode === null && demo.signalCode === null) {
        demo.kill('SIGINT')
        await new Promise((resolve) => demo.once('exit', resolve))
      }
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** Demo sign-in as an officer of `dept` in `role`; resolves on the role's landing page. */
export async function signInDemo(context: BrowserContext, origin: string, dept: string, role: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${origin}/console/sign-in`)
  await page.selectOption('#dept', dept)
  await page.check(`#role-${role}`)
  await Promise.all([page.waitForURL(/\/console\/(?!sign-in)[a-z]+$/), page.click('button[type=submit]')])
  return page
}

/** A token from the demo's own dev key (as `qiao token` mints it), for API calls a test makes beside the browser. */
export async function demoToken(
  demo: DemoProcess,
  claims: { readonly dept: string; readonly scope: string; readonly sub?: string; readonly ttlSeconds?: number },
): Promise<string> {
  const key = await loadOrCreateDevKey(demo.dataDir)
  return mintDevToken(key, {
    issuer: DEMO_ISSUER,
    audience: 'qiao',
    dept: claims.dept,
    sub: claims.sub ?? `test-${claims.dept}`,
    scope: claims.scope,
    ttlSeconds: claims.ttlSeconds ?? 600,
  })
}
