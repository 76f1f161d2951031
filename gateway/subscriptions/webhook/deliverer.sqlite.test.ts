import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CapturingLogger } from '../../../connectors/kit/conformance/capturing-logger.js'
import { STATE_MODULES } from '../../state/modules.js'
import { openSqliteState } from '../../state/sqlite.js'
import type { StateStore } from '../../state/store.js'
import type { JsonValue } from '../engine.js'
import { type OutboxEngine, openOutboxEngine } from '../outbox/engine.js'
import {
  type AttemptOutcome,
  startWebhookDelivery,
  type WebhookDelivery,
  type WebhookDeliveryOptions,
} from './deliverer.js'
import { WebhookUrlError } from './errors.js'
import { generateWebhookSecret, verifyWebhook } from './signing.js'

/**
 * The webhook deliverer against real HTTP receivers on loopback and the outbox engine on SQLite. The engine's clock
 * is injected (moved by hand past ack deadlines); retry delays are 10 ms.
 */

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly json: {
    id: string
    subscription: string
    cursor: string
    attempt: number
    publishedAt: string
    data: JsonValue
  }
}

/**
 * A receiver whose answer to each request `answer` decides: a status, 'hang' (never answers), 'redirect' (302 to
 * itself) or 'big' (200 with a 1 MiB body).
 */
async function startReceiver(answer: (n: number, got: Received) => number | 'hang' | 'redirect' | 'big') {
  const received: Received[] = []
  const hanging: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const got = { headers: req.headers, body, json: JSON.parse(body) }
      received.push(got)
      const status = answer(received.length, got)
      if (status === 'hang') hanging.push(res)
      else if (status === 'redirect') res.writeHead(302, { location: '/elsewhere' }).end()
      else if (status === 'big') res.writeHead(200).end(Buffer.alloc(1024 * 1024, 0x61))
      else res.writeHead(status, { 'content-type': 'text/plain' }).end('receiver said: 张三 320102199001011234')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    received,
    port,
    url: `http://127.0.0.1:${port}/hooks/qiao?token=query-secret-xyz`,
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const PAYLOAD = { permitNo: '320115202612010101', ownerLead: '周立新', ownerLeadIdNo: '320102********1234' }
const loopback = { allowHttp: true, allowPrivateAddresses: true }

let dir: string
let state: StateStore
let engine: OutboxEngine
let offset = 0
const clock = { now: () => Date.now() + offset }
let receiver: Receiver | undefined
let deliverers: WebhookDelivery[] = []
const secret = generateWebhookSecret()

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-webhook-'))
  state = await openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
  offset = 0
  engine = await openOutboxEngine({ state, clock, retryDelayMs: () => 10, purgeIntervalMs: 0, pollIntervalMs: 10 })
})
afterEach(async () => {
  for (const d of deliverers) await d.close()
  deliverers = []
  await engine.close()
  await state.close()
  await receiver?.close()
  receiver = undefined
  await rm(dir, { recursive: true, force: true })
})

function start(options: Partial<WebhookDeliveryOptions> & { log?: CapturingLogger } = {}) {
  const log = options.log ?? new CapturingLogger()
  const delivery = startWebhookDelivery({
    engine,
    subscriptionId: 's1',
    url: (receiver as Receiver).url,
    secret,
    urlPolicy: loopback,
    clock,
    log,
    waitMs: 50,
    timeoutMs: 2_000,
    ...options,
  })
  deliverers.push(delivery)
  return { delivery, log }
}

