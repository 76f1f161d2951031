import { readFile } from 'node:fs/promises'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Clock } from '../../../kernel/clock.js'
import type { Config } from '../../config/settings.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { AuditLog } from '../audit-log.js'
import type { AuditBackend } from '../backend.js'
import { requestCheckpointToken } from './client.js'
import { describeTsaPolicy } from './policy.js'
import { createTimestamper, type Timestamper, type TimestampingStatus } from './timestamper.js'
import { parseTsaRoots, verifyCheckpointToken } from './token.js'

/** How the gateway wires timestamping (QIAO_AUDIT_TSA_*) around its audit log, readiness, exchange and metrics. */

const REQUEST_TIMEOUT_MS = 10_000
/** On shutdown, how long the final seal may wait for its token before the store closes. */
const DRAIN_MS = 5_000

type EventSink = (event: { level: 'info' | 'warn' | 'error'; msg: string; detail?: object }) => void

export interface ConfiguredTimestamping {
  readonly timestamper: Timestamper
  /** The backend to open the log on: closing it first lets pending tokens in (bounded by DRAIN_MS). */
  readonly backend: AuditBackend
}

/**
 * The timestamper QIAO_AUDIT_TSA_URL asks for, or undefined. The roots file is read now (start fails if it is
 * unreadable), and every token is checked against it before it is stored: a misconfigured TSA shows at once.
 */
export async function configuredTimestamping(
  config: Config,
  backend: AuditBackend,
  clock: Clock,
  onEvent: EventSink,
): Promise<ConfiguredTimestamping | undefined> {
  const url = config.auditTsaUrl
  if (url === undefined || config.auditTsaRootsFile === undefined) return undefined
  const roots = parseTsaRoots(await readFile(config.auditTsaRootsFile, 'utf8'))
  const client = {
    url,
    timeoutMs: REQUEST_TIMEOUT_MS,
    ...(config.auditTsaPolicyOid ? { policyOid: config.auditTsaPolicyOid } : {}),
  }
  const timestamper = createTimestamper({
    backend,
    logId: config.auditLogId,
    clock,
    policy: config.auditTsaPolicy,
    onEvent,
    async request(jws) {
      const token = await requestCheckpointToken(client, jws)
      await verifyCheckpointToken(token, jws, roots).catch((err: Error) => {
        throw new Error(`TSA token rejected: ${err.message}`)
      })
      return token
    },
  })
  const drainingBackend: AuditBackend = {
    ...backend,
    async close() {
      await timestamper.drain(DRAIN_MS)
      await backend.close()
    },
  }
  return { timestamper, backend: drainingBackend }
}

const attached = new WeakMap<AuditLog, Timestamper>()

/** Makes the log's timestamper findable by readiness, the exchange and metrics (which all hold the log). */
export function attachTimestamper(audit: AuditLog, timestamper: Timestamper): void {
  attached.set(audit, timestamper)
}

/** The log's timestamping status; undefined when no TSA is configured. */
export function timestampingStatus(audit: AuditLog): TimestampingStatus | undefined {
  return attached.get(audit)?.status()
}

/** The exchange's refusal point: under `refuse-after`, once timestamping is behind for longer, no data. */
export function refuseWhileTimestampingUnavailable(audit: AuditLog): void {
  const status = timestampingStatus(audit)
  if (status?.state !== 'refusing') return
  throw new GatewayError('timestamping-unavailable', {
    detail: `no audit checkpoint could be timestamped since ${status.behindSince}; exchange is refused (${describeTsaPolicy(status.policy)})`,
    internal: `audit timestamping backlog ${status.backlog}`,
  })
}

/** /readyz: what timestamping adds to the body, and a reason when it makes the gateway unready. */
export function timestampingReadiness(audit: AuditLog): { report?: object; reason?: string } {
  const status = timestampingStatus(audit)
  if (!status) return {}
  const report = {
    state: status.state,
    ...(status.behindSince ? { behindSince: status.behindSince } : {}),
    backlog: status.backlog,
    policy: describeTsaPolicy(status.policy),
  }
  if (status.state !== 'refusing') return { report }
  return { report, reason: `audit timestamping unavailable since ${status.behindSince}: exchange refused` }
}

const withMetrics = new WeakSet<Registry>()

/** qiao_audit_tsa_requests_total{outcome} and qiao_audit_tsa_backlog, read from the log's timestamper. */
export function registerTimestampingMetrics(registry: Registry, audit: AuditLog): void {
  const timestamper = attached.get(audit)
  if (!timestamper || withMetrics.has(registry)) return
  withMetrics.add(registry)
  new Counter({
    name: 'qiao_audit_tsa_requests_total',
    help: 'RFC 3161 timestamp requests for audit checkpoints, by outcome (granted: token stored; failed: retried).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ outcome: 'granted' }, timestamper.requests.granted)
      this.inc({ outcome: 'failed' }, timestamper.requests.failed)
    },
  })
  new Gauge({
    name: 'qiao_audit_tsa_backlog',
    help: 'Signed audit checkpoints still waiting for their RFC 3161 timestamp.',
    registers: [registry],
    collect() {
      this.set(timestamper.status().backlog)
    },
  })
}
