import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { MAX_WORKERS, readConfig } from '../config/settings.js'
import { slotNumbers, slotOfThisWorker, workerEnv, workerLogId } from './worker-slot.js'

describe('QIAO_WORKERS and --workers', () => {
  it('defaults to one process; takes a count, or auto for one per core', () => {
    const workers = (raw?: string) => {
      const result = readConfig(raw === undefined ? {} : { QIAO_WORKERS: raw })
      return result.ok ? result.config.workers : result.errors
    }
    expect(workers()).toBe(1)
    expect(workers('')).toBe(1)
    expect(workers(' 4 ')).toBe(4)
    expect(workers('auto')).toBe(Math.min(availableParallelism(), MAX_WORKERS))
    for (const bad of ['0', '-2', '1.5', 'two', String(MAX_WORKERS + 1)]) {
      expect(workers(bad)).toEqual([`QIAO_WORKERS: expected auto or an integer from 1 to ${MAX_WORKERS}`])
    }
  })
})

describe('a worker slot', () => {
  it('names its own audit log after the instance, the same for every process that fills the slot', () => {
    expect(slotNumbers(3).map((slot) => workerLogId('qiao-gw-1', slot))).toEqual([
      'qiao-gw-1-w1',
      'qiao-gw-1-w2',
      'qiao-gw-1-w3',
    ])
  })

  it("changes the worker's environment: its log id, no metrics listener of its own, its slot", () => {
    const env = workerEnv({ auditLogId: 'qiao-gw-1' }, 2)
    expect(env).toEqual({ QIAO_AUDIT_LOG_ID: 'qiao-gw-1-w2', QIAO_METRICS_PORT: '', QIAO_CLUSTER_SLOT: '2' })
    // As the worker reads it: an empty QIAO_METRICS_PORT is unset.
    const config = readConfig({ QIAO_METRICS_PORT: '9464', ...env })
    expect(config.ok && [config.config.auditLogId, config.config.metricsPort]).toEqual(['qiao-gw-1-w2', undefined])
    expect(slotOfThisWorker(env)).toBe(2)
  })

  it('is only what the primary set: another supervisor’s cluster process has none', () => {
    for (const raw of [undefined, '', '0', 'x', '1.5'])
      expect(slotOfThisWorker({ QIAO_CLUSTER_SLOT: raw })).toBe(undefined)
  })
})
