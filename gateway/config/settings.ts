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
    'Data directory: audit log, audit HMAC key, dev signing key (demo mode).',
    parseString,
  ),
  issuer: setting(
    'QIAO_ISSUER',
    undefined,
    'https://idp.gov.example/realms/zwfw',
    'Required `iss` of access tokens. Required when JWKS is configured; demo mode uses `urn:qiao:demo-issuer`.',
    parseString,
  ),
  audience: setting('QIAO_AUDIENCE', 'qiao', 'urn:qiao:nanjing', 'Value that token `aud` must contain.', parseString),
  jwksUrl: setting(
    'QIAO_JWKS_URL',
    undefined,
    'https://idp.gov.example/realms/zwfw/protocol/openid-connect/certs',
    'Issuer key set (cached; an unknown `kid` triggers one refetch, rate-limited by the cooldown).',
    parseUrl(['https:', 'http:']),
  ),
  jwksFile: setting(
    'QIAO_JWKS_FILE',
    undefined,
    '/etc/qiao/jwks.json',
    'Issuer key set from a file, instead of QIAO_JWKS_URL. Neither set = demo mode (dev key in the data directory).',
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
  bodyLimit: setting('QIAO_BODY_LIMIT', '1MiB', '256KiB', 'Largest accepted request body (413 beyond).', parseSize),
  logLevel: setting('QIAO_LOG_LEVEL', 'info', 'debug', 'Operational log level (pino).', parseOneOf(LOG_LEVELS)),
  idempotencyTtl: setting(
    'QIAO_IDEMPOTENCY_TTL',
    '24h',
    '72h',
    'How long a write’s Idempotency-Key and first answer are remembered (kept in the data directory).',
    parseDuration,
  ),
  drainTimeout: setting(
    'QIAO_DRAIN_TIMEOUT',
    '30s',
    '2m',
    'On SIGTERM: how long calls in flight may take to finish before connections are closed.',
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
  readonly bodyLimit: number
  readonly idempotencyTtlMs: number
  readonly healthInterval: number
  readonly drainTimeoutMs: number
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
  readonly auditRetentionMs: number
  readonly quotaRedisUrl: string | undefined
  readonly quotaKeyPrefix: string
  /** No JWKS configured: the gateway signs its own dev tokens. */
  readonly demoMode: boolean
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

export const DEMO_ISSUER = 'urn:qiao:demo-issuer'

/** Reads and checks every setting at once; reports all problems together. */
export function readConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): ConfigResult {
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
  const demoMode = jwksUrl === undefined && jwksFile === undefined
  if (jwksUrl !== undefined && jwksFile !== undefined)
    errors.push('QIAO_JWKS_URL and QIAO_JWKS_FILE: set one, not both')
  if (!demoMode && get('issuer') === undefined)
    errors.push('QIAO_ISSUER: required when QIAO_JWKS_URL or QIAO_JWKS_FILE is set')
  const algorithms = get('jwtAlgorithms') ?? []
  if (algorithms.some((a) => a.startsWith('HS')) && get('jwtHmacSecretFile') === undefined) {
    errors.push('QIAO_JWT_ALGORITHMS: HS* algorithms need QIAO_JWT_HMAC_SECRET_FILE')
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
    bodyLimit: get('bodyLimit') as number,
    idempotencyTtlMs: get('idempotencyTtl') as number,
    healthInterval: get('healthInterval') as number,
    drainTimeoutMs: get('drainTimeout') as number,
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
