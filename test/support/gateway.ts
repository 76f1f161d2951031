import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { request } from 'undici'
import { type RunningHousingSimulator, startHousingSimulator } from '../../connectors/housing-gongai/simulator/index.js'
import type { ExchangeAuditRecord } from '../../gateway/audit/record.js'
import { readConfig } from '../../gateway/config/settings.js'
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

/** 10:00 in Nanjing on the day the tests were written; the gateway and the simulator share this frozen clock. */
export const NOW = Date.parse('2026-11-26T02:00:00Z')
export const REPO = resolve(import.meta.dirname, '../..')

export interface HarnessOptions {
  /** Catalog text transform (applied to the demo catalog; schema paths are made absolute). */
  readonly catalog?: (text: string) => string
  /** Extra variables for catalog interpolation (e.g. a wrong app secret). */
  readonly vars?: Record<string, string>
  /** Extra QIAO_* settings. */
  readonly env?: Record<string, string>
  /** Point the connector at this URL instead of the simulator (e.g. a closed port). */
  readonly upstreamUrl?: string
}

export interface Harness {
  readonly gateway: RunningGateway
  readonly sim: RunningHousingSimulator
  readonly jwks: JwksServer
  readonly ed: TestKey
  readonly rsa: TestKey
  readonly dataDir: string
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
  get(path: string, token?: string): Promise<HttpResult>
  /** Exchange records of the audit log, in log order. */
  auditRecords(): Promise<ExchangeAuditRecord[]>
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

/** Starts a JWKS endpoint, the 住建 simulator and the gateway, all on loopback, with a frozen clock. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [ed, rsa] = await Promise.all([createTestKey('EdDSA', 'ed-2026'), createTestKey('RS256', 'rsa-2026')])
  const jwks = await startJwksServer([ed.publicJwk, rsa.publicJwk])
  const sim = await startHousingSimulator({ port: 0, now: () => NOW })
  const dataDir = await mkdtemp(join(tmpdir(), 'qiao-test-'))

  let catalogPath = join(REPO, 'catalog.yaml')
  if (options.catalog) {
    const text = (await readFile(catalogPath, 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`)
    catalogPath = join(dataDir, 'catalog.yaml')
    await writeFile(catalogPath, options.catalog(text))
  }
  const configResult = readConfig({
    QIAO_PORT: '0',
    QIAO_CATALOG: catalogPath,
    QIAO_DATA_DIR: dataDir,
    QIAO_JWKS_URL: jwks.url,
    QIAO_ISSUER: TEST_ISSUER,
    QIAO_AUDIENCE: TEST_AUDIENCE,
    QIAO_LOG_LEVEL: 'silent',
    ...options.env,
  })
  if (!configResult.ok) throw new Error(configResult.errors.join('\n'))
  const logLines: string[] = []
  const gateway = await startGateway({
    config: configResult.config,
    clock: { now: () => NOW },
    logger: createLogger('debug', { write: (line: string) => void logLines.push(line) }),
    vars: { QIAO_HOUSING_URL: options.upstreamUrl ?? sim.url, ...options.vars },
  })
  const auditDir = join(configResult.config.auditDir, configResult.config.auditLogId)

  return {
    gateway,
    sim,
    jwks,
    ed,
    rsa,
    dataDir,
    auditDir,
    logLines,
    token: (claims, o = {}) => signToken(o.key ?? ed, claims, { now: NOW, kid: o.kid, typ: o.typ }),
    async query(resource, params, o = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers }
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
      if (o.matter !== undefined) headers['qiao-matter'] = o.matter
      if (o.caseId !== undefined) headers['qiao-case'] = o.caseId
      const res = await request(`${gateway.url}${o.path ?? `/v1/resources/${resource}/query`}`, {
        method: 'POST',
        headers,
        body: typeof params === 'string' ? params : JSON.stringify(params),
      })
      return toResult(res)
    },
    async get(path, token) {
      const res = await request(`${gateway.url}${path}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      })
      return toResult(res)
    },
    async auditRecords() {
      const records: ExchangeAuditRecord[] = []
      for await (const entry of gateway.deps.audit.query({ kind: 'exchange' })) {
        records.push(entry.record as ExchangeAuditRecord)
      }
      return records
    },
    async close() {
      await gateway.close()
      await sim.close()
      await jwks.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
