import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RunningSimulator } from './simulator.js'
import {
  JSON_UTF8,
  readRequestBody,
  recordRequest,
  type SimulatorServerOptions,
  sendJson,
  startSimulatorServer,
} from './simulator-http.js'

/**
 * Latency and fault knobs of a simulator, set in code (`setKnobs`) or over HTTP (`GET`/`POST /__sim/knobs`):
 *
 * - `latencyMs`: delay before answering;
 * - `fault`: one of the simulator's faults (`none` turns faults off);
 * - `faultRate`: share of requests that get the fault, 0..1, spread evenly rather than randomly (0.5 → every second
 *   request), so tests are deterministic;
 * - `faultCount`: when > 0, exactly the next this-many requests get the fault, then `fault` clears to `none`.
 *
 * Setting `fault` without `faultRate` sets the rate to 1, and without `faultCount` sets the count to 0.
 */

/** The path every HTTP simulator serves its knobs on. */
export const KNOBS_PATH = '/__sim/knobs'
export const MAX_LATENCY_MS = 120_000
export const MAX_FAULT_COUNT = 1_000_000

/** `F` is the simulator's fault names, `none` included. */
export interface SimulatorKnobs<F extends string = string> {
  /** Delay before answering, ms. */
  readonly latencyMs: number
  readonly fault: F
  /** Share of requests that get the fault, 0..1; spread evenly, not randomly. */
  readonly faultRate: number
  /** When > 0: exactly the next this-many requests get the fault, then the fault clears (0 = use faultRate). */
  readonly faultCount: number
}

const KNOB_NAMES: ReadonlySet<string> = new Set(['latencyMs', 'fault', 'faultRate', 'faultCount'])

/** Validates a knob patch against the current knobs; throws a TypeError naming the knob. */
export function checkSimulatorKnobs<F extends string>(
  faults: readonly F[],
  current: SimulatorKnobs<F>,
  patch: Partial<SimulatorKnobs<F>>,
): SimulatorKnobs<F> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('knobs must be an object')
  }
  for (const key of Object.keys(patch)) {
    if (!KNOB_NAMES.has(key)) throw new TypeError(`unknown knob ${key}`)
  }
  const next = { ...current }
  if (patch.latencyMs !== undefined) {
    const ms = patch.latencyMs
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS) {
      throw new TypeError(`latencyMs must be a number of milliseconds in 0..${MAX_LATENCY_MS}`)
    }
    next.latencyMs = ms
  }
  if (patch.fault !== undefined) {
    if (!(faults as readonly unknown[]).includes(patch.fault)) {
      throw new TypeError(`fault must be one of ${faults.join(', ')}`)
    }
    next.fault = patch.fault
    if (patch.faultRate === undefined) next.faultRate = 1
    if (patch.faultCount === undefined) next.faultCount = 0
  }
  if (patch.faultCount !== undefined) {
    const count = patch.faultCount
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_FAULT_COUNT) {
      throw new TypeError('faultCount must be an integer ≥ 0')
    }
    next.faultCount = count
  }
  if (patch.faultRate !== undefined) {
    const rate = patch.faultRate
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new TypeError('faultRate must be a number in 0..1')
    }
    next.faultRate = rate
  }
  return Object.freeze(next)
}

/**
 * The knobs in force and the fault schedule: which request gets the fault.
 *
 * @example
 * const knobs = new KnobState(['none', 'http-503', 'hang'] as const)
 * knobs.set({ fault: 'http-503', faultRate: 0.5 })
 * knobs.nextFault() // undefined, then 'http-503', undefined, 'http-503' …
 */
export class KnobState<F extends string> {
  readonly faults: readonly F[]
  #knobs: SimulatorKnobs<F>
  /** Accumulated faultRate: a request gets the fault when it reaches 1. */
  #credit = 0

  /** `faults` must include `none`; `initial` is checked like a `set`. */
  constructor(faults: readonly F[], initial: Partial<SimulatorKnobs<F>> = {}) {
    if (!(faults as readonly string[]).includes('none')) throw new TypeError('faults must include none')
    this.faults = faults
    const off = Object.freeze({ latencyMs: 0, fault: 'none' as F, faultRate: 1, faultCount: 0 })
    this.#knobs = checkSimulatorKnobs(faults, off, initial)
  }

  get current(): SimulatorKnobs<F> {
    return this.#knobs
  }

  /** Merges a patch (see checkSimulatorKnobs) and restarts the schedule. Returns the knobs now in force. */
  set(patch: Partial<SimulatorKnobs<F>>): SimulatorKnobs<F> {
    this.#knobs = checkSimulatorKnobs(this.faults, this.#knobs, patch)
    this.#credit = 0
    return this.#knobs
  }

  /** The fault for this request, if its turn has come: one of the next faultCount, or with rate r every 1/r-th. */
  nextFault(): F | undefined {
    const knobs = this.#knobs
    if (knobs.fault === 'none') return undefined
    if (knobs.faultCount > 0) {
      this.#knobs = Object.freeze({
        ...knobs,
        faultCount: knobs.faultCount - 1,
        fault: knobs.faultCount === 1 ? ('none' as F) : knobs.fault,
      })
      return knobs.fault
    }
    if (knobs.faultRate <= 0) return undefined
    this.#credit += knobs.faultRate
    if (this.#credit < 1 - 1e-9) return undefined
    this.#credit -= 1
    return knobs.fault
  }
}

