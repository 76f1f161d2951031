import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Agent, request } from 'undici'

/**
 * The Hono floor (peer N3): the floor of Qiao's own stack, not of a Node gateway (that is bench/bare-proxy.ts, N1).
 * The same HTTP server (@hono/node-server), framework (Hono) and client (undici `request` over a keep-alive pool) as
 * Qiao, doing nothing but pass the call on — no token, no decision, no connector format, no validation, no masking,
 * no audit. It answers the benchmark's query with the upstream's JSON parsed and re-serialised. Qiao's CPU per call
 * minus this one's is what the pipeline itself costs; this one's minus N1's is what Hono and its adapter cost.
 *
 * Usage: node --import tsx bench/floor.ts <port> <upstream-url>   (prints FLOOR_READY once listening)
 */

const [portArg, upstreamUrl] = process.argv.slice(2)
if (!portArg || !upstreamUrl) throw new Error('usage: floor.ts <port> <upstream-url>')

const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 60_000 })
const app = new Hono()
app.post('/v1/resources/:id/query', async (c) => {
  const form = new URLSearchParams(await c.req.json<Record<string, string>>()).toString()
  const res = await request(`${upstreamUrl}/gongai/query`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  })
  const data = (await res.body.json()) as { data: unknown }
  return c.json({ data: data.data })
})

serve({ fetch: app.fetch, port: Number(portArg), hostname: '127.0.0.1' }, () => console.log('FLOOR_READY'))