describe('webhook deliverer', () => {
  it('delivers a published event once, signed and verifiable, with the event id as webhook-id', async () => {
    receiver = await startReceiver(() => 204)
    await engine.create('s1')
    const published = await engine.publish('s1', { id: 'housing.permit/320115202612010101/1', payload: PAYLOAD })
    const { delivery } = start()
    await until('delivered', () => delivery.stats().delivered === 1)
    await new Promise((r) => setTimeout(r, 150))
    expect(receiver.received).toHaveLength(1)
    const [got] = receiver.received as [Received]
    expect(verifyWebhook({ secret, headers: got.headers, body: got.body, now: clock.now() })).toMatchObject({
      ok: true,
      id: 'housing.permit/320115202612010101/1',
    })
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.json).toEqual({
      id: 'housing.permit/320115202612010101/1',
      subscription: 's1',
      cursor: published.outcome === 'stored' ? published.cursor : '',
      attempt: 1,
      publishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: PAYLOAD,
    })
    expect(delivery.stats()).toMatchObject({ delivered: 1, retried: 0, deadLettered: 0, inFlight: 0, gone: false })
  })

  it("retries the receiver's 500s with the same webhook-id, re-signed, and acks once it recovers", async () => {
    receiver = await startReceiver((n) => (n <= 2 ? 500 : 200))
    await engine.create('s1', { maxAttempts: 5 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const outcomes: AttemptOutcome[] = []
    const { delivery } = start({ onAttempt: (_d, o) => outcomes.push(o) })
    await until('delivered', () => delivery.stats().delivered === 1)
    expect(receiver.received.map((r) => [r.headers['webhook-id'], r.json.attempt])).toEqual([
      ['e1', 1],
      ['e1', 2],
      ['e1', 3],
    ])
    for (const r of receiver.received) {
      expect(verifyWebhook({ secret, headers: r.headers, body: r.body, now: clock.now() }).ok).toBe(true)
    }
    expect(outcomes).toEqual([
      { result: 'failed', reason: 'http-500', status: 500, next: 'retry' },
      { result: 'failed', reason: 'http-500', status: 500, next: 'retry' },
      { result: 'delivered', status: 200, acknowledged: true },
    ])
    expect(delivery.stats()).toMatchObject({ delivered: 1, retried: 2, lastFailure: 'http-500' })
    expect(await engine.deadLetters('s1')).toEqual([])
  })

  it('dead-letters after maxAttempts with the reason, goes on with the next, and logs nothing of the payload', async () => {
    receiver = await startReceiver((_n, got) => (got.json.id === 'e1' ? 503 : 200))
    await engine.create('s1', { maxAttempts: 3 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    await engine.publish('s1', { id: 'e2', payload: PAYLOAD })
    const { delivery, log } = start()
    await until('e2 delivered', () => delivery.stats().delivered === 1)
    expect(receiver.received.map((r) => r.json.id)).toEqual(['e1', 'e1', 'e1', 'e2'])
    const [dead] = await engine.deadLetters('s1')
    expect(dead).toMatchObject({ eventId: 'e1', attempts: 3, reason: 'http-503' })
    expect(delivery.stats()).toMatchObject({ delivered: 1, retried: 2, deadLettered: 1 })
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(['webhook event dead-lettered'])
    const text = log.text()
    for (const leak of [...Object.values(PAYLOAD), 'query-secret-xyz', 'receiver said', secret, secret.slice(6)]) {
      expect(text).not.toContain(leak)
    }
  })

  it('times out a receiver that hangs and retries it', async () => {
    receiver = await startReceiver((n) => (n === 1 ? 'hang' : 200))
    await engine.create('s1', { maxAttempts: 3 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const outcomes: AttemptOutcome[] = []
    const { delivery } = start({ timeoutMs: 200, onAttempt: (_d, o) => outcomes.push(o) })
    await until('delivered', () => delivery.stats().delivered === 1)
    expect(outcomes[0]).toEqual({ result: 'failed', reason: 'timeout', next: 'retry' })
    expect(receiver.received.map((r) => [r.json.id, r.json.attempt])).toEqual([
      ['e1', 1],
      ['e1', 2],
    ])
  })

  it('keeps publish order with concurrency 1, a failed event holding back the ones after it', async () => {
    receiver = await startReceiver((n) => (n === 2 ? 500 : 200))
    await engine.create('s1', { maxAttempts: 3 })
    for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) await engine.publish('s1', { id, payload: PAYLOAD })
    const { delivery } = start()
    await until('all delivered', () => delivery.stats().delivered === 5)
    expect(receiver.received.map((r) => r.json.id)).toEqual(['e1', 'e2', 'e2', 'e3', 'e4', 'e5'])
  })

  it('close() stops with the attempt in flight unanswered; it is redelivered later with the same id', async () => {
    let hang = true
    receiver = await startReceiver(() => (hang ? 'hang' : 200))
    await engine.create('s1', { ackWaitMs: 1_000, maxAttempts: 3 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const first = start({ drainMs: 50 }).delivery
    await until('the receiver holds the first attempt', () => receiver?.received.length === 1)
    await first.close()
    expect(first.stats()).toMatchObject({ delivered: 0, retried: 0, deadLettered: 0, inFlight: 0 })
    expect(await engine.deadLetters('s1')).toEqual([])

    hang = false
    offset += 1_500 // past the ack deadline
    const second = start().delivery
    await until('redelivered', () => second.stats().delivered === 1)
    expect(receiver.received.map((r) => [r.headers['webhook-id'], r.json.attempt])).toEqual([
      ['e1', 1],
      ['e1', 2],
    ])
  })

  it('close() lets an attempt in flight finish within drainMs and acks it', async () => {
    receiver = await startReceiver(() => 200)
    await engine.create('s1')
    const { delivery } = start()
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    await until('sent', () => receiver?.received.length === 1)
    await delivery.close()
    expect(delivery.stats().delivered).toBe(1)
    expect(await engine.fetch('s1')).toEqual([])
  })

  it('410 Gone: reports it once through onGone and naks', async () => {
    receiver = await startReceiver(() => 410)
    await engine.create('s1', { maxAttempts: 2 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const gone: string[] = []
    const { delivery } = start({ onGone: (id) => gone.push(id) })
    await until('dead-lettered', () => delivery.stats().deadLettered === 1)
    expect(gone).toEqual(['s1'])
    expect(delivery.stats()).toMatchObject({ gone: true, lastFailure: 'http-410-gone' })
    expect((await engine.deadLetters('s1'))[0]?.reason).toBe('http-410-gone')
  })

  it('sends nothing when beforeSend (the audit) fails: fail closed', async () => {
    receiver = await startReceiver(() => 200)
    await engine.create('s1', { maxAttempts: 1 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const { delivery } = start({
      beforeSend: async () => {
        throw new Error('audit store down')
      },
    })
    await until('dead-lettered', () => delivery.stats().deadLettered === 1)
    expect(receiver.received).toEqual([])
    expect((await engine.deadLetters('s1'))[0]?.reason).toBe('before-send-failed')
  })

  it('refuses at delivery a host that resolves to loopback, and delivers to it where private addresses are allowed', async () => {
    receiver = await startReceiver(() => 200)
    await engine.create('s1', { maxAttempts: 1 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const url = `http://receiver.example.cn:${receiver.port}/hook`
    const resolve = async () => [{ address: '127.0.0.1', family: 4 }]
    const strict = start({ url, urlPolicy: { allowHttp: true }, resolve }).delivery
    await until('dead-lettered', () => strict.stats().deadLettered === 1)
    expect(receiver.received).toEqual([])
    expect((await engine.deadLetters('s1'))[0]?.reason).toBe('address-refused')
    await strict.close()

    await engine.publish('s1', { id: 'e2', payload: PAYLOAD })
    const open = start({ url, urlPolicy: loopback, resolve }).delivery
    await until('delivered', () => open.stats().delivered === 1)
    expect(receiver.received.map((r) => r.json.id)).toEqual(['e2'])
  })

  it('reads a large answer only up to maxBodyBytes and still acks the 2xx', async () => {
    receiver = await startReceiver(() => 'big')
    await engine.create('s1')
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    await engine.publish('s1', { id: 'e2', payload: PAYLOAD })
    const { delivery } = start({ maxBodyBytes: 1024 })
    await until('both delivered', () => delivery.stats().delivered === 2)
    expect(receiver.received.map((r) => r.json.id)).toEqual(['e1', 'e2'])
  })

  it('does not follow redirects, and names a refused connection by its code', async () => {
    receiver = await startReceiver(() => 'redirect')
    await engine.create('s1', { maxAttempts: 1 })
    await engine.publish('s1', { id: 'e1', payload: PAYLOAD })
    const redirected = start().delivery
    await until('dead-lettered', () => redirected.stats().deadLettered === 1)
    expect(receiver.received.map((r) => r.json.id)).toEqual(['e1'])
    expect((await engine.deadLetters('s1'))[0]?.reason).toBe('http-302')
    await redirected.close()

    const closed = await startReceiver(() => 200)
    const url = `http://127.0.0.1:${closed.port}/hook`
    await closed.close()
    await engine.publish('s1', { id: 'e2', payload: PAYLOAD })
    const refused = start({ url }).delivery
    await until('dead-lettered', () => refused.stats().deadLettered === 1)
    expect((await engine.deadLetters('s1')).map((d) => d.reason)).toContain('network-ECONNREFUSED')
  })

  it('runs several attempts at once with concurrency above 1, up to the policy maxInFlight', async () => {
    let open = 0
    let most = 0
    const held: Array<() => void> = []
    receiver = await startReceiver(() => 200)
    await engine.create('s1', { maxInFlight: 3 })
    const { delivery } = start({
      concurrency: 3,
      beforeSend: async () => {
        open++
        most = Math.max(most, open)
        await new Promise<void>((resolve) => held.push(resolve))
        open--
      },
    })
    for (const id of ['e1', 'e2', 'e3', 'e4']) await engine.publish('s1', { id, payload: PAYLOAD })
    await until('three in flight', () => held.length === 3)
    for (const release of held.splice(0)) release()
    await until('the fourth in flight', () => held.length === 1)
    for (const release of held.splice(0)) release()
    await until('all delivered', () => delivery.stats().delivered === 4)
    expect(most).toBe(3)
    expect(receiver.received.map((r) => r.json.id).sort()).toEqual(['e1', 'e2', 'e3', 'e4'])
  })

  it('refuses to start for a URL the policy refuses, or a malformed secret', async () => {
    receiver = await startReceiver(() => 200)
    expect(() => start({ urlPolicy: { allowHttp: true } })).toThrowError(WebhookUrlError)
    expect(() => start({ url: 'https://u:p@127.0.0.1/' })).toThrowError(WebhookUrlError)
    expect(() => start({ secret: 'whsec_short' })).toThrowError(/webhook secret/)
  })
})
