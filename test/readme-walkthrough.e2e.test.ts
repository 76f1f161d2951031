import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type DemoProcess, startDemo } from './support/demo-process.js'
import { REPO } from './support/gateway.js'

/**
 * README "Walkthrough in the demo", run as written: the block between the walkthrough markers goes to bash against a
 * real `qiao demo` (its seeded applications, its simulators), with only the `qiao` function pointed at the sources
 * instead of the build. If README's commands stop working, this fails.
 */

const CLI = `${process.execPath} --import tsx ${join(REPO, 'gateway/cli.ts')}`
let demo: DemoProcess
let dataDir: string
let url: string

beforeAll(async () => {
  demo = await startDemo()
  dataDir = demo.dataDir
  url = demo.origin
}, 60_000)

afterAll(async () => {
  await demo?.close()
})

async function walkthrough(): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8')
  const block = /<!-- walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme)?.[1]
  expect(block, 'README has the walkthrough block').toBeDefined()
  const script = (block as string).replace('qiao() { node dist/gateway/cli.js "$@"; }', `qiao() { ${CLI} "$@"; }`)
  expect(script).not.toBe(block)
  return script
}

it('README’s walkthrough runs against the demo: apply → check → review → the query answers the approved fields', async () => {
  const script = await walkthrough()
  const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script],
      {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, QIAO_DATA_DIR: dataDir, QIAO_GATEWAY_URL: url },
        timeout: 90_000,
      },
      (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${out}\n${errOut}`)) : resolve({ stdout: out, stderr: errOut }),
    )
  })
  // The demo's seeded applications were there before.
  const list = await fetchJson(`${url}/v1/applications?limit=50`, await authorityToken())
  const states = (list.data as { state: string; request: { resource: string } }[]).map((a) => a.state)
  expect(states).toEqual(expect.arrayContaining(['approved', 'awaiting-applicant', 'refused', 'conformity-check']))
  expect(states.length).toBe(5)
  // The query's answer: exactly the approved fields, the officer's name and phone masked.
  const line = stdout.split('\n').find((l) => l.startsWith('{"data":'))
  expect(line, stdout).toBeDefined()
  const answer = JSON.parse(line as string) as { data: Record<string, string>[]; meta: { masked: string[] } }
  expect(Object.keys(answer.data[0] ?? {}).sort()).toEqual(
    ['ownerLeadName', 'ownerLeadPhone', 'permitNo', 'plannedStartDate', 'projectCode', 'projectName'].sort(),
  )
  expect(answer.meta.masked.sort()).toEqual(['ownerLeadName', 'ownerLeadPhone'])
  expect(stdout).toContain('已批准')
}, 120_000)

async function authorityToken(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', `${CLI} token --dept data --sub auditor-check --scope sharing:admin`],
      { cwd: REPO, env: { PATH: process.env.PATH, HOME: process.env.HOME, QIAO_DATA_DIR: dataDir } },
      (err, out) => (err ? reject(err) : resolve(out.trim())),
    )
  })
}

async function fetchJson(href: string, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(href, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, unknown>
}
