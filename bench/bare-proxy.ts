import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Agent, request } from 'undici'

/**
 * The floor of any Node gateway: node:http receiving the call and undici `request` passing it to the upstream over
 * a keep-alive pool — no framework, no token, no decision, no audit. Two modes:
 *
 * - `bytes`: the request body and the upstream's answer are passed through as bytes (no JSON work at all);
 * - `json`:  the same, but the request body is parsed and re-serialised on the way in, and the upstream's answer on
 *            the way out — the least any gateway that looks at the data does.
 *
 * Usage: node --import tsx bench/bare-proxy.ts <port> <upstream-url> <bytes|json>   (prints BARE_READY)
 */

type Mode = 'bytes' | 'json'

const [portArg, upstreamUrl, modeArg] = process.argv.slice(2)
if (!portArg || !upstreamUrl || (modeArg !== 'bytes' && modeArg !== 'json')) {
  throw new Error('usage: bare-proxy.ts <port> <upstream-url> <bytes|json>')
}
const mode: Mode = modeArg
const target = `${upstreamUrl}/gongai/query`
// The same pool size as the Hono floor and Qiao's connector defaults, so the three differ only in what they do.
const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 60_000 })

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

async function pass(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const incoming = await readBody(req)
  const body = mode === 'json' ? JSON.stringify(JSON.parse(incoming.toString('utf8'))) : incoming
  const upstream = await request(target, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    body,
  })
  const answer = Buffer.from(await upstream.body.arrayBuffer())
  const out = mode === 'json' ? Buffer.from(JSON.stringify(JSON.parse(answer.toString('utf8'))), 'utf8') : answer
  res.writeHead(upstream.statusCode, {
    'content-type': String(upstream.headers['content-type'] ?? 'application/json'),
    'content-length': String(out.length),
  })
  res.end(out)
}

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0, noDelay: true }, (req, res) => {
  pass(req, res).catch(() => {
    // The bench counts non-2xx answers as errors; the cause is not the point of a floor measurement.
    if (!res.headersSent) res.writeHead(502)
    res.end()
  })
})
server.headersTimeout = 121_000
server.maxRequestsPerSocket = 0
server.listen(Number(portArg), '127.0.0.1', () => console.log('BARE_READY'))
process.on('SIGTERM', () => process.exit(0))
