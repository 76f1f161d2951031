import { connect as netConnect } from 'node:net'
import pg from 'pg'
import { ConnectorError, type ConnectorErrorKind, transportError } from '../kit/connector-error.js'
import type {
  CanonicalRecord,
  Change,
  ChangesOperation,
  Connector,
  ConnectorDeps,
  HealthReport,
  ReadOperation,
} from '../kit/types.js'
import { decodeQzkCursor, encodeQzkCursor, nextQzkCursor } from './change-cursor.js'
import { MappingError, mapEnterpriseRow, type QzkRow } from './mapping.js'
import { type MarketQzkOptions, resolveOptions } from './options.js'
import {
  BEGIN_READ_ONLY,
  buildStatements,
  CHANGE_COLUMNS,
  COMMIT,
  ROW_VALID,
  SET_LOCAL_STATEMENT_TIMEOUT,
} from './sql.js'

/** Parameters of `enterpriseByUscc` (by-uscc.request.json). */
export interface EnterpriseByUsccParams {
  readonly uscc: string
}

/** Cap on a health probe when the caller's signal has no deadline of its own. */
export const HEALTH_TIMEOUT_MS = 5_000
/** Longest wait for a new connection (or a free one from a full pool) before the pool gives up. */
export const CONNECT_TIMEOUT_MS = 5_000
/** Idle connections are closed after this long. */
export const IDLE_TIMEOUT_MS = 30_000
/** `application_name` of the connector's sessions, so DBAs can tell them apart in pg_stat_activity. */
export const APPLICATION_NAME = 'qiao-market-qzk'
/** Most changes in one page of `registrationChanges`, whatever the caller asks. */
export const MAX_CHANGES_PAGE = 1_000
/** The PostgreSQL CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80_877_102
const CANCEL_REQUEST_TIMEOUT_MS = 1_000

/**
 * Builds a connector for the 市场监管 法人库 front-end database (前置库). See README.md.
 *
 * One `pg.Pool` per instance, created here and closed by `dispose()`; no connection is opened before the first
 * call. Every call runs in a read-only transaction whose server-side `statement_timeout` is the smaller of
 * `statementTimeoutMs` and the time left to the deadline; on abort the connector stops waiting at once, sends the
 * server a CancelRequest for the running statement and closes that connection. The gateway's undici dispatcher
 * (`deps.dispatcher`) is not used.
 *
 * @example
 * const connector = createMarketQzkConnector(
 *   { connectionString: 'postgres://qiao_reader@10.32.5.11:5432/qzk' },
 *   { dispatcher, log, clock: { now: Date.now } },
 * )
 * const [registration] = await connector.operations.enterpriseByUscc.handle({ uscc: '91320102MA1XYZ1234' }, ctx)
 */
