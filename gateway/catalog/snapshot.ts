import { Agent, type Dispatcher } from 'undici'
import type { Clock, Connector, ConnectorLogger } from '../../connectors/kit/types.js'
import { subjectFieldsOf } from '../audit/subjects.js'
import { compileProjector, type Projector, releasedFields } from '../projection/project.js'
import { createQuotaEnforcer, type QuotaEnforcer } from '../quota/quotas.js'
import { memoryQuotaStore, type QuotaStore } from '../quota/store.js'
import { createUpstreamGuard, type UpstreamGuard } from '../resilience/upstream-guard.js'
import type { Catalog, Grant, HttpPoolSettings } from './types.js'

/** A grant with what the per-request path needs already built. */
export interface CompiledGrant {
  readonly grant: Grant
  readonly project: Projector
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  /** Parameters (read) or body fields (write) that identify a data subject (USCC, resident id …). */
  readonly subjectParams: readonly string[]
  /** Released record fields that identify a data subject. */
  readonly subjectFields: readonly string[]
}

/**
 * Everything a call needs from one catalog version: the catalog itself, compiled grants and live connectors.
 * A call takes the current snapshot when it starts and keeps it to the end, so a reload never changes the rules
 * under a call in flight.
 */
export interface CatalogSnapshot {
  readonly catalog: Catalog
  readonly grants: ReadonlyMap<string, CompiledGrant>
  readonly connectors: ReadonlyMap<string, Connector>
  /** Per connector instance: concurrency limit, circuit breaker, retry policy. */
  readonly guards: ReadonlyMap<string, UpstreamGuard>
  /** The catalog's quotas with their limiters. */
  readonly quotas: QuotaEnforcer
  dispose(): Promise<void>
}

export interface SnapshotDeps {
  readonly log: ConnectorLogger & { child(bindings: Record<string, unknown>): ConnectorLogger }
  readonly clock: Clock
  /** Where quota counters live (gateway-wide, outlives snapshots); default: this process's memory. */
  readonly quotaStore?: QuotaStore
}

/** Pool limits and transport timeouts per connector instance; the per-call deadline comes on top of these. */
function createDispatcher(http: HttpPoolSettings): Dispatcher {
  return new Agent({
    connections: http.connections,
    connect: { timeout: http.connectTimeoutMs },
    headersTimeout: http.headersTimeoutMs,
    bodyTimeout: http.bodyTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
  })
}

export function buildSnapshot(catalog: Catalog, deps: SnapshotDeps): CatalogSnapshot {
  const grants = new Map<string, CompiledGrant>()
  for (const [key, grant] of catalog.grants) {
    const resource = catalog.resources.get(grant.resource)
    if (!resource) throw new Error(`grant names unknown resource ${grant.resource}`)
    const released = releasedFields(resource, grant)
    const requestSchema = grant.action === 'read' ? resource.read?.request.schema : resource.write?.request.schema
    const recordSubjects = new Set(subjectFieldsOf(resource.read?.response.schema))
    grants.set(
      key,
      Object.freeze({
        grant,
        project: compileProjector(resource, grant),
        ...released,
        subjectParams: subjectFieldsOf(requestSchema),
        subjectFields: grant.action === 'read' ? released.fields.filter((f) => recordSubjects.has(f)) : [],
      }),
    )
  }
  const dispatchers: Dispatcher[] = []
  const connectors = new Map<string, Connector>()
  const guards = new Map<string, UpstreamGuard>()
  for (const [id, instance] of catalog.connectors) {
    guards.set(id, createUpstreamGuard(id, instance.resilience, deps.clock))
    const dispatcher = createDispatcher(instance.http)
    dispatchers.push(dispatcher)
    connectors.set(
      id,
      instance.definition.create(instance.options as never, {
        dispatcher,
        log: deps.log.child({ connector: id }),
        clock: deps.clock,
      }),
    )
  }
  const quotas = createQuotaEnforcer(catalog.quotas, deps.quotaStore ?? memoryQuotaStore())
  let disposed: Promise<void> | undefined
  return {
    catalog,
    grants,
    connectors,
    guards,
    quotas,
    dispose() {
      disposed ??= (async () => {
        for (const guard of guards.values()) guard.dispose()
        await Promise.allSettled([...connectors.values()].map((c) => c.dispose()))
        await Promise.allSettled(dispatchers.map((d) => d.close()))
      })()
      return disposed
    },
  }
}
