import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Machine } from './machine.js'
import { QUICK } from './options.js'
import { type BenchResults, renderMarkdown, writeResults } from './results.js'
import { evaluateTargets } from './targets.js'

const machine: Machine = {
  nproc: 2,
  cpuModel: 'Test CPU',
  cpuMHz: undefined,
  memoryGiB: 4,
  kernel: '6.1',
  os: 'Linux',
  virtualization: undefined,
  scalingGovernor: 'performance',
  filesystem: undefined,
  node: 'v20',
  openssl: '3',
  nginx: undefined,
  haproxy: undefined,
  wrk: undefined,
  git: { commit: 'abc1234', uncommittedGatewayFiles: 0, uncommitted: [] },
  loadAverageAtStart: [0.1, 0.1, 0.1],
}

/** A run stopped after the pair section failed: audit measured, pair not, soak still to come. */
function partialRun(): BenchResults {
  const r: BenchResults = {
    schema: 'qiao-bench/1',
    mode: 'quick',
    command: 'npm run bench -- --soak',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:42:00.000Z',
    durationSeconds: 2520,
    machine,
    installedPackages: [],
    profile: QUICK,
    upstream: {
      projectCode: 'P',
      payloads: {
        '1k': { bytes: 1000, rows: 2 },
        '64k': { bytes: 65_536, rows: 120 },
        '1m': { bytes: 1_048_576, rows: 1900 },
      },
    },
    peers: ['P0', 'P3'],
    catalog: { main: { resources: 10, matters: 3, grants: 5 } },
    otherWorkAtStartCores: 0,
    sectionFailures: [{ section: 'pair', reason: 'wrk exited 0 without its BENCH_RESULT line' }],
    partial: { completed: ['audit', 'pair'], pending: ['soak'] },
    notes: [],
    targets: [],
  }
  r.targets = evaluateTargets(r)
  return r
}

describe('results of a run with a failed section, written half-way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qiao-bench-results-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('says which section failed, why, and that its figures are missing, at the top and in the notes', () => {
    const md = renderMarkdown(partialRun(), 'latest.partial')
    const line = 'Section pair failed: wrk exited 0 without its BENCH_RESULT line — its figures are missing.'
    expect(md).toContain(`> **${line}**`)
    expect(md.slice(md.indexOf('## Notes'))).toContain(`- ${line}`)
    expect(md.indexOf(line)).toBeLessThan(md.indexOf('## Machine'))
  })

  it('says the results are partial, after which section, and what was still to run', () => {
    const md = renderMarkdown(partialRun(), 'latest.partial')
    expect(md).toMatch(/\*\*Partial results\*\*, written after section pair/)
    expect(md).toContain('still to run: soak')
  })

  it('renders a finished run without either line', () => {
    const done = { ...partialRun(), sectionFailures: [], partial: undefined }
    const md = renderMarkdown(done, 'latest')
    expect(md).not.toContain('failed')
    expect(md).not.toContain('Partial results')
  })

  it('writes the partial JSON and Markdown, which render again from the JSON alone', () => {
    const [json, md] = writeResults(dir, 'latest.partial', partialRun())
    expect(json).toBe(join(dir, 'latest.partial.json'))
    const back = JSON.parse(readFileSync(json as string, 'utf8')) as BenchResults
    expect(back.sectionFailures).toEqual([{ section: 'pair', reason: 'wrk exited 0 without its BENCH_RESULT line' }])
    expect(back.partial?.pending).toEqual(['soak'])
    expect(readFileSync(md as string, 'utf8')).toBe(renderMarkdown(back, 'latest.partial'))
  })
})
