import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { parseDuration, parseInteger, parseList, parseOneOf, parseSize, parseString, parseUrl } from './parse.js'

/**
 * Every environment variable Qiao reads, declared once. The gateway reads them only here, at start; README's
 * configuration table is generated from this list (`npm run docs:config`) and a test keeps the two in step.
 */
interface Setting<T> {
  readonly name: string
  /** Default as written in the table; undefined = unset unless given. */
  readonly defaultValue: string | undefined
  readonly example: string
  readonly description: string
  readonly parse: (raw: string) => T
}

function setting<T>(
  name: string,
  defaultValue: string | undefined,
  example: string,
  description: string,
  parse: (raw: string) => T,
): Setting<T> {
  return { name, defaultValue, example, description, parse }
}

export const JWT_ALGORITHMS = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'HS256',
  'HS384',
  'HS512',
] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]
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
    (raw) => {
      const list = parseList(raw)
      for (const alg of list) {
        if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) {
          throw new Error(
            `unknown algorithm ${JSON.stringify(alg.slice(0, 16))}; allowed: ${JWT_ALGORITHMS.join(', ')}`,
          )
        }
      }
      if (list.length === 0) throw new Error('expected at least one algorithm')
      return list as JwtAlgorithm[]
    },
  ),
  jwtHmacSecretFile: setting(
    'QIAO_JWT_HMAC_SECRET_FILE',
    undefined,
    '/run/secrets/qiao-hmac',
    'Shared secret (≥ 32 bytes) for HS256/384/512 tokens; HS* stays refused unless this is set and listed.',
    parseString,
  ),
  clockTolerance: setting(
    'QIAO_CLOCK_TOLERANCE',
    '30s',
    '10s',
    'Clock skew tolerated for `exp`, `nbf` and `iat`.',
    parseDuration,
  ),
  jwksCooldown: setting(
    'QIAO_JWKS_COOLDOWN',
    '30s',
    '1m',
    'Minimum time between key-set refetches caused by an unknown `kid`.',
    parseDuration,
  ),
  jwksMaxAge: setting(
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
  tokenCacheTtl: setting(
    'QIAO_TOKEN_CACHE_TTL',
    '5m',
    '1m',
    'How long a verified token is reused before it is verified again (never past `exp`; a refetched key set that drops its `kid` ends it at once); 0 = verify every call.',
    parseDuration,
  ),
  tokenMaxLifetime: setting(
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
  idempotencyTtl: setting(
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
  drainTimeout: setting(
    'QIAO_DRAIN_TIMEOUT',
    '30s',
    '2m',
    'On SIGTERM, after the pre-stop window: how long calls in flight may take to finish before connections are closed.',
    parseDuration,
  ),
  drainPrestop: setting(
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
    (raw) => {
      const v = raw.trim()
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new Error('expected 1–64 characters of [A-Za-z0-9._-]')
      return v
    },
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
    'Ed25519 private JWK that signs audit checkpoints; default `<data dir>/audit-signing-key.jwk.json`, created if absent.',
    parseString,
  ),
  auditCheckpointEvery: setting(
    'QIAO_AUDIT_CHECKPOINT_EVERY',
    '1000',
    '10000',
    'A signed checkpoint after this many records…',
    parseInteger(1, 100_000_000),
  ),
  auditCheckpointInterval: setting(
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
  auditSegmentMaxAge: setting('QIAO_AUDIT_SEGMENT_MAX_AGE', '24h', '6h', '… or this age.', parseDuration),
  auditMinFree: setting(
    'QIAO_AUDIT_MIN_FREE',
    '64MiB',
    '1GiB',
    'File store: /readyz is 503 while the audit directory’s file system has less free space than this.',
    parseSize,
  ),
  auditRetention: setting(
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
    (raw) => {
      const v = raw.trim()
      if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/.test(v)) throw new Error('expected 1–64 characters of [A-Za-z0-9:._-]')
      return v
    },
  ),
} as const

/** A key set over plain HTTP can be swapped by whoever sits on the path; only loopback (tests, local IdPs) may. */
function parseJwksUrl(raw: string): string {
  const url = parseUrl(['https:', 'http:'])(raw)
  const { protocol, hostname } = new URL(url)
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    throw new Error('expected an https: URL (http: only to a loopback address: 127.0.0.0/8, ::1, localhost)')
  }
  return url
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

type Settings = typeof SETTINGS
export type SettingKey = keyof Settings
type Parsed<K extends SettingKey> = Settings[K] extends Setting<infer T> ? T : never

export interface Config {
  readonly host: string
  readonly port: number
  readonly catalog: string
  readonly dataDir: string
  readonly issuer: string | undefined
  readonly audience: string
  readonly jwksUrl: string | undefined
  readonly jwksFile: string | undefined
  readonly jwtAlgorithms: readonly JwtAlgorithm[]
  readonly jwtHmacSecretFile: string | undefined
  readonly clockToleranceMs: number
  readonly jwksCooldownMs: number
  readonly jwksMaxAgeMs: number
  readonly tokenCacheMax: number
  readonly tokenCacheTtlMs: number
  readonly tokenMaxLifetimeMs: number
  /** Metrics listener; undefined port = none. */
  readonly metricsHost: string
  readonly metricsPort: number | undefined
  readonly bodyLimit: number
  readonly idempotencyTtlMs: number
  readonly idempotencyMaxAnswer: number
  readonly stateUrl: string | undefined
  readonly healthInterval: number
  readonly drainTimeoutMs: number
  readonly drainPrestopMs: number
  readonly logLevel: Parsed<'logLevel'>
  readonly auditDir: string
  readonly auditKeyFile: string
  readonly auditUrl: string | undefined
  readonly auditLogId: string
  readonly auditHash: 'sha256' | 'sm3'
  readonly auditSigningKeyFile: string
  readonly auditCheckpointEvery: number
  readonly auditCheckpointIntervalMs: number
  readonly auditSegmentMaxSize: number
  readonly auditSegmentMaxRecords: number
  readonly auditSegmentMaxAgeMs: number
  readonly auditMinFreeBytes: number
  readonly auditRetentionMs: number
  readonly quotaRedisUrl: string | undefined
  readonly quotaKeyPrefix: string
  /** Started by `qiao demo` with no key source: the gateway signs its own dev tokens. Never by `qiao serve`. */
  readonly demoMode: boolean
}

export interface ReadConfigOptions {
  /** `qiao demo`: without a key source, the gateway runs in demo mode (dev key in the data directory). */
  readonly demo?: boolean
  /** `qiao serve`: a key source (QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE) is required. */
  readonly requireKeySource?: boolean
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

export const DEMO_ISSUER = 'urn:qiao:demo-issuer'

/** Reads and checks every setting at once; reports all problems together. */
export function readConfig(
  env: Readonly<Record<string, string | undefined>>,
  cwd = process.cwd(),
  options: ReadConfigOptions = {},
): ConfigResult {
  const errors: string[] = []
  const values: Partial<Record<SettingKey, unknown>> = {}
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, Setting<unknown>][]) {
    const raw = env[spec.name] ?? spec.defaultValue
    if (raw === undefined || raw === '') continue
    try {
      values[key] = spec.parse(raw)
    } catch (err) {
      errors.push(`${spec.name}: ${(err as Error).message}`)
    }
  }
  const get = <K extends SettingKey>(key: K): Parsed<K> | undefined => values[key] as Parsed<K> | undefined

  const jwksUrl = get('jwksUrl')
  const jwksFile = get('jwksFile')
  const hmacSecretFile = get('jwtHmacSecretFile')
  // Set counts, even when invalid: that variable's own problem is reported, not a missing key source.
  const given = (key: SettingKey) => (env[SETTINGS[key].name] ?? '') !== ''
  const keySource = given('jwksUrl') || given('jwksFile') || given('jwtHmacSecretFile')
  // Demo mode is how the process was started (`qiao demo`), never the fallback of a missing variable.
  const demoMode = options.demo === true && !keySource
  if (options.requireKeySource === true && !keySource) {
    errors.push(
      'no token key source: set QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE (only `qiao demo` runs with a dev key)',
    )
  }
  if (jwksUrl !== undefined && jwksFile !== undefined)
    errors.push('QIAO_JWKS_URL and QIAO_JWKS_FILE: set one, not both')
  if ((jwksUrl !== undefined || jwksFile !== undefined || hmacSecretFile !== undefined) && get('issuer') === undefined)
    errors.push('QIAO_ISSUER: required when QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE is set')
  const algorithms = get('jwtAlgorithms') ?? []
  if (algorithms.some((a) => a.startsWith('HS')) && hmacSecretFile === undefined) {
    errors.push('QIAO_JWT_ALGORITHMS: HS* algorithms need QIAO_JWT_HMAC_SECRET_FILE')
  }
  if (hmacSecretFile !== undefined && jwksUrl === undefined && jwksFile === undefined) {
    if (!algorithms.some((a) => a.startsWith('HS')))
      errors.push('QIAO_JWT_ALGORITHMS: the HMAC secret is the only key source, so list an HS* algorithm')
  }
  if (errors.length > 0) return { ok: false, errors }

  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p))
  const dataDir = abs(get('dataDir') as string)
  const config: Config = {
    host: get('host') as string,
    port: get('port') as number,
    catalog: abs(get('catalog') as string),
    dataDir,
    issuer: get('issuer') ?? (demoMode ? DEMO_ISSUER : undefined),
    audience: get('audience') as string,
    jwksUrl,
    jwksFile: jwksFile === undefined ? undefined : abs(jwksFile),
    jwtAlgorithms: algorithms,
    jwtHmacSecretFile: get('jwtHmacSecretFile'),
    clockToleranceMs: get('clockTolerance') as number,
    jwksCooldownMs: get('jwksCooldown') as number,
    jwksMaxAgeMs: get('jwksMaxAge') as number,
    tokenCacheMax: get('tokenCacheMax') as number,
    tokenCacheTtlMs: get('tokenCacheTtl') as number,
    tokenMaxLifetimeMs: get('tokenMaxLifetime') as number,
    metricsHost: get('metricsHost') as string,
    metricsPort: get('metricsPort'),
    bodyLimit: get('bodyLimit') as number,
    idempotencyTtlMs: get('idempotencyTtl') as number,
    idempotencyMaxAnswer: get('idempotencyMaxAnswer') as number,
    stateUrl: get('stateUrl'),
    healthInterval: get('healthInterval') as number,
    drainTimeoutMs: get('drainTimeout') as number,
    drainPrestopMs: get('drainPrestop') as number,
    logLevel: get('logLevel') as Parsed<'logLevel'>,
    auditDir: abs(get('auditDir') ?? join(dataDir, 'audit')),
    auditKeyFile: abs(get('auditKeyFile') ?? join(dataDir, 'audit-hmac.key')),
    auditUrl: get('auditUrl'),
    auditLogId:
      get('auditLogId') ??
      `qiao-${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 59)}`,
    auditHash: get('auditHash') as 'sha256' | 'sm3',
    auditSigningKeyFile: abs(get('auditSigningKeyFile') ?? join(dataDir, 'audit-signing-key.jwk.json')),
    auditCheckpointEvery: get('auditCheckpointEvery') as number,
    auditCheckpointIntervalMs: get('auditCheckpointInterval') as number,
    auditSegmentMaxSize: get('auditSegmentMaxSize') as number,
    auditSegmentMaxRecords: get('auditSegmentMaxRecords') as number,
    auditSegmentMaxAgeMs: get('auditSegmentMaxAge') as number,
    auditMinFreeBytes: get('auditMinFree') as number,
    auditRetentionMs: get('auditRetention') as number,
    quotaRedisUrl: get('quotaRedisUrl'),
    quotaKeyPrefix: get('quotaKeyPrefix') as string,
    demoMode,
  }
  return { ok: true, config: Object.freeze(config) }
}

/** README's configuration table, generated from SETTINGS. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map(
    (s) =>
      `| \`${s.name}\` | ${s.defaultValue === undefined ? '—' : `\`${s.defaultValue}\``} | \`${s.example}\` | ${s.description} |`,
  )
  return ['| Variable | Default | Example | Meaning |', '|---|---|---|---|', ...rows].join('\n')
}
