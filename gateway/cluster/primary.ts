import cluster, { type Worker } from 'node:cluster'
import { pino } from 'pino'
import type { Config } from '../config/settings.js'
import { createQuotaBudget, isBudgetRequest } from '../quota/primary-budget.js'
import { createLogger, type Logger } from '../telemetry/logger.js'
import { type ClusterMetrics, createClusterMetrics, listenForClusterMetrics } from './cluster-metrics.js'
import { ClusterError, clusterErrors } from './errors.js'
import { isWorkerMessage, type PrimaryMessage } from './messages.js'
import { DEFAULT_RESTART_POLICY, SlotRestarts } from './restart-policy.js'
import { unshareableProblems } from './shareable.js'
import { slotNumbers, workerEnv, workerLogId } from './worker-slot.js'

/**
 * The primary of `qiao serve --workers N`: it serves no call itself. It checks that the configuration can be shared
 * (shareable.ts), forks the workers (node:cluster: they share the listening port, the primary hands each new
 * connection to the next worker), restarts a worker that dies (restart-policy.ts), serves the metrics listener for
 * all of them (cluster-metrics.ts), holds the quota budget when there is no Redis (../quota/primary-budget.ts), and
 * passes signals on: SIGHUP reloads the catalog in every worker, SIGTERM or SIGINT drains them all and exits 0 once
 * each has sealed its audit log.
 */

/** What stops a worker cleanly: the primary's SIGTERM, or a terminal's SIGINT that reached the whole group. */
const STOP_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT']

/** Beyond the pre-stop window and the drain: time for a worker to close its stores and seal its log. */
export const STOP_GRACE_MS = 15_000

interface Slot {
  readonly number: number
  readonly logId: string
  readonly restarts: SlotRestarts
  worker: Worker | undefined
  /** Resolves when the current worker exits (with how it exited). */
  exit: Promise<WorkerExit> | undefined
  startedAt: number
  ready: boolean
  restartTimer: NodeJS.Timeout | undefined
}

interface WorkerExit {
  readonly code: number | null
  readonly signal: string | null
}

/** `startOrExit` of ../cli/serve.ts: explains a failed start (a port in use names its setting) and exits 1. */
export type StartOrExit = <T>(start: () => Promise<T>) => Promise<T>

export async function runPrimary(config: Config, startOrExit: StartOrExit): Promise<void> {
  // Synchronous: the primary logs little, and its last lines come right before process.exit.
  const log = createLogger(config.logLevel, pino.destination({ dest: 1, sync: true }))
  const problems = await unshareableProblems(config)
  if (problems.length > 0) {
    for (const problem of problems) console.error(`configuration: ${problem}`)
    console.error(
      `${problems.length} problem(s) with QIAO_WORKERS=${config.workers}: ${clusterErrors['cluster-config-unshareable']}`,
    )
    process.exit(1)
  }
  const supervisor = new Supervisor(config, log)
  const listener =
    config.metricsPort === undefined
      ? undefined
      : await startOrExit(() =>
          listenForClusterMetrics(supervisor.metrics, config.metricsHost, config.metricsPort as number),
        )
  supervisor.onStopped = () => listener?.server.close()
  const metricsUrl = listener === undefined ? undefined : `${httpBase(config.metricsHost, listener.port)}/metrics`

  let shuttingDown = false
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return
    shuttingDown = true
    console.error(`qiao: ${signal}, stopping ${config.workers} workers`)
    supervisor.stop().then((code) => process.exit(code))
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  process.on('SIGHUP', () => supervisor.reloadAll('system (SIGHUP)'))
  supervisor.onFailure = (err) => {
    if (shuttingDown) return
    shuttingDown = true
    for (const line of err.message.split('\n')) console.error(`qiao: ${line}`)
    supervisor.stop().then(() => process.exit(1))
  }

  const url = await supervisor.start()
  if (url === undefined) return
  log.info({ url, metricsUrl, workers: config.workers, logIds: supervisor.logIds() }, 'qiao cluster listening')
}

