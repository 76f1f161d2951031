// Over 400 lines: the composition root, every dependency built once in order and closed in reverse, in one place.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import type { ConnectorDefinition } from '../connectors/kit/types.js'
import { connectorDefinitions } from '../connectors/registry.js'
import type { Clock } from '../kernel/clock.js'
import { createApp, createMetricsApp } from './app.js'
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
import { type ReloadContext, type ReloadResult, reloadCatalog, reloadHistoryOf } from './catalog/reload.js'
import { buildSnapshot } from './catalog/snapshot.js'
import { type CatalogIssue, formatIssue } from './catalog/types.js'
import type { Config } from './config/settings.js'
import { examplesByResource, type ResourceExample } from './examples.js'
import type { GatewayDeps, Lifecycle } from './gateway-deps.js'
import { createHealthMonitor } from './health/connector-health.js'
import { openStateIdempotencyStore } from './idempotency/state-store.js'
import { openQuotaStore } from './quota/store.js'
import { openSharingStore } from './sharing/kysely-store.js'
import { type RunningSharing, startSharing } from './sharing/start.js'
import { openStateStore } from './state/open.js'
import { acquireAuditWriterLock } from './storage/writer-lock.js'
import { type RunningSubscriptions, startConfiguredSubscriptions } from './subscriptions/wiring.js'
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
  /**
   * Sample parameters per resource that return data (the demo's simulators know theirs): shown in the OpenAPI
   * document, /docs and the demo banner. `serve` has none: a production gateway never loads a simulator.
   */
  readonly examples?: readonly ResourceExample[]
}

export interface RunningGateway {
  readonly url: string
  readonly port: number
  /** The metrics listener (QIAO_METRICS_PORT), if configured: `<url>/metrics`. */
  readonly metricsUrl: string | undefined
  readonly app: Hono
  readonly deps: GatewayDeps
  /** Reloads catalog.yaml (SIGHUP); an invalid file is rejected and the running catalog keeps serving. */
  reload(actor?: string): Promise<ReloadResult>
  /**
   * Stops: first a pre-stop window of `prestopMs` while still listening (/readyz 503 `draining`, new exchange calls
   * 503 `gateway-draining`); then the listener closes and in-flight calls get up to `drainMs`; then the audit log
   * is sealed. Both default to 0; a drain (`drainMs` given, as on SIGTERM) defaults `prestopMs` to
   * QIAO_DRAIN_PRESTOP.
   */
  close(options?: CloseOptions): Promise<void>
}

export interface CloseOptions {
  readonly drainMs?: number
  readonly prestopMs?: number
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
 * Starts the gateway as the only writer of its file audit log: the log's writer lock is taken before anything else
 * and released after the log is sealed on close, or at once if start fails. (The PostgreSQL audit backend holds an
 * advisory lock per log instead.) Refuses to start, with WriterLockHeldError, while another process holds it.
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const log = options.logger ?? createLogger(options.config.logLevel)
  if (options.config.auditUrl !== undefined) return startComposed({ ...options, logger: log })
  const lock = await acquireAuditWriterLock(options.config, log)
  const releaseLock = () =>
    lock.release().catch((err: Error) => log.warn({ err: err.message }, 'audit writer lock not released'))
  let gateway: RunningGateway
  try {
    gateway = await startComposed({ ...options, logger: log })
  } catch (err) {
    await releaseLock()
    throw err
  }
  // The port is known only now; a newcomer's refusal names it. Not awaited: serving does not wait for an fsync.
  const recorded = lock
    .update({ port: gateway.port, url: gateway.url })
    .catch((err: Error) => log.warn({ err: err.message }, 'audit writer lock: URL not recorded'))
  const closeComposed = gateway.close
  let closing: Promise<void> | undefined
  return Object.assign(gateway, {
    close(closeOptions?: CloseOptions) {
      closing ??= closeComposed(closeOptions).finally(() => recorded.then(releaseLock))
      return closing
    },
  })
}

/**
 * Composition root: checks the catalog, builds every dependency once, and listens. Refuses to start on an
 * invalid catalog (every problem reported) or an unreadable key set.
 */
