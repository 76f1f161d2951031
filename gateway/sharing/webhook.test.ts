import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../telemetry/logger.js'
import { createWebhookSender, type SharingNotice, type WebhookOptions, type WebhookRequest } from './webhook.js'

const log = createLogger('silent')

const reminder: SharingNotice = {
  type: 'grant.expiry-reminder',
  at: '2026-03-10T02:00:00.000Z',
  daysLeft: 30,
  grant: {
    id: 'g-1',
    matter: 'talent-housing-subsidy',
    resource: 'housing.gongjijin-deposit',
    consumer: 'hr-bureau',
    validTo: '2026-04-09',
  },
}

interface Received {
  readonly method: string | undefined
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

let servers: Server[] = []
afterEach(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  servers = []
})

/** A receiver on loopback answering each request with the status `answer` gives (or holding it, with `hold`). */
async function receiver(answer: (n: number, res: ServerResponse) => number | undefined) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      const status = answer(received.length, res)
      if (status !== undefined) res.writeHead(status).end()
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/qiao`, server }
}

function sender(url: string, options: Partial<WebhookOptions> = {}) {
  const waits: number[] = []
  let failures = 0
  const webhook = createWebhookSender({
    url,
    log,
    sleep: async (ms) => {
      waits.push(ms)
    },
    onFailure: () => failures++,
    ...options,
  })
  return { webhook, waits, failures: () => failures }
}

describe('sharing webhook', () => {
  it('posts the notice as JSON and counts a 2xx as delivered', async () => {
    const { received, url } = await receiver(() => 204)
    const { webhook, waits, failures } = sender(url)
    expect(await webhook.send(reminder)).toBe(true)
    expect(received).toHaveLength(1)
    const [req] = received
    expect(req?.method).toBe('POST')
    expect(req?.headers['content-type']).toBe('application/json')
    expect(req?.headers['user-agent']).toBe('qiao')
    expect(req?.headers['x-qiao-signature']).toBeUndefined()
    expect(JSON.parse(req?.body ?? '')).toEqual(reminder)
    expect(waits).toEqual([])
    expect(failures()).toBe(0)
  })

  it('retries once, after 1 s, when the receiver answers 500', async () => {
    const { received, url } = await receiver((n) => (n === 1 ? 500 : 200))
    const { webhook, waits, failures } = sender(url)
    expect(await webhook.send(reminder)).toBe(true)
    expect(received).toHaveLength(2)
    expect(received[1]?.body).toBe(received[0]?.body)
    expect(waits).toEqual([1000])
    expect(failures()).toBe(0)
  })

  it('gives up after the retry: false, counted once, no third attempt', async () => {
    const { received, url } = await receiver(() => 503)
    const { webhook, waits, failures } = sender(url)
    expect(await webhook.send(reminder)).toBe(false)
    expect(received).toHaveLength(2)
    expect(waits).toEqual([1000])
    expect(failures()).toBe(1)
  })

  it('gives up on a receiver that is not there, without throwing', async () => {
    const { url, server } = await receiver(() => 200)
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    servers = []
    const { webhook, waits, failures } = sender(url)
    expect(await webhook.send(reminder)).toBe(false)
    expect(waits).toEqual([1000])
    expect(failures()).toBe(1)
  })

  it('signs the body with the secret: X-Qiao-Signature verifies with HMAC-SHA256 of the bytes received', async () => {
    const secret = new TextEncoder().encode('a shared secret of the receiver')
    const { received, url } = await receiver(() => 200)
    const { webhook } = sender(url, { secret })
    expect(await webhook.send(reminder)).toBe(true)
    const [req] = received
    const expected = createHmac('sha256', secret)
      .update(req?.body ?? '')
      .digest('hex')
    expect(req?.headers['x-qiao-signature']).toBe(`sha256=${expected}`)
    const other = createHmac('sha256', 'another secret')
      .update(req?.body ?? '')
      .digest('hex')
    expect(req?.headers['x-qiao-signature']).not.toBe(`sha256=${other}`)
  })

  it('keeps at most maxInFlight notices in flight; the others wait their turn', async () => {
    // The HTTP client is the injected one here, so that the test decides when each answer comes.
    const pending: Array<{ id: string; answer: () => void }> = []
    const fetch: WebhookRequest = (_url, options) =>
      new Promise((resolve) => {
        const id = (JSON.parse(options.body) as { grant: { id: string } }).grant.id
        pending.push({ id, answer: () => resolve({ statusCode: 200, body: { dump: async () => {} } }) })
      })
    const { webhook } = sender('http://127.0.0.1:9/unused', { maxInFlight: 2, fetch })
    const notices = Array.from({ length: 5 }, (_, i) => ({ ...reminder, grant: { ...reminder.grant, id: `g-${i}` } }))
    const results = Promise.all(notices.map((n) => webhook.send(n)))
    const settle = () => new Promise((resolve) => setImmediate(resolve))

    await settle()
    expect(pending.map((p) => p.id)).toEqual(['g-0', 'g-1'])
    pending.shift()?.answer()
    await settle()
    // One answered, one more sent, in the order handed over.
    expect(pending.map((p) => p.id)).toEqual(['g-1', 'g-2'])
    while (pending.length > 0) {
      expect(pending.length).toBeLessThanOrEqual(2)
      pending.shift()?.answer()
      await settle()
    }
    expect(await results).toEqual([true, true, true, true, true])
  })
})
