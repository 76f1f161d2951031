import type { Dispatcher } from 'undici'
import type { Clock } from '../../kernel/clock.js'
import type { CanonicalRecord, JsonSchema } from '../../kernel/records.js'

// Re-exported: connector authors take the contract and its vocabulary from the kit alone.
export type { CanonicalRecord, Clock, JsonSchema }

/**
 * The connector contract. A connector adapts one legacy department system to canonical JSON records.
 * It receives everything it uses (dispatcher, logger, clock, per-call signal) and imports nothing from `gateway/`.
 */

/** pino-compatible subset. Log shapes and counts, never payload values or personal data. */
export interface ConnectorLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** Built once per connector instance by the gateway. */
export interface ConnectorDeps {
  /** undici dispatcher with the instance's pool limits and connect/headers/body timeouts. */
  readonly dispatcher: Dispatcher
  readonly log: ConnectorLogger
  readonly clock: Clock
}

/** Per call. */
export interface CallContext {
  /** Aborted at the deadline or when the caller goes away; pass it to every I/O call. */
  readonly signal: AbortSignal
  /** Epoch ms by which the answer must be back. */
  readonly deadline: number
  readonly requestId: string
  readonly log: ConnectorLogger
  /** Headers to propagate to the legacy system (W3C trace context), if tracing is on. */
  readonly propagation?: Readonly<Record<string, string>>
}

export interface ReadOperation<P = Record<string, unknown>> {
  readonly kind: 'read'
  /** Parameters arrive already validated against the resource request schema. */
  handle(params: P, ctx: CallContext): Promise<CanonicalRecord[]>
}

/** What the provider returns for a delivered write. */
export interface WriteReceipt {
  /** The provider's own reference for the delivery (e.g. 回执编号). */
  readonly receiptId: string
  /** ISO 8601 time the provider accepted it. */
  readonly acceptedAt: string
  readonly [extra: string]: unknown
}

export interface WriteOperation<B = Record<string, unknown>> {
  readonly kind: 'write'
  /** The body arrives already validated against the resource write schema. Never retried by the gateway. */
  handle(body: B, ctx: CallContext): Promise<WriteReceipt>
}

export type Operation = ReadOperation<never> | WriteOperation<never>

export type HealthStatus = 'up' | 'degraded' | 'down'

export interface HealthReport {
  readonly status: HealthStatus
  /** Public, short; no secrets, hosts with credentials or payloads. */
  readonly detail?: string
}

/** A live connector instance. */
export interface Connector {
  readonly operations: Readonly<Record<string, Operation>>
  health(ctx: { signal: AbortSignal }): Promise<HealthReport>
  /** Releases pools and sockets. Idempotent. */
  dispose(): Promise<void>
}

export interface OperationManifest {
  readonly kind: 'read' | 'write'
  readonly description: string
}

/**
 * A connector type, registered once. The manifest (operations, options schema) is read when the catalog is checked,
 * before anything is created, so mistakes in catalog.yaml are reported with their line and column.
 */
export interface ConnectorDefinition<O = Record<string, unknown>> {
  /** Stable type id, referenced as `type:` in catalog.yaml (e.g. `housing-gongai`). */
  readonly type: string
  /** The legacy system, in words (e.g. 工程建设项目审批管理系统（工改）). */
  readonly system: string
  readonly operations: Readonly<Record<string, OperationManifest>>
  /** Schema for the `options:` block in catalog.yaml; validated at load. */
  readonly optionsSchema: JsonSchema
  create(options: O, deps: ConnectorDeps): Connector
}

/** Identity helper that keeps the options type inferred. */
export function defineConnector<O>(definition: ConnectorDefinition<O>): ConnectorDefinition<O> {
  return definition
}