export function createMarketQzkConnector(options: MarketQzkOptions, deps: ConnectorDeps): Connector {
  const settings = resolveOptions(options)
  const statements = buildStatements(settings.schema, settings.table)
  const { clock, log } = deps
  const pool = new pg.Pool({
    connectionString: settings.connectionString,
    max: settings.poolMax,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    allowExitOnIdle: true,
    application_name: APPLICATION_NAME,
  })
  // An idle connection that breaks (server restart, network) is dropped by the pool; without a listener the
  // 'error' event would crash the process.
  pool.on('error', (err) => {
    const error = databaseError(err)
    log.warn({ sqlState: error.upstreamCode, errorKind: error.kind }, 'market-qzk idle connection lost')
  })
  let disposed = false
  let ending: Promise<void> | undefined

  /**
   * Runs one statement in a read-only transaction under a server-side statement timeout, and stops waiting as soon
   * as `signal` aborts. The connection goes back to the pool only after a clean COMMIT.
   */
  async function runReadOnly(
    text: string,
    values: readonly string[],
    signal: AbortSignal,
    deadline: number,
  ): Promise<QzkRow[]> {
    const left = deadline - clock.now()
    if (signal.aborted || left <= 0) throw deadlineReached()
    const timeoutMs = Math.max(1, Math.min(settings.statementTimeoutMs, Math.floor(left)))
    const client = await untilAborted(pool.connect(), signal, (late) => late.release())
    // Errors of a checked-out connection reach the running query; this keeps a stray one from crashing the process.
    const ignore = () => {}
    client.on('error', ignore)
    let clean = false
    try {
      await untilAborted(client.query(BEGIN_READ_ONLY), signal)
      await untilAborted(client.query(SET_LOCAL_STATEMENT_TIMEOUT, [String(timeoutMs)]), signal)
      const result = await untilAborted(client.query<QzkRow>(text, [...values]), signal)
      await untilAborted(client.query(COMMIT), signal)
      clean = true
      return result.rows
    } catch (err) {
      if (signal.aborted) sendCancelRequest(client)
      throw err
    } finally {
      client.removeListener('error', ignore)
      // A connection in an unknown state (aborted or failed inside the transaction) is closed, not reused.
      client.release(clean ? undefined : true)
    }
  }

  const enterpriseByUscc: ReadOperation<EnterpriseByUsccParams> = {
    kind: 'read',
    async handle(params, ctx) {
      const operation = 'enterpriseByUscc'
      const started = clock.now()
      let rowCount: number | undefined
      try {
        if (disposed) throw new ConnectorError('unavailable', 'connector disposed')
        const uscc = (params as { uscc?: unknown } | null | undefined)?.uscc
        // A NUL cannot be sent in a text parameter, and matches no row anyway.
        if (typeof uscc !== 'string' || uscc.includes('\u0000')) {
          throw new ConnectorError('not-found', 'no usable uscc parameter')
        }
        const rows = await runReadOnly(statements.enterpriseByUscc, [uscc], ctx.signal, ctx.deadline)
        rowCount = rows.length
        const row = rows[0]
        if (row === undefined) {
          throw new ConnectorError('not-found', 'no valid registration row (SJYXBS = 1) for the USCC')
        }
        const record = mapRow(row)
        if (record.uscc !== uscc) {
          // Never pass on a row that was not asked for.
          throw new ConnectorError('bad-response', 'front-end row does not match the requested TYSHXYDM')
        }
        ctx.log.debug({ operation, durationMs: clock.now() - started, rowCount }, 'market-qzk query')
        return [record]
      } catch (err) {
        const error = databaseError(err, ctx.signal)
        const entry = {
          operation,
          durationMs: clock.now() - started,
          rowCount,
          sqlState: error.upstreamCode,
          errorKind: error.kind,
        }
        if (error.kind === 'not-found') ctx.log.debug(entry, 'market-qzk query found nothing')
        else ctx.log.warn(entry, 'market-qzk query failed')
        throw error
      }
    },
  }

  /**
   * The 法人登记信息 change feed (cursor: change-cursor.ts). Each valid row is one change (version = its LSH) of its
   * USCC, handed out with the USCC's newest valid record: a correction's invalid copy is no change (its new valid
   * row is), a 注销 is an upsert with that status, and a back-filled older row repeats the current record rather
   * than going back in time. Rows are never deleted, so there are no deletes.
   */
  const registrationChanges: ChangesOperation = {
    kind: 'changes',
    async handle(request, ctx) {
      const operation = 'registrationChanges'
      const started = clock.now()
      let rowCount: number | undefined
      try {
        if (disposed) throw new ConnectorError('unavailable', 'connector disposed')
        const cursor = decodeQzkCursor(request.after)
        const limit = Math.max(1, Math.min(MAX_CHANGES_PAGE, Math.floor(request.limit)))
        const rows = await runReadOnly(
          statements.changes,
          [
            String(cursor.after),
            `{${cursor.gaps.map((g) => g.from).join(',')}}`,
            `{${cursor.gaps.map((g) => g.to).join(',')}}`,
            String(limit + 1),
          ],
          ctx.signal,
          ctx.deadline,
        )
        rowCount = rows.length
        const page = rows.slice(0, limit)
        const changes: Change[] = []
        const seen: number[] = []
        for (const row of page) {
          const lsh = Number(row[CHANGE_COLUMNS.serial])
          if (!Number.isSafeInteger(lsh)) throw new ConnectorError('bad-response', 'front-end row: LSH out of range')
          seen.push(lsh)
          if (row[CHANGE_COLUMNS.validity] !== ROW_VALID) continue
          const record = mapRow(row)
          if (record.uscc !== row[CHANGE_COLUMNS.uscc]) {
            throw new ConnectorError('bad-response', 'front-end newest row does not match the changed TYSHXYDM')
          }
          changes.push({
            key: String(record.uscc),
            version: String(lsh),
            op: 'upsert',
            changedAt: changedAtOf(row[CHANGE_COLUMNS.updatedAt]),
            record,
          })
        }
        const next = nextQzkCursor(cursor, seen, Math.floor(clock.now() / 1000), settings.changeLookBackSeconds)
        ctx.log.debug(
          { operation, durationMs: clock.now() - started, rowCount, changes: changes.length, gaps: next.gaps.length },
          'market-qzk changes',
        )
        return { changes, next: encodeQzkCursor(next), more: rows.length > limit }
      } catch (err) {
        const error = databaseError(err, ctx.signal)
        ctx.log.warn(
          {
            operation,
            durationMs: clock.now() - started,
            rowCount,
            sqlState: error.upstreamCode,
            errorKind: error.kind,
          },
          'market-qzk changes failed',
        )
        throw error
      }
    },
  }

  return {
    operations: { enterpriseByUscc, registrationChanges },

    async health({ signal }): Promise<HealthReport> {
      if (disposed) return { status: 'down', detail: 'connector disposed' }
      const probe = AbortSignal.any([signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)])
      try {
        await runReadOnly(statements.probe, [], probe, clock.now() + HEALTH_TIMEOUT_MS)
        return { status: 'up' }
      } catch (err) {
        return { status: 'down', detail: `probe failed: ${databaseError(err, probe).message}` }
      }
    },

    async dispose() {
      disposed = true
      ending ??= pool.end().catch(() => undefined)
      await ending
    },
  }
}

