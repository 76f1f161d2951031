import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll } from 'vitest'
import { REPO } from './gateway.js'
import { createTestKey, signToken, TEST_AUDIENCE, TEST_ISSUER, type TestKey, type TokenClaims } from './keys.js'

/**
 * `qiao` commands as their own processes, as an operator runs them: `node --import tsx gateway/cli.ts …` in the
 * repository, with a clean environment (PATH and exactly what the test gives), output collected.
 */

/** Environment variables for a `qiao` process; PATH is always added. */
export type QiaoEnv = Readonly<Record<string, string | undefined>>

/** What every test's `qiao serve` gets unless the test says otherwise: any free port, no health probes, info logs. */
export const SERVE_DEFAULTS = { QIAO_PORT: '0', QIAO_HEALTH_INTERVAL: '0', QIAO_LOG_LEVEL: 'info' } as const

/** The arguments after `node` for `qiao <args>`. */
export function qiaoArgv(args: readonly string[]): string[] {
  return ['--import', 'tsx', 'gateway/cli.ts', ...args]
}

function cleanEnv(env: QiaoEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...env }
}

/** The whole environment of a test's `qiao serve`: PATH, SERVE_DEFAULTS, then `env`. */
export function serveEnv(env: QiaoEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({ ...SERVE_DEFAULTS, ...env })
}

/** A running (or finished) `qiao` process. */
export interface QiaoProcess {
  readonly child: ChildProcess
  /** Everything it printed so far (stdout and stderr, in the order it came). */
  output(): string
  /** Its exit code once it has exited (null when a signal ended it). */
  readonly exit: Promise<number | null>
}

/** `qiao serve` once it has logged "qiao listening". */
export interface GatewayProcess extends QiaoProcess {
  readonly url: string
  /** The metrics listener's URL, when QIAO_METRICS_PORT opened one. */
  readonly metricsUrl: string | undefined
}

/** Resolves with the exit code when the process has exited (also if it already has; null after a signal). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

/** Starts `qiao <args>` with exactly this environment (plus PATH); does not wait for anything. */
export function spawnQiao(args: readonly string[], env: QiaoEnv): QiaoProcess {
  const child = spawn(process.execPath, qiaoArgv(args), { cwd: REPO, env: cleanEnv(env) })
  let out = ''
  const collect = (b: Buffer) => {
    out += b.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  return { child, output: () => out, exit: exited(child) }
}

/** Starts `qiao serve` with SERVE_DEFAULTS and `env` (plus PATH); does not wait for it to listen. */
export function spawnGatewayProcess(env: QiaoEnv): QiaoProcess {
  return spawnQiao(['serve'], { ...SERVE_DEFAULTS, ...env })
}

function watchOutput(
  run: QiaoProcess,
  pattern: RegExp,
  timeoutMs: number,
  failure: { timeout: () => string; exit: (code: number | null) => string },
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(failure.timeout())), timeoutMs)
    const check = () => {
      const m = pattern.exec(run.output())
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    }
    run.child.stdout?.on('data', check)
    run.child.stderr?.on('data', check)
    check()
    void run.exit.then((code) => {
      clearTimeout(timer)
      reject(new Error(failure.exit(code)))
    })
  })
}

/** Resolves with the first match of `pattern` in the output; rejects if the process exits first, or after the timeout. */
export function waitForOutput(
  run: QiaoProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<RegExpExecArray> {
  return watchOutput(run, pattern, timeoutMs, {
    timeout: () => `${what} did not happen:\n${run.output()}`,
    exit: (code) => `exited ${code} before ${what}:\n${run.output()}`,
  })
}

/** The gateway's "qiao listening" log line, complete. */
const LISTENING = /^(\{.*"msg":"qiao listening".*\})\r?\n/m

/**
 * Waits (30 s at the most) for the gateway's "qiao listening" line and reads its URLs from it. Rejects if the process
 * exits first (with what it printed), and kills it if it does not come up in time.
 */
export async function listening(run: QiaoProcess, label = 'gateway'): Promise<GatewayProcess> {
  const m = await watchOutput(run, LISTENING, 30_000, {
    timeout: () => `${label} did not start:\n${run.output()}`,
    exit: (code) => `${label} exited ${code}:\n${run.output()}`,
  }).catch(async (err: unknown) => {
    await stopGatewayProcess(run, 'SIGKILL')
    throw err
  })
  const line = JSON.parse(m[1] as string) as { url: string; metricsUrl?: string }
  return { ...run, url: line.url, metricsUrl: line.metricsUrl }
}

/**
 * Starts `qiao serve` with SERVE_DEFAULTS and `env` (plus PATH) and waits until it listens. `label` names it in the
 * error when it does not (e.g. one of several replicas).
 */
export function startGatewayProcess(env: QiaoEnv, label?: string): Promise<GatewayProcess> {
  return listening(spawnGatewayProcess(env), label)
}

/**
 * Stops a process, unless it has already exited, and resolves with its exit code. SIGTERM (the default) is a clean
 * stop: drain, seal the audit log; SIGKILL is a crash.
 */
export function stopGatewayProcess(run: QiaoProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal)
  return run.exit
}

