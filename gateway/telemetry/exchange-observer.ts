import type { ServerResponse } from 'node:http'
import type { Clock } from '../../kernel/clock.js'
import { type GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { Reached } from '../pipeline/exchange.js'
import { exchangeLineLogger, type Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import { type Span, SpanStatusCode } from './tracing.js'

/** Upstream latency and failures per connector instance (the connector stages report here). */
export interface UpstreamObserver {
  upstream(instance: string, started: number, err?: unknown): void
}

/** What an exchange call leaves behind besides its audit record: metrics, span attributes, the log line. */
export interface ExchangeObserver extends UpstreamObserver {
  auditWritten(seconds: number): void
  /** Once the answer is known; `started` is the performance.now() of the call's arrival. */
  finished(call: Reached, error: GatewayError | undefined, status: number, started: number, span?: Span): void
}

/** Built once per gateway, shared by every call. */
export function createExchangeObserver(metrics: Metrics, log: Logger, clock: Clock): ExchangeObserver {
  const exchangeLog = exchangeLineLogger(log)
  return {
    upstream(instance, started, err) {
      const outcome = err === undefined ? 'ok' : toGatewayError(err).code
      metrics.exchange.upstream(instance, outcome, (clock.now() - started) / 1000)
    },
    auditWritten(seconds) {
      metrics.auditWriteSeconds.observe(seconds)
    },
    finished(call, error, status, started, span) {
      logExchange(exchangeLog, clock, call, error, status)
      observe(metrics, call, error, status, started, span)
    },
  }
}

/** Metric labels only take values the catalog knows; anything a caller made up is `_other`. */
function observe(
  metrics: Metrics,
  call: Reached,
  error: GatewayError | undefined,
  status: number,
  started: number,
  span: Span | undefined,
): void {
  const { catalog } = call.snapshot
  const resource = call.resource?.id ?? (call.resourceId ? '_other' : '_none')
  const matter = call.purpose ? (catalog.matters.has(call.purpose.matter) ? call.purpose.matter : '_other') : '_none'
  const dept = call.principal
    ? catalog.departments.has(call.principal.dept)
      ? call.principal.dept
      : '_other'
    : '_none'
  const decision = call.grant ? 'allow' : 'deny'
  metrics.exchange.request(resource, matter, dept, call.action, decision, status, (performance.now() - started) / 1000)
  if (span) {
    span.setAttributes({
      'http.response.status_code': status,
      'qiao.resource': resource,
      'qiao.matter': matter,
      'qiao.dept': dept,
      'qiao.decision': decision,
      'qiao.reason': error?.code ?? 'ok',
      'qiao.audit_id': call.auditId,
    })
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error?.code })
  }
}

/**
 * One line per call, with ids and outcome only: parameters and records never reach the operational log. The line is
 * one flat object literal (no spread), built only when its level is on, and written through the redaction-free
 * exchange line logger (logger.ts `exchangeLineLogger`): every field is a gateway-made or shape-checked id, a
 * catalog or problem code, a number or a flag, or the message a problem was built with — never a token or a value
 * from a payload.
 */
function logExchange(log: Logger, clock: Clock, call: Reached, err: GatewayError | undefined, status: number): void {
  const failed = err?.code === 'internal' || err?.code === 'audit-unavailable'
  const upstreamProblem = !failed && err !== undefined && err.status >= 500
  if (!failed && !upstreamProblem && !log.isLevelEnabled('info')) return
  const line = {
    requestId: call.requestId,
    auditId: call.auditId,
    resource: call.resourceId || undefined,
    action: call.action,
    matter: call.purpose?.matter,
    dept: call.principal?.dept,
    decision: call.grant ? 'allow' : 'deny',
    reason: err?.code ?? 'ok',
    status,
    records: call.released?.length,
    replay: call.replay ? true : undefined,
    upstreamMs: call.upstreamMs,
    totalMs: clock.now() - call.startedAt,
    traceId: call.traceId,
    err: failed ? err?.message : undefined,
    cause: failed ? describeCause(err?.cause) : undefined,
    internal: upstreamProblem ? err?.message : undefined,
  }
  if (failed) log.error(line, 'exchange failed')
  else if (upstreamProblem) log.warn(line, 'exchange upstream problem')
  else log.info(line, 'exchange')
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined
}

/**
 * Watches the response socket for the connector stage: closed before the answer was written means the caller
 * went away. Undefined when the server gives no Node response (nothing to watch).
 */
export function clientGoneWatcher(
  outgoing: ServerResponse | undefined,
): ((listener: () => void) => () => void) | undefined {
  if (!outgoing) return undefined
  return (listener) => {
    const onClose = () => {
      if (!outgoing.writableFinished) listener()
    }
    outgoing.once('close', onClose)
    return () => outgoing.off('close', onClose)
  }
}
