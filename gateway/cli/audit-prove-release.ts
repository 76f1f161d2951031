import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { JSONWebKeySet } from 'jose'
import { createKeyedDigest } from '../audit/digest.js'
import type { ExchangeAuditRecord } from '../audit/record.js'
import { contentDigestOf, readFiledAnswer } from '../audit/release-evidence.js'
import { type ReleaseReceiptBody, verifyReleaseReceipt } from '../audit/release-receipt.js'
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
 * `qiao audit prove-release <auditId> --body <file> [--receipt <file>]`: offline, for an auditor (or a court) asked
 * whether a requesting department received exactly this answer. The audit record's `releaseDigest` is recomputed
 * from the body's `data` with the audit HMAC key; with a receipt, its signature is checked against the audit keys and
 * its `Content-Digest` against the file's exact bytes. Exit 0 proven, 1 not proven, 2 usage or I/O.
 */

interface ProveOptions extends StoreOptions {
  readonly body: string
  readonly receipt?: string
  readonly keyFile?: string
  readonly keys?: string
}

/** One line per check: what was compared, and whether it holds. */
interface Check {
  readonly ok: boolean
  readonly line: string
}

async function readInput(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new UsageError(`${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
}

async function proveRelease(auditId: string, options: ProveOptions): Promise<number> {
  const body = await readInput('--body', options.body)
  const receipt = options.receipt === undefined ? undefined : (await readInput('--receipt', options.receipt)).toString()
  const needsEnv = (options.dir === undefined && options.url === undefined) || options.keyFile === undefined
  const config = environmentConfig(needsEnv)
  const key = await subjectKey(options.keyFile ?? config.auditKeyFile)
  const { backend, where } = await openStore(options, config)
  const checks: Check[] = []
  try {
    const entry = await backend.findRecord(auditId)
    const record = entry?.record
    if (record?.kind !== 'exchange') {
      checks.push({ ok: false, line: `no exchange record ${auditId} in ${where}` })
    } else {
      checks.push(...releaseChecks(auditId, record, body, createKeyedDigest(key)))
      if (receipt !== undefined) {
        const keys = options.keys !== undefined ? await readJwks(options.keys) : await storedKeys(backend.keys())
        checks.push(...(await receiptChecks(auditId, record, body, receipt.trim(), keys)))
      }
    }
  } finally {
    await backend.close()
  }
  const failed = checks.filter((c) => !c.ok).length
  const lines = [`audit store: ${where}`, ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.line}`), '']
  lines.push(
    failed === 0
      ? `PROVEN: ${options.body} holds the records that call ${auditId} released${receipt === undefined ? '' : ', byte for byte as the signed receipt says'}`
      : `NOT PROVEN: ${failed} check(s) failed`,
  )
  process.stdout.write(`${lines.join('\n')}\n`)
  return failed === 0 ? 0 : 1
}

async function storedKeys(keys: Promise<JSONWebKeySet>): Promise<JSONWebKeySet> {
  console.error(
    'warning: the receipt is checked with the public keys stored in the audit log; pin keys you keep yourself with --keys <jwks file> (GET /v1/audit/keys)',
  )
  return keys
}

function releaseChecks(
  auditId: string,
  record: ExchangeAuditRecord,
  body: Uint8Array,
  digest: (value: unknown) => string,
): Check[] {
  if (record.releaseDigest === undefined) {
    const what = `${record.action ?? 'call'} answered ${record.status} ${record.reason}`
    return [{ ok: false, line: `record ${auditId} released no records (${what}): it has no release digest` }]
  }
  const filed = readFiledAnswer(body)
  if (!filed.ok) return [{ ok: false, line: `the body file: ${filed.problem}` }]
  const checks: Check[] = []
  if (filed.auditId !== undefined && filed.auditId !== auditId) {
    checks.push({ ok: false, line: `the body is the answer of call ${filed.auditId}, not of ${auditId}` })
  }
  const same = digest(filed.data) === record.releaseDigest
  checks.push({
    ok: same,
    line: same
      ? `release digest: the body's ${filed.data.length} record(s) are what ${auditId} released (${record.resource}, matter ${record.matter}, case ${record.case}, ${record.time})`
      : `release digest: the body's data differs from what ${auditId} released (a value, a field or a record changed)`,
  })
  return checks
}

async function receiptChecks(
  auditId: string,
  record: ExchangeAuditRecord,
  body: Uint8Array,
  jws: string,
  keys: JSONWebKeySet,
): Promise<Check[]> {
  let signed: ReleaseReceiptBody
  try {
    signed = await verifyReleaseReceipt(jws, keys)
  } catch (err) {
    return [{ ok: false, line: `receipt signature: ${(err as Error).message}` }]
  }
  const checks: Check[] = [{ ok: true, line: 'receipt signature: verifies with an audit public key' }]
  const expected: Array<[keyof ReleaseReceiptBody, string | undefined]> = [
    ['auditId', auditId],
    ['requestDigest', record.requestDigest],
    ['resource', record.resource],
    ['matter', record.matter],
    ['case', record.case],
  ]
  for (const [name, value] of expected) {
    if (signed[name] !== value) checks.push({ ok: false, line: `receipt ${name}: differs from the audit record's` })
  }
  const contentDigest = contentDigestOf(body)
  const exact = signed.contentDigest === contentDigest
  checks.push({
    ok: exact,
    line: exact
      ? `Content-Digest: the file's exact bytes are the body the receipt was signed for (${contentDigest})`
      : `Content-Digest: the file's bytes (${contentDigest}) are not the body the receipt was signed for (${signed.contentDigest})`,
  })
  return checks
}

/** Adds `prove-release` to `qiao audit`, once cli/audit.ts registered that command. */
export function registerProveReleaseCommand(program: Command): void {
  const audit = program.commands.find((c) => c.name() === 'audit')
  if (audit === undefined) throw new Error('internal: register the audit commands first')
  audit
    .command('prove-release')
    .description(
      'prove that a body filed by a requesting department is what an answered read released: its data against the ' +
        'audit record’s release digest, and with --receipt the signed receipt and the exact bytes; exit 0 proven, ' +
        '1 not proven, 2 usage/IO',
    )
    .argument('<auditId>', 'the answer’s Qiao-Audit-Id')
    .requiredOption('--body <file>', 'the answer’s body as received (JSON with data and meta)')
    .option('--receipt <file>', 'the answer’s Qiao-Release-Receipt header value (a compact JWS)')
    .option('--dir <dir>', 'audit directory (default: QIAO_AUDIT_DIR, else <data dir>/audit)')
    .option('--url <url>', 'PostgreSQL audit store (default: QIAO_AUDIT_URL)')
    .option('--key-file <file>', 'audit HMAC key (default: QIAO_AUDIT_KEY_FILE)')
    .option('--keys <jwks>', 'audit public keys you keep yourself, for --receipt (default: the keys in the store)')
    .exitOverride(exitOnUsage)
    .action((auditId: string, options: ProveOptions) => run('prove-release', () => proveRelease(auditId, options)))
}
