import { mkdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as AuditLogModule from '../gateway/audit/audit-log.js'
import type * as CheckpointModule from '../gateway/audit/checkpoint.js'
import type * as FileBackendModule from '../gateway/audit/file-backend.js'
import type * as IdsModule from '../gateway/audit/ids.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { percentile } from './lib/stats.js'

/**
 * The audit store alone: the BUILT audit log (dist/gateway/audit) with the file backend and the gateway's default
 * policy (sha256, checkpoint every 1,000 records or 10 s, 64 MiB segments), driven by N concurrent appenders for a
 * while. Each append resolves only once its record is durable (fdatasync of its group), as in the gateway.
 *
 * Usage: node --import tsx bench/audit-store.ts <dir> <appenders> <seconds>
 * Prints `AUDIT_RESULT {json}`.
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
  /** CPU of the process per record. */
  readonly cpuUsPerRecord: number
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

async function main(): Promise<void> {
  const [dirArg, appendersArg, secondsArg] = process.argv.slice(2)
  const dir = resolve(dirArg ?? 'bench/.work/audit-store')
  const appenders = Number(appendersArg ?? 64)
  const seconds = Number(secondsArg ?? 5)
  const dist = resolve(import.meta.dirname, '../dist/gateway/audit')
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
    backend: createFileAuditBackend({ dir: join(dir, 'audit'), now: clock.now }),
    logId: 'qiao-bench-audit',
    hashAlgorithm: 'sha256',
    signingKey: await loadOrCreateAuditSigningKey(join(dir, 'audit-signing-key.jwk.json')),
    clock,
    checkpointEvery: 1000,
    checkpointIntervalMs: 10_000,
    segmentMaxSize: 64 * 1024 * 1024,
    segmentMaxAgeMs: 24 * 3600_000,
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
  const before = log.stats
  const cpuBefore = process.cpuUsage()
  const latencies: number[] = []
  const started = performance.now()
  await run(seconds * 1000, latencies)
  const finished = performance.now()
  const elapsed = (finished - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const after = log.stats
  await log.seal()
  rmSync(dir, { recursive: true, force: true })

  const records = after.appended - before.appended
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