function mapRow(row: QzkRow): CanonicalRecord {
  try {
    return mapEnterpriseRow(row)
  } catch (err) {
    if (err instanceof MappingError) {
      throw new ConnectorError('bad-response', `front-end row: ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** `SJGXSJ` (yyyyMMddHHmmss, Asia/Shanghai wall clock) as ISO 8601 with its offset. */
function changedAtOf(text: string | null | undefined): string {
  const m = typeof text === 'string' ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text) : null
  const iso = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00` : ''
  if (Number.isNaN(Date.parse(iso)))
    throw new ConnectorError('bad-response', 'front-end row: SJGXSJ is not yyyyMMddHHmmss')
  return iso
}

function deadlineReached(): ConnectorError {
  return new ConnectorError('timeout', 'deadline reached before the database answered')
}

/**
 * `promise`, or a timeout ConnectorError as soon as `signal` aborts. A value that arrives after the abort goes to
 * `onLate` (a connection to give back); a late failure is swallowed.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  const late = () => {
    promise.then(
      (value) => onLate?.(value),
      () => {},
    )
  }
  if (signal.aborted) {
    late()
    return Promise.reject(deadlineReached())
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      late()
      reject(deadlineReached())
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/**
 * Best effort, fire and forget: a PostgreSQL CancelRequest (on its own socket, as libpq's PQcancel does) for the
 * statement a connection is running, so an abandoned query stops waiting for locks and frees its backend at once
 * rather than at its statement timeout.
 */
function sendCancelRequest(client: pg.PoolClient): void {
  const { processID, secretKey, host, port } = client as unknown as Record<string, unknown>
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return
  if (typeof host !== 'string' || typeof port !== 'number') return
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4)
  packet.writeInt32BE(processID, 8)
  packet.writeInt32BE(secretKey, 12)
  const socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host)
  socket.setTimeout(CANCEL_REQUEST_TIMEOUT_MS, () => socket.destroy())
  socket.on('error', () => socket.destroy())
  socket.on('connect', () => socket.end(packet))
}

/** SQLSTATE classes and codes → kind and a message that names the problem, never a value. */
function classifySqlState(sqlState: string): { kind: ConnectorErrorKind; what: string } {
  switch (sqlState) {
    case '57014':
      return { kind: 'timeout', what: 'statement cancelled at its timeout' }
    case '55P03':
      return { kind: 'timeout', what: 'lock not available in time' }
    case '42501':
      return { kind: 'rejected', what: "the database denied the gateway's role access to the front-end table" }
    case '28000':
    case '28P01':
      return { kind: 'rejected', what: "the database refused the gateway's credentials" }
    case '42P01':
    case '42703':
    case '3F000':
      return {
        kind: 'bad-response',
        what: 'the front-end table is not as configured (schema, table or column missing)',
      }
    case '3D000':
      return { kind: 'unavailable', what: 'the configured database does not exist' }
  }
  switch (sqlState.slice(0, 2)) {
    case '42':
      return { kind: 'bad-response', what: 'the front-end table is not as configured' }
    case '22':
      return { kind: 'bad-response', what: 'the database could not convert a value' }
    case '08':
      return { kind: 'unavailable', what: 'database connection failed' }
    case '53':
      return { kind: 'unavailable', what: 'database out of resources (e.g. too many connections)' }
    case '57':
      return { kind: 'unavailable', what: 'database shutting down or not accepting connections' }
    case '40':
      return { kind: 'unavailable', what: 'transaction rolled back by the database' }
    default:
      return { kind: 'unavailable', what: 'database error' }
  }
}

function sqlStateOf(err: unknown): string | undefined {
  if (!(err instanceof pg.DatabaseError)) return undefined
  const code = err.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * Classifies a failure into a ConnectorError. Database errors keep only their SQLSTATE (as `upstreamCode`): the
 * server's message and detail may quote values, so they are not kept, not even as `cause`. Network failures go
 * through the kit's `transportError`.
 */
export function databaseError(err: unknown, signal?: AbortSignal): ConnectorError {
  if (err instanceof ConnectorError) return err
  if (signal?.aborted) return deadlineReached()
  const sqlState = sqlStateOf(err)
  if (sqlState === undefined) return transportError(err, signal)
  const { kind, what } = classifySqlState(sqlState)
  return new ConnectorError(kind, `${what} (SQLSTATE ${sqlState})`, { upstreamCode: sqlState })
}
