import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import type { Clock, ConnectorDefinition } from '../connectors/kit/types.js'
import { connectorDefinitions } from '../connectors/registry.js'
import { createApp } from './app.js'
import { adminRecord } from './audit/admin.js'
import type { AuditBackend } from './audit/backend.js'
import { createKeyedDigest, loadOrCreateAuditKey } from './audit/digest.js'
import { openConfiguredAuditLog } from './audit/open.js'
import { startRetention } from './audit/retention.js'
import { type DevKey, loadOrCreateDevKey } from './auth/dev-keys.js'
import { createKeyResolver, readHmacSecret, readJwksFile } from './auth/keys.js'
import { createTokenVerifier } from './auth/verify-token.js'
import { SnapshotHolder } from './catalog/holder.js'
import { loadCatalog } from './catalog/load.js'
import { type ReloadContext, type ReloadResult, reloadCatalog } from './catalog/reload.js'
import { buildSnapshot } from './catalog/snapshot.js'
import { type CatalogIssue, formatIssue } from './catalog/types.js'
import type { Config } from './config/settings.js'
import type { GatewayDeps, Lifecycle } from './gateway-deps.js'
import { createHealthMonitor } from './health/connector-health.js'
import { openFileIdempotencyStore } from './idempotency/file-store.js'
import { openQuotaStore } from './quota/store.js'
import { createLogger, type Logger } from './telemetry/logger.js'
import { createMetrics } from './telemetry/metrics.js'

export interface StartGatewayOptions {
  readonly config: Config
  /** Defaults to the wall clock; tests freeze it. */
  readonly clock?: Clock
  readonly logger?: Logger
  readonly definitions?: ReadonlyMap<string, ConnectorDefinition<never>>
  /** Storage under the audit log instead of the configured one (tests instrument it). */
  readonly auditBackend?: AuditBackend
  /** Values for ${NAME} in catalog connector options; defaults to process.env. */
  readonly vars?: Readonly<Record<string, string | undefined>>
}

export interface RunningGateway {
  readonly url: string
  readonly port: number
  readonly app: Hono
  readonly deps: GatewayDeps
  /** Reloads catalog.yaml (SIGHUP); an invalid file is rejected and the running catalog keeps serving. */
  reload(actor?: string): Promise<ReloadResult>
  /** Stops: draining in-flight calls up to `drainMs` (default 0), then sealing the audit log. */
  close(options?: { drainMs?: number }): Promise<void>
}

export class CatalogInvalidError extends Error {
  readonly issues: readonly CatalogIssue[]
  constructor(issues: readonly CatalogIssue[]) {
    super(`catalog invalid: ${issues.length} problem(s)\n${issues.map(formatIssue).join('\n')}`)
    this.name = 'CatalogInvalidError'
    this.issues = issues
  }
}

const wallClock: Clock = { now: () => Date.now() }

