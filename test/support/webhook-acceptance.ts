import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../../connectors/housing-gongai/simulator/index.js'
import type { ExchangeAuditRecord } from '../../gateway/audit/record.js'
import { jsonCaller } from './gateway.js'
import {
  type GatewayProcess,
  type QiaoEnv,
  serveFixture,
  startGatewayProcess,
  stopGatewayProcess,
} from './gateway-process.js'
import { approveLiveGrant, revokeLiveGrant, WATER_PERMITS_FIELDS } from './live-grant.js'
import { type SelfSignedCertificate, selfSignedCertificate } from './self-signed.js'
import { until } from './until.js'
import { type ReceivedPost, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js'

/**
 * Issue 18's webhook acceptance on real `qiao serve` processes, run once per delivery engine: the embedded outbox
 * (the state store) and NATS JetStream. 发改 subscribes to 住建's construction permits with an https webhook on
 * loopback (allowed by QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS, trusted through NODE_EXTRA_CA_CERTS), the simulator issues
 * permits, and the receiver records every POST. The feed interval and retry schedule are serve's defaults.
 */

const PERMITS = 'housing.construction-permit'
const DRC_MATTER = 'QT00301001'
const WATER_MATTER = 'XK00377001'

const eventIdOf = (permit: { SGXKZBH: string; LSH?: string | undefined }) =>
  `${PERMITS}/${permit.SGXKZBH}/${permit.LSH ?? ''}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function describeWebhookAcceptance(engine: { readonly name: string; readonly env: QiaoEnv }): void {
  const world = serveFixture({
    prefix: `qiao-hooks-${engine.name}-`,
    keyId: 'hooks-key',
    simulator: startHousingSimulator,
  })
  let tls: SelfSignedCertificate
  let receiver: WebhookReceiver
  let gateway: GatewayProcess
  const call = jsonCaller(() => gateway.url)
  const created: { id: string; token: string }[] = []

  const env = (): QiaoEnv => ({
    QIAO_DATA_DIR: join(world.dir, 'data'),
    ...world.trust(),
    QIAO_AUDIT_LOG_ID: `hooks-${engine.name}`,
    QIAO_HOUSING_URL: world.sim.url,
    QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS: '127.0.0.1',
    NODE_EXTRA_CA_CERTS: tls.certFile,
    ...engine.env,
  })
  const drc = () => world.token({ dept: 'drc', sub: 'drc-officer-1', scope: `${DRC_MATTER}:${PERMITS}:read` })
  const water = () => world.token({ dept: 'water', sub: 'water-officer-2', scope: `${WATER_MATTER}:${PERMITS}:read` })

  async function subscribeWebhook(matter: string, token: string): Promise<string> {
    const res = await call('POST', '/v1/subscriptions', token, {
      matter,
      resource: PERMITS,
      delivery: { kind: 'webhook', url: receiver.url },
    })
    expect(res.json.errors ?? res.status, gateway.output()).toBe(201)
    const { id, secret } = res.json.data as { id: string; secret: string }
    receiver.secrets.set(id, secret)
    created.push({ id, token })
    return id
  }

  async function auditedFor(subscription: string): Promise<ExchangeAuditRecord[]> {
    const auditor = await world.token({ dept: 'audit', sub: 'auditor-1', scope: 'audit:read' })
    const res = await call('GET', `/v1/audit/records?case=subscription:${subscription}&limit=100`, auditor)
    expect(res.status, res.text).toBe(200)
    return (res.json.records as { record: ExchangeAuditRecord }[]).map((e) => e.record)
  }

  const postsOf = (eventId: string): ReceivedPost[] => receiver.posts.filter((p) => p.eventId === eventId)
  const answered = (eventId: string) => postsOf(eventId).filter((p) => p.answered)

  beforeAll(async () => {
    tls = await selfSignedCertificate(world.dir)
    receiver = await startWebhookReceiver(tls)
    gateway = await startGatewayProcess(env())
  }, 60_000)

  afterAll(async () => {
    // Deleting them also removes their queues (JetStream consumers) from the shared broker.
    for (const s of created) await call('DELETE', `/v1/subscriptions/${s.id}`, s.token).catch(() => undefined)
    if (gateway) await stopGatewayProcess(gateway)
    await receiver?.close()
  }, 30_000)

  describe(`webhooks on qiao serve, ${engine.name} engine`, () => {
    let hook: string
    const issued: string[] = []

    it('a permit issued at 住建 reaches 发改’s webhook within 5 s, signed, masked per its grant, audited', async () => {
      hook = await subscribeWebhook(DRC_MATTER, await drc())
      const started = Date.now()
      const permit = world.sim.issuePermit()
      const id = eventIdOf(permit)
      issued.push(id)
      const [post] = await until(
        'the permit is POSTed',
        () => (answered(id).length > 0 ? answered(id) : undefined),
        15_000,
      )
      expect((post as ReceivedPost).at - started).toBeLessThan(5_000)
      expect(post).toMatchObject({ webhookId: id, subscription: hook, verified: true })
      const body = JSON.parse((post as ReceivedPost).body) as { data: { key: string; record: Record<string, unknown> } }
      expect(body.data.key).toBe(permit.SGXKZBH)
      const record = body.data.record
      expect(record.permitNo).toBe(permit.SGXKZBH)
      for (const masked of ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'])
        expect(String(record[masked])).toContain('*')
      // Not in 发改's grant.
      expect(record).not.toHaveProperty('planningPermitNo')
      expect(record).not.toHaveProperty('drawingReviewCertNo')

      const [audit, ...more] = await auditedFor(hook)
      expect(more).toEqual([])
      expect(audit).toMatchObject({
        action: 'read',
        decision: 'allow',
        matter: DRC_MATTER,
        resource: PERMITS,
        requester: { dept: 'drc' },
        recordCount: 1,
        masked: ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'],
      })
    })

    it('the webhook down for a minute: delivered once after it recovers, with the same event id', async () => {
      await receiver.stop()
      const downAt = Date.now()
      const id = eventIdOf(world.sim.issuePermit())
      issued.push(id)
      await sleep(60_000 - (Date.now() - downAt))
      expect(gateway.child.exitCode).toBeNull()
      await receiver.start()
      // The engine's backoff (1 s doubling) has its next attempt about a minute after the first.
      await until('the retried POST arrives', () => (answered(id).length > 0 ? true : undefined), 60_000)
      await sleep(3_000)
      const trace = postsOf(id)
        .map((p) => `${p.at - downAt} ms: ${p.body.slice(0, 200)}`)
        .join('\n')
      expect(
        postsOf(id).map((p) => [p.webhookId, p.answered, p.verified]),
        trace,
      ).toEqual([[id, true, true]])
      // Nothing else came again.
      expect(answered(issued[0] as string)).toHaveLength(1)
    }, 150_000)

    it('SIGKILL mid-delivery: delivered after restart; a duplicate only with the same event id', async () => {
      receiver.mode = 'hold'
      const id = eventIdOf(world.sim.issuePermit())
      issued.push(id)
      await until('the POST is in flight', () => (postsOf(id).length > 0 ? true : undefined), 15_000)
      await stopGatewayProcess(gateway, 'SIGKILL')
      receiver.mode = 'ok'
      gateway = await startGatewayProcess(env(), 'restarted gateway')
      // Redelivered once the killed attempt's ack deadline (30 s) has passed.
      await until('the event is delivered again', () => (answered(id).length > 0 ? true : undefined), 60_000)
      await sleep(2_000)
      const posts = postsOf(id)
      expect(posts.length).toBeGreaterThanOrEqual(2)
      expect(answered(id)).toHaveLength(1)
      for (const p of posts) expect(p).toMatchObject({ webhookId: id, verified: true })
      const payloads = new Set(posts.map((p) => JSON.stringify((JSON.parse(p.body) as { data: unknown }).data)))
      expect(payloads.size).toBe(1)
      // Every event POSTed is one of the permits issued, each answered exactly once.
      expect(new Set(receiver.posts.map((p) => p.eventId))).toEqual(new Set(issued))
      for (const e of issued) expect(answered(e)).toHaveLength(1)
      expect(await auditedFor(hook)).toHaveLength(issued.length)
    }, 120_000)

    it('revoking the grant stops deliveries at once; the pull API replays from a cursor', async () => {
      const grant = await approveLiveGrant(call, (claims) => world.token(claims))
      const waterHook = await subscribeWebhook(WATER_MATTER, await water())
      const both = eventIdOf(world.sim.issuePermit())
      issued.push(both)
      await until(
        'the permit reaches both',
        () => {
          const to = new Set(answered(both).map((p) => p.subscription))
          return to.has(hook) && to.has(waterHook) ? true : undefined
        },
        15_000,
      )
      const forWater = answered(both).find((p) => p.subscription === waterHook) as ReceivedPost
      const record = (JSON.parse(forWater.body) as { data: { record: Record<string, unknown> } }).data.record
      expect(Object.keys(record).sort()).toEqual(WATER_PERMITS_FIELDS)

      await revokeLiveGrant(call, grant, '排水许可审批已办结，停止使用')
      const shown = await call('GET', `/v1/subscriptions/${waterHook}`, await water())
      expect(shown.json.data).toMatchObject({ state: 'suspended', suspendedReason: 'grant-revoked' })
      const after = eventIdOf(world.sim.issuePermit())
      issued.push(after)
      await until('the next permit reaches 发改', () => (answered(after).length > 0 ? true : undefined), 15_000)
      await sleep(2_000)
      expect(postsOf(after).map((p) => p.subscription)).toEqual([hook])
      expect(receiver.posts.filter((p) => p.subscription === waterHook).map((p) => p.eventId)).toEqual([both])

      // 发改's events, replayed from the first one's cursor: every later one, in order.
      const token = await drc()
      const all = await call('GET', `/v1/subscriptions/${hook}/events?limit=100`, token)
      expect(all.status).toBe(200)
      const events = all.json.data as { id: string; cursor: string }[]
      expect(events.map((e) => e.id)).toEqual(issued)
      const replayed = await call('GET', `/v1/subscriptions/${hook}/events?after=${events[0]?.cursor}`, token)
      expect((replayed.json.data as { id: string }[]).map((e) => e.id)).toEqual(issued.slice(1))
    }, 60_000)
  })
}
