import { createInbox, type MsgHdrs, type NatsConnection, nanos } from '@nats-io/transport-node'

/** One message a pull request delivered, with what its `$JS.ACK` reply subject says about the delivery. */
export interface PulledMessage {
  readonly reply: string
  readonly headers: MsgHdrs | undefined
  readonly data: Uint8Array
  /** 1 for the first delivery. */
  readonly deliveryCount: number
  readonly streamSeq: number
}

/** The shortest pull a fetch makes: the server answers a partly filled batch only when its `expires` passes. */
const MIN_PULL_MS = 25
/** How long past `expires` the server's end-of-request status may take before the pull is given up. */
const ANSWER_GRACE_MS = 2_000

/**
 * One pull request on a durable consumer (`$JS.API.CONSUMER.MSG.NEXT`), written out instead of the client's
 * `fetch`, whose shortest wait is 1 s: a fetch here answers at once when nothing is ready (`no_wait`), and otherwise
 * within `waitMs`. The request always runs to its end — the batch filled or the server's status (404 nothing,
 * 408 expired, 409 limits) — because a message the server sends after the caller stopped listening would still count
 * as delivered, costing an attempt. `answered: false` means no status came at all: the consumer does not exist.
 */
export async function pull(
  nc: NatsConnection,
  apiPrefix: string,
  stream: string,
  consumer: string,
  batch: number,
  waitMs: number,
): Promise<{ messages: PulledMessage[]; answered: boolean }> {
  const expiresMs = Math.max(MIN_PULL_MS, waitMs)
  const inbox = createInbox()
  const sub = nc.subscribe(inbox)
  const timer = setTimeout(() => sub.unsubscribe(), expiresMs + ANSWER_GRACE_MS)
  const messages: PulledMessage[] = []
  let answered = false
  try {
    nc.publish(
      `${apiPrefix}.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      JSON.stringify({ batch, expires: nanos(expiresMs), ...(waitMs <= 0 ? { no_wait: true } : {}) }),
      { reply: inbox },
    )
    for await (const msg of sub) {
      const status = msg.headers?.code ?? 0
      if (status > 0 && msg.data.length === 0) {
        // 100 is an idle heartbeat (not asked for); anything else ends the request.
        if (status === 100) continue
        answered = true
        break
      }
      const delivery = msg.reply === undefined ? undefined : parseAckSubject(msg.reply)
      if (delivery === undefined) continue
      messages.push({ reply: msg.reply as string, headers: msg.headers, data: msg.data, ...delivery })
      if (messages.length >= batch) {
        answered = true
        break
      }
    }
  } finally {
    clearTimeout(timer)
    sub.unsubscribe()
  }
  return { messages, answered: answered || messages.length > 0 }
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or the newer form with
 * domain and account hash after `ACK` (and a random token at the end).
 */
export function parseAckSubject(reply: string): { deliveryCount: number; streamSeq: number } | undefined {
  const tokens = reply.split('.')
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined
  const at = tokens.length === 9 ? 4 : tokens.length >= 11 ? 6 : -1
  if (at < 0) return undefined
  const deliveryCount = Number(tokens[at])
  const streamSeq = Number(tokens[at + 1])
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSeq)) return undefined
  return { deliveryCount, streamSeq }
}

/**
 * Acknowledges (`+ACK`), fails (`-NAK`, with a delay) or gives up (`+TERM`) a delivery and waits for the server to
 * confirm it. False when nobody answers: the consumer is gone (the subscription was suspended or removed).
 */
export async function answer(nc: NatsConnection, reply: string, body: string, timeoutMs: number): Promise<boolean> {
  try {
    await nc.request(reply, body, { timeout: timeoutMs })
    return true
  } catch {
    return false
  }
}
