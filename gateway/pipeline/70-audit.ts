import type { KeyedDigest } from '../audit/digest.js'
import type { ExchangeAuditRecord } from '../audit/record.js'
import type { AuditStore } from '../audit/store.js'
import { subjectsOf } from '../audit/subjects.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Exchange } from './exchange.js'

/** Builds the audit record of a finished (or failed) call. Holds no parameter values: only their keyed digest. */
export function auditRecordOf(
  exchange: Exchange,
  status: number,
  finishedAt: number,
  digest: KeyedDigest,
): ExchangeAuditRecord {
  const { principal, purpose, resource, grant, error, receipt, replay } = exchange
  const released = error === undefined && grant !== undefined && exchange.action === 'read'
  const written = error === undefined && receipt !== undefined && exchange.params !== undefined
  return {
    id: exchange.auditId,
    time: new Date(exchange.startedAt).toISOString(),
    kind: 'exchange',
    requestId: exchange.requestId,
    requester: {
      dept: principal?.dept,
      sub: principal?.sub,
      clientId: principal?.clientId,
      tokenId: principal?.tokenId,
    },
    matter: purpose?.matter,
    case: purpose?.caseId,
    resource: exchange.resourceId || undefined,
    provider: resource?.provider,
    action: exchange.action,
    decision: grant === undefined ? 'deny' : 'allow',
    reason: error?.code ?? 'ok',
    status,
    approvalRef: grant?.grant.approval?.ref,
    fields: released ? grant.fields : written ? Object.keys(exchange.params ?? {}) : [],
    masked: released ? grant.masked : [],
    recordCount: released ? (exchange.released?.length ?? 0) : written ? 1 : 0,
    upstreamMs: exchange.upstreamMs,
    totalMs: finishedAt - exchange.startedAt,
    paramsDigest: exchange.params === undefined ? undefined : digest(exchange.params),
    idempotencyKeyDigest: exchange.idempotencyKey === undefined ? undefined : digest(exchange.idempotencyKey),
    replayOf: replay?.auditId,
    upstreamCode: exchange.upstreamCode,
    catalogVersion: exchange.snapshot.catalog.version,
    traceId: exchange.traceId,
    subjects:
      grant === undefined
        ? undefined
        : subjectsOf(
            digest,
            grant.subjectParams,
            exchange.params,
            grant.subjectFields,
            released ? exchange.records : undefined,
          ),
  }
}

/** Fail closed: if the record cannot be made durable, the call answers 503 and nothing is served. */
export async function writeAudit(store: AuditStore, record: ExchangeAuditRecord): Promise<void> {
  try {
    await store.append(record)
  } catch (err) {
    throw new GatewayError('audit-unavailable', {
      detail: 'the call could not be audited, so nothing was served',
      internal: err instanceof Error ? err.message : 'audit append failed',
      cause: err,
    })
  }
}
