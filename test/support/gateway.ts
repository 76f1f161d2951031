import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { request } from 'undici'
import { type RunningDrcSimulator, startDrcSimulator } from '../../connectors/drc-tzxm/simulator/index.js'
import { type RunningHousingSimulator, startHousingSimulator } from '../../connectors/housing-gongai/simulator/index.js'
import { seedMarketDatabase } from '../../connectors/market-qzk/simulator/index.js'
import type { AuditBackend } from '../../gateway/audit/backend.js'
import type { ExchangeAuditRecord } from '../../gateway/audit/record.js'
import { type Config, readConfig } from '../../gateway/config/settings.js'
import type { ResourceExample } from '../../gateway/examples.js'
import { type RunningGateway, startGateway } from '../../gateway/gateway.js'
import { createLogger } from '../../gateway/telemetry/logger.js'
import {
  createTestKey,
  type JwksServer,
  signToken,
  startJwksServer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestKey,
  type TokenClaims,
} from './keys.js'

/** 10:00 in Nanjing on the day the tests were written; the gateway and the simulators share this frozen clock. */
export const NOW = Date.parse('2026-11-26T02:00:00Z')
export const REPO = resolve(import.meta.dirname, '../..')
export const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test'

export interface HarnessOptions {
  /** Catalog text transform (applied to the demo catalog; schema paths are made absolute). */
  readonly catalog?: (text: string) => string
  /** Extra variables for catalog interpolation (e.g. a wrong app secret). */
  readonly vars?: Record<string, string>
  /** Extra QIAO_* settings. */
  readonly env?: Record<string, string>
  /** Point the 住建 connector at this URL instead of the simulator (e.g. a closed port). */
  readonly upstreamUrl?: string
  /** Seed a private schema of the local PostgreSQL as 市场监管's front-end database and point market-qzk at it. */
  readonly market?: boolean
  /** Storage under the audit log (to instrument it); default the configured file store. */
  readonly auditBackend?: (config: Config) => AuditBackend
  /** The gateway's clock, for tests that move time by hand; default frozen at NOW. */
  readonly clock?: { now(): number }
  /** Sample parameters per resource, as `qiao demo` passes its simulators' (deps.examples); default none. */
  readonly examples?: readonly ResourceExample[]
}

export interface Harness {
  /** The running gateway (a new one after restart()). */
  readonly gateway: RunningGateway
  readonly sim: RunningHousingSimulator
  readonly drc: RunningDrcSimulator
  readonly jwks: JwksServer
  readonly ed: TestKey
  readonly rsa: TestKey
  readonly dataDir: string
  readonly config: Config
  /** This gateway's audit log directory (segments, checkpoints). */
  readonly auditDir: string
  /** Every operational log line (JSON), captured at debug level. */
  readonly logLines: string[]
  token(claims: TokenClaims, options?: { key?: TestKey; kid?: string; typ?: string }): Promise<string>
  query(
    resource: string,
    params: unknown,
    options?: { token?: string; matter?: string; caseId?: string; headers?: Record<string, string>; path?: string },
  ): Promise<HttpResult>
  /** POST /v1/resources/{resource}/records. */
  write(
    resource: string,
    body: unknown,
    options: { token: string; matter: string; caseId: string; idempotencyKey?: string },
  ): Promise<HttpResult>
  get(path: string, token?: string): Promise<HttpResult>
  /** Any API call with a bearer token, a JSON body when one is given, and extra headers. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    token: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResult>
  /** Exchange records of the audit log, in log order. */
  auditRecords(): Promise<ExchangeAuditRecord[]>
  /** Stops the gateway (not the upstreams) and starts it again on the same data directory and catalog. */
  restart(): Promise<void>
  close(): Promise<void>
}

export interface HttpResult {
  readonly status: number
  readonly headers: Record<string, string>
  readonly text: string
  readonly json: Record<string, unknown>
}

async function toResult(res: Awaited<ReturnType<typeof request>>): Promise<HttpResult> {
  const text = await res.body.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // not JSON; tests look at text
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text, json }
}

