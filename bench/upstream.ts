import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { housingDataset, seedSample } from '../connectors/housing-gongai/simulator/index.js'
import { JSON_CONTENT_TYPE } from '../connectors/housing-gongai/wire.js'

/**
 * The benchmark's legacy system: a node:http server that answers every POST with a precomputed 住建 工改 envelope
 * (`{"code":"00","msg":"成功","data":[rows]}`, pinyin columns) whatever the form and its signature, and GET …/ping
 * with the heartbeat. One listener per payload size:
 *
 * - `1k`: the 2 valid construction-permit rows of the seed's sample project (~1 KB of canonical data);
 * - `64k`, `1m`: the same rows repeated up to 64 KiB and 1 MiB.
 *
 * Usage: node --import tsx bench/upstream.ts <port-1k> <port-64k> <port-1m>
 * Prints `UPSTREAM_READY {json}` (ports, body sizes, row counts, the project code to ask for) once listening.
 */

export const PAYLOADS = ['1k', '64k', '1m'] as const
export type Payload = (typeof PAYLOADS)[number]
const TARGET_BYTES: Record<Payload, number> = { '1k': 0, '64k': 64 * 1024, '1m': 1024 * 1024 }

export interface UpstreamInfo {
  readonly projectCode: string
  readonly payloads: Record<Payload, { port: number; bytes: number; rows: number }>
}

function envelope(rows: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ code: '00', msg: '成功', data: rows }), 'utf8')
}

function bodies(): { projectCode: string; bodies: Record<Payload, { body: Buffer; rows: number }> } {
  const sample = seedSample()
  const base = housingDataset().permits.filter((r) => r.XMDM === sample.projectCode && r.SJYXBS !== '0')
  const out = {} as Record<Payload, { body: Buffer; rows: number }>
  for (const payload of PAYLOADS) {
    const rows = [...base]
    let body = envelope(rows)
    while (body.length < TARGET_BYTES[payload]) {
      rows.push(base[rows.length % base.length] as (typeof base)[number])
      body = envelope(rows)
    }
    out[payload] = { body, rows: rows.length }
  }
  return { projectCode: sample.projectCode, bodies: out }
}

const PONG = Buffer.from(JSON.stringify({ code: '00', msg: '成功', data: 'pong' }), 'utf8')

function serve(body: Buffer) {
  const headers = { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(body.length) }
  const pongHeaders = { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(PONG.length) }
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') {
      res.writeHead(200, pongHeaders).end(PONG)
      return
    }
    // Read (and ignore) the form, then answer: the sign is not checked, the answer never varies.
    req.on('data', () => {})
    req.on('end', () => {
      res.writeHead(200, headers).end(body)
    })
  }
}

async function main(): Promise<void> {
  const ports = process.argv.slice(2).map(Number)
  const built = bodies()
  const payloads = {} as UpstreamInfo['payloads']
  await Promise.all(
    PAYLOADS.map(
      (payload, i) =>
        new Promise<void>((resolve, reject) => {
          const { body, rows } = built.bodies[payload]
          const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0, noDelay: true }, serve(body))
          server.headersTimeout = 121_000
          server.maxRequestsPerSocket = 0
          server.once('error', reject)
          server.listen(ports[i] ?? 0, '127.0.0.1', () => {
            payloads[payload] = { port: (server.address() as AddressInfo).port, bytes: body.length, rows }
            resolve()
          })
        }),
    ),
  )
  const info: UpstreamInfo = { projectCode: built.projectCode, payloads }
  console.log(`UPSTREAM_READY ${JSON.stringify(info)}`)
  process.on('SIGTERM', () => process.exit(0))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
