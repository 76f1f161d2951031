import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type * as AuditLogModule from '../gateway/audit/audit-log.js'
import type * as CheckpointModule from '../gateway/audit/checkpoint.js'
import type * as FileBackendModule from '../gateway/audit/file-backend.js'
import type * as IdsModule from '../gateway/audit/ids.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { percentile } from './lib/stats.js'
import { pinThreads, threadCpuNs, threadCpuPer } from './lib/threads.js'

/**
 * The audit store alone: the BUILT audit log (dist/gateway/audit) with the file backend and the gateway's default
 * policy (sha256, checkpoint every 1,000 records or 10 s, 64 MiB segments), driven by N concurrent appenders for a
 * while. Each append resolves only once its record is durable (fdatasync of its group), as in the gateway.
 *
 * Usage: node --import tsx bench/audit-store.ts <dir> <appenders> <seconds> [--dist <dir>] [--threads on|off]
 *          [--thread-cores <list>|same]
 * `--dist`: another build's dist/ (e.g. the one before a change, for a paired run); default this tree's.
 * `--threads`: the audit threads, `qiao-audit-hash` (serialising and hashing, AuditLogOptions.hashing) and
 * `qiao-audit-idx` (the file store's index, indexThread), on (default) or off (all on the appending thread). The
 * log's own default follows the CPUs the process may use, and the bench pins it to one: so it sets them explicitly.
 * `--thread-cores`: the cores the audit threads are moved to (taskset); default the cores this process is not pinned
 * to, if any (the bench pins it to the peer core: they take the other one, as they would on a two-core gateway),
 * `same` to leave them with the appending thread.
 * Prints `AUDIT_RESULT {json}`.
 *
 * CPU is read for the whole process (every thread: libuv's fsync threads, V8's, the hashing thread) and per thread
 * from /proc/self/task/<tid>/schedstat (ns on CPU; Node 20 has no process.threadCpuUsage): the main thread (the
 * request thread in the gateway; here it also builds the records and keeps the latencies) and the others by name.
 */

export interface AuditStoreResult {
  readonly appenders: number
  readonly seconds: number
  readonly records: number
  readonly recordsPerSecond: number
  readonly syncs: number
  readonly syncsPerSecond: number
  /** Records per fsync (group-commit factor). */
  readonly recordsPerSync: number
  readonly checkpoints: number
  /** Append → durable, per record. */
  readonly latencyUs: { readonly p50: number; readonly p99: number; readonly max: number }
  /** CPU of the process per record (all threads). */
  readonly cpuUsPerRecord: number
  /** CPU of the main thread (the gateway's request thread) per record. */
  readonly mainThreadCpuUsPerRecord: number
  /**
   * CPU per record of the other threads, summed by thread name: `qiao-audit-hash` (the log's hashing thread),
   * `qiao-audit-idx` (the file store's index), `node` (libuv's pool, which runs the writes and fdatasyncs, and V8's
   * GC and compiler threads).
   */
  readonly otherThreadsCpuUsPerRecord: Readonly<Record<string, number>>
  /** Whether the audit threads were on, and the cores they were moved to (undefined: left where they started). */
  readonly threads: 'on' | 'off'
  readonly threadCores?: string
  readonly recordBytes: number
  /** The measured window in ms since the process started (to cut a --cpu-prof profile to it). */
  readonly measuredMs: { readonly from: number; readonly to: number }
}

/** A record like the gateway's (pipeline/70-audit.ts): same fields, keys in the same canonical order. */
function record(ids: typeof IdsModule, i: number, now: number): ExchangeAuditRecord {
  return {
    action: 'read',
    approvalRef: '宁住建共享〔2026〕3号',
    case: `NJ-2026-${String(i % 1_000_000).padStart(6, '0')}`,
    catalogVersion: '2026.11-demo.2',
    decision: 'allow',
    fields: PERMIT_FIELDS,
    id: ids.uuidv7(now),
    kind: 'exchange',
    masked: ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'],
    matter: 'QT00301001',
    paramsDigest: 'a'.repeat(64),
    provider: 'housing',
    reason: 'ok',
    recordCount: 2,
    requestId: `req-${now.toString(36)}-${i.toString(36)}`,
    requester: { clientId: 'drc-tzxm-portal', dept: 'drc', sub: `officer-${String(i % 10_000).padStart(6, '0')}` },
    resource: 'housing.construction-permit',
    status: 200,
    subjects: ['b'.repeat(64), 'c'.repeat(64)],
    time: new Date(now).toISOString(),
    totalMs: 2,
    upstreamMs: 1,
  }
}

const PERMIT_FIELDS = [
  'permitNo',
  'projectCode',
  'subProjectCode',
  'projectName',
  'divisionCode',
  'constructionSite',
  'constructionScale',
  'ownerName',
  'ownerUscc',
  'contractorName',
  'contractorUscc',
  'contractPriceWanYuan',
  'totalFloorAreaM2',
  'plannedStartDate',
  'plannedCompletionDate',
  'issueDate',
  'issuingAuthority',
  'ownerLeadName',
  'ownerLeadIdNo',
  'ownerLeadPhone',
]

