import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * The node:http plumbing of a simulator: listening, routing errors, latency that ends when the client goes away,
 * recording requests, bounded request bodies, JSON and HTML answers, and a close() that does not wait for clients
 * holding connections open (a `hang` fault keeps requests unanswered on purpose). simulator-knobs.ts builds the
 * usual simulator (knobs endpoint, latency and faults) on it: `startKnobbedServer`.
 */

/** Larger request bodies are refused (each simulator answers that in its own protocol). */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024
/** How many requests a simulator keeps for tests. */
export const MAX_RECORDED_REQUESTS = 100
export const JSON_UTF8 = 'application/json; charset=utf-8'

/** Options every HTTP simulator takes; each adds its own (credentials, tokens) and documents its defaults. */
export interface HttpSimulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** 0 picks a free port. @default 0 */
  readonly port?: number
  /** Path of the service (trailing slashes are ignored). @default the simulator's DEFAULT_PATH */
  readonly path?: string
  /** The server clock (request-time checks, times it answers with), epoch ms. @default Date.now */
  readonly now?: () => number
  /** PRNG seed of the dataset. @default the simulator's DEFAULT_SEED */
  readonly seed?: number
}

export interface SimulatorServerOptions extends Pick<HttpSimulatorOptions, 'host' | 'port'> {
  /** Answers one request; `pathname` is the request path without the query. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> | void
  /** Answers a request whose handler failed before sending headers (after that, the socket is destroyed). */
  internalError(res: ServerResponse): void
}

export interface SimulatorServer {
  /** `http://host:port`. */
  readonly url: string
  readonly server: Server
  /** Waits `ms`, or until the request's socket closes, or until close(). */
  sleep(ms: number, req: IncomingMessage): Promise<void>
  /** Stops listening and destroys open connections (unanswered requests included). Idempotent. */
  close(): Promise<void>
}

/**
 * Starts a node:http server for a simulator.
 *
 * @example
 * const http = await startSimulatorServer({
 *   port: 0,
 *   handle: (req, res, pathname) => (pathname === '/' ? answer(req, res) : sendHtmlPage(res, 404, 'Not Found')),
 *   internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
 * })
 */
export async function startSimulatorServer(options: SimulatorServerOptions): Promise<SimulatorServer> {
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname
    let work: Promise<void>
    try {
      work = Promise.resolve(options.handle(req, res, pathname))
    } catch (err) {
      work = Promise.reject(err)
    }
    work.catch(() => {
      if (!res.headersSent) options.internalError(res)
      else res.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined

  return {
    url: `http://${urlHost}:${address.port}`,
    server,
    sleep: (ms, req) =>
      new Promise((resolve) => {
        const timer = setTimeout(done, ms)
        timers.add(timer)
        req.socket.once('close', done)
        function done() {
          clearTimeout(timer)
          timers.delete(timer)
          req.socket.off('close', done)
          resolve()
        }
      }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
      })
      return closing
    },
  }
}

/** The request body, or undefined when it exceeds `limit` bytes. */
export async function readRequestBody(
  req: IncomingMessage,
  limit: number = MAX_REQUEST_BODY_BYTES,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Request headers as one string each (repeated headers joined with `, `), lower-case names. */
export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/** Appends to a simulator's request log, keeping the last `max`. */
export function recordRequest<T>(log: T[], entry: T, max: number = MAX_RECORDED_REQUESTS): void {
  log.push(entry)
  if (log.length > max) log.splice(0, log.length - max)
}

/** Answers with a complete body and its content-length. */
export function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export function sendJson(res: ServerResponse, status: number, value: unknown, contentType: string = JSON_UTF8): void {
  sendBody(res, status, contentType, JSON.stringify(value))
}

export interface HtmlPageOptions {
  /** @default `${status} ${reason}` */
  readonly title?: string
  /** Inside `<body>`. @default `<h1>${status} ${reason}</h1>` */
  readonly body?: string
  /** @default 'text/html;charset=UTF-8' */
  readonly contentType?: string
}

/** An HTML status page, as a web server or a gateway in front of a legacy system sends it. */
export function sendHtmlPage(res: ServerResponse, status: number, reason: string, options: HtmlPageOptions = {}): void {
  const title = options.title ?? `${status} ${reason}`
  const body = options.body ?? `<h1>${status} ${reason}</h1>`
  const page = `<html><head><title>${title}</title></head><body>${body}</body></html>`
  sendBody(res, status, options.contentType ?? 'text/html;charset=UTF-8', page)
}
