import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { runWrk } from './load.js'
import { startProcess } from './proc.js'
import {
  exitAfterOutput,
  OTHER_ATTEMPTS,
  readWrkOutcome,
  retryDecision,
  shortReason,
  WRK_REPORT_ATTEMPTS,
  WrkRunError,
} from './wrk-result.js'

const RAW = {
  requests: 12_000,
  durationUs: 10_000_000,
  bytes: 1_200_000,
  errors: { connect: 0, read: 0, write: 0, status: 3, timeout: 0 },
  latencyUs: { mean: 800.5, stdev: 90.1, max: 9000, p50: 750, p90: 900, p99: 2000, p999: 5000 },
  wraps: 0,
  lateResets: 1,
}

describe('reading what a wrk run left', () => {
  it('takes a result line with every figure', () => {
    const outcome = readWrkOutcome('0', JSON.stringify(RAW))
    expect(outcome).toEqual({ ok: true, raw: RAW })
  })

  it('calls an exit 0 without the result line a lost report (the run of issue 16)', () => {
    const outcome = readWrkOutcome('0', undefined)
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.kind).toBe('no-result-line')
  })

  it('calls a result line that is not JSON, or lacks figures, unparsable', () => {
    // What bench.lua prints for a mean of a run without requests: "%.1f" of NaN.
    const nan = JSON.stringify(RAW).replace('800.5', 'nan')
    const missing = JSON.stringify({ ...RAW, latencyUs: { p50: 1 } })
    const noDuration = JSON.stringify({ ...RAW, durationUs: 0 })
    const truncated = JSON.stringify(RAW).slice(0, 40)
    for (const line of [nan, missing, noDuration, truncated, '', 'null', '[]']) {
      const outcome = readWrkOutcome('0', line)
      expect(outcome.ok, line).toBe(false)
      if (!outcome.ok) expect(outcome.kind, line).toBe('unparsable-result')
    }
  })

  it('calls a non-zero exit or a signal an exit-status failure, result line or not', () => {
    for (const exit of ['1', 'SIGKILL']) {
      const outcome = readWrkOutcome(exit, JSON.stringify(RAW))
      expect(outcome.ok).toBe(false)
      if (!outcome.ok) {
        expect(outcome.kind).toBe('exit-status')
        expect(outcome.summary).toContain(exit)
      }
    }
  })
})

describe('whether a failed cell is measured again', () => {
  const lost = new WrkRunError('no-result-line', 'wrk exited 0 without its BENCH_RESULT line', 'Running 10s test')
  const garbled = new WrkRunError('unparsable-result', 'wrk printed a BENCH_RESULT line that is not JSON', '')

  it('gives a lost or garbled wrk report two more attempts, then gives up', () => {
    expect(WRK_REPORT_ATTEMPTS).toBe(3)
    for (const err of [lost, garbled]) {
      expect(retryDecision(err, 1).retry).toBe(true)
      expect(retryDecision(err, 2).retry).toBe(true)
      expect(retryDecision(err, 3).retry).toBe(false)
    }
  })

  it('gives any other failure, a wrk that exited 1 included, one more attempt', () => {
    expect(OTHER_ATTEMPTS).toBe(2)
    const exited = new WrkRunError('exit-status', 'wrk failed (exit 1)', 'unable to connect')
    for (const err of [exited, new Error('peer exited (1) before listening'), 'a string']) {
      expect(retryDecision(err, 1).retry).toBe(true)
      expect(retryDecision(err, 2).retry).toBe(false)
    }
  })

  it('notes the summary only, while the error keeps wrk’s output tail for the log', () => {
    expect(retryDecision(lost, 1).reason).toBe('wrk exited 0 without its BENCH_RESULT line')
    expect(lost.message).toBe('wrk exited 0 without its BENCH_RESULT line\nRunning 10s test')
    expect(garbled.message).toBe('wrk printed a BENCH_RESULT line that is not JSON')
  })

  it('keeps reasons short', () => {
    const reason = shortReason(new Error(`${'x'.repeat(500)}\nsecond line`))
    expect(reason).toHaveLength(200)
    expect(reason.endsWith('…')).toBe(true)
    expect(shortReason(new Error(''))).toBe('unknown error')
  })
})

describe('runWrk with a stand-in wrk on PATH', () => {
  const bin = mkdtempSync(join(tmpdir(), 'qiao-fake-wrk-'))
  afterEach(() => vi.unstubAllEnvs())
  afterAll(() => rmSync(bin, { recursive: true, force: true }))

  const fakeWrk = (script: string) => {
    writeFileSync(join(bin, 'wrk'), `#!/bin/sh\n${script}\n`)
    chmodSync(join(bin, 'wrk'), 0o755)
    vi.stubEnv('PATH', `${bin}:${process.env.PATH}`)
  }
  const spec = { url: 'http://127.0.0.1:9/q', body: '{}', headers: {}, connections: 1, seconds: 1, cores: '0' }

  it('throws a lost-report error with wrk’s output tail when wrk exits 0 without the line', async () => {
    fakeWrk('echo "Running 1s test @ http://127.0.0.1:9/q"; echo "  1 threads and 1 connections"; exit 0')
    const err = await runWrk(spec).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WrkRunError)
    expect((err as WrkRunError).kind).toBe('no-result-line')
    expect((err as WrkRunError).message).toContain('1 threads and 1 connections')
    expect(retryDecision(err, 1).retry).toBe(true)
  })

  it('returns the figures of a result line printed just before exiting', async () => {
    fakeWrk(`echo 'BENCH_RESULT ${JSON.stringify(RAW)}'; exit 0`)
    const result = await runWrk(spec)
    expect(result.requests).toBe(12_000)
    expect(result.rps).toBeCloseTo(1200, 6)
    expect(result.errorCount).toBe(3)
  })
})

describe('waiting for a process’s output as well as its exit', () => {
  it('has every line read by the time it resolves', async () => {
    for (let i = 0; i < 20; i++) {
      let last: string | undefined
      const proc = startProcess({
        name: 'printer',
        command: 'sh',
        args: ['-c', `seq 1 2000; echo LAST-${i}`],
        onLine: (line) => {
          last = line
        },
      })
      expect(await exitAfterOutput(proc)).toBe('0')
      expect(last).toBe(`LAST-${i}`)
    }
  })

  it('gives up waiting for the pipes after the grace when something else holds them open', async () => {
    // The background sleep inherits stdout and keeps it open after sh has exited.
    const proc = startProcess({ name: 'holder', command: 'sh', args: ['-c', 'sleep 3 & echo started'] })
    const t0 = Date.now()
    expect(await exitAfterOutput(proc, 300)).toBe('0')
    expect(Date.now() - t0).toBeLessThan(2500)
  })
})
