import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { REPO } from './gateway.js'

/** `qiao serve` (or another `qiao` command) as its own process, as an operator runs it. */
export interface GatewayProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything it printed so far (stdout and stderr). */
  output(): string
}

/** Resolves when the process has exited (also if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Starts `qiao serve` with exactly this environment (plus PATH) and waits until it listens. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'serve'], {
    cwd: REPO,
    env: { PATH: process.env.PATH, QIAO_PORT: '0', QIAO_HEALTH_INTERVAL: '0', QIAO_LOG_LEVEL: 'info', ...env },
  })
  let out = ''
  const collect = (b: Buffer) => {
    out += b.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 30_000)
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"qiao listening"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited ${code}:\n${out}`))
    })
  })
  return { child, url, output: () => out }
}

/** Stops a gateway process cleanly (SIGTERM: drain, seal the audit log) and waits for it. */
export async function stopGatewayProcess(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill('SIGTERM')
  await exited(gateway.child)
}

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `qiao <args>` to completion with this environment (plus PATH). */
export function runQiao(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'gateway/cli.ts', ...args],
      { cwd: REPO, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}
