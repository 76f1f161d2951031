import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { UpstreamInfo } from '../upstream.js'
import { freePort, run, type Started, startProcess, waitForPort } from './proc.js'
import { processTree } from './procfs.js'
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_SCOPE, type BenchKeys } from './tokens.js'

/**
 * The peers, each behind the same request (POST /v1/resources/housing.construction-permit/query with a bearer token,
 * Qiao-Matter, Qiao-Case and a JSON body):
 *
 * - P0 the upstream directly (the bench's legacy system; it answers any POST);
 * - P1 nginx as a plain reverse proxy with upstream keep-alive;
 * - P2 HAProxy 2.6: jwt_verify (RS256), exp, iss, aud and scope checked in ACLs, then proxied;
 * - N1 node:http + undici passing the bytes through (bench/bare-proxy.ts): the floor of any Node gateway;
 * - N2 the same + JSON parse/stringify of the request and of the answer;
 * - N3 Hono + @hono/node-server + undici (bench/floor.ts): the floor of Qiao's own stack, not of a Node gateway;
 * - P3W Qiao, the built gateway with the full pipeline, logging at warn;
 * - P3 the same at info, README's default level (one log line per call).
 *
 * All but P0 run pinned to the peer core; the upstream and the load generator share the other core.
 */

export type PeerId = 'P0' | 'P1' | 'P2' | 'N1' | 'N2' | 'N3' | 'P3W' | 'P3'
export const PEER_IDS: readonly PeerId[] = ['P0', 'P1', 'P2', 'N1', 'N2', 'N3', 'P3W', 'P3']
/** Node floors: measured at saturation and at the latency target's rate only (they exist to be compared with). */
export const FLOOR_IDS: readonly PeerId[] = ['N1', 'N2', 'N3']
/** Qiao's peers (the full pipeline), at the documented default log level and at warn. */
export const QIAO_IDS: readonly PeerId[] = ['P3W', 'P3']

export const PEER_NAMES: Record<PeerId, string> = {
  P0: 'upstream directly (physical limit)',
  P1: 'nginx plain reverse proxy',
  P2: 'HAProxy 2.6 jwt_verify RS256 + exp/iss/aud/scope ACLs',
  N1: 'node:http + undici passing bytes through (floor of any Node gateway)',
  N2: 'node:http + undici + JSON parse/stringify',
  N3: 'Hono + @hono/node-server + undici (floor of Qiao’s stack)',
  P3W: 'Qiao full pipeline, log level warn',
  P3: 'Qiao full pipeline, log level info (README’s default)',
}

/** QIAO_LOG_LEVEL's documented default (README "Configuration", gateway/config/settings.ts). */
export const QIAO_DEFAULT_LOG_LEVEL = 'info'

export const QUERY_PATH = '/v1/resources/housing.construction-permit/query'
export const MATTER = 'QT00301001'

export interface PeerHandle {
  /** `pair-a`, `pair-b`, `workers`: Qiao instances of the paired and the workers runs. */
  readonly id: PeerId | 'pair-a' | 'pair-b' | 'workers'
  readonly baseUrl: string
  /** Qiao only: its Prometheus endpoint (a listener of its own, not the public port). */
  readonly metricsUrl?: string
  /** Processes whose CPU and memory count for this peer (nginx: master + worker). */
  pids(): number[]
  /** Seconds from spawn to accepting requests. */
  readonly startupSeconds: number
  /** Qiao only: its stdout and stderr (JSON lines), readable until stop() removes its directory. */
  readonly logFile?: string
  stop(): Promise<void>
}

export interface PeerContext {
  readonly root: string
  readonly runDir: string
  readonly keys: BenchKeys
  readonly upstream: UpstreamInfo
  readonly upstreamProc: Started
  /** Core list for the peer under test. */
  readonly peerCores: string
}

let serial = 0

/** P0: the running upstream (shared by every peer; never restarted). */
export function upstreamPeer(ctx: PeerContext, payload: keyof UpstreamInfo['payloads'] = '1k'): PeerHandle {
  return {
    id: 'P0',
    baseUrl: `http://127.0.0.1:${ctx.upstream.payloads[payload].port}`,
    pids: () => [ctx.upstreamProc.pid],
    startupSeconds: 0,
    stop: async () => {},
  }
}

