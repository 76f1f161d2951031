import type { Connector, ConnectorLogger } from '../../connectors/kit/types.js'
import type { Clock } from '../../kernel/clock.js'
import { subjectFieldsOf } from '../audit/subjects.js'
import { type EvidencePlan, evidencePlansOf } from '../evidence/plan.js'
import { compileProjector, type Projector, releasedFields } from '../projection/project.js'
import { compileReleaseRenderer, type ReleaseRenderer } from '../projection/render.js'
import { createQuotaEnforcer, type QuotaEnforcer } from '../quota/quotas.js'
import { memoryQuotaStore, type QuotaStore } from '../quota/store.js'
import type { UpstreamGuard } from '../resilience/upstream-guard.js'
import { mergeGrants, type SkippedGrant } from '../sharing/live-grants.js'
import type { LiveGrant } from '../sharing/model.js'
import type { ObjectionBoard } from '../sharing/objections-board.js'
import { type LiveConnector, liveConnectorFor } from './connector-instances.js'
import type { Catalog, Grant, ReadBinding, Resource, WriteBinding } from './types.js'

/** A grant with what the per-request path needs already built. */
export interface CompiledGrant<B extends ReadBinding | WriteBinding = ReadBinding | WriteBinding> {
  readonly grant: Grant
  /** The resource's binding for the grant's action (the loader admits only grants whose action is bound). */
  readonly binding: B
  readonly project: Projector
  /** Writes a read's answer from the projector's output (projection/render.ts). */
  readonly render: ReleaseRenderer
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  /** Parameters (read) or body fields (write) that identify a data subject (USCC, resident id …). */
  readonly subjectParams: readonly string[]
  /**
   * Record fields that identify a data subject (USCC, resident id …), released or not: a call is indexed by every
   * subject whose record it fetched, so a search by someone's ID number finds the calls that released only their
   * masked name and phone. Only keyed digests are stored, never the identifiers.
   */
  readonly subjectFields: readonly string[]
}

/**
 * Everything a call needs from one catalog version: the catalog itself, compiled grants and live connectors.
 * A call takes the current snapshot when it starts and keeps it to the end, so a reload never changes the rules
 * under a call in flight. Grants and quotas are the snapshot's own; connector instances are shared with the
 * previous snapshot when their configuration did not change (see connector-instances.ts).
 */
export interface CatalogSnapshot {
  /** The file's catalog with the live grants merged into `grants` and their quotas into `quotas` (what calls see). */
  readonly catalog: Catalog
  /** The catalog as loaded from the file: what a grant change recompiles from. */
  readonly fileCatalog: Catalog
  /** The live grants (sharing applications' approvals) this snapshot was built with, skipped ones included. */
  readonly liveGrants: readonly LiveGrant[]
  /** Live grants the catalog could not carry (see mergeGrants); the builder logged a warning for each. */
  readonly skippedGrants: readonly SkippedGrant[]
  /** Compiled grants by action, keyed by grantKey: a read grant always carries a read binding, a write one a write. */
  readonly grants: CompiledGrants
  readonly connectors: ReadonlyMap<string, Connector>
  /** Per connector instance: concurrency limit, circuit breaker, retry policy. */
  readonly guards: ReadonlyMap<string, UpstreamGuard>
  /** The live instances behind `connectors` and `guards`, each holding a reference for this snapshot. */
  readonly instances: ReadonlyMap<string, LiveConnector>
  /** The catalog's quotas with their limiters. */
  readonly quotas: QuotaEnforcer
  /** 一件事 evidence bundles by matter code (gateway/evidence/plan.ts), compiled once per file catalog. */
  readonly evidence: ReadonlyMap<string, EvidencePlan>
  /** Open data objections, to mark answers with (gateway-wide and live, like the quota store; sharing/objections-*). */
  readonly objections?: ObjectionBoard
  /** Gives this snapshot's references back: instances no other snapshot holds are closed. */
  dispose(): Promise<void>
}

export interface CompiledGrants {
  readonly read: ReadonlyMap<string, CompiledGrant<ReadBinding>>
  readonly write: ReadonlyMap<string, CompiledGrant<WriteBinding>>
}

export interface SnapshotDeps {
  readonly log: ConnectorLogger & { child(bindings: Record<string, unknown>): ConnectorLogger }
  readonly clock: Clock
  /** Where quota counters live (gateway-wide, outlives snapshots); default: this process's memory. */
  readonly quotaStore?: QuotaStore
  /** The open objections' board; default: the previous snapshot's (a catalog reload keeps it). */
  readonly objections?: ObjectionBoard
}

