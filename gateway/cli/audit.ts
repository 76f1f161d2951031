import { once } from 'node:events'
import { open, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { JSONWebKeySet } from 'jose'
import type { AuditFilter } from '../audit/backend.js'
import { loadOrCreateAuditSigningKey } from '../audit/checkpoint.js'
import { createKeyedDigest } from '../audit/digest.js'
import {
  CSV_HEADER_LANGUAGES,
  type CsvHeaders,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportNames,
  NO_NAMES,
} from '../audit/export.js'
import { exportFile } from '../audit/export-xlsx.js'
import { createFileAuditBackend, setAsideOpenSegment } from '../audit/file-backend.js'
import { parseFilter } from '../audit/query.js'
import { subjectDigest } from '../audit/subjects.js'
import { timestampCheck } from '../audit/tsa/verify-log.js'
import { type VerifyProblem, type VerifyResult, verifyAuditLogs } from '../audit/verify.js'
import {
  environmentConfig,
  exitOnUsage,
  openStore,
  readJwks,
  run,
  type StoreOptions,
  subjectKey,
  UsageError,
} from './audit-store.js'

/**
 * `qiao audit verify` and `qiao audit export`: offline, for auditors. Both open the audit store for reading only
 * (no gateway needs to run, nothing is written). Exit codes: 0 OK, 1 problems found in the log, 2 usage or I/O.
 * `qiao audit set-aside`: for operators, with the gateway stopped, when it refuses to start on a damaged segment.
 */

function where(p: VerifyProblem): string {
  return [
    `log ${p.logId}`,
    p.segment === undefined ? '' : ` segment ${p.segment}`,
    p.line === undefined ? '' : ` line ${p.line}`,
    p.seq === undefined ? '' : ` seq ${p.seq}`,
    p.recordId === undefined ? '' : ` record ${p.recordId}`,
  ].join('')
}

/** The verify report: one line per log, the first broken record, every problem, the warnings, the verdict. */
export function verifyReport(result: VerifyResult, store: string): string {
  const out: string[] = [`audit store: ${store}`]
  const logIds = [...new Set([...result.logs.map((l) => l.logId), ...result.problems.map((p) => p.logId)])]
  for (const logId of logIds) {
    const summary = result.logs.find((l) => l.logId === logId)
    const problems = result.problems.filter((p) => p.logId === logId).length
    const verdict = problems === 0 ? 'OK' : `${problems} PROBLEM(S)`
    out.push(
      summary
        ? `log ${logId}: ${summary.records} records in ${summary.segments} segment(s), ${summary.checkpoints} signed checkpoint(s): ${verdict}`
        : `log ${logId}: verification stopped: ${verdict}`,
    )
  }
  for (const a of result.setAside) {
    out.push(
      '',
      `SET ASIDE: log ${a.logId} segment ${a.segment} (${a.file}, set aside ${a.at}): damaged from line ${a.line} (${a.reason});`,
      `  its first ${a.records} record(s) verify and are sealed by a signed checkpoint; the log goes on from that seal in segment ${a.segment + 1}`,
    )
  }
  if (!result.ok) {
    // The first record-level problem is where the log stopped being what was signed.
    const first = result.problems.find((p) => p.seq !== undefined || p.recordId !== undefined) ?? result.problems[0]
    if (first) out.push('', `FIRST BROKEN: ${where(first)} — ${first.message}`)
    out.push('', `${result.problems.length} problem(s):`)
    for (const p of result.problems) out.push(`  ${where(p)}: ${p.message}`)
  }
  if (result.warnings.length > 0) {
    out.push('', 'warnings:')
    for (const w of result.warnings) out.push(`  ${w}`)
  }
  const records = result.logs.reduce((n, l) => n + l.records, 0)
  out.push(
    '',
    result.ok
      ? `VERIFIED: ${records} records in ${result.logs.length} log(s); every leaf, chain link, Merkle root and checkpoint signature checks${result.setAside.length > 0 ? ` — ${result.setAside.length} damaged segment(s) SET ASIDE (above)` : ''}`
      : `FAILED: ${result.problems.length} problem(s); the log was altered after it was written (or the keys are wrong)`,
  )
  return `${out.join('\n')}\n`
}

async function verifyCommand(
  options: StoreOptions & { keys?: string; json?: boolean; tsaRoots?: string },
): Promise<number> {
  const config = environmentConfig(options.dir === undefined && options.url === undefined)
  const { backend, where: store } = await openStore(options, config)
  try {
    if ((await backend.logIds()).length === 0) throw new UsageError(`${store}: no audit logs found`)
    let keys: JSONWebKeySet
    if (options.keys !== undefined) {
      keys = await readJwks(options.keys)
    } else {
      keys = await backend.keys()
      console.error(
        'warning: checkpoint signatures are checked with the public keys stored in the log being verified; pin keys you keep yourself with --keys <jwks file> (GET /v1/audit/keys)',
      )
    }
    const result = await verifyAuditLogs(backend, {
      keys,
      ...timestampCheck(options.tsaRoots ?? config.auditTsaRootsFile, config.auditTsaPolicy),
      onProgress: (n) => console.error(`verified ${n} records…`),
    })
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : verifyReport(result, store))
    return result.ok ? 0 : 1
  } finally {
    await backend.close()
  }
}

