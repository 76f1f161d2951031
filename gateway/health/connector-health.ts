import type { HealthReport } from '../../connectors/kit/types.js'
import type { Clock } from '../../kernel/clock.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import type { Logger } from '../telemetry/logger.js'

export interface ConnectorStatus extends HealthReport {
  /** ISO time of the probe; undefined before the first one. */
  readonly checkedAt?: string
}

export interface HealthMonitor {
  /** Probes the given connector instances of the current catalog now (default: every one). */
  check(instances?: readonly string[]): Promise<void>
  /** Last known status of a connector instance. */
  status(instance: string): ConnectorStatus
  stop(): void
}

const UNKNOWN: ConnectorStatus = Object.freeze({ status: 'degraded', detail: 'not checked yet' })

/**
 * Probes each connector's health() at start and then periodically, so that an unreachable provider system is
 * reported clearly — in the log at start, in GET /v1/catalog and in /readyz — instead of failing silently.
 * A changed status is logged once, not at every probe.
 */
export function createHealthMonitor(options: {
  readonly snapshot: () => CatalogSnapshot
  readonly log: Logger
  readonly clock: Clock
  readonly intervalMs: number
  readonly probeTimeoutMs?: number
}): HealthMonitor {
  const statuses = new Map<string, ConnectorStatus>()
  let timer: NodeJS.Timeout | undefined

  async function probe(instance: string, snapshot: CatalogSnapshot): Promise<void> {
    const connector = snapshot.connectors.get(instance)
    if (!connector) return
    let report: HealthReport
    try {
      report = await connector.health({ signal: AbortSignal.timeout(options.probeTimeoutMs ?? 2_000) })
    } catch {
      report = { status: 'down', detail: 'health check failed' }
    }
    // A reload may have replaced the instance meanwhile: its replacement's own probe decides its status.
    if (options.snapshot().connectors.get(instance) !== connector) return
    const previous = statuses.get(instance)
    statuses.set(instance, { ...report, checkedAt: new Date(options.clock.now()).toISOString() })
    if (previous?.status !== report.status) {
      const resources = [...snapshot.catalog.resources.values()]
        .filter((r) => r.connector === instance)
        .map((r) => r.id)
      const entry = { connector: instance, status: report.status, detail: report.detail, resources }
      if (report.status === 'up') options.log.info(entry, 'connector available')
      else options.log.warn(entry, 'connector unavailable: its resources will fail until it recovers')
    }
  }

  return {
    async check(instances) {
      const snapshot = options.snapshot()
      // Status is kept per instance id: an instance kept across a reload keeps it, a removed one loses it.
      for (const id of statuses.keys()) if (!snapshot.connectors.has(id)) statuses.delete(id)
      await Promise.all((instances ?? [...snapshot.connectors.keys()]).map((id) => probe(id, snapshot)))
      if (!timer && options.intervalMs > 0) {
        timer = setInterval(() => void this.check(), options.intervalMs)
        timer.unref()
      }
    },
    status: (instance) => statuses.get(instance) ?? UNKNOWN,
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
