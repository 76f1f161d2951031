import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../', import.meta.url))

// Only a safety net against a hung CLI: a cold tsx start on a loaded shared machine can take well over 15 s.
const CLI_TIMEOUT_MS = 120_000

/** Runs the real CLI from the sources: `qiao catalog check <file>`. */
function catalogCheck(file: string) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'catalog', 'check', file], {
    cwd: root,
    encoding: 'utf8',
    timeout: CLI_TIMEOUT_MS,
  })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe('qiao catalog check', { timeout: CLI_TIMEOUT_MS }, () => {
  it('prints every problem as file:line:col and exits 1', () => {
    const file = 'test/fixtures/catalogs/three-mistakes.yaml'
    const { code, stdout, stderr } = catalogCheck(file)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.trimEnd().split('\n')).toEqual([
      `${file}:15:16 resources[0].connector: unknown connector "gongai"`,
      `${file}:34:28 matters[0].grants[0].fields[1]: housing.review has no field "reviewDate"`,
      `${file}:35:30 matters[0].grants[0].approval: unknown property "approvdBy"`,
      `3 problems in ${file}`,
    ])
  })

  it('prints a summary and exits 0 for a valid catalog', () => {
    const file = 'test/fixtures/catalogs/valid-minimal.yaml'
    const { code, stdout, stderr } = catalogCheck(file)
    expect(stderr).toBe('')
    expect(stdout).toBe(
      `${file}: OK — 2 departments, 0 connectors, 1 resource, 1 matter, 0 grants (catalog version minimal-1)\n`,
    )
    expect(code).toBe(0)
  })
})
