import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AuditSearchResult } from '../audit-search.js'
import { auditSearchTargets, renderAuditSearch } from '../lib/audit-search-report.js'
import { startProcess } from '../lib/proc.js'
import { attempt, type BenchRun, log, PEER_CORES, RESULTS, ROOT } from './shared.js'

/**
 * Audit search (issue 15): the auditor's first page over 1,000,000 records (50,000 with --quick) on the file store
 * with its index and on PostgreSQL, in a process of its own on the peer core (bench/audit-search.ts). Results go to
 * their own files, bench/results/audit-search.md and .json (quick-audit-search.* for --quick, ignored by git like quick.*).
 */
export async function runAuditSearch(bench: BenchRun): Promise<void> {
  const { profile, runDir, results, opts } = bench
  const records = profile.name === 'quick' ? 50_000 : 1_000_000
  const started = Date.now()
  log(`audit search: ${records.toLocaleString('en-US')} records, file store and PostgreSQL`)
  let result: AuditSearchResult | undefined
  await attempt('audit search', async (stage) => {
    let line: string | undefined
    const proc = startProcess({
      name: 'audit-search',
      cores: PEER_CORES,
      command: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'bench/audit-search.ts'), join(runDir, 'audit-search'), String(records)],
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
      logFile: join(runDir, 'audit-search.log'),
      onLine: (l) => {
        if (l.startsWith('AUDIT_SEARCH_RESULT ')) line = l.slice('AUDIT_SEARCH_RESULT '.length)
        else if (l.startsWith('[audit-search] ')) log(`  ${l.slice('[audit-search] '.length)}`)
      },
    })
    const code = await proc.exited
    if (code !== '0' || !line) throw new Error(`audit search bench failed (${code}):\n${proc.tail()}`)
    const parsed = JSON.parse(line) as AuditSearchResult
    stage(() => {
      result = parsed
    })
  })
  if (!result) return
  const name = profile.name === 'quick' ? 'quick-audit-search' : 'audit-search'
  const run = {
    name,
    mode: profile.name,
    command: `npm run bench${opts.argv.length ? ` -- ${opts.argv.join(' ')}` : ''}`,
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: results.machine,
    result,
  }
  writeFileSync(
    join(RESULTS, `${name}.json`),
    `${JSON.stringify({ ...run, targets: auditSearchTargets(result) }, null, 2)}\n`,
  )
  writeFileSync(join(RESULTS, `${name}.md`), renderAuditSearch(run))
  const missed = auditSearchTargets(result).filter((t) => !t.met)
  results.notes.push(
    `Audit search over ${records.toLocaleString('en-US')} records: bench/results/${name}.md (${missed.length === 0 ? 'every first page under 1 s' : `${missed.length} first page(s) over 1 s`}).`,
  )
  log(
    `  audit search: ${name}.md written; ${missed.length === 0 ? 'every first page under 1 s' : `${missed.length} over 1 s`}`,
  )
}
