import { describe, expect, it } from 'vitest'
import type { Connector, HealthReport } from '../../connectors/kit/types.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import { createLogger } from '../telemetry/logger.js'
import { createHealthMonitor } from './connector-health.js'

/** Connector status across catalog reloads: kept per instance id, re-checked for a rebuilt instance. */

interface Probed extends Connector {
  probes: number
}

function connector(report: () => Promise<HealthReport> | HealthReport): Probed {
  const c: Probed = {
    probes: 0,
    operations: {},
    async health() {
      c.probes++
      return report()
    },
    dispose: async () => {},
  }
  return c
}

function snapshotWith(connectors: Record<string, Connector>): CatalogSnapshot {
  return {
    connectors: new Map(Object.entries(connectors)),
    catalog: { resources: new Map() },
  } as unknown as CatalogSnapshot
}

function monitor(current: () => CatalogSnapshot) {
  return createHealthMonitor({
    snapshot: current,
    log: createLogger('silent'),
    clock: { now: () => Date.parse('2026-11-26T02:00:00Z') },
    intervalMs: 0,
  })
}

describe('connector health across reloads', () => {
  it('a kept instance keeps its status without a probe; a rebuilt one is probed again; a removed one is dropped', async () => {
    const kept = connector(() => ({ status: 'up' }))
    const old = connector(() => ({ status: 'up' }))
    const removed = connector(() => ({ status: 'down', detail: 'unreachable' }))
    let current = snapshotWith({ kept, changed: old, removed })
    const health = monitor(() => current)
    await health.check()
    expect(health.status('kept').status).toBe('up')
    expect(health.status('changed').status).toBe('up')
    expect(health.status('removed').status).toBe('down')

    const rebuilt = connector(() => ({ status: 'down', detail: 'unreachable' }))
    current = snapshotWith({ kept, changed: rebuilt })
    await health.check(['changed'])
    expect(kept.probes).toBe(1)
    expect(health.status('kept')).toMatchObject({ status: 'up', checkedAt: '2026-11-26T02:00:00.000Z' })
    expect(rebuilt.probes).toBe(1)
    expect(health.status('changed')).toMatchObject({ status: 'down', detail: 'unreachable' })
    expect(health.status('removed')).toEqual({ status: 'degraded', detail: 'not checked yet' })
  })

  it("a replaced instance's late probe does not overwrite its replacement's status", async () => {
    let answer: (report: HealthReport) => void = () => {}
    const old = connector(() => new Promise<HealthReport>((resolve) => (answer = resolve)))
    let current = snapshotWith({ upstream: old })
    const health = monitor(() => current)
    const slowProbe = health.check()

    const rebuilt = connector(() => ({ status: 'down', detail: 'unreachable' }))
    current = snapshotWith({ upstream: rebuilt })
    await health.check(['upstream'])
    answer({ status: 'up' })
    await slowProbe
    expect(old.probes).toBe(1)
    expect(health.status('upstream').status).toBe('down')
  })
})