export async function startNginx(ctx: PeerContext): Promise<PeerHandle> {
  const dir = join(ctx.runDir, `nginx-${++serial}`)
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  const port = await freePort()
  const user = process.getuid?.() === 0 ? 'user root root;\n' : ''
  const conf = `${user}worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  upstream legacy {
    server 127.0.0.1:${ctx.upstream.payloads['1k'].port};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://legacy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
  const confFile = join(dir, 'nginx.conf')
  writeFileSync(confFile, conf)
  run('nginx', ['-t', '-p', dir, '-c', confFile])
  const started = performance.now()
  const proc = startProcess({
    name: 'nginx',
    cores: ctx.peerCores,
    command: 'nginx',
    args: ['-p', dir, '-c', confFile],
    logFile: join(dir, 'stdout.log'),
  })
  await waitForPort(proc, port, 10_000)
  return {
    id: 'P1',
    baseUrl: `http://127.0.0.1:${port}`,
    pids: () => processTree(proc.pid),
    startupSeconds: (performance.now() - started) / 1000,
    stop: () => proc.stop('SIGQUIT', 5_000),
  }
}

/** HAProxy 2.6: the configuration verified in performance-notes §4.4, plus iss and aud checks and a strict scope. */
export function haproxyConfig(options: { port: number; upstreamPort: number; publicPemFile: string }): string {
  const scopeRe = `(^| )${BENCH_SCOPE.replaceAll('.', '\\.')}( |$)`
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 120s

frontend fe
  bind 127.0.0.1:${options.port}
  http-request deny unless { req.hdr(authorization) -m beg "Bearer " }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny unless { var(txn.alg) -m str RS256 }
  http-request deny unless { var(txn.bearer),jwt_verify(txn.alg,"${options.publicPemFile}") -m int 1 }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny unless { var(txn.exp) -m found }
  http-request deny if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny unless { var(txn.bearer),jwt_payload_query('$.iss') -m str ${BENCH_ISSUER} }
  http-request deny unless { var(txn.bearer),jwt_payload_query('$.aud') -m str ${BENCH_AUDIENCE} }
  http-request deny unless { var(txn.bearer),jwt_payload_query('$.scope') -m reg '${scopeRe}' }
  default_backend be

backend be
  http-reuse always
  server up 127.0.0.1:${options.upstreamPort} maxconn 64
`
}

export async function startHaproxy(ctx: PeerContext): Promise<PeerHandle> {
  const dir = join(ctx.runDir, `haproxy-${++serial}`)
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const confFile = join(dir, 'haproxy.cfg')
  writeFileSync(
    confFile,
    haproxyConfig({ port, upstreamPort: ctx.upstream.payloads['1k'].port, publicPemFile: ctx.keys.publicPemFile }),
  )
  run('haproxy', ['-c', '-q', '-f', confFile])
  const started = performance.now()
  const proc = startProcess({
    name: 'haproxy',
    cores: ctx.peerCores,
    command: 'haproxy',
    args: ['-db', '-f', confFile],
    logFile: join(dir, 'stdout.log'),
  })
  await waitForPort(proc, port, 10_000)
  return {
    id: 'P2',
    baseUrl: `http://127.0.0.1:${port}`,
    pids: () => processTree(proc.pid),
    startupSeconds: (performance.now() - started) / 1000,
    stop: () => proc.stop('SIGTERM', 5_000),
  }
}

export interface QiaoOptions {
  /** Runs after the instance's data directory is made and before the gateway starts, e.g. to seed its state store. */
  readonly prepareDataDir?: (dataDir: string) => Promise<void>
  /** QIAO_LOG_LEVEL; default warn, the level of the curves (the side-by-side table measures info and warn). */
  readonly logLevel?: string
  /** The build's `gateway/cli.js` (default: this tree's dist/gateway/cli.js); the paired runs compare two builds. */
  readonly cli?: string
  /** QIAO_WORKERS: `qiao serve` with node:cluster workers sharing the port. Unset: one process, as before. */
  readonly workers?: number
  /** Core list for taskset instead of the context's peer core (the workers run takes several). */
  readonly cores?: string
  /** Metrics listener (QIAO_METRICS_PORT); default on. */
  readonly metrics?: boolean
  readonly id?: PeerHandle['id']
}

/**
 * P3: `node dist/gateway/cli.js serve` with a clean environment (no OTEL_*: tracing off), metrics on their own
 * loopback listener (QIAO_METRICS_PORT) as an operator would run it. Its output goes straight to a file, so a
 * gateway logging every call (info) costs the benchmark process nothing.
 * BENCH_QIAO_NODE_ARGS adds node options, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the gateway.
 */