/**
 * Builds the snapshot for the file's `catalog` and the `live` grants (sharing applications' approvals, merged in by
 * mergeGrants). With `previous` (the snapshot being replaced), connector instances whose configuration is unchanged
 * are taken over from it with their state: breaker, bulkhead, pooled connections; and when it was built from the
 * same file catalog, its compiled catalog grants are reused (a grant change recompiles only the live grants).
 *
 * This runs on every grant change and every reload, never per call. Measured: 1,000 live grants (each releasing
 * every field of the demo's construction permits, with a quota) build in about 15 ms warm, 45 ms cold.
 */
export function buildSnapshot(
  fileCatalog: Catalog,
  deps: SnapshotDeps,
  previous?: CatalogSnapshot,
  live: readonly LiveGrant[] = [],
): CatalogSnapshot {
  const { catalog, skipped } = mergeGrants(fileCatalog, live)
  for (const { grant, reason } of skipped) {
    deps.log.warn(
      { grantId: grant.id, matter: grant.matter, resource: grant.resource },
      `live grant skipped: ${reason}`,
    )
  }
  const reusable = previous?.fileCatalog === fileCatalog ? previous.grants : undefined
  const grants = {
    read: new Map<string, CompiledGrant<ReadBinding>>(),
    write: new Map<string, CompiledGrant<WriteBinding>>(),
  }
  for (const [key, grant] of catalog.grants) {
    const compiled = reusable?.[grant.action].get(key)
    if (compiled?.grant === grant) {
      if (grant.action === 'read') grants.read.set(key, compiled as CompiledGrant<ReadBinding>)
      else grants.write.set(key, compiled as CompiledGrant<WriteBinding>)
      continue
    }
    const resource = catalog.resources.get(grant.resource)
    if (!resource) throw new Error(`grant names unknown resource ${grant.resource}`)
    const unbound = () => new Error(`grant ${key} is for ${grant.action}, which resource ${resource.id} does not bind`)
    if (grant.action === 'read') {
      if (!resource.read) throw unbound()
      grants.read.set(key, compileGrant(resource, grant, resource.read))
    } else {
      if (!resource.write) throw unbound()
      grants.write.set(key, compileGrant(resource, grant, resource.write))
    }
  }
  const quotas = createQuotaEnforcer(catalog.quotas, deps.quotaStore ?? memoryQuotaStore())
  const evidence = evidencePlansOf(fileCatalog)
  // Connector instances last: once they are retained, nothing below may throw.
  const instances = new Map<string, LiveConnector>()
  try {
    for (const [id, instance] of catalog.connectors) {
      instances.set(id, liveConnectorFor(instance, previous?.instances.get(id), deps))
    }
  } catch (err) {
    // A connector that cannot be created fails the whole snapshot: give back what it took.
    for (const live of instances.values()) void live.release()
    throw err
  }
  const connectors = new Map<string, Connector>()
  const guards = new Map<string, UpstreamGuard>()
  for (const [id, live] of instances) {
    connectors.set(id, live.connector)
    guards.set(id, live.guard)
  }
  let disposed: Promise<void> | undefined
  const objections = deps.objections ?? previous?.objections
  return {
    ...(objections === undefined ? {} : { objections }),
    catalog,
    fileCatalog,
    liveGrants: live,
    skippedGrants: skipped,
    grants,
    connectors,
    guards,
    instances,
    quotas,
    evidence,
    dispose() {
      disposed ??= Promise.allSettled([...instances.values()].map((live) => live.release())).then(() => {})
      return disposed
    },
  }
}

/** Projector, released and masked fields, subject fields: built once per catalog version, never per call. */
function compileGrant<B extends ReadBinding | WriteBinding>(
  resource: Resource,
  grant: Grant,
  binding: B,
): CompiledGrant<B> {
  const released = releasedFields(resource, grant)
  return Object.freeze({
    grant,
    binding,
    project: compileProjector(resource, grant),
    render: compileReleaseRenderer(resource, released),
    ...released,
    subjectParams: subjectFieldsOf(binding.request.schema),
    subjectFields: grant.action === 'read' ? subjectFieldsOf(resource.read?.response.schema) : [],
  })
}
