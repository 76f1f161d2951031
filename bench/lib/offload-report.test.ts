import { describe, expect, it } from 'vitest'
import type { Cell } from './measure.js'
import { type OffloadCell, type OffloadResult, offloadSummary, renderOffload } from './offload-report.js'
import { stat } from './stats.js'

const cellOf = (rps: number, cpu: number): Cell =>
  ({
    rps: stat([rps]),
    p50Ms: stat([1]),
    p99Ms: stat([2]),
    cpuUsPerRequest: stat([cpu]),
    core0Busy: stat([0.5]),
    core1Busy: stat([1]),
    foreignBusyMax: [0, 0],
    peakRssMB: stat([180]),
    requests: rps * 10,
    errors: 0,
    wraps: 0,
    lateResets: 0,
    samples: [{} as Cell['samples'][number]],
  }) as Cell

const offload = (inlineUs: number, threadUs: number): OffloadResult => ({
  logLevel: 'info',
  cells: [
    { ...cellOf(1_000, 800), variant: 'inline', requestThreadUs: stat([inlineUs]), otherThreadsUs: { node: 12 } },
    {
      ...cellOf(1_300, 820),
      variant: 'threads',
      requestThreadUs: stat([threadUs]),
      otherThreadsUs: { 'qiao-audit-hash': 61.5, 'qiao-audit-idx': 20.25, node: 40 },
    },
  ] satisfies OffloadCell[],
})

describe('audit offload report', () => {
  it('says what the request thread pays with the threads against inline, as a change', () => {
    expect(offloadSummary(offload(780, 624))).toBe(
      "with the audit log's threads on a second core the request thread pays 624 µs per call against 780 µs inline (−20.0%)",
    )
  })

  it('renders both variants with the helper threads by name, and the per-core bound against HAProxy', () => {
    const text = renderOffload(offload(780, 625), cellOf(8_000, 100)).join('\n')
    expect(text).toContain('| inline | 1,000 | 800 | 780 | — / — / 12.0 | 50% / 100% |')
    expect(text).toContain('| threads | 1,300 | 820 | 625 | 61.5 / 20.3 / 40.0 | 50% / 100% |')
    // 1 s ÷ 625 µs = 1,600 calls/s = 0.20 × 8,000.
    expect(text).toContain(
      "throughput 1,300 against 1,000 req/s (+30.0%), the process's CPU per call 820 against 800 µs",
    )
    expect(text).toContain('about 1,600 calls/s (1 s ÷ its CPU per call, 0.20 × P2')
  })

  it('says nothing when a variant was not measured', () => {
    const r = offload(780, 625)
    const onlyInline: OffloadResult = { ...r, cells: r.cells.filter((c) => c.variant === 'inline') }
    expect(offloadSummary(onlyInline)).toBeUndefined()
    expect(renderOffload(onlyInline, undefined).join('\n')).not.toContain('So with')
  })
})
