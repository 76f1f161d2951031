import { describe, expect, it } from 'vitest'
import { GatewayError } from '../errors/gateway-error.js'
import type { Reached } from '../pipeline/exchange.js'
import { createExchangeObserver } from './exchange-observer.js'
import { createLogger } from './logger.js'
import { createMetrics } from './metrics.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvZmZpY2VyLTEifQ.c2lnbmF0dXJl'
const ID_NUMBER = '320102198001011234'

function observed(level = 'info') {
  const lines: string[] = []
  const log = createLogger(level, { write: (line: string) => void lines.push(line) })
  const metrics = createMetrics({
    circuits: () => [],
    audit: () => ({ appended: 0, syncs: 0, queueDepth: 0, checkpoints: 0 }),
    tokenCache: () => ({ hits: 0, misses: 0 }),
    connectorUp: () => [],
    quotaFallbacks: () => 0,
  })
  const observer = createExchangeObserver(metrics, log, { now: () => NOW + 12 })
  return { observer, metrics, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

/** A read that reached its release, carrying what must never be logged: a token, parameters, records. */
function answeredRead(): Reached {
  return {
    requestId: 'req-1',
    auditId: 'audit-1',
    startedAt: NOW,
    snapshot: { catalog: { matters: new Map([['QT00301001', {}]]), departments: new Map([['drc', {}]]) } },
    resourceId: 'housing.construction-permit',
    action: 'read',
    resource: { id: 'housing.construction-permit' },
    principal: { sub: 'officer-1', dept: 'drc', clientId: undefined, tokenId: TOKEN, scopes: new Set() },
    purpose: { matter: 'QT00301001', caseId: 'NJ-2026-000123' },
    grant: {},
    params: { ownerLeadIdNo: ID_NUMBER, authorization: `Bearer ${TOKEN}` },
    records: [{ ownerLeadIdNo: ID_NUMBER }],
    released: [{ ownerLeadIdNo: '3201**********1234' }],
    upstreamMs: 4,
  } as unknown as Reached
}

describe('the exchange line', () => {
  it('one line of ids and outcome, nothing of the token, the parameters or the records', () => {
    const { observer, lines } = observed()
    observer.finished(answeredRead(), undefined, 200, performance.now())
    const [line, ...more] = lines()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      level: 30,
      service: 'qiao',
      msg: 'exchange',
      requestId: 'req-1',
      auditId: 'audit-1',
      resource: 'housing.construction-permit',
      action: 'read',
      matter: 'QT00301001',
      dept: 'drc',
      decision: 'allow',
      reason: 'ok',
      status: 200,
      records: 1,
      upstreamMs: 4,
      totalMs: 12,
    })
    const text = JSON.stringify(line)
    for (const secret of [TOKEN, ID_NUMBER, 'officer-1', 'NJ-2026-000123']) expect(text).not.toContain(secret)
  })

  it('upstream problems and failures log at warn and error with the problem message, no parameter', () => {
    const { observer, lines } = observed()
    observer.finished(answeredRead(), new GatewayError('upstream-timeout', { internal: 'connector: deadline' }), 504, 0)
    observer.finished(answeredRead(), new GatewayError('internal', { internal: 'boom' }), 500, 0)
    const [warn, error] = lines()
    expect(warn).toMatchObject({ level: 40, msg: 'exchange upstream problem', reason: 'upstream-timeout' })
    expect(warn?.internal).toEqual(expect.any(String))
    expect(error).toMatchObject({ level: 50, msg: 'exchange failed', reason: 'internal' })
    expect(error?.err).toEqual(expect.any(String))
    for (const line of [warn, error]) expect(JSON.stringify(line)).not.toContain(ID_NUMBER)
  })

  it('other lines still go through the redaction', () => {
    const lines: string[] = []
    const log = createLogger('info', { write: (line: string) => void lines.push(line) })
    log.info({ params: { ownerLeadIdNo: ID_NUMBER }, token: TOKEN }, 'something else')
    expect(lines.join('')).not.toContain(ID_NUMBER)
    expect(lines.join('')).not.toContain(TOKEN)
  })

  it('at warn a successful call logs nothing', () => {
    const { observer, lines } = observed('warn')
    observer.finished(answeredRead(), undefined, 200, 0)
    expect(lines()).toEqual([])
  })
})

describe('the exchange metrics', () => {
  it('count each series once per call, across scrapes, with the duration histograms beside them', async () => {
    const { observer, metrics } = observed()
    for (let i = 0; i < 3; i++) observer.finished(answeredRead(), undefined, 200, performance.now())
    const denied = { ...answeredRead(), grant: undefined }
    observer.finished(denied, new GatewayError('grant-missing'), 403, performance.now())
    observer.upstream('housing-gongai', NOW)
    observer.upstream('housing-gongai', NOW, new GatewayError('upstream-unavailable'))
    const text = async () => metrics.registry.metrics()
    for (const scrape of [await text(), await text()]) {
      expect(scrape).toContain(
        'qiao_requests_total{resource="housing.construction-permit",matter="QT00301001",dept="drc",action="read",decision="allow",status="200"} 3',
      )
      expect(scrape).toContain('decision="deny",status="403"} 1')
      expect(scrape).toContain(
        'qiao_request_duration_seconds_count{resource="housing.construction-permit",decision="allow"} 3',
      )
      expect(scrape).toContain('qiao_upstream_duration_seconds_count{connector="housing-gongai",outcome="ok"} 1')
      expect(scrape).toContain(
        'qiao_upstream_duration_seconds_count{connector="housing-gongai",outcome="upstream-unavailable"} 1',
      )
      expect(scrape).toContain('qiao_upstream_errors_total{connector="housing-gongai",kind="upstream-unavailable"} 1')
    }
  })
})
