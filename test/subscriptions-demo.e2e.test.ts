import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWebhook } from '../gateway/subscriptions/webhook/signing.js'
import { type DemoProcess, demoToken, startDemo } from './support/demo-process.js'

/**
 * `qiao demo`: 发改 is subscribed by pull to 住建's construction permits, and the 住建 simulator issues a permit every
 * 30 s; the banner's curl (its token, its subscription) pulls it, projected under 发改's grant. A webhook subscription
 * (the demo allows http on loopback) gets the same permit POSTed, signed with the secret it was shown once.
 */

let demo: DemoProcess
let receiver: Server
const received: { headers: IncomingHttpHeaders; body: string }[] = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  demo = await startDemo()
}, 60_000)

afterAll(async () => {
  await demo?.close()
  await new Promise((resolve) => receiver?.close(resolve))
})

describe('qiao demo subscription', () => {
  it('prints a pull command that answers; a permit issued by the simulator arrives within ~30 s, pulled and by signed webhook', async () => {
    const out = demo.output()
    const found =
      /curl -sS '(http:\/\/[^']+\/v1\/subscriptions\/(sub_[0-9a-f]{32})\/events\?limit=10)' \\\n\s+-H 'Authorization: Bearer ([^']+)'/.exec(
        out,
      )
    expect(found, out).not.toBeNull()
    const [, url, id, token] = found as unknown as [string, string, string, string]
    const shown = await request(`${demo.origin}/v1/subscriptions/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(shown.statusCode).toBe(200)
    expect(((await shown.body.json()) as { data: unknown }).data).toMatchObject({
      consumer: 'drc',
      resource: 'housing.construction-permit',
      delivery: { kind: 'pull' },
      state: 'active',
    })
    // Another department does not see it.
    const other = await demoToken(demo, { dept: 'water', scope: 'XK00377001:housing.construction-permit:read' })
    const hidden = await request(`${demo.origin}/v1/subscriptions/${id}`, {
      headers: { authorization: `Bearer ${other}` },
    })
    expect(hidden.statusCode).toBe(404)
    await hidden.body.dump()

    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/permits`
    const created = await request(`${demo.origin}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        matter: 'QT00301001',
        resource: 'housing.construction-permit',
        delivery: { kind: 'webhook', url: hook },
      }),
    })
    expect(created.statusCode).toBe(201)
    const { secret, id: hookId } = ((await created.body.json()) as { data: { secret: string; id: string } }).data

    const end = Date.now() + 45_000
    let events: { payload: { record?: Record<string, unknown> } }[] = []
    while (events.length === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1_000))
      const res = await request(url, { headers: { authorization: `Bearer ${token}` } })
      expect(res.statusCode).toBe(200)
      events = ((await res.body.json()) as { data: typeof events }).data
    }
    expect(events.length).toBeGreaterThan(0)
    const record = events[0]?.payload.record as Record<string, unknown>
    expect(String(record.ownerLeadName)).toContain('*')
    expect(record).not.toHaveProperty('planningPermitNo')

    while (received.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200))
    const [post] = received
    expect(post).toBeDefined()
    const verified = verifyWebhook({ secret, headers: post?.headers ?? {}, body: post?.body ?? '' })
    expect(verified).toMatchObject({ ok: true })
    const delivered = JSON.parse(post?.body ?? '{}') as {
      subscription: string
      data: { record: Record<string, unknown> }
    }
    expect(delivered.subscription).toBe(hookId)
    expect(String(delivered.data.record.ownerLeadName)).toContain('*')
    expect(
      verifyWebhook({
        secret: `whsec_${Buffer.alloc(32).toString('base64')}`,
        headers: post?.headers ?? {},
        body: post?.body ?? '',
      }),
    ).toMatchObject({ ok: false })
  }, 60_000)
})
