import { Client } from 'undici'
import {
  type QiaoEnv,
  type QiaoProcess,
  SERVE_DEFAULTS,
  spawnQiao,
  stopGatewayProcess,
  waitForOutput,
} from './gateway-process.js'

/**
 * `qiao serve --workers N` as its own process tree, as an operator runs it: the primary's log lines tell which
 * worker process fills which slot, and a connection held open stays with the worker that accepted it — so a test
 * can send a call to the worker it means, and the retry of that call to another.
 */

/** A worker as the primary's "qiao worker ready" line names it. */
export interface ReadyWorker {
  readonly slot: number
  readonly pid: number
  readonly logId: string
}

export interface ClusterProcess extends QiaoProcess {
  readonly url: string
  readonly metricsUrl: string | undefined
  /** The workers' audit log ids, slot 1 first. */
  readonly logIds: readonly string[]
  /** Every "qiao worker ready" line so far, in order (a restarted slot appears again with its new pid). */
  readyWorkers(): ReadyWorker[]
  /** Waits (30 s at the most) until `slot` is ready in a process other than `notPid`. */
  workerReady(slot: number, notPid?: number): Promise<ReadyWorker>
}

const CLUSTER_LISTENING = /^(\{.*"msg":"qiao cluster listening".*\})\r?\n/m

function jsonLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Starts `qiao serve --workers <workers>` (SERVE_DEFAULTS and `env`) and waits for its "qiao cluster listening". */
export async function startCluster(env: QiaoEnv, workers = 2): Promise<ClusterProcess> {
  const run = spawnQiao(['serve', '--workers', String(workers)], { ...SERVE_DEFAULTS, ...env })
  const m = await waitForOutput(run, CLUSTER_LISTENING, 'cluster listening', 120_000).catch(async (err: unknown) => {
    await stopGatewayProcess(run, 'SIGKILL')
    throw err
  })
  const line = JSON.parse(m[1] as string) as { url: string; metricsUrl?: string; logIds: string[] }
  const readyWorkers = () =>
    jsonLines(run.output(), 'qiao worker ready').map((l) => ({
      slot: l.slot as number,
      pid: l.pid as number,
      logId: l.logId as string,
    }))
  return {
    ...run,
    url: line.url,
    metricsUrl: line.metricsUrl,
    logIds: line.logIds,
    readyWorkers,
    async workerReady(slot, notPid) {
      const deadline = Date.now() + 30_000
      for (;;) {
        const found = readyWorkers().find((w) => w.slot === slot && w.pid !== notPid)
        if (found !== undefined) return found
        if (Date.now() > deadline) throw new Error(`worker ${slot} not ready again:\n${run.output()}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
  }
}

/** One keep-alive connection, and the worker that accepted it (its audit log id, from /readyz). */
export interface WorkerConnection {
  readonly logId: string
  readonly client: Client
  close(): Promise<void>
}

/** A new connection; the worker behind it is the one whose log id its /readyz answer names. */
export async function openConnection(url: string): Promise<WorkerConnection> {
  const client = new Client(url)
  const res = await client.request({ method: 'GET', path: '/readyz' })
  const body = (await res.body.json()) as { audit: { logId: string } }
  return { logId: body.audit.logId, client, close: () => client.close() }
}

/**
 * A connection to the worker with this log id: new connections until one lands there (the primary hands them to the
 * workers in turn, so it takes a few at most).
 */
export async function connectionTo(url: string, logId: string, tries = 20): Promise<WorkerConnection> {
  for (let i = 0; i < tries; i++) {
    const connection = await openConnection(url)
    if (connection.logId === logId) return connection
    await connection.close()
  }
  throw new Error(`no connection reached ${logId} in ${tries} tries`)
}