async function setAsideCommand(options: { dir?: string; url?: string; log: string }): Promise<number> {
  if (options.url !== undefined) {
    throw new UsageError('set-aside applies to the file store (--dir); a PostgreSQL log is repaired in the database')
  }
  const config = environmentConfig(options.dir === undefined)
  if (config.auditUrl !== undefined && options.dir === undefined) {
    throw new UsageError('QIAO_AUDIT_URL is set: set-aside applies to the file store; give --dir')
  }
  const dir = options.dir === undefined ? config.auditDir : resolve(options.dir)
  // The seal over the verified records is signed with the gateway's audit key, published with the others.
  const signingKey = await loadOrCreateAuditSigningKey(config.auditSigningKeyFile, config.auditSignatureAlg)
  await createFileAuditBackend({ dir, now: Date.now }).publishKey(signingKey.publicJwk)
  const report = await setAsideOpenSegment({ dir, logId: options.log, signingKey, now: Date.now() })
  process.stdout.write(
    [
      `log ${report.logId}: segment ${report.segment} set aside as ${report.file} (kept, never deleted)`,
      `  damaged from line ${report.line}: ${report.reason}`,
      `  its first ${report.records} record(s) verify and are now sealed by a signed checkpoint`,
      `  the log goes on in segment ${report.nextSegment} from seq ${report.nextSeq}, chained from that seal`,
      `  \`qiao audit verify\` reports the set-aside segment; the gateway can start again`,
      '',
    ].join('\n'),
  )
  return 0
}

interface ExportOptions extends StoreOptions {
  readonly format: string
  readonly headers?: string
  readonly out?: string
  readonly from?: string
  readonly to?: string
  readonly kind?: string
  readonly dept?: string
  readonly sub?: string
  readonly matter?: string
  readonly case?: string
  readonly resource?: string
  readonly decision?: string
  readonly outcome?: string
  readonly reason?: string
  readonly status?: string
  readonly logId?: string
  readonly subject?: string
  readonly keyFile?: string
}

/** Writes chunks honouring backpressure; a reader that went away (EPIPE, e.g. `| head`) ends the export quietly. */
async function writeChunks(out: NodeJS.WritableStream, chunks: AsyncIterable<string | Uint8Array>): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined
  const onError = (err: NodeJS.ErrnoException) => {
    failure = err
  }
  out.on('error', onError)
  try {
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await once(out, 'drain')
      if (failure) break
    }
  } catch (err) {
    failure ??= err as NodeJS.ErrnoException
  } finally {
    out.off('error', onError)
  }
  if (failure && failure.code !== 'EPIPE') throw failure
}

/**
 * The names beside the codes in a CSV or XLSX export, from the catalog file (QIAO_CATALOG, else ./catalog.yaml),
 * loaded for its names only: nothing is connected. Offline there may be no catalog, or one whose connector settings
 * do not resolve here; the export goes on with empty names rather than fail, and says so.
 */
async function exportNames(file: string): Promise<ExportNames> {
  if (!(await stat(file).catch(() => undefined))?.isFile()) {
    console.error(`no catalog at ${file} (QIAO_CATALOG): the name columns are empty`)
    return NO_NAMES
  }
  const [{ loadCatalog }, { connectorDefinitions }] = await Promise.all([
    import('../catalog/load.js'),
    import('../../connectors/registry.js'),
  ])
  const loaded = await loadCatalog(file, { definitions: connectorDefinitions, vars: process.env })
  if (loaded.ok) return loaded.catalog
  console.error(`${file}: ${loaded.issues.length} problem(s) (see \`qiao catalog check\`): the name columns are empty`)
  return NO_NAMES
}

