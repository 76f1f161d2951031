import { request as httpRequest } from 'node:http'
import { SpanKind } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTracing, type Tracing } from '../gateway/telemetry/tracing.js'
import { type Harness, startHarness } from './support/gateway.js'

/**
 * Issue #5 §1: a query produces a trace with server, connector and client spans sharing one trace id, the legacy
 * system receives that `traceparent`, and /metrics parses and moves as calls are made.
 */
const exporter = new InMemorySpanExporter()
let tracing: Tracing
let h: Harness
const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'

beforeAll(async () => {
  tracing = await startTracing({}, [new SimpleSpanProcessor(exporter)])
  h = await startHarness({ env: { QIAO_METRICS_PORT: '0' } })
})
afterAll(async () => {
  await h?.close()
  await tracing?.shutdown()
})

function postWithNodeHttp(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

interface Sample {
  labels: Record<string, string>
  value?: string
  count?: string
}
type Family = { name: string; type: string; metrics: Sample[] }

/** From the metrics listener (QIAO_METRICS_PORT): the public port does not serve /metrics. */
async function scrape(): Promise<Map<string, Family>> {
  const res = await request(`${h.gateway.metricsUrl}/metrics`)
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
  const families = parsePrometheusTextFormat(await res.body.text()) as Family[]
  return new Map(families.map((f) => [f.name, f]))
}

function counterValue(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const family = families.get(name)
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))
  return Number(sample?.value ?? 0)
}

describe('tracing', () => {
  it('server, connector and undici client spans share one trace id, and the simulator got the traceparent', async () => {
    exporter.reset()
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    // node:http, not undici: the test's own client must not be traced by the undici instrumentation.
    const status = await postWithNodeHttp(
      `${h.gateway.url}/v1/resources/${PERMITS}/query`,
      JSON.stringify({ projectCode }),
      {
        authorization: `Bearer ${token}`,
        'qiao-matter': MATTER,
        'qiao-case': 'TR-1',
        'content-type': 'application/json',
        traceparent: incoming,
      },
    )
    expect(status).toBe(200)
    const spans = exporter.getFinishedSpans()
    const server = spans.find((s) => s.kind === SpanKind.SERVER)
    const connector = spans.find((s) => s.name.startsWith('connector housing-gongai.'))
    const client = spans.find(
      (s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === connector?.spanContext().spanId,
    )
    expect(server && connector && client).toBeTruthy()
    const traceId = server?.spanContext().traceId
    expect(traceId).toBe('0af7651916cd43dd8448eb211c80319c') // continues the caller's trace
    expect(connector?.spanContext().traceId).toBe(traceId)
    expect(client?.spanContext().traceId).toBe(traceId)
    expect(server?.attributes).toMatchObject({
      'qiao.resource': PERMITS,
      'qiao.matter': MATTER,
      'qiao.dept': 'drc',
      'qiao.decision': 'allow',
    })
    // No parameter or personal data in any span.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(projectCode)
    const received = h.sim.requests.at(-1)?.headers.traceparent
    expect(received).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`))
    // The trace id is in the audit record and in the log line.
    const record = (await h.auditRecords()).at(-1)
    expect(record?.traceId).toBe(traceId)
    expect(h.logLines.some((l) => l.includes(`"traceId":"${traceId}"`))).toBe(true)
  })

  it('problem bodies carry the trace id', async () => {
    const res = await h.query(PERMITS, {}, { matter: MATTER, caseId: 'TR-2' })
    expect(res.status).toBe(401)
    expect(res.json.traceId).toMatch(/^[0-9a-f]{32}$/)
  })
})

describe('metrics', () => {
  it('/metrics parses as Prometheus text and its counters move as calls are made', async () => {
    const before = await scrape()
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    for (let i = 0; i < 3; i++) {
      expect((await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: `M-${i}` })).status).toBe(200)
    }
    await h.query(PERMITS, { projectCode }, { token, matter: 'XK00208001', caseId: 'M-9' }) // denied
    const after = await scrape()
    const ok = { resource: PERMITS, matter: MATTER, dept: 'drc', decision: 'allow', status: '200' }
    expect(counterValue(after, 'qiao_requests_total', ok) - counterValue(before, 'qiao_requests_total', ok)).toBe(3)
    const denied = { resource: PERMITS, matter: 'XK00208001', decision: 'deny', status: '403' }
    expect(
      counterValue(after, 'qiao_requests_total', denied) - counterValue(before, 'qiao_requests_total', denied),
    ).toBe(1)
    expect(counterValue(after, 'qiao_audit_records_total', {})).toBeGreaterThan(
      counterValue(before, 'qiao_audit_records_total', {}),
    )
    expect(counterValue(after, 'qiao_token_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(0)
    expect(
      after.get('qiao_upstream_circuit_state')?.metrics.find((m) => m.labels.connector === 'housing-gongai')?.value,
    ).toBe('0')
    expect(after.get('qiao_request_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(after.get('qiao_upstream_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(after.get('qiao_audit_write_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(after.has('qiao_audit_queue_depth')).toBe(true)
  })

  it('has process and runtime metrics: CPU, event-loop lag, heap, GC, open handles', async () => {
    const metrics = await scrape()
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
      'nodejs_active_handles_total',
    ]) {
      expect(metrics.has(name), name).toBe(true)
    }
    expect(Number(metrics.get('process_cpu_seconds_total')?.metrics[0]?.value)).toBeGreaterThan(0)
  })

  it('the public port does not serve /metrics, and the metrics listener serves nothing else', async () => {
    const publicPort = await h.get('/metrics')
    expect(publicPort.status).toBe(404)
    expect(publicPort.text).not.toContain('qiao_requests_total')
    expect((await h.get('/healthz')).status).toBe(200)
    expect((await h.get('/readyz')).status).toBe(200)
    const metricsUrl = new URL(h.gateway.metricsUrl as string)
    expect(metricsUrl.hostname).toBe('127.0.0.1')
    expect(metricsUrl.port).not.toBe(String(h.gateway.port))
    const other = await request(`${h.gateway.metricsUrl}/v1/catalog`)
    await other.body.dump()
    expect(other.statusCode).toBe(404)
  })

  it('label values a caller invents are folded into _other', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    await h.query(PERMITS, {}, { token, matter: 'MADE-UP-1', caseId: 'X' })
    await h.query('made.up', {}, { token, matter: MATTER, caseId: 'X' })
    const metrics = await scrape()
    const samples = metrics.get('qiao_requests_total')?.metrics ?? []
    expect(samples.some((m) => m.labels.matter === 'MADE-UP-1' || m.labels.resource === 'made.up')).toBe(false)
    expect(samples.some((m) => m.labels.matter === '_other')).toBe(true)
  })
})
