import type { Dispatcher } from 'undici'
import type { Clock } from '../../kernel/clock.js'
import type { CanonicalRecord, JsonSchema } from '../../kernel/records.js'
import { ConnectorError } from './connector-error.js'

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

/**
 * One change of a provider's record, as a change feed reports it.
 *
 * The gateway derives the event id from (resource, `key`, `version`), so the same change reported twice is one event
 * delivered at least once, never two: `version` must be stable for a change (the 前置库's 流水号, the provider's
 * change id) and differ between two changes of one record.
 */
export interface Change {
  /** The record's business key (e.g. the USCC, the permit number). */
  readonly key: string
  /** Stable per change (e.g. LSH, the provider's change id). */
  readonly version: string
  /** `delete`: the provider withdrew the record. A status change (e.g. 注销) is an `upsert` with that status. */
  readonly op: 'upsert' | 'delete'
  /** ISO 8601, when the provider made the change. */
  readonly changedAt: string
  /** The record after the change, canonical (valid against the resource's response schema); absent for a delete. */
  readonly record?: CanonicalRecord
}

export interface ChangePage {
  /** In the provider's order of changes; may be empty. */
  readonly changes: readonly Change[]
  /** Opaque cursor to pass as `after` next time (the same `after` again when nothing changed). */
  readonly next: string
  /** True when more changes are already waiting after `next` (poll again at once). */
  readonly more: boolean
}

export interface ChangesRequest {
  /**
   * A cursor this operation returned as `next`, or undefined to start from the beginning. Opaque to the gateway.
   * A cursor that is not one of the operation's own fails with `invalidCursor()` (a `rejected` ConnectorError with
   * upstreamCode `invalid-cursor`), never silently from the start.
   */
  readonly after: string | undefined
  /** Most changes in one page (≥ 1). */
  readonly limit: number
}

/**
 * A change feed: the provider's changes after a cursor, in pages. Cursors are monotonic, and the same `after`
 * always answers the same changes or a superset of them (never fewer): the gateway saves the cursor only after it
 * has handed a page over, so a crash in between repeats changes (de-duplicated by event id) and never loses one.
 */
export interface ChangesOperation {
  readonly kind: 'changes'
  handle(request: ChangesRequest, ctx: CallContext): Promise<ChangePage>
}

/** `upstreamCode` of the error a change feed throws for a cursor it did not issue. */
export const INVALID_CURSOR = 'invalid-cursor'

/** The error for a garbled or foreign `after` (no value of it in the message). */
export function invalidCursor(): ConnectorError {
  return new ConnectorError('rejected', 'change cursor was not issued by this change feed', {
    upstreamCode: INVALID_CURSOR,
  })
}

/** Longest cursor a feed may issue (what the gateway stores per resource). */
export const MAX_CHANGE_CURSOR_LENGTH = 8_192

/**
 * A change feed's cursor as opaque text: base64url of `[feed tag, ...parts]` in JSON. The tag ties a cursor to its
 * feed, so another feed's cursor is refused rather than misread.
 */
export function encodeChangeCursor(tag: string, parts: readonly (string | number)[]): string {
  const cursor = Buffer.from(JSON.stringify([tag, ...parts]), 'utf8').toString('base64url')
  if (cursor.length > MAX_CHANGE_CURSOR_LENGTH) throw new Error(`change cursor of ${tag} is too long`)
  return cursor
}

/** The parts of a cursor from encodeChangeCursor with this tag and `arity` parts; throws invalidCursor() otherwise. */
export function decodeChangeCursor(tag: string, cursor: string, arity: number): (string | number)[] {
  let parsed: unknown
  try {
    if (cursor.length > MAX_CHANGE_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor()
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 || parsed[0] !== tag) throw invalidCursor()
  const parts = parsed.slice(1)
  if (!parts.every((p) => typeof p === 'string' || (typeof p === 'number' && Number.isSafeInteger(p)))) {
    throw invalidCursor()
  }
  return parts as (string | number)[]
}

export type Operation = ReadOperation<never> | WriteOperation<never> | ChangesOperation

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

export type OperationKind = Operation['kind']

export interface OperationManifest {
  readonly kind: OperationKind
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