function httpBase(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The slots, their workers and what happens when one exits. */
class Supervisor {
  readonly metrics: ClusterMetrics
  onFailure: (err: ClusterError) => void = () => {}
  onStopped: () => void = () => {}
  readonly #slots: Slot[]
  readonly #budget = createQuotaBudget()
  #started = false
  #stopping: Promise<number> | undefined
  #url: string | undefined

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.#slots = slotNumbers(config.workers).map((number) => ({
      number,
      logId: workerLogId(config.auditLogId, number),
      restarts: new SlotRestarts(DEFAULT_RESTART_POLICY),
      worker: undefined,
      exit: undefined,
      startedAt: 0,
      ready: false,
      restartTimer: undefined,
    }))
    this.metrics = createClusterMetrics(
      () =>
        this.#slots
          .filter((s) => s.ready && s.worker?.isConnected())
          .map((s) => ({
            slot: s.number,
            request: (requestId) => this.#send(s, { type: 'qiao:metrics-request', requestId }),
          })),
      config.workers,
    )
  }

  logIds(): string[] {
    return this.#slots.map((s) => s.logId)
  }

  /**
   * Slot 1 first, alone: it creates what a fresh data directory lacks (audit keys, the state store's file and
   * schema) with no other process racing it; then the others together. A worker that exits before it is ready
   * fails the start: that is a configuration a single gateway would refuse too, and its own message says why.
   * Resolves with the gateway's URL, or undefined when the start failed or was stopped.
   */
  async start(): Promise<string | undefined> {
    const [first, ...rest] = this.#slots as [Slot, ...Slot[]]
    try {
      await this.#forkUntilReady(first)
      await Promise.all(rest.map((slot) => this.#forkUntilReady(slot)))
    } catch (err) {
      if (err instanceof ClusterError) this.onFailure(err)
      else throw err
      return undefined
    }
    if (this.#stopping !== undefined) return undefined
    this.#started = true
    return this.#url
  }

  /** SIGHUP: every ready worker reloads (one still starting reads the file as it starts). */
  reloadAll(actor: string): void {
    this.#reloadExcept(undefined, actor, undefined)
  }

  #reloadExcept(except: Slot | undefined, actor: string, requestId: string | undefined): void {
    for (const slot of this.#slots) {
      if (slot !== except && slot.ready)
        this.#send(slot, { type: 'qiao:reload', actor, ...(requestId === undefined ? {} : { requestId }) })
    }
  }

  /**
   * SIGTERM to every worker (each drains as a single gateway does: pre-stop window, calls in flight, sealed log)
   * and waits for all of them; the drain's time plus STOP_GRACE_MS at most, then the rest are killed. Resolves with
   * the exit code: 0 when every worker stopped cleanly.
   */
  stop(): Promise<number> {
    this.#stopping ??= (async () => {
      for (const slot of this.#slots) clearTimeout(slot.restartTimer)
      const running = this.#slots.filter((s) => s.worker !== undefined)
      for (const slot of running) slot.worker?.process.kill('SIGTERM')
      const limitMs = this.config.drainPrestopMs + this.config.drainTimeoutMs + STOP_GRACE_MS
      let timer: NodeJS.Timeout | undefined
      const overrun = new Promise<'overrun'>((resolve) => {
        timer = setTimeout(() => resolve('overrun'), limitMs)
      })
      const exits = Promise.all(running.map(async (slot) => ({ slot, exit: await (slot.exit as Promise<WorkerExit>) })))
      const outcome = await Promise.race([exits, overrun])
      clearTimeout(timer)
      this.onStopped()
      if (outcome === 'overrun') {
        const left = this.#slots.filter((s) => s.worker !== undefined)
        for (const slot of left) slot.worker?.process.kill('SIGKILL')
        const err = new ClusterError('drain-overrun', [
          `still running after ${limitMs} ms: ${left.map((s) => s.logId).join(', ')}`,
        ])
        for (const line of err.message.split('\n')) console.error(`qiao: ${line}`)
        return 1
      }
      // A worker that had not yet installed its handlers ends by the signal itself: it had opened nothing.
      const unclean = outcome.filter(({ exit }) => exit.code !== 0 && !STOP_SIGNALS.includes(exit.signal ?? ''))
      for (const { slot, exit } of unclean)
        console.error(`qiao: worker ${slot.number} (${slot.logId}) ${describeExit(exit)} while stopping`)
      return unclean.length === 0 ? 0 : 1
    })()
    return this.#stopping
  }

  #forkUntilReady(slot: Slot): Promise<void> {
    // A stop that came during the start forks nothing more.
    if (this.#stopping !== undefined) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const worker = this.#fork(slot)
      worker.on('message', (message: unknown) => {
        if (isWorkerMessage(message, 'qiao:ready')) resolve()
      })
      void slot.exit?.then((exit) => {
        reject(
          new ClusterError('worker-start-failed', [
            `worker ${slot.number} (audit log ${slot.logId}) ${describeExit(exit)} before it was ready`,
          ]),
        )
      })
    })
  }

  #fork(slot: Slot): Worker {
    const worker = cluster.fork(workerEnv(this.config, slot.number))
    slot.worker = worker
    slot.startedAt = Date.now()
    slot.ready = false
    slot.exit = new Promise((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })))
    this.log.info({ slot: slot.number, pid: worker.process.pid, logId: slot.logId }, 'qiao worker started')
    worker.on('message', (message: unknown) => this.#received(slot, worker, message))
    void slot.exit.then((exit) => this.#exited(slot, worker, exit))
    return worker
  }

  #received(slot: Slot, worker: Worker, message: unknown): void {
    if (isBudgetRequest(message)) {
      void this.#budget.answer(message).then((answer) => this.#send(slot, answer, worker))
    } else if (isWorkerMessage(message, 'qiao:ready')) {
      slot.ready = true
      this.#url ??= message.url
      this.log.info(
        { slot: slot.number, pid: worker.process.pid, logId: slot.logId, url: message.url },
        'qiao worker ready',
      )
    } else if (isWorkerMessage(message, 'qiao:metrics')) {
      this.metrics.answered(slot.number, message.requestId, message.metrics)
    } else if (isWorkerMessage(message, 'qiao:reloaded')) {
      this.log.info({ slot: slot.number, logId: slot.logId }, 'catalog reloaded by a worker: the others reload too')
      this.#reloadExcept(slot, message.actor, message.requestId)
    }
  }

  #exited(slot: Slot, worker: Worker, exit: WorkerExit): void {
    if (slot.worker !== worker) return
    const uptimeMs = Date.now() - slot.startedAt
    const wasReady = slot.ready
    slot.worker = undefined
    slot.ready = false
    // Expected while stopping. During the start, #forkUntilReady reports a worker that was not ready yet.
    if (this.#stopping !== undefined) return
    if (!this.#started) {
      if (wasReady)
        this.onFailure(
          new ClusterError('worker-start-failed', [
            `worker ${slot.number} (audit log ${slot.logId}) ${describeExit(exit)} while the others were starting`,
          ]),
        )
      return
    }
    const verdict = slot.restarts.exited(uptimeMs, wasReady)
    const fields = { slot: slot.number, pid: worker.process.pid, logId: slot.logId, ...exit, uptimeMs }
    if (verdict.action === 'give-up') {
      this.log.error({ ...fields, earlyExits: verdict.earlyExits }, 'qiao worker keeps exiting: stopping the gateway')
      this.onFailure(
        new ClusterError('worker-crash-loop', [
          `worker ${slot.number} (audit log ${slot.logId}) exited ${verdict.earlyExits} times in a row, each before it was ready or within ${DEFAULT_RESTART_POLICY.minUptimeMs / 1000} s of its start (last: ${describeExit(exit)}); its own output above says why`,
        ]),
      )
      return
    }
    this.log.warn({ ...fields, restartInMs: verdict.delayMs }, 'qiao worker exited: restarting it')
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined
      if (this.#stopping !== undefined) return
      this.metrics.restarted()
      this.#fork(slot)
    }, verdict.delayMs)
  }

  /** Sends to a slot's worker if it can take it; never throws (a closed channel reports on the callback). */
  #send(slot: Slot, message: PrimaryMessage, worker = slot.worker): boolean {
    if (worker === undefined || !worker.isConnected()) return false
    worker.send(message, undefined, {}, () => {})
    return true
  }
}

function describeExit(exit: WorkerExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
}