/** A bearer-token JSON call against `baseUrl()` (read at each call: a harness's URL changes on restart). */
export function jsonCaller(baseUrl: () => string): Harness['call'] {
  return async (method, path, token, body, headers = {}) => {
    const res = await request(`${baseUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return toResult(res)
  }
}

let marketSchemas = 0

/**
 * Starts a JWKS endpoint, the 住建 and 发改 simulators (and, on request, a seeded 市场监管 front-end database) and
 * the gateway, all on loopback, with a frozen clock.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [ed, rsa] = await Promise.all([createTestKey('EdDSA', 'ed-2026'), createTestKey('RS256', 'rsa-2026')])
  const jwks = await startJwksServer([ed.publicJwk, rsa.publicJwk])
  const sim = await startHousingSimulator({ port: 0, now: () => NOW })
  const drc = await startDrcSimulator({ port: 0, now: () => NOW })
  const dataDir = await mkdtemp(join(tmpdir(), 'qiao-test-'))

  let marketSchema: string | undefined
  let transform = options.catalog
  if (options.market) {
    marketSchema = `qiao_market_h${process.pid}_${++marketSchemas}`
    await seedMarketDatabase(LOCAL_PG, { schema: marketSchema })
    const schema = marketSchema
    const previous = transform
    transform = (text) =>
      (previous ? previous(text) : text).replace(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${NAME:-default} syntax
        '      connectionString: ${QIAO_MARKET_DB_URL:-postgres://postgres@127.0.0.1:5432/test}\n',
        `      connectionString: ${LOCAL_PG}\n      schema: ${schema}\n`,
      )
  }
  let catalogPath = join(REPO, 'catalog.yaml')
  if (transform) {
    const text = (await readFile(catalogPath, 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`)
    catalogPath = join(dataDir, 'catalog.yaml')
    await writeFile(catalogPath, transform(text))
  }
  const configResult = readConfig({
    QIAO_PORT: '0',
    QIAO_CATALOG: catalogPath,
    QIAO_DATA_DIR: dataDir,
    QIAO_JWKS_URL: jwks.url,
    QIAO_ISSUER: TEST_ISSUER,
    QIAO_AUDIENCE: TEST_AUDIENCE,
    QIAO_LOG_LEVEL: 'silent',
    QIAO_HEALTH_INTERVAL: '0',
    ...options.env,
  })
  if (!configResult.ok) throw new Error(configResult.errors.join('\n'))
  const config = configResult.config
  const logLines: string[] = []
  const start = () =>
    startGateway({
      config,
      clock: options.clock ?? { now: () => NOW },
      logger: createLogger('debug', { write: (line: string) => void logLines.push(line) }),
      vars: { QIAO_HOUSING_URL: options.upstreamUrl ?? sim.url, QIAO_DRC_URL: drc.url, ...options.vars },
      auditBackend: options.auditBackend?.(config),
      examples: options.examples,
    })
  let gateway = await start()
  const auditDir = join(config.auditDir, config.auditLogId)

  async function post(path: string, headers: Record<string, string>, body: unknown): Promise<HttpResult> {
    const res = await request(`${gateway.url}${path}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return toResult(res)
  }

  return {
    get gateway() {
      return gateway
    },
    sim,
    drc,
    jwks,
    ed,
    rsa,
    dataDir,
    config,
    auditDir,
    logLines,
    token: (claims, o = {}) => signToken(o.key ?? ed, claims, { now: NOW, kid: o.kid, typ: o.typ }),
    query(resource, params, o = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers }
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
      if (o.matter !== undefined) headers['qiao-matter'] = o.matter
      if (o.caseId !== undefined) headers['qiao-case'] = o.caseId
      return post(o.path ?? `/v1/resources/${resource}/query`, headers, params)
    },
    write(resource, body, o) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        authorization: `Bearer ${o.token}`,
        'qiao-matter': o.matter,
        'qiao-case': o.caseId,
      }
      if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey
      return post(`/v1/resources/${resource}/records`, headers, body)
    },
    async get(path, token) {
      const res = await request(`${gateway.url}${path}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      })
      return toResult(res)
    },
    call: jsonCaller(() => gateway.url),
    async auditRecords() {
      const records: ExchangeAuditRecord[] = []
      for await (const entry of gateway.deps.audit.query({ kind: 'exchange' })) {
        records.push(entry.record as ExchangeAuditRecord)
      }
      return records
    },
    async restart() {
      await gateway.close()
      gateway = await start()
    },
    async close() {
      await gateway.close()
      await sim.close()
      await drc.close()
      await jwks.close()
      await rm(dataDir, { recursive: true, force: true })
      if (marketSchema) {
        const client = new pg.Client({ connectionString: LOCAL_PG })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(marketSchema)} CASCADE`)
        await client.end()
      }
    },
  }
}
