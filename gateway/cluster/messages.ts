import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { BudgetAnswer, BudgetRequest } from '../quota/primary-budget.js'

/**
 * The messages between the primary and its workers over node:cluster's IPC channel (JSON). Every type starts with
 * `qiao:`; anything else on the channel (Node's own, prom-client's) is not ours and is left alone. They carry ids,
 * counts and catalog actors only — never a token, a parameter or a record.
 */

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[]

/** Worker → primary. */
export type WorkerMessage =
  /** The gateway is up and listening (shared port); `url` as in its "qiao listening" line. */
  | { readonly type: 'qiao:ready'; readonly url: string; readonly logId: string }
  /** The answer to a metrics request: the registry as JSON, or why it could not be read. */
  | {
      readonly type: 'qiao:metrics'
      readonly requestId: number
      readonly metrics?: WorkerMetrics
      readonly error?: string
    }
  /** This worker reloaded its catalog (POST /v1/admin/catalog/reload, or a SIGHUP sent to it alone). */
  | { readonly type: 'qiao:reloaded'; readonly actor: string; readonly requestId?: string }
  | BudgetRequest

/** Primary → worker. */
export type PrimaryMessage =
  | { readonly type: 'qiao:metrics-request'; readonly requestId: number }
  /** Reload the catalog as another worker (or the primary's SIGHUP) did; not passed on again. */
  | { readonly type: 'qiao:reload'; readonly actor: string; readonly requestId?: string }
  | BudgetAnswer

type Of<M extends { type: string }, T extends M['type']> = Extract<M, { type: T }>

function hasType(message: unknown, type: string): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type
}

export function isWorkerMessage<T extends WorkerMessage['type']>(
  message: unknown,
  type: T,
): message is Of<WorkerMessage, T> {
  return hasType(message, type)
}

export function isPrimaryMessage<T extends PrimaryMessage['type']>(
  message: unknown,
  type: T,
): message is Of<PrimaryMessage, T> {
  return hasType(message, type)
}

/**
 * Sends to the primary from a worker; false when the channel is closed. (`process.send`'s own false only means the
 * message waits behind others, and it still goes.) The callback takes a send error, which without one would be an
 * unhandled 'error' event that ends the process.
 */
export function sendToPrimary(message: WorkerMessage): boolean {
  if (process.send === undefined || !process.connected) return false
  process.send(message, undefined, {}, () => {})
  return true
}