export interface CliResult {
  /** The exit code; -1 when it had none (killed by a signal, its timeout or its output limit: see stderr). */
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `qiao <args>` to completion (60 s at the most) with this environment (plus PATH), e.g. `qiao audit verify`. */
export function runQiao(args: readonly string[], env: QiaoEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      qiaoArgv(args),
      { cwd: REPO, env: cleanEnv(env), timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        const reason = err && typeof err.code !== 'number' ? `\n[${err.signal ?? err.code ?? err.message}]` : ''
        resolve({ code, stdout, stderr: stderr + reason })
      },
    )
  })
}

// ---------------------------------------------------------------------------------------------------------------
// What a gateway process talks to.

export interface ServeFixture<S> {
  /** A scratch directory of its own, removed afterwards. */
  readonly dir: string
  /** The consumers' signing key; its public half is published in `<dir>/jwks.json`. */
  readonly key: TestKey
  /** The provider simulator (only when the fixture was given one). */
  readonly sim: S
  /** QIAO_JWKS_FILE, QIAO_ISSUER and QIAO_AUDIENCE: the gateway trusts tokens signed with `key`. */
  trust(): Record<string, string>
  /** A token signed with `key`, issued now: a gateway process runs on the real clock. */
  token(claims: TokenClaims): Promise<string>
}

/**
 * Registers beforeAll/afterAll hooks (in the enclosing describe, or the file) for what `qiao serve` processes of a
 * test talk to: a scratch directory (`mkdtemp` with this prefix), an EdDSA key with this key id in a JWKS file, and
 * optionally a provider simulator (e.g. startHousingSimulator), started on a free loopback port. Read the fields
 * inside tests and hooks, not at load time.
 */
export function serveFixture<S extends { close(): Promise<void> } = never>(options: {
  readonly prefix: string
  readonly keyId: string
  readonly simulator?: (options: { port: number }) => Promise<S>
}): ServeFixture<S> {
  let dir: string | undefined
  let key: TestKey | undefined
  let sim: S | undefined
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), options.prefix))
    sim = await options.simulator?.({ port: 0 })
    key = await createTestKey('EdDSA', options.keyId)
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }))
  })
  afterAll(async () => {
    await sim?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`serveFixture: no ${what} (read it inside a test or hook)`)
    return value
  }
  return {
    get dir() {
      return ready(dir, 'directory')
    },
    get key() {
      return ready(key, 'key')
    },
    get sim() {
      return ready(sim, 'simulator')
    },
    trust() {
      return {
        QIAO_JWKS_FILE: join(ready(dir, 'directory'), 'jwks.json'),
        QIAO_ISSUER: TEST_ISSUER,
        QIAO_AUDIENCE: TEST_AUDIENCE,
      }
    },
    token(claims) {
      return signToken(ready(key, 'key'), claims, { now: Date.now() })
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Calls to a gateway process, as a consumer system makes them.

export interface ExchangeCall {
  readonly token: string
  readonly matter: string
  readonly caseId: string
  /** More request headers (e.g. idempotency-key). */
  readonly headers?: Record<string, string>
}

export interface ExchangeAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  /** The whole body, read. */
  readonly text: string
  /** The Qiao-Audit-Id header, when there is one. */
  readonly auditId: string | undefined
}

/** POSTs a JSON body to `url + path` with the token, matter and case of an exchange call; reads the whole answer. */
export async function postExchange(
  url: string,
  path: string,
  call: ExchangeCall,
  body: unknown,
): Promise<ExchangeAnswer> {
  const res = await request(`${url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${call.token}`,
      'qiao-matter': call.matter,
      'qiao-case': call.caseId,
      'content-type': 'application/json',
      ...call.headers,
    },
    body: JSON.stringify(body),
  })
  const text = await res.body.text()
  const auditId = res.headers['qiao-audit-id']
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    auditId: typeof auditId === 'string' ? auditId : undefined,
  }
}

/** The demo catalog's matter under which 发改 (drc) reads 住建's construction permits. */
export const PERMITS_MATTER = 'QT00301001'
/** Claims of a 发改 (drc) token that may read construction permits under PERMITS_MATTER. */
export const PERMITS_READER: TokenClaims = { dept: 'drc', scope: `${PERMITS_MATTER}:housing.construction-permit:read` }

/** 发改's construction-permit query by project code, under PERMITS_MATTER. */
export function queryPermits(
  url: string,
  call: { readonly token: string; readonly caseId: string; readonly projectCode: string | undefined },
): Promise<ExchangeAnswer> {
  return postExchange(
    url,
    '/v1/resources/housing.construction-permit/query',
    { token: call.token, matter: PERMITS_MATTER, caseId: call.caseId },
    { projectCode: call.projectCode },
  )
}