/**
 * Serves `/__sim/knobs`: GET answers the knobs in force; POST takes a JSON object of knobs and answers the knobs
 * now in force, or 400 with `{ error }` naming the bad knob; other methods get 405.
 */
export async function serveKnobs<F extends string>(
  req: IncomingMessage,
  res: ServerResponse,
  knobs: KnobState<F>,
  contentType: string = JSON_UTF8,
): Promise<void> {
  if (req.method === 'GET') return sendJson(res, 200, knobs.current, contentType)
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' }, contentType)
  const body = await readRequestBody(req)
  let patch: unknown
  try {
    patch = JSON.parse(body?.toString('utf8') ?? '')
  } catch {
    return sendJson(res, 400, { error: 'body must be a JSON object of knobs' }, contentType)
  }
  try {
    return sendJson(res, 200, knobs.set(patch as Partial<SimulatorKnobs<F>>), contentType)
  } catch (err) {
    return sendJson(res, 400, { error: (err as Error).message }, contentType)
  }
}

/** A running simulator with knobs, as conformance fixtures and tests drive it. */
export interface KnobbedSimulator<F extends string = string> {
  /** Merges knobs (see KnobState.set); returns the knobs now in force. */
  setKnobs(knobs: Partial<SimulatorKnobs<F>>): SimulatorKnobs<F>
  readonly knobs: SimulatorKnobs<F>
}

/** A running HTTP simulator with knobs (fault names `F`) that keeps the requests it received (`R`). */
export interface RunningHttpSimulator<F extends string, R> extends RunningSimulator, KnobbedSimulator<F> {
  /** The last MAX_RECORDED_REQUESTS requests as received, oldest first. */
  readonly requests: readonly R[]
}

export interface KnobbedServerOptions<F extends string> extends SimulatorServerOptions {
  /** The simulator's faults, `none` included. */
  readonly faults: readonly F[]
  /** Knobs in force at start. */
  readonly initialKnobs?: Partial<SimulatorKnobs<F>>
  /** Content type of the knobs endpoint's JSON. @default 'application/json; charset=utf-8' */
  readonly knobsContentType?: string
  /** Answers every request but `/__sim/knobs`, which the server answers itself. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> | void
}

/** The fault a request gets; undefined for none. */
export interface KnobTurn<F extends string> {
  readonly fault: F | undefined
}

/** What a simulator's handlers use, and `expose` to build the running simulator its start function returns. */
export interface KnobbedServer<F extends string, R> {
  readonly url: string
  readonly knobs: KnobState<F>
  /** Keeps a request for tests (the last MAX_RECORDED_REQUESTS). */
  record(request: R): void
  /**
   * Applies the knobs to one request: waits `latencyMs` (less if the client goes away), then draws the fault the
   * request gets. Undefined when the client went away meanwhile: answer nothing.
   */
  applyKnobs(req: IncomingMessage): Promise<KnobTurn<F> | undefined>
  /** The running simulator (url, setKnobs, live knobs and requests, close) with the simulator's own members. */
  expose<X extends object>(extra: X): RunningHttpSimulator<F, R> & X
}

/**
 * Starts an HTTP simulator with knobs: `/__sim/knobs` is served (serveKnobs), every other request goes to `handle`.
 *
 * @example
 * const sim = await startKnobbedServer<MyFault, RecordedRequest>({
 *   faults: MY_FAULTS,
 *   handle: (req, res) => answer(req, res), // sim.record(…), then `const turn = await sim.applyKnobs(req)`
 *   internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
 * })
 * return sim.expose({ data })
 */
export async function startKnobbedServer<F extends string, R>(
  options: KnobbedServerOptions<F>,
): Promise<KnobbedServer<F, R>> {
  const knobs = new KnobState(options.faults, options.initialKnobs)
  const requests: R[] = []
  const http = await startSimulatorServer({
    host: options.host,
    port: options.port,
    handle: (req, res, pathname) =>
      pathname === KNOBS_PATH
        ? serveKnobs(req, res, knobs, options.knobsContentType)
        : options.handle(req, res, pathname),
    internalError: options.internalError,
  })
  return {
    url: http.url,
    knobs,
    record: (request) => recordRequest(requests, request),
    async applyKnobs(req) {
      const { latencyMs } = knobs.current
      if (latencyMs > 0) await http.sleep(latencyMs, req)
      if (req.socket.destroyed) return undefined
      return { fault: knobs.nextFault() }
    },
    expose: (extra) =>
      Object.assign(
        {
          url: http.url,
          setKnobs: (patch: Partial<SimulatorKnobs<F>>) => knobs.set(patch),
          get knobs() {
            return knobs.current
          },
          get requests(): readonly R[] {
            return requests
          },
          close: () => http.close(),
        },
        extra,
      ),
  }
}
