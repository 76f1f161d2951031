import { createHmac } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { Logger } from '../telemetry/logger.js'
import type { Stage } from './model.js'

/**
 * What the sharing scheduler tells the department's office system (QIAO_SHARING_WEBHOOK_URL). Ids, departments,
 * resources, matters and dates only: never the contact, the legal basis or anything else the applicant wrote.
 */
export type SharingNotice =
  | {
      readonly type: 'application.overdue'
      readonly at: string
      readonly application: {
        readonly id: string
        readonly stage: Stage
        readonly dueDate: string
        readonly consumer: string
        readonly provider: string
        readonly resource: string
        readonly matter: string
      }
    }
  | {
      readonly type: 'grant.expiry-reminder'
      readonly at: string
      /** Calendar days from today (Asia/Shanghai) to the grant's last valid day. */
      readonly daysLeft: number
      readonly grant: {
        readonly id: string
        readonly matter: string
        readonly resource: string
        readonly consumer: string
        readonly validTo: string
      }
    }

export interface WebhookSender {
  /**
   * Posts one notice; true when it was delivered (2xx). Never throws: delivery is best effort and the API is the
   * record, so a notice not delivered after its retry is logged, counted and given up.
   */
  send(notice: SharingNotice): Promise<boolean>
}

/** The part of undici's `request` the sender uses (tests and embedders may pass their own). */
export type WebhookRequest = (
  url: string,
  options: {
    readonly method: 'POST'
    readonly headers: Record<string, string>
    readonly body: string
    readonly headersTimeout: number
    readonly bodyTimeout: number
    readonly signal: AbortSignal
  },
) => Promise<{ readonly statusCode: number; readonly body: { dump(): Promise<unknown> } }>

export interface WebhookOptions {
  readonly url: string
  /** Per attempt, connecting to reading the answer; default 5 s. */
  readonly timeoutMs?: number
  readonly log: Logger
  /** HMAC-SHA256 key: each body is signed in `X-Qiao-Signature: sha256=<hex>`, so the receiver knows it is ours. */
  readonly secret?: Uint8Array
  /** Called once per notice given up on (the gateway counts them in qiao_sharing_webhook_failures_total). */
  readonly onFailure?: () => void
  /** How many notices are in flight at once; the rest wait their turn (a scan may give hundreds). Default 4. */
  readonly maxInFlight?: number
  readonly fetch?: WebhookRequest
  /** Waits before the retry (1 s); tests pass one that returns at once. */
  readonly sleep?: (ms: number) => Promise<unknown>
}

const RETRY_DELAY_MS = 1000

export function createWebhookSender(options: WebhookOptions): WebhookSender {
  const { url, log, secret, onFailure } = options
  const timeoutMs = options.timeoutMs ?? 5000
  const post: WebhookRequest = options.fetch ?? request
  const wait = options.sleep ?? sleep
  const limit = createLimit(options.maxInFlight ?? 4)

  /** One attempt: the HTTP status, or the kind of network failure (never the URL, which may carry a key). */
  const attempt = async (body: string, headers: Record<string, string>): Promise<number | string> => {
    try {
      const res = await post(url, {
        method: 'POST',
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      })
      // The answer's body is not read, only drained, so that the connection goes back to the pool.
      await res.body.dump().catch(() => {})
      return res.statusCode
    } catch (err) {
      return (err as { code?: string }).code ?? (err as Error).name
    }
  }

  return {
    send: (notice) =>
      limit(async () => {
        const body = JSON.stringify(notice)
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'qiao' }
        if (secret !== undefined) {
          headers['x-qiao-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
        }
        const first = await attempt(body, headers)
        if (delivered(first)) return true
        await wait(RETRY_DELAY_MS)
        const second = await attempt(body, headers)
        if (delivered(second)) return true
        log.warn(
          { type: notice.type, id: noticeSubject(notice), first, second },
          'sharing webhook notice not delivered after a retry; given up (the API still shows it)',
        )
        onFailure?.()
        return false
      }),
  }
}

function delivered(outcome: number | string): boolean {
  return typeof outcome === 'number' && outcome >= 200 && outcome < 300
}

function noticeSubject(notice: SharingNotice): string {
  return notice.type === 'application.overdue' ? notice.application.id : notice.grant.id
}

/** Runs at most `max` tasks at once, the others in the order they came. */
function createLimit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve))
    else running++
    try {
      return await task()
    } finally {
      // A waiting task takes over this slot; only when none waits is the slot given back.
      const next = waiting.shift()
      if (next === undefined) running--
      else next()
    }
  }
}