/** Cores in this process's affinity mask (/proc/self/status Cpus_allowed_list, e.g. `1` or `0-1,3`). */
function allowedCores(): Set<number> {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? ''
  const cores = new Set<number>()
  for (const part of list.split(',')) {
    const [from, to] = part.split('-').map(Number)
    if (from === undefined || Number.isNaN(from)) continue
    for (let c = from; c <= (to ?? from); c++) cores.add(c)
  }
  return cores
}

/** Moves the audit threads to `cores` (default: those this process is not pinned to); returns them. */
function pinAuditThreads(option: string | undefined): string | undefined {
  if (option === 'same') return undefined
  const allowed = allowedCores()
  const others = Array.from({ length: availableParallelism() }, (_, c) => c).filter((c) => !allowed.has(c))
  const cores = option ?? others.join(',')
  if (cores === '') return undefined
  pinThreads(process.pid, cores, (_, name) => name.startsWith('qiao-audit-'))
  return cores
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dist: { type: 'string' }, threads: { type: 'string' }, 'thread-cores': { type: 'string' } },
  })
  const [dirArg, appendersArg, secondsArg] = positionals
  const dir = resolve(dirArg ?? 'bench/.work/audit-store')
  const appenders = Number(appendersArg ?? 64)
  const seconds = Number(secondsArg ?? 5)
  const threads = values.threads === 'off' ? 'off' : 'on'
  const dist = join(resolve(values.dist ?? resolve(import.meta.dirname, '../dist')), 'gateway/audit')
  const load = <T>(name: string) => import(pathToFileURL(join(dist, name)).href) as Promise<T>
  const [{ openAuditLog }, { loadOrCreateAuditSigningKey }, { createFileAuditBackend }, ids] = await Promise.all([
    load<typeof AuditLogModule>('audit-log.js'),
    load<typeof CheckpointModule>('checkpoint.js'),
    load<typeof FileBackendModule>('file-backend.js'),
    load<typeof IdsModule>('ids.js'),
  ])
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const clock = { now: () => Date.now() }
  const log = await openAuditLog({
    // An older build (--dist) ignores the options and works as it did.
    backend: createFileAuditBackend({ dir: join(dir, 'audit'), now: clock.now, indexThread: threads === 'on' }),
    logId: 'qiao-bench-audit',
    hashAlgorithm: 'sha256',
    signingKey: await loadOrCreateAuditSigningKey(join(dir, 'audit-signing-key.jwk.json')),
    clock,
    checkpointEvery: 1000,
    checkpointIntervalMs: 10_000,
    segmentMaxSize: 64 * 1024 * 1024,
    segmentMaxAgeMs: 24 * 3600_000,
    hashing: threads === 'on' ? 'thread' : 'inline',
  })

  // Warm-up: one second, not counted.
  const run = async (ms: number, latencies?: number[]) => {
    const end = performance.now() + ms
    let n = 0
    await Promise.all(
      Array.from({ length: appenders }, async (_, a) => {
        while (performance.now() < end) {
          const t = performance.now()
          await log.append(record(ids, a * 1_000_000 + n++, Date.now()))
          latencies?.push((performance.now() - t) * 1000)
        }
      }),
    )
  }
  await run(1000)
  // The threads start with the log (the hashing one at the latest with the first batch); they exist now.
  const threadCores = pinAuditThreads(values['thread-cores'])
  const before = log.stats
  const cpuBefore = process.cpuUsage()
  const threadsBefore = threadCpuNs()
  const latencies: number[] = []
  const started = performance.now()
  await run(seconds * 1000, latencies)
  const finished = performance.now()
  const elapsed = (finished - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const threadsAfter = threadCpuNs()
  const after = log.stats
  await log.seal()
  rmSync(dir, { recursive: true, force: true })

  const records = after.appended - before.appended
  const perThread = threadCpuPer(process.pid, threadsBefore, threadsAfter, records)
  const syncs = after.syncs - before.syncs
  const result: AuditStoreResult = {
    appenders,
    seconds: elapsed,
    records,
    recordsPerSecond: records / elapsed,
    syncs,
    syncsPerSecond: syncs / elapsed,
    recordsPerSync: syncs > 0 ? records / syncs : 0,
    checkpoints: after.checkpoints - before.checkpoints,
    latencyUs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.reduce((m, v) => Math.max(m, v), 0),
    },
    cpuUsPerRecord: records > 0 ? (cpu.user + cpu.system) / records : 0,
    mainThreadCpuUsPerRecord: perThread.main,
    otherThreadsCpuUsPerRecord: perThread.others,
    threads,
    ...(threadCores !== undefined ? { threadCores } : {}),
    recordBytes: Buffer.byteLength(JSON.stringify(record(ids, 1, Date.now()))),
    measuredMs: { from: started, to: finished },
  }
  console.log(`AUDIT_RESULT ${JSON.stringify(result)}`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
