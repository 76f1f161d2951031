import { createHash } from 'node:crypto'
import { Agent, type Dispatcher } from 'undici'
import type { Connector, ConnectorLogger } from '../../connectors/kit/types.js'
import type { Clock } from '../../kernel/clock.js'
import { canonicalJson } from '../audit/canonical-json.js'
import { createUpstreamGuard, type UpstreamGuard } from '../resilience/upstream-guard.js'
import type { ConnectorInstance, HttpPoolSettings } from './types.js'

/**
 * A live connector instance — the Connector, its undici pool and its UpstreamGuard — shared by every catalog
 * snapshot whose configuration for it is unchanged, so that a reload keeps open breakers open and pooled
 * connections connected. Each snapshot holding it counts one reference; the last release disposes it, which is
 * after the calls on the last snapshot using it have ended (the holder disposes a snapshot only then).
 */
export interface LiveConnector {
  readonly id: string
  /** Structural fingerprint of what the instance was built from (see connectorFingerprint). */
  readonly fingerprint: string
  /** The connector type it was created by (a fingerprint compares configurations of one definition). */
  readonly definition: ConnectorInstance['definition']
  readonly connector: Connector
  readonly guard: UpstreamGuard
  /** Snapshots holding it. */
  readonly references: number
  readonly disposed: boolean
  /** Takes one more reference; false once disposed (it cannot be revived). */
  retain(): boolean
  /** Gives one reference back; the last one disposes the instance (the promise settles when it is closed). */
  release(): Promise<void>
}

export interface LiveConnectorDeps {
  readonly log: ConnectorLogger & { child(bindings: Record<string, unknown>): ConnectorLogger }
  readonly clock: Clock
}

let uncomparable = 0

/**
 * SHA-256 of the canonical JSON (RFC 8785) of type, options (after ${VAR} interpolation), HTTP pool and resilience
 * settings: equal fingerprints mean an instance can be kept across a reload. Hashed so that the interpolated
 * secrets in the options are never held or shown in clear by what compares them. Options that are not plain
 * JSON get a fingerprint of their own, which makes the instance always rebuilt (never kept by mistake).
 */
export function connectorFingerprint(instance: ConnectorInstance): string {
  let text: string
  try {
    text = canonicalJson({
      type: instance.type,
      options: instance.options,
      http: instance.http,
      resilience: instance.resilience,
    })
  } catch {
    text = `unique:${instance.id}:${++uncomparable}`
  }
  return createHash('sha256').update(text).digest('hex')
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

/** Builds a connector instance holding no reference yet (the snapshot that uses it retains it). */
export function createLiveConnector(instance: ConnectorInstance, deps: LiveConnectorDeps): LiveConnector {
  const guard = createUpstreamGuard(instance.id, instance.resilience, deps.clock)
  const dispatcher = createDispatcher(instance.http)
  let connector: Connector
  try {
    connector = instance.definition.create(instance.options as never, {
      dispatcher,
      log: deps.log.child({ connector: instance.id }),
      clock: deps.clock,
    })
  } catch (err) {
    guard.dispose()
    void dispatcher.close()
    throw err
  }
  let references = 0
  let closing: Promise<void> | undefined
  return {
    id: instance.id,
    fingerprint: connectorFingerprint(instance),
    definition: instance.definition,
    connector,
    guard,
    get references() {
      return references
    },
    get disposed() {
      return closing !== undefined
    },
    retain() {
      if (closing) return false
      references++
      return true
    },
    release() {
      if (closing) return closing
      references = Math.max(0, references - 1)
      if (references > 0) return Promise.resolve()
      closing = (async () => {
        guard.dispose()
        // Closing is best effort: a connector that fails to close must not keep the pool open.
        await connector
          .dispose()
          .catch(() => deps.log.warn({ connector: instance.id }, 'connector did not close cleanly'))
        await dispatcher.close().catch(() => {})
      })()
      return closing
    },
  }
}

/**
 * The live instance for `instance` in a new snapshot: the previous snapshot's one when its definition and
 * fingerprint are unchanged (and it is still alive), else a new one. The result is retained for the caller.
 */
export function liveConnectorFor(
  instance: ConnectorInstance,
  previous: LiveConnector | undefined,
  deps: LiveConnectorDeps,
): LiveConnector {
  if (
    previous &&
    previous.definition === instance.definition &&
    previous.fingerprint === connectorFingerprint(instance) &&
    previous.retain()
  ) {
    return previous
  }
  const created = createLiveConnector(instance, deps)
  created.retain()
  return created
}

/** Which instances a new snapshot kept from the previous one, rebuilt, added, and which it no longer has. */
export interface InstanceChanges {
  readonly kept: readonly string[]
  readonly rebuilt: readonly string[]
  readonly added: readonly string[]
  readonly removed: readonly string[]
}

export function instanceChanges(
  previous: ReadonlyMap<string, LiveConnector>,
  next: ReadonlyMap<string, LiveConnector>,
): InstanceChanges {
  const kept: string[] = []
  const rebuilt: string[] = []
  const added: string[] = []
  for (const [id, live] of next) {
    const before = previous.get(id)
    if (!before) added.push(id)
    else if (before === live) kept.push(id)
    else rebuilt.push(id)
  }
  const removed = [...previous.keys()].filter((id) => !next.has(id))
  return { kept, rebuilt, added, removed }
}
