import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { verifyWebhook } from '../../gateway/subscriptions/webhook/signing.js'
import type { SelfSignedCertificate } from './self-signed.js'

/** One POST the receiver got: its Standard Webhooks id, the raw body, and whether the signature verified. */
export interface ReceivedPost {
  readonly webhookId: string
  /** The body's `subscription` and `id` (the event id). */
  readonly subscription: string
  readonly eventId: string
  readonly body: string
  readonly verified: boolean
  readonly at: number
  /** Whether it was answered 2xx (false: held, then dropped with the connection). */
  answered: boolean
}

/**
 * `ok` answers 204; `hold` reads the request and never answers (a receiver stuck mid-delivery). `stop()` closes the
 * listener and every connection, so the port refuses connections (a receiver that is down) until `start()`.
 */
export type ReceiverMode = 'ok' | 'hold'

export interface WebhookReceiver {
  /** `https://127.0.0.1:<port>/hook`, the same after a stop and start. */
  readonly url: string
  readonly posts: ReceivedPost[]
  /** Signing secrets by subscription id: a post is verified against its subscription's. */
  readonly secrets: Map<string, string>
  mode: ReceiverMode
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

/** An https webhook receiver on loopback (certificate `tls`), recording every POST. */
export async function startWebhookReceiver(tls: SelfSignedCertificate): Promise<WebhookReceiver> {
  const posts: ReceivedPost[] = []
  let port = 0
  let server: Server | undefined
  const receiver: WebhookReceiver = {
    get url() {
      return `https://127.0.0.1:${port}/hook`
    },
    posts,
    secrets: new Map(),
    mode: 'ok',
    async start() {
      const listener = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          const secret = receiver.secrets.get(subscriptionOf(body))
          const verified = secret !== undefined && verifyWebhook({ secret, headers: req.headers, body }).ok
          const post: ReceivedPost = {
            webhookId: String(req.headers['webhook-id']),
            subscription: subscriptionOf(body),
            eventId: String(parsed(body).id),
            body,
            verified,
            at: Date.now(),
            answered: false,
          }
          posts.push(post)
          if (receiver.mode === 'hold') return
          post.answered = true
          res.writeHead(204).end()
        })
      })
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject)
        listener.listen(port, '127.0.0.1', () => resolve())
      })
      port = (listener.address() as AddressInfo).port
      server = listener
    },
    async stop() {
      const listener = server
      server = undefined
      if (!listener) return
      const closed = new Promise((resolve) => listener.close(resolve))
      listener.closeAllConnections()
      await closed
    },
    close: () => receiver.stop(),
  }
  await receiver.start()
  return receiver
}

function parsed(body: string): Record<string, unknown> {
  try {
    return JSON.parse(body) as Record<string, unknown>
  } catch {
    return {}
  }
}

const subscriptionOf = (body: string): string => String(parsed(body).subscription)