async function exportCommand(options: ExportOptions): Promise<number> {
  const format = options.format as ExportFormat
  if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format: expected ${EXPORT_FORMATS.join(' or ')}`)
  const headers = (options.headers ?? 'zh') as CsvHeaders
  if (!CSV_HEADER_LANGUAGES.includes(headers)) {
    throw new UsageError(`--headers: expected ${CSV_HEADER_LANGUAGES.join(' or ')}`)
  }
  if (options.headers !== undefined && format === 'jsonl') throw new UsageError('--headers applies to csv or xlsx only')
  const parsed = parseFilter({
    from: options.from,
    to: options.to,
    kind: options.kind,
    dept: options.dept,
    sub: options.sub,
    matter: options.matter,
    case: options.case,
    resource: options.resource,
    decision: options.decision,
    outcome: options.outcome,
    reason: options.reason,
    status: options.status,
    logId: options.logId,
    subject: options.subject,
  })
  if (!parsed.ok) throw new UsageError(parsed.errors.map((e) => `--${e.replace(/^logId/, 'log-id')}`).join('; '))
  const needsEnv =
    (options.dir === undefined && options.url === undefined) ||
    (options.subject !== undefined && options.keyFile === undefined)
  const config = environmentConfig(needsEnv)
  let filter: AuditFilter = parsed.value.filter
  if (parsed.value.subject !== undefined) {
    const digest = createKeyedDigest(await subjectKey(options.keyFile ?? config.auditKeyFile))
    filter = { ...filter, subject: subjectDigest(digest, parsed.value.subject) }
  }
  const names = format === 'jsonl' ? NO_NAMES : await exportNames(config.catalog)
  const { backend } = await openStore(options, config)
  let count = 0
  try {
    const chunks = exportFile(backend.query(filter), format, { onEntry: () => void count++, names, headers })
    if (options.out === undefined) {
      await writeChunks(process.stdout, chunks)
    } else {
      const file = await open(options.out, 'w', 0o600)
      const stream = file.createWriteStream()
      await writeChunks(stream, chunks)
      await new Promise<void>((done, fail) => stream.end((err?: Error | null) => (err ? fail(err) : done())))
    }
  } finally {
    await backend.close()
  }
  console.error(`exported ${count} record(s)${options.out === undefined ? '' : ` to ${options.out}`}`)
  return 0
}

export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('auditors: verify and export the audit log (offline); operators: set a damaged segment aside')
  audit
    .command('verify')
    .description(
      'recompute every leaf, chain link and Merkle root and check every checkpoint signature; exit 0 OK, 1 problems, 2 usage/IO',
    )
    .option('--dir <dir>', 'audit directory (default: QIAO_AUDIT_DIR, else <data dir>/audit)')
    .option('--url <url>', 'PostgreSQL audit store (default: QIAO_AUDIT_URL)')
    .option('--keys <jwks>', 'audit public keys you keep yourself (default: the key history in the store)')
    .option(
      '--tsa-roots <pem>',
      'trusted TSA roots: check every checkpoint’s RFC 3161 timestamp (default: QIAO_AUDIT_TSA_ROOTS_FILE)',
    )
    .option('--json', 'print the full result as JSON')
    .exitOverride(exitOnUsage)
    .action((options: StoreOptions & { keys?: string; json?: boolean }) => run('verify', () => verifyCommand(options)))

  audit
    .command('set-aside')
    .description(
      'gateway stopped: move a damaged open segment aside (renamed, kept), seal its verified records, start a new segment',
    )
    .requiredOption('--log <id>', 'the log id named in the refusal (QIAO_AUDIT_LOG_ID)')
    .option('--dir <dir>', 'audit directory (default: QIAO_AUDIT_DIR, else <data dir>/audit)')
    .option('--url <url>', 'not supported: PostgreSQL logs are not set aside')
    .exitOverride(exitOnUsage)
    .action((options: { dir?: string; url?: string; log: string }) => run('set-aside', () => setAsideCommand(options)))

  audit
    .command('export')
    .description(
      'stream matching audit records as JSON lines, CSV (UTF-8 with BOM) or XLSX to stdout or --out; CSV and ' +
        'XLSX name departments, matters and resources from the catalog file (QIAO_CATALOG, else ./catalog.yaml): ' +
        'without one, the name columns are empty',
    )
    .option('--dir <dir>', 'audit directory (default: QIAO_AUDIT_DIR, else <data dir>/audit)')
    .option('--url <url>', 'PostgreSQL audit store (default: QIAO_AUDIT_URL)')
    .option('--format <format>', 'jsonl, csv or xlsx (a binary file: give --out)', 'jsonl')
    .option('--headers <lang>', 'CSV and XLSX header names: zh (default) or en (the English names, for scripts)')
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--from <time>', 'records at or after (ISO 8601: 2026-11-26 or 2026-11-26T10:00:00+08:00)')
    .option('--to <time>', 'records before (ISO 8601)')
    .option('--kind <kind>', 'exchange or admin')
    .option('--dept <code>', 'requesting department')
    .option('--sub <officer>', 'requesting officer (token sub)')
    .option('--matter <code>', 'matter code')
    .option('--case <id>', 'case id')
    .option('--resource <id>', 'resource id')
    .option('--decision <decision>', 'access decision: allow or deny (allowed calls can still be refused or fail)')
    .option('--outcome <outcome>', 'how the call ended: ok (2xx), refused (4xx, also 429 quota-exceeded), failed (5xx)')
    .option('--reason <code>', 'ok or the problem code that ended the call (e.g. quota-exceeded)')
    .option('--status <status>', 'the HTTP status it was answered with (100–599)')
    .option('--log-id <id>', 'one gateway instance’s log')
    .option(
      '--subject <identifier>',
      'calls about this company or person (valid USCC, resident id or organisation code); needs the audit HMAC key',
    )
    .option('--key-file <file>', 'audit HMAC key for --subject (default: QIAO_AUDIT_KEY_FILE)')
    .exitOverride(exitOnUsage)
    .action((options: ExportOptions) => run('export', () => exportCommand(options)))
}