export async function startQiao(
  ctx: PeerContext,
  catalogFile: string,
  nodeArgs: readonly string[] = [],
  options: QiaoOptions = {},
): Promise<PeerHandle> {
  const dir = join(ctx.runDir, `qiao-${++serial}`)
  mkdirSync(dir, { recursive: true })
  const dataDir = join(dir, 'data')
  if (options.prepareDataDir) {
    mkdirSync(dataDir, { mode: 0o700 })
    await options.prepareDataDir(dataDir)
  }
  const port = await freePort()
  const metricsPort = options.metrics === false ? undefined : await freePort()
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    NODE_ENV: 'production',
    QIAO_HOST: '127.0.0.1',
    QIAO_PORT: String(port),
    ...(metricsPort === undefined ? {} : { QIAO_METRICS_PORT: String(metricsPort) }),
    QIAO_CATALOG: catalogFile,
    QIAO_DATA_DIR: dataDir,
    QIAO_JWKS_FILE: ctx.keys.jwksFile,
    QIAO_ISSUER: BENCH_ISSUER,
    QIAO_AUDIENCE: BENCH_AUDIENCE,
    QIAO_JWT_ALGORITHMS: 'RS256',
    QIAO_LOG_LEVEL: options.logLevel ?? 'warn',
    QIAO_HEALTH_INTERVAL: '0',
    QIAO_DRAIN_TIMEOUT: '1s',
    QIAO_AUDIT_LOG_ID: 'qiao-bench',
    ...(options.workers === undefined ? {} : { QIAO_WORKERS: String(options.workers) }),
  }
  const logFile = join(dir, 'qiao.log')
  const started = performance.now()
  const proc = startProcess({
    name: 'qiao',
    cores: options.cores ?? ctx.peerCores,
    command: process.execPath,
    args: [
      ...(process.env.BENCH_QIAO_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...nodeArgs,
      options.cli ?? join(ctx.root, 'dist/gateway/cli.js'),
      'serve',
    ],
    env,
    cwd: dir,
    logFile,
    direct: true,
  })
  await waitForPort(proc, port, 180_000)
  const baseUrl = `http://127.0.0.1:${port}`
  const health = await fetch(`${baseUrl}/healthz`)
  if (health.status !== 200) throw new Error(`qiao /healthz answered ${health.status}:\n${proc.tail()}`)
  return {
    id: options.id ?? (options.logLevel === QIAO_DEFAULT_LOG_LEVEL ? 'P3' : 'P3W'),
    baseUrl,
    ...(metricsPort === undefined ? {} : { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }),
    // With workers, the primary and its workers (a one-process gateway is its own tree).
    pids: () => processTree(proc.pid),
    startupSeconds: (performance.now() - started) / 1000,
    logFile,
    async stop() {
      await proc.stop('SIGTERM', 20_000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function startNodeFloor(
  ctx: PeerContext,
  id: 'N1' | 'N2' | 'N3',
  script: string,
  extraArgs: readonly string[],
): Promise<PeerHandle> {
  const port = await freePort()
  const started = performance.now()
  const proc = startProcess({
    name: id,
    cores: ctx.peerCores,
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      join(ctx.root, script),
      String(port),
      `http://127.0.0.1:${ctx.upstream.payloads['1k'].port}`,
      ...extraArgs,
    ],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    cwd: ctx.root,
    logFile: join(ctx.runDir, `${id}-${++serial}.log`),
  })
  await waitForPort(proc, port, 30_000)
  return {
    id,
    baseUrl: `http://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    startupSeconds: (performance.now() - started) / 1000,
    stop: () => proc.stop('SIGTERM', 5_000),
  }
}

/** N1 and N2: node:http + undici (bench/bare-proxy.ts), passing bytes through or with JSON parse/stringify. */
export function startBareProxy(ctx: PeerContext, mode: 'bytes' | 'json'): Promise<PeerHandle> {
  return startNodeFloor(ctx, mode === 'bytes' ? 'N1' : 'N2', 'bench/bare-proxy.ts', [mode])
}

/** N3, the floor of Qiao's stack (bench/floor.ts): Hono on @hono/node-server passing the call on with undici. */
export function startFloor(ctx: PeerContext): Promise<PeerHandle> {
  return startNodeFloor(ctx, 'N3', 'bench/floor.ts', [])
}
