import type { KeyedDigest } from '../audit/digest.js'
import type { ExchangeAuditRecord } from '../audit/record.js'
import type { AuditStore } from '../audit/store.js'
import { subjectsOf } from '../audit/subjects.js'
import { GatewayError } from '../errors/gateway-error.js'
import { requestDigestOfCall } from './65-render-release.js'
import type { Reached } from './exchange.js'

/**
 * Builds the audit record of a finished (or failed) call from whatever it reached and its problem, if any.
 * Holds no parameter values: only their keyed digest. Keys are written in canonical (code-unit) order, the order the log stores them in, so the log serialises the
 * record with one JSON.stringify instead of sorting every object.
 */
export function auditRecordOf(
  exchange: Reached,
  error: GatewayError | undefined,
  status: number,
  finishedAt: number,
  digest: KeyedDigest,
): ExchangeAuditRecord {
  const { principal, purpose, resource, grant, receipt, replay } = exchange
  const released = error === undefined && grant !== undefined && exchange.action === 'read'
  const written = error === undefined && receipt !== undefined && exchange.params !== undefined
  return {
    action: exchange.action,
    // A call refused under a grant (grant-revoked) carries its approval in the problem (30-authorize.ts).
    approvalRef: grant?.grant.approval?.ref ?? refusedUnderApproval(error),
    case: purpose?.caseId,
    catalogVersion: exchange.snapshot.catalog.version,
    decision: grant === undefined ? 'deny' : 'allow',
    fields: released ? grant.fields : written ? Object.keys(exchange.params ?? {}) : [],
    id: exchange.auditId,
    idempotencyKeyDigest: exchange.idempotencyKey === undefined ? undefined : digest(exchange.idempotencyKey),
    kind: 'exchange',
    masked: released ? grant.masked : [],
    matter: purpose?.matter,
    paramsDigest: exchange.params === undefined ? undefined : digest(exchange.params),
    provider: resource?.provider,
    reason: error?.code ?? 'ok',
    recordCount: released ? (exchange.released?.length ?? 0) : written ? 1 : 0,
    releaseDigest: released ? exchange.releaseDigest : undefined,
    replayOf: replay?.auditId,
    requestDigest: requestDigestOfCall(exchange, digest),
    requestId: exchange.requestId,
    requester: {
      clientId: principal?.clientId,
      dept: principal?.dept,
      sub: principal?.sub,
      tokenId: principal?.tokenId,
    },
    resource: exchange.resourceId || undefined,
    status,
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
    time: new Date(exchange.startedAt).toISOString(),
    totalMs: finishedAt - exchange.startedAt,
    traceId: exchange.traceId,
    upstreamCode: exchange.upstreamCode,
    upstreamMs: exchange.upstreamMs,
  }
}

function refusedUnderApproval(error: GatewayError | undefined): string | undefined {
  const ref = error?.code === 'grant-revoked' ? error.extensions?.approvalRef : undefined
  return typeof ref === 'string' ? ref : undefined
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
