// Over 400 lines: one declaration per environment variable (the README table is generated from it) is most of it.
import { availableParallelism, hostname } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { SIGNATURE_ALGORITHMS } from '../audit/signing-algorithms.js'
import { parseObjectIdentifier, parseTsaPolicy } from '../audit/tsa/policy.js'
import {
  parseAuditLogId,
  parseDuration,
  parseInteger,
  parseJwksUrl,
  parseJwtAlgorithms,
  parseList,
  parseOneOf,
  parseQuotaKeyPrefix,
  parseSize,
  parseString,
  parseUrl,
} from './parse.js'

export { JWT_ALGORITHMS, type JwtAlgorithm } from './parse.js'

/**
 * Every environment variable Qiao reads, declared once. The gateway reads them only here, at start; README's
 * configuration table is generated from this list (`npm run docs:config`) and a test keeps the two in step.
 * Each key of SETTINGS is the Config field it fills, and its parser gives that field's type (see `Config`).
 */
interface Setting<T, D extends string | undefined> {
  readonly name: string
  /** Default as written in the table; undefined = unset unless given. */
  readonly defaultValue: D
  readonly example: string
  readonly description: string
  readonly parse: (raw: string) => T
}

function setting<T, D extends string | undefined>(
  name: string,
  defaultValue: D,
  example: string,
  description: string,
  parse: (raw: string) => T,
): Setting<T, D> {
  return { name, defaultValue, example, description, parse }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const SETTINGS = {
  host: setting('QIAO_HOST', '127.0.0.1', '0.0.0.0', 'Address the gateway listens on.', parseString),
  port: setting(
    'QIAO_PORT',
    '8080',
    '8443',
    'TCP port the gateway listens on (0 picks a free one).',
    parseInteger(0, 65535),
  ),
  workers: setting(
    'QIAO_WORKERS',
    '1',
    'auto',
    '`qiao serve`: processes sharing the port (node:cluster workers under one primary; also `--workers N`); `auto` = one per core (`os.availableParallelism()`); 1 = one process, as `qiao demo` always runs. Each worker keeps its own audit log `<QIAO_AUDIT_LOG_ID>-w<n>`; they share the state store and the quota budget (Redis, else the primary’s memory), and the primary serves QIAO_METRICS_PORT for all of them. See README “Workers”.',
    parseWorkers,
  ),
  catalog: setting('QIAO_CATALOG', './catalog.yaml', '/etc/qiao/catalog.yaml', 'Catalog file.', parseString),
  dataDir: setting(
    'QIAO_DATA_DIR',
    './.qiao',
    '/var/lib/qiao',
    'Data directory: audit log, audit HMAC key, embedded state store (`state.sqlite`), dev signing key (demo mode).',
    parseString,
  ),
  issuer: setting(
    'QIAO_ISSUER',
    undefined,
    'https://idp.gov.example/realms/zwfw',
    'Required `iss` of access tokens. Required with a key source (JWKS or HMAC secret); demo mode uses `urn:qiao:demo-issuer`.',
    parseString,
  ),
  audience: setting('QIAO_AUDIENCE', 'qiao', 'urn:qiao:nanjing', 'Value that token `aud` must contain.', parseString),
  jwksUrl: setting(
    'QIAO_JWKS_URL',
    undefined,
    'https://idp.gov.example/realms/zwfw/protocol/openid-connect/certs',
    'Issuer key set (cached; an unknown `kid` triggers one refetch, rate-limited by the cooldown). `https:` only; `http:` only to a loopback address (127.0.0.0/8, ::1, localhost).',
    parseJwksUrl,
  ),
  jwksFile: setting(
    'QIAO_JWKS_FILE',
    undefined,
    '/etc/qiao/jwks.json',
    'Issuer key set from a file, instead of QIAO_JWKS_URL. `qiao serve` needs one of the two or QIAO_JWT_HMAC_SECRET_FILE; only `qiao demo` runs without (dev key in the data directory).',
    parseString,
  ),
  jwtAlgorithms: setting(
    'QIAO_JWT_ALGORITHMS',
    'EdDSA,ES256,RS256,PS256',
    'ES256,RS256',
    'Allowed token signature algorithms. `none` is never accepted; HS* only with QIAO_JWT_HMAC_SECRET_FILE.',
    parseJwtAlgorithms,
  ),
  jwtHmacSecretFile: setting(
    'QIAO_JWT_HMAC_SECRET_FILE',
    undefined,
    '/run/secrets/qiao-hmac',
    'Shared secret (≥ 32 bytes) for HS256/384/512 tokens; HS* stays refused unless this is set and listed.',
    parseString,
  ),
  clockToleranceMs: setting(
    'QIAO_CLOCK_TOLERANCE',
    '30s',
    '10s',
    'Clock skew tolerated for `exp`, `nbf` and `iat`.',
    parseDuration,
  ),
  jwksCooldownMs: setting(
    'QIAO_JWKS_COOLDOWN',
    '30s',
    '1m',
    'Minimum time between key-set refetches caused by an unknown `kid`.',
    parseDuration,
  ),
  jwksMaxAgeMs: setting(
    'QIAO_JWKS_MAX_AGE',
    '10m',
    '1h',
    'How long a fetched key set is used before refetching.',
    parseDuration,
  ),
  tokenCacheMax: setting(
    'QIAO_TOKEN_CACHE_MAX',
    '10000',
    '50000',
    'Verified tokens kept in memory (LRU; never kept past `exp`).',
    parseInteger(0, 10_000_000),
  ),
  tokenCacheTtlMs: setting(
    'QIAO_TOKEN_CACHE_TTL',
    '5m',
    '1m',
    'How long a verified token is reused before it is verified again (never past `exp`; a refetched key set that drops its `kid` ends it at once); 0 = verify every call.',
    parseDuration,
  ),
  tokenMaxLifetimeMs: setting(
    'QIAO_TOKEN_MAX_LIFETIME',
    '24h',
    '8h',
    'Longest accepted token lifetime (`exp − iat`, or `exp − now` without `iat`); longer-lived tokens get 401 token-lifetime-exceeded.',
    parseDuration,
  ),
  metricsHost: setting(
    'QIAO_METRICS_HOST',
    '127.0.0.1',
    '0.0.0.0',
    'Address of the metrics listener (GET /metrics). Keep it on loopback or an internal network: its labels say which department reads what for which matter.',
    parseString,
  ),
  metricsPort: setting(
    'QIAO_METRICS_PORT',
    undefined,
    '9464',
    'Port of the metrics listener, apart from the public port (which never serves /metrics); unset = no metrics listener; 0 picks a free one.',
    parseInteger(0, 65535),
  ),
  bodyLimit: setting('QIAO_BODY_LIMIT', '1MiB', '256KiB', 'Largest accepted request body (413 beyond).', parseSize),
  logLevel: setting('QIAO_LOG_LEVEL', 'info', 'debug', 'Operational log level (pino).', parseOneOf(LOG_LEVELS)),
  idempotencyTtlMs: setting(
    'QIAO_IDEMPOTENCY_TTL',
    '24h',
    '72h',
    'How long a write’s Idempotency-Key and first answer are remembered (in the state store; expired keys are purged while running).',
    parseDuration,
  ),
  idempotencyMaxAnswer: setting(
    'QIAO_IDEMPOTENCY_MAX_ANSWER',
    '64KiB',
    '16KiB',
    'Largest first answer kept for replays (write answers are receipts, < 1 KiB). A retry of a larger one gets 409 idempotency-answer-not-kept with the first status and audit id, never a second delivery.',
    parseSize,
  ),
  stateUrl: setting(
    'QIAO_STATE_URL',
    undefined,
    'postgres://qiao@db.internal:5432/qiao?schema=qiao_state',
    'Shared state store (idempotency keys) in PostgreSQL, for several instances; `?schema=` picks the schema (default `qiao_state`). Unset: embedded SQLite in `<data dir>/state.sqlite`, one host only.',
    parseUrl(['postgres:', 'postgresql:']),
  ),
  workingCalendarFile: setting(
    'QIAO_WORKING_CALENDAR',
    undefined,
    '/etc/qiao/working-calendar.json',
    'Extra years of the official working calendar (holidays and 调休 working days from the State Council’s yearly notice), added to the years Qiao ships; see README “Working days”.',
    parseString,
  ),
  sharingConformityDays: setting(
    'QIAO_SHARING_CONFORMITY_DAYS',
    '2',
    '3',
    'Working days the data-sharing authority has for an application’s conformity check.',
    parseInteger(1, 60),
  ),
  sharingReviewDays: setting(
    'QIAO_SHARING_REVIEW_DAYS',
    '5',
    '10',
    'Working days a provider has to review an application for a conditional resource already published (a resource’s `sharing.reviewDays` overrides).',
    parseInteger(1, 60),
  ),
  sharingReviewDaysUnpublished: setting(
    'QIAO_SHARING_REVIEW_DAYS_UNPUBLISHED',
    '10',
    '15',
    '… for a resource not yet published (no `publishedAt`, or a later one): the provider publishes it and answers.',
    parseInteger(1, 60),
  ),
  sharingScanIntervalMs: setting(
    'QIAO_SHARING_SCAN_INTERVAL',
    '1m',
    '5m',
    'How often overdue applications are escalated and expiry reminders (30 and 7 days) given; 0 = only at start.',
    parseDuration,
  ),
  sharingWebhookUrl: setting(
    'QIAO_SHARING_WEBHOOK_URL',
    undefined,
    'https://oa.internal/hooks/qiao',
    'Where sharing notices are POSTed as JSON (expiry reminders, escalations); unset = visible in the API only.',
    parseUrl(['http:', 'https:']),
  ),
  sharingWebhookSecretFile: setting(
    'QIAO_SHARING_WEBHOOK_SECRET_FILE',
    undefined,
    '/run/secrets/qiao-webhook-secret',
    'File with the secret that signs each sharing notice (`X-Qiao-Signature: sha256=<HMAC of the body>`); unset = unsigned.',
    parseString,
  ),
  objectionDays: setting(
    'QIAO_OBJECTION_DAYS',
    '5',
    '10',
    'Working days a provider has to accept (corrected upstream) or reject a data objection (数据异议) to one of its records.',
    parseInteger(1, 60),
  ),
  drainTimeoutMs: setting(
    'QIAO_DRAIN_TIMEOUT',
    '30s',
    '2m',
    'On SIGTERM, after the pre-stop window: how long calls in flight may take to finish before connections are closed.',
    parseDuration,
  ),
  drainPrestopMs: setting(
    'QIAO_DRAIN_PRESTOP',
    '5s',
    '15s',
    'On SIGTERM: how long the gateway keeps listening while `/readyz` answers 503 `draining` (new exchange calls get 503 `gateway-draining`), so load balancers stop sending before the listener closes.',
    parseDuration,
  ),
  healthInterval: setting(
    'QIAO_HEALTH_INTERVAL',
    '30s',
    '10s',
    'How often each connector’s upstream is probed (status in the log, GET /v1/catalog and /readyz); 0 = only at start.',
    parseDuration,
  ),
  auditDir: setting(
    'QIAO_AUDIT_DIR',
    undefined,
    '/var/lib/qiao/audit',
    'Audit log directory; default `<data dir>/audit`.',
    parseString,
  ),
  auditUrl: setting(
    'QIAO_AUDIT_URL',
    undefined,
    'postgres://qiao@db.internal:5432/qiao',
    'Audit log in PostgreSQL (several gateway instances, one log each, queries span all). Unset: files in QIAO_AUDIT_DIR.',
    parseUrl(['postgres:', 'postgresql:']),
  ),
  auditLogId: setting(
    'QIAO_AUDIT_LOG_ID',
    undefined,
    'qiao-gw-1',
    'This instance’s log id (own hash chain and checkpoints); default `qiao-<hostname>`. Two running instances must not share one.',
    parseAuditLogId,
  ),
  auditHash: setting(
    'QIAO_AUDIT_HASH',
    'sha256',
    'sm3',
    'Hash of the audit log’s Merkle tree and chain: `sha256` or `sm3` (国密). Fixed for the life of a log.',
    parseOneOf(['sha256', 'sm3'] as const),
  ),
  auditSigningKeyFile: setting(
    'QIAO_AUDIT_SIGNING_KEY_FILE',
    undefined,
    '/run/secrets/qiao-audit-signing.jwk.json',
    'Private JWK that signs audit checkpoints (Ed25519 or SM2, as QIAO_AUDIT_SIGNATURE_ALG); default `<data dir>/audit-signing-key.jwk.json`, created if absent.',
    parseString,
  ),
  auditSignatureAlg: setting(
    'QIAO_AUDIT_SIGNATURE_ALG',
    'Ed25519',
    'SM2',
    'Signature of audit checkpoints: `Ed25519` (JWS EdDSA) or `SM2` (国密 SM2 with SM3, JWS `SM2SM3`). A new key file is made of this kind; to change, point QIAO_AUDIT_SIGNING_KEY_FILE at a new file.',
    parseOneOf(SIGNATURE_ALGORITHMS),
  ),
  auditCheckpointEvery: setting(
    'QIAO_AUDIT_CHECKPOINT_EVERY',
    '1000',
    '10000',
    'A signed checkpoint after this many records…',
    parseInteger(1, 100_000_000),
  ),
  auditCheckpointIntervalMs: setting(
    'QIAO_AUDIT_CHECKPOINT_INTERVAL',
    '10s',
    '1m',
    '…or after this long, whichever comes first.',
    parseDuration,
  ),
  auditSegmentMaxSize: setting(
    'QIAO_AUDIT_SEGMENT_MAX_SIZE',
    '64MiB',
    '256MiB',
    'File store: a segment is sealed and a new one begun beyond this size…',
    parseSize,
  ),
  auditSegmentMaxRecords: setting(
    'QIAO_AUDIT_SEGMENT_MAX_RECORDS',
    '100000',
    '250000',
    'PostgreSQL store: … beyond this many records…',
    parseInteger(1, 100_000_000),
  ),
  auditSegmentMaxAgeMs: setting('QIAO_AUDIT_SEGMENT_MAX_AGE', '24h', '6h', '… or this age.', parseDuration),
  auditMinFreeBytes: setting(
    'QIAO_AUDIT_MIN_FREE',
    '64MiB',
    '1GiB',
    'File store: /readyz is 503 while the audit directory’s file system has less free space than this.',
    parseSize,
  ),
  auditRetentionMs: setting(
    'QIAO_AUDIT_RETENTION',
    '180d',
    '3y',
    'How long audit records are kept (网络安全法 §21: at least 6 months). Only sealed, checkpointed segments are removed.',
    parseDuration,
  ),
  auditKeyFile: setting(
    'QIAO_AUDIT_KEY_FILE',
    undefined,
    '/run/secrets/qiao-audit-key',
    'Key for the keyed digests (HMAC) in audit records; default `<data dir>/audit-hmac.key`, created if absent.',
    parseString,
  ),
  auditTsaUrl: setting(
    'QIAO_AUDIT_TSA_URL',
    undefined,
    'https://tsa.gov.example/tsp',
    'RFC 3161 time-stamping authority: every signed audit checkpoint gets a TimeStampToken (asked for after signing, retried). `https:`; `http:` only to a loopback address. Needs QIAO_AUDIT_TSA_ROOTS_FILE.',
    parseJwksUrl,
  ),
  auditTsaRootsFile: setting(
    'QIAO_AUDIT_TSA_ROOTS_FILE',
    undefined,
    '/etc/qiao/tsa-roots.pem',
    'PEM bundle of trusted TSA root certificates: each token is checked against it (also by `qiao audit verify`).',
    parseString,
  ),
  auditTsaPolicy: setting(
    'QIAO_AUDIT_TSA_POLICY',
    'continue',
    'refuse-after:30',
    'While no checkpoint can be timestamped: `continue` (serve, timestamp the backlog later) or `refuse-after:<minutes>` (exchange calls 503 `timestamping-unavailable` once the oldest untimestamped checkpoint is that old).',
    parseTsaPolicy,
  ),
  auditTsaPolicyOid: setting(
    'QIAO_AUDIT_TSA_POLICY_OID',
    undefined,
    '1.2.156.112562.3.1',
    'TSA policy to request (reqPolicy) and require in tokens; default: the TSA’s own.',
    parseObjectIdentifier,
  ),
  quotaRedisUrl: setting(
    'QIAO_QUOTA_REDIS_URL',
    undefined,
    'redis://quota.internal:6379/0',
    'Quota counters in Redis, one budget shared by every instance. Unset: in memory, per instance. While Redis is unreachable each instance counts in memory (warning logged).',
    parseUrl(['redis:', 'rediss:']),
  ),
  quotaKeyPrefix: setting(
    'QIAO_QUOTA_KEY_PREFIX',
    'qiao:quota',
    'qiao:quota:nanjing',
    'Prefix of the quota counter keys: `<prefix>:<quota id>:<department or matter>`.',
    parseQuotaKeyPrefix,
  ),
  subscriptionsNatsUrl: setting(
    'QIAO_SUBSCRIPTIONS_NATS_URL',
    undefined,
    'nats://nats.internal:4222',
    'Subscription events in NATS JetStream (several instances, woken by the broker). Unset: the state store’s outbox (QIAO_STATE_URL, else state.sqlite).',
    parseUrl(['nats:', 'tls:']),
  ),
  subscriptionsFeedInterval: setting(
    'QIAO_SUBSCRIPTIONS_FEED_INTERVAL',
    '2s',
    '1s',
    'How often a subscribed resource’s change feed is polled once drained. The default keeps a change within about 5 s of its provider (one “changed since” query per resource every 2 s, not per subscriber).',
    parseDuration,
  ),
  subscriptionsWebhookHosts: setting(
    'QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS',
    undefined,
    'hooks.fgw.nanjing.gov.cn,*.zjj.nanjing.gov.cn',
    'The only hosts subscription webhooks may call, comma-separated (`host`, or `*.suffix` for its subdomains). Set, these hosts may be intranet (private) addresses, as departments’ office systems usually are; unset, any public https host and no private, loopback or link-local address (a subscriber must not make the gateway call inside its network).',
    parseWebhookHosts,
  ),
  subjectPortalClients: setting(
    'QIAO_SUBJECT_PORTAL_CLIENTS',
    undefined,
    'js-zwfw-mydata,nj-12345',
    'The `client_id`s of the portals trusted to show people and companies who read their data (GET /v1/subject-accesses, with scope `usage:subject`), comma-separated. A token with the scope from any other client is refused: the portal is what checked that its user is the data subject. Unset: nobody may call it.',
    parseClientIds,
  ),
  consoleOidcIssuer: setting(
    'QIAO_CONSOLE_OIDC_ISSUER',
    undefined,
    'https://idp.gov.example/realms/zwfw',
    'Console sign-in with OpenID Connect (authorization code + PKCE): the provider’s issuer URL, `https:` only, discovered in the background at start and again at a sign-in while that failed. Its access tokens for QIAO_AUDIENCE (requested as a resource indicator) are verified like any API token (QIAO_ISSUER, QIAO_JWKS_URL). Unset: `qiao serve` has no console sign-in (`qiao demo` has its own).',
    parseIssuerUrl,
  ),
  consoleOidcClientId: setting(
    'QIAO_CONSOLE_OIDC_CLIENT_ID',
    undefined,
    'qiao-console',
    'The console’s client id at that provider; required with QIAO_CONSOLE_OIDC_ISSUER.',
    parseString,
  ),
  consoleOidcClientSecretFile: setting(
    'QIAO_CONSOLE_OIDC_CLIENT_SECRET_FILE',
    undefined,
    '/run/secrets/qiao-console-oidc',
    'File with the console’s client secret (sent as client_secret_basic); unset = a public client, PKCE only.',
    parseString,
  ),
  consoleUrl: setting(
    'QIAO_CONSOLE_URL',
    undefined,
    'https://qiao.example.gov.cn',
    'The console’s external base URL (scheme, host and port only); required with QIAO_CONSOLE_OIDC_ISSUER: the redirect URI is `<base>/console/oidc/callback`. `https:`; `http:` only for a loopback host.',
    parseBaseUrl,
  ),
} as const

/** Most worker processes `qiao serve` forks: far beyond any core count it runs on, low enough to catch a typo. */
export const MAX_WORKERS = 256

/** `auto`: one worker per core this process may use (at most MAX_WORKERS); else a count from 1 to MAX_WORKERS. */
function parseWorkers(raw: string): number {
  const v = raw.trim()
  if (v === 'auto') return Math.min(availableParallelism(), MAX_WORKERS)
  const n = Number(v)
  if (v === '' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw new Error(`expected auto or an integer from 1 to ${MAX_WORKERS}`)
  return n
}

/** Client ids as tokens carry them in `client_id`: printable ASCII without spaces or commas, at most 128 each. */
function parseClientIds(raw: string): readonly string[] {
  const ids = parseList(raw)
  if (ids.length === 0) throw new Error('expected one or more client ids, comma-separated')
  const bad = ids.filter((id) => !/^[\x21-\x2b\x2d-\x7e]{1,128}$/.test(id)).length
  if (bad > 0) throw new Error(`${bad} client id(s) not printable ASCII of 1 to 128 characters without spaces`)
  return Object.freeze([...new Set(ids)])
}

/** Webhook hosts: DNS names (letters, digits, hyphens, dots), each optionally `*.`-prefixed. */
function parseWebhookHosts(raw: string): readonly string[] {
  const hosts = parseList(raw).map((h) => h.toLowerCase())
  if (hosts.length === 0) throw new Error('expected one or more host names, comma-separated')
  const name = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
  const bad = hosts.filter((h) => h.length > 253 || !name.test(h)).length
  if (bad > 0) throw new Error(`${bad} host(s) not a DNS name or *.suffix`)
  return Object.freeze([...new Set(hosts)])
}

/** An issuer identifier as written (compared exactly), `https:` and without query or fragment (RFC 8414 §2). */
function parseIssuerUrl(raw: string): string {
  const url = new URL(parseUrl(['https:'])(raw))
  if (url.search !== '' || url.hash !== '') throw new Error('expected an https: issuer URL without query or fragment')
  return raw.trim()
}

/** A site's base: scheme, host and port, nothing after; `https:`, or `http:` to loopback only. */
function parseBaseUrl(raw: string): string {
  const url = new URL(parseJwksUrl(raw))
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    throw new Error('expected scheme, host and port only, such as https://qiao.example.gov.cn')
  return url.origin
}

type Settings = typeof SETTINGS
type ValueOf<S> = S extends Setting<infer T, infer D> ? (D extends string ? T : T | undefined) : never
/** What the settings give as parsed: a setting with a default always has a value. */
type Parsed = { readonly [K in keyof Settings]: ValueOf<Settings[K]> }

/** Fields computed from several settings or from how the process was started (see `derive`). */
interface Derived {
  /** Defaults under the data directory. */
  readonly auditDir: string
  readonly auditKeyFile: string
  readonly auditSigningKeyFile: string
  readonly auditLogId: string
  /** Started by `qiao demo` with no key source: the gateway signs its own dev tokens. Never by `qiao serve`. */
  readonly demoMode: boolean
}

type Merged = Omit<Parsed, keyof Derived> & Derived
/** The gateway's configuration: one field per setting (typed by its parser), plus the derived ones. */
export type Config = { readonly [K in keyof Merged]: Merged[K] }

export interface ReadConfigOptions {
  /** `qiao demo`: without a key source, the gateway runs in demo mode (dev key in the data directory). */
  readonly demo?: boolean
  /** `qiao serve`: a key source (QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE) is required. */
  readonly requireKeySource?: boolean
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

export const DEMO_ISSUER = 'urn:qiao:demo-issuer'

type Env = Readonly<Record<string, string | undefined>>

/** Reads and checks every setting at once; reports all problems together. */
export function readConfig(env: Env, cwd = process.cwd(), options: ReadConfigOptions = {}): ConfigResult {
  const { values, errors } = parseSettings(env)
  errors.push(...keySourceProblems(values, env, options))
  errors.push(...consoleOidcProblems(env))
  if (isGiven(env[SETTINGS.auditTsaUrl.name]) !== isGiven(env[SETTINGS.auditTsaRootsFile.name]))
    errors.push('QIAO_AUDIT_TSA_URL and QIAO_AUDIT_TSA_ROOTS_FILE: set both or neither')
  if (errors.length > 0) return { ok: false, errors }
  // No errors: every setting with a default was parsed, so `values` has the full shape.
  return { ok: true, config: Object.freeze(derive(values as Parsed, env, cwd, options)) }
}

function parseSettings(env: Env): { values: Partial<Parsed>; errors: string[] } {
  const values: Record<string, unknown> = {}
  const errors: string[] = []
  for (const [key, spec] of Object.entries(SETTINGS)) {
    // An empty variable is unset: it falls back to the default.
    const raw = isGiven(env[spec.name]) ? env[spec.name] : spec.defaultValue
    values[key] = undefined // every field an own key, set or not
    if (raw === undefined) continue
    try {
      values[key] = spec.parse(raw)
    } catch (err) {
      errors.push(`${spec.name}: ${(err as Error).message}`)
    }
  }
  return { values: values as Partial<Parsed>, errors }
}

const isGiven = (raw: string | undefined): raw is string => raw !== undefined && raw !== ''

/** Demo mode is how the process was started (`qiao demo`), never the fallback of a missing variable. */
function isDemoMode(env: Env, options: ReadConfigOptions): boolean {
  return options.demo === true && !hasKeySource(env)
}

/** Set counts, even when invalid: that variable's own problem is reported, not a missing key source. */
function hasKeySource(env: Env): boolean {
  return [SETTINGS.jwksUrl, SETTINGS.jwksFile, SETTINGS.jwtHmacSecretFile].some((s) => isGiven(env[s.name]))
}

function keySourceProblems(values: Partial<Parsed>, env: Env, options: ReadConfigOptions): string[] {
  const errors: string[] = []
  const { jwksUrl, jwksFile, jwtHmacSecretFile } = values
  if (options.requireKeySource === true && !hasKeySource(env)) {
    errors.push(
      'no token key source: set QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE (only `qiao demo` runs with a dev key)',
    )
  }
  if (jwksUrl !== undefined && jwksFile !== undefined)
    errors.push('QIAO_JWKS_URL and QIAO_JWKS_FILE: set one, not both')
  if (
    (jwksUrl !== undefined || jwksFile !== undefined || jwtHmacSecretFile !== undefined) &&
    values.issuer === undefined
  )
    errors.push('QIAO_ISSUER: required when QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE is set')
  const hmac = (values.jwtAlgorithms ?? []).some((a) => a.startsWith('HS'))
  if (hmac && jwtHmacSecretFile === undefined) {
    errors.push('QIAO_JWT_ALGORITHMS: HS* algorithms need QIAO_JWT_HMAC_SECRET_FILE')
  }
  if (jwtHmacSecretFile !== undefined && jwksUrl === undefined && jwksFile === undefined && !hmac) {
    errors.push('QIAO_JWT_ALGORITHMS: the HMAC secret is the only key source, so list an HS* algorithm')
  }
  return errors
}

/** OIDC console sign-in needs its client id and the console's own URL (the redirect URI); a client needs an issuer. */
function consoleOidcProblems(env: Env): string[] {
  const given = (s: { readonly name: string }) => isGiven(env[s.name])
  if (!given(SETTINGS.consoleOidcIssuer)) {
    const orphans = [SETTINGS.consoleOidcClientId, SETTINGS.consoleOidcClientSecretFile].filter(given)
    return orphans.map((s) => `${s.name}: set without QIAO_CONSOLE_OIDC_ISSUER`)
  }
  const errors: string[] = []
  if (!given(SETTINGS.consoleOidcClientId))
    errors.push('QIAO_CONSOLE_OIDC_CLIENT_ID: required with QIAO_CONSOLE_OIDC_ISSUER')
  if (!given(SETTINGS.consoleUrl)) errors.push('QIAO_CONSOLE_URL: required with QIAO_CONSOLE_OIDC_ISSUER')
  return errors
}

/** The values that are not one setting as parsed: absolute paths, defaults under the data dir, demo mode. */
function derive(values: Parsed, env: Env, cwd: string, options: ReadConfigOptions): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p))
  const dataDir = abs(values.dataDir)
  const demoMode = isDemoMode(env, options)
  return {
    ...values,
    catalog: abs(values.catalog),
    dataDir,
    issuer: values.issuer ?? (demoMode ? DEMO_ISSUER : undefined),
    jwksFile: values.jwksFile === undefined ? undefined : abs(values.jwksFile),
    consoleOidcClientSecretFile:
      values.consoleOidcClientSecretFile === undefined ? undefined : abs(values.consoleOidcClientSecretFile),
    auditDir: abs(values.auditDir ?? join(dataDir, 'audit')),
    auditKeyFile: abs(values.auditKeyFile ?? join(dataDir, 'audit-hmac.key')),
    auditTsaRootsFile: values.auditTsaRootsFile === undefined ? undefined : abs(values.auditTsaRootsFile),
    auditSigningKeyFile: abs(values.auditSigningKeyFile ?? join(dataDir, 'audit-signing-key.jwk.json')),
    auditLogId:
      values.auditLogId ??
      `qiao-${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 59)}`,
    demoMode,
  }
}

/** README's configuration table, generated from SETTINGS. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map(
    (s) =>
      `| \`${s.name}\` | ${s.defaultValue === undefined ? '—' : `\`${s.defaultValue}\``} | \`${s.example}\` | ${s.description} |`,
  )
  return ['| Variable | Default | Example | Meaning |', '|---|---|---|---|', ...rows].join('\n')
}