async function startComposed(options: StartGatewayOptions): Promise<RunningGateway> {
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
  } else if (hmacSecret !== undefined) {
    keys = createKeyResolver({ kind: 'local', jwks: { keys: [] } }, hmacSecret)
  } else if (!config.demoMode) {
    // Fail closed: without an issuer's keys nothing could be verified, and a dev key would let anyone mint tokens.
    throw new Error('no token key source: set QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE')
  } else {
    devKey = await loadOrCreateDevKey(config.dataDir)
    keys = createKeyResolver({ kind: 'local', jwks: devKey.publicJwks })
    log.warn(
      { dataDir: config.dataDir, issuer: config.issuer },
      'DEMO MODE (qiao demo, no QIAO_JWKS_URL or QIAO_JWKS_FILE set): accepting tokens signed by the dev key in the data directory. Never run like this in production.',
    )
  }
  const verifier = createTokenVerifier({
    keys,
    issuer: config.issuer as string,
    audience: config.audience,
    algorithms: config.jwtAlgorithms,
    clockToleranceMs: config.clockToleranceMs,
    cacheMax: config.tokenCacheMax,
    cacheTtlMs: config.tokenCacheTtlMs,
    maxLifetimeMs: config.tokenMaxLifetimeMs,
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
  // What instances share (QIAO_STATE_URL, else <data dir>/state.sqlite); its schema is migrated here.
  const state = await openStateStore({ url: config.stateUrl, dataDir: config.dataDir })
  log.info({ backend: state.dialect, migrated: state.applied }, 'state store open')
  const idempotency = await openStateIdempotencyStore({
    state,
    instanceId: config.auditLogId,
    ttlMs: config.idempotencyTtlMs,
    maxAnswerBytes: config.idempotencyMaxAnswer,
    now: clock.now,
    onPurgeError: (err) => log.warn({ err: (err as Error).message }, 'idempotency purge failed'),
  })
  const digest = createKeyedDigest(await loadOrCreateAuditKey(config.auditKeyFile))
  const quotaStore = await openQuotaStore({ redisUrl: config.quotaRedisUrl, keyPrefix: config.quotaKeyPrefix, log })
  // Live grants go into the first snapshot, every later change (any instance) into a new one; calls never read the store.
  const sharingStore = openSharingStore(state)
  const snapshotDeps = { log, clock, quotaStore }
  const holder = new SnapshotHolder(
    buildSnapshot(loaded.catalog, snapshotDeps, undefined, await sharingStore.liveGrants()),
  )
  const snapshot = () => holder.get()

  // Set once the sharing workflow is composed (after the metrics, which read it lazily).
  let sharingParts: RunningSharing | undefined
  let subscriptionParts: RunningSubscriptions | undefined // after the sharing workflow, whose grant sync tells them
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
    auditLog: audit,
    auditFreeBytes: () => audit.freeBytes(),
    tokenCache: () => verifier.stats,
    quotaFallbacks: () => quotaStore.stats.fallbacks,
    liveGrants: () => ({ compiled: snapshot().liveGrants.length, syncFailures: sharingParts?.syncFailures() ?? 0 }),
    subscriptions: async () => subscriptionParts?.overview(),
    connectorUp: () =>
      [...snapshot().connectors.keys()].map((connector) => ({
        connector,
        up: health.status(connector).status === 'up' ? 1 : 0,
      })),
  })

  sharingParts = await startSharing({
    config,
    store: sharingStore,
    state,
    holder,
    snapshotDeps,
    audit,
    digest,
    clock,
    log,
    metrics: metrics.sharing,
    onGrantsSynced: () => void subscriptionParts?.onSnapshot(),
  })
  const sharing = sharingParts.workflow
  const subscriptions = await startConfiguredSubscriptions({
    config,
    state,
    snapshot,
    audit,
    digest,
    clock,
    log,
    observer: metrics.subscriptions,
  })
  subscriptionParts = subscriptions

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
    startedAt: clock.now(),
    reloads: () => reloadHistoryOf(holder),
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
    state,
    idempotency,
    sharing,
    objections: sharingParts.objections,
    subscriptions: subscriptions.service,
    subscriptionsOverview: () => subscriptions.overview(),
    health,
    metrics,
    snapshot,
    acquireSnapshot: () => holder.acquire(),
    releaseSnapshot: (s) => holder.release(s),
    lifecycle,
    devKey,
    examples: examplesByResource(options.examples ?? []),
  }
  const app = createApp(deps)
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host }) as Server
  await listen(server, config.port, config.host)
  const port = (server.address() as AddressInfo).port
  const url = httpUrl(config.host, port)
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await listenForMetrics(config, metrics).catch((err: unknown) => {
          server.close()
          throw err
        })
  const metricsUrl =
    metricsServer === undefined ? undefined : httpUrl(config.metricsHost, (metricsServer.address() as AddressInfo).port)
  log.info(
    {
      url,
      metricsUrl,
      catalog: loaded.catalog.version,
      resources: loaded.catalog.resources.size,
      demo: config.demoMode,
    },
    'qiao listening',
  )

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    metricsUrl,
    app,
    deps,
    reload: (actor = 'system') => lifecycle.reload(actor),
    close(options: CloseOptions = {}) {
      closing ??= (async () => {
        // Say so first (readyz 503, new calls 503) while still listening, so load balancers see a clean 503 and
        // stop sending; then stop taking connections, let the calls in flight finish, and close what is left.
        draining = true
        const prestopMs = options.prestopMs ?? (options.drainMs === undefined ? 0 : config.drainPrestopMs)
        if (prestopMs > 0) {
          log.info({ prestopMs, inFlight }, 'draining: readyz answers 503 before the listener closes')
          await new Promise((r) => setTimeout(r, prestopMs))
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        const until = Date.now() + (options.drainMs ?? 0)
        while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
        if (inFlight > 0) log.warn({ inFlight }, 'drain time over: closing connections with calls in flight')
        server.closeAllConnections()
        await closed
        if (metricsServer !== undefined) {
          const metricsClosed = new Promise<void>((resolve) => metricsServer.close(() => resolve()))
          metricsServer.closeAllConnections()
          await metricsClosed
        }
        health.stop()
        clearInterval(retention)
        await subscriptions.close() // first: its pollers read snapshots and write to the store and the audit log
        await sharingParts.close()
        await holder.disposeAll()
        await quotaStore.close()
        await idempotency.close()
        await state.close()
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

function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The metrics listener: its own address (loopback by default), so the public port never serves /metrics. */
async function listenForMetrics(config: Config, metrics: ReturnType<typeof createMetrics>): Promise<Server> {
  const app = createMetricsApp(metrics)
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.metricsHost }) as Server
  await listen(server, config.metricsPort as number, config.metricsHost)
  return server
}

/** Resolves once listening; rejects with the listen error (EADDRINUSE …) instead of emitting it. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
