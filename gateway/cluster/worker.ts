import type { Registry } from 'prom-client'
import type { Config } from '../config/settings.js'
import type { RunningGateway } from '../gateway.js'
import { type BudgetChannel, countQuotasInPrimary, isBudgetAnswer } from '../quota/primary-budget.js'
import { isPrimaryMessage, sendToPrimary } from './messages.js'

/**
 * One worker of `qiao serve --workers N`: the same gateway as a single `qiao serve` (its own audit log, the shared
 * state store, its own signal handlers: SIGTERM drains it as it would a single process), plus what ties it to the
 * primary over IPC: it says when it is ready, answers the primary's metrics scrapes, counts quotas in the primary's
 * budget when there is no Redis, and passes on a catalog reload it made so that every worker serves the same file.
 *
 * If the primary dies, Node ends its workers at once (node:cluster exits a worker whose IPC channel closes
 * unexpectedly): like a crash, every acknowledged audit record is durable and the next start repairs the tail.
 */

/** `serveInThisProcess` of ../cli/serve.ts: passed in, so that this module does not import the command line. */
export type ServeInThisProcess = (config: Config) => Promise<RunningGateway>

export async function runWorker(config: Config, serve: ServeInThisProcess): Promise<void> {
  // Before the gateway opens its quota store: without Redis the counters are the primary's, one budget for all.
  if (config.quotaRedisUrl === undefined) countQuotasInPrimary(budgetChannel)
  const gateway = await serve(config)
  relayReloads(gateway)
  answerMetricsRequests(gateway.deps.metrics.registry)
  sendToPrimary({ type: 'qiao:ready', url: gateway.url, logId: config.auditLogId })
}

const budgetChannel: BudgetChannel = {
  send: (request) => sendToPrimary(request),
  onAnswer(handler) {
    process.on('message', (message: unknown) => {
      if (isBudgetAnswer(message)) handler(message)
    })
  },
}

/**
 * Every reload this worker makes itself (POST /v1/admin/catalog/reload reaches one worker; so does a SIGHUP sent to
 * one worker's pid) is passed on through the primary to the others; a reload the primary asks for (its SIGHUP, or
 * another worker's reload) is made here and not passed on again. Each worker audits its own reload in its own log,
 * with the same actor and request id. The gateway's one reload entry point (`deps.lifecycle.reload`, which both
 * the route and SIGHUP go through) is wrapped here, since gateway.ts composes one process and knows no cluster.
 */
function relayReloads(gateway: RunningGateway): void {
  const { lifecycle, log } = gateway.deps
  const reloadHere = lifecycle.reload.bind(lifecycle)
  lifecycle.reload = async (actor, requestId) => {
    const result = await reloadHere(actor, requestId)
    if (result.ok) sendToPrimary({ type: 'qiao:reloaded', actor, ...(requestId === undefined ? {} : { requestId }) })
    return result
  }
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message, 'qiao:reload')) return
    // The outcome is logged and audited by the reload itself ("catalog reloaded" / "catalog reload rejected").
    reloadHere(message.actor, message.requestId).catch((err: unknown) =>
      log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'catalog reload asked by the primary failed',
      ),
    )
  })
}

function answerMetricsRequests(registry: Registry): void {
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message, 'qiao:metrics-request')) return
    const { requestId } = message
    registry.getMetricsAsJSON().then(
      (metrics) => sendToPrimary({ type: 'qiao:metrics', requestId, metrics }),
      (err: unknown) =>
        sendToPrimary({ type: 'qiao:metrics', requestId, error: err instanceof Error ? err.message : String(err) }),
    )
  })
}