/**
 * Composition root: checks the catalog, builds every dependency once, and listens. Refuses to start on an
 * invalid catalog (every problem reported) or an unreadable key set.
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options
  const clock = options.clock ?? wallClock
  const log = options.logger ?? createLogger(config.logLevel)

  const loaded = await loadCatalog(config.catalog, {
    definitions: options.definitions ?? connectorDefinitions,
    vars: options.vars ?? process.env,
  })
  if (!loaded.ok) throw new CatalogInvalidError(loaded.issues)
  for (const warning of loaded.warnings) log.warn({ catalog: formatIssue(warning) }, 'catalog warning')

  let devKey: DevKey | undefined
  let keys: ReturnType<typeof createKeyResolver>
  const hmacSecret = config.jwtHmacSecretFile ? await readHmacSecret(config.jwtHmacSecretFile) : undefined
  if (config.jwksUrl) {
    keys = createKeyResolver(
      { kind: 'remote', url: config.jwksUrl, cooldownMs: config.jwksCooldownMs, maxAgeMs: config.jwksMaxAgeMs },
      hmacSecret,
    )
  } else if (config.jwksFile) {
    keys = createKeyResolver({ kind: 'local', jwks: await readJwksFile(config.jwksFile) }, hmacSecret)
  } else {
    devKey = await loadOrCreateDevKey(config.dataDir)
    keys = createKeyResolver({ kind: 'local', jwks: devKey.publicJwks })
    log.warn(
      { dataDir: config.dataDir, issuer: config.issuer },
      'DEMO MODE: no QIAO_JWKS_URL or QIAO_JWKS_FILE set; accepting tokens signed by the dev key in the data directory. Never run like this in production.',
    )
  }
  const verifier = createTokenVerifier({
    keys,
    issuer: config.issuer as string,
    audience: config.audience,
    algorithms: config.jwtAlgorithms,
    clockToleranceMs: config.clockToleranceMs,
    cacheMax: config.tokenCacheMax,
    clock,
  })

  const audit = await openConfiguredAuditLog(config, clock, log, options.auditBackend)
  for (const repair of audit.repairs) {
    await audit.append(adminRecord('audit.torn-tail-repaired', clock.now(), { logId: audit.logId, report: repair }))
  }
  await audit.append(
    adminRecord('gateway.start', clock.now(), {
      logId: audit.logId,
      demoMode: config.demoMode,
      issuer: config.issuer ?? null,
    }),
  )
  await audit.append(
    adminRecord('catalog.load', clock.now(), {
      file: config.catalog,
      version: loaded.catalog.version,
      digest: loaded.catalog.digest,
      resources: loaded.catalog.resources.size,
      grants: loaded.catalog.grants.size,
    }),
  )
  const retention = startRetention(audit, config, clock, log)
  const idempotency = await openFileIdempotencyStore({
    dir: config.dataDir,
    ttlMs: config.idempotencyTtlMs,
    now: clock.now,
  })
  const digest = createKeyedDigest(await loadOrCreateAuditKey(config.auditKeyFile))
  const quotaStore = await openQuotaStore({ redisUrl: config.quotaRedisUrl, keyPrefix: config.quotaKeyPrefix, log })
  const holder = new SnapshotHolder(buildSnapshot(loaded.catalog, { log, clock, quotaStore }))
  const snapshot = () => holder.get()

  const health = createHealthMonitor({ snapshot, log, clock, intervalMs: config.healthInterval })
  await health.check()

  const metrics = createMetrics({
    circuits: () =>
      [...snapshot().guards].map(([connector, guard]) => ({
        connector,
        state: guard.state === 'closed' ? 0 : guard.state === 'half-open' ? 1 : 2,
        inFlight: guard.inFlight,
      })),
    audit: () => audit.stats,
    tokenCache: () => verifier.stats,
    quotaFallbacks: () => quotaStore.stats.fallbacks,
    connectorUp: () =>
      [...snapshot().connectors.keys()].map((connector) => ({
        connector,
        up: health.status(connector).status === 'up' ? 1 : 0,
      })),
  })

  let draining = false
  let inFlight = 0
  const reloadContext: ReloadContext = {
    file: config.catalog,
    definitions: options.definitions ?? connectorDefinitions,
    vars: options.vars ?? process.env,
    holder,
    audit,
    health,
    log,
    clock,
    quotaStore,
  }
  // Reloads one at a time: a second request waits for the first.
  let reloading: Promise<unknown> = Promise.resolve()
  const lifecycle: Lifecycle = {
    draining: () => draining,
    inFlight: () => inFlight,
    track() {
      inFlight++
      let done = false
      return () => {
        if (!done) inFlight--
        done = true
      }
    },
    reload(actor, requestId) {
      const run = reloading.then(() => reloadCatalog(reloadContext, actor, requestId))
      reloading = run.catch(() => {})
      return run
    },
  }

  const deps: GatewayDeps = {
    config,
    clock,
    log,
    verifier,
    audit,
    digest,
    idempotency,
    health,
    metrics,
    snapshot,
    acquireSnapshot: () => holder.acquire(),
    releaseSnapshot: (s) => holder.release(s),
    lifecycle,
    devKey,
  }
  const app = createApp(deps)
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host }) as Server
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const url = `http://${host}:${port}`
  log.info(
    { url, catalog: loaded.catalog.version, resources: loaded.catalog.resources.size, demo: config.demoMode },
    'qiao listening',
  )

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    app,
    deps,
    reload: (actor = 'system') => lifecycle.reload(actor),
    close(options: { drainMs?: number } = {}) {
      closing ??= (async () => {
        // Stop taking calls (readyz says so first), let the ones in flight finish, then close what is left.
        draining = true
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        const until = Date.now() + (options.drainMs ?? 0)
        while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
        if (inFlight > 0) log.warn({ inFlight }, 'drain time over: closing connections with calls in flight')
        server.closeAllConnections()
        await closed
        health.stop()
        clearInterval(retention)
        await holder.disposeAll()
        await quotaStore.close()
        await idempotency.close()
        await audit
          .append(adminRecord('gateway.stop', clock.now(), { logId: audit.logId }))
          .catch((err: Error) => log.error({ err: err.message }, 'gateway.stop not audited'))
        // A clean stop seals the open segment: every record is then covered by a signed checkpoint.
        await audit.seal()
      })()
      return closing
    },
  }
}
