import { fmt, pct, range, table } from './format.js'
import type { Cell } from './measure.js'
import { offloadSummary } from './offload-report.js'
import type { ProfileSummary } from './profile.js'
import type { BenchResults, CpuProfileResult } from './results.js'
import {
  AUDIT_CPU_MAX_US,
  AUDIT_RECORDS_MIN,
  CPU_VS_BARE_MAX,
  SOAK_RSS_MAX_MB,
  soakSlope,
  THROUGHPUT_VS_HAPROXY_MIN,
} from './targets.js'

/** "Where the time goes": the Node floors beside Qiao, its CPU profile and the audit store's, and what the misses
 * come from. */

const us = (c: Cell | undefined) => c?.cpuUsPerRequest.median

/** The floors and Qiao per call, from the side-by-side table (the profile section's own N3 run otherwise). */
function floorsParagraph(r: BenchResults, p: CpuProfileResult): string {
  const sat = r.main?.saturation
  const n1 = us(sat?.N1)
  const n2 = us(sat?.N2)
  const n3 = us(sat?.N3) ?? p.floor.cpuUsPerRequest.median
  const info = us(sat?.P3)
  const warn = us(sat?.P3W)
  const haproxy = us(sat?.P2)
  const measured = [
    n1 !== undefined ? `the bare Node proxy (N1, node:http + undici passing bytes) ${fmt(n1)} µs` : '',
    n2 !== undefined ? `with JSON parse/stringify (N2) ${fmt(n2)} µs` : '',
    `the Hono floor (N3, \`bench/floor.ts\`: @hono/node-server, Hono and undici, no token, decision, connector format, validation, masking or audit) **${range(sat?.N3?.cpuUsPerRequest ?? p.floor.cpuUsPerRequest)} µs, ${range(sat?.N3?.rps ?? p.floor.rps)} req/s**`,
  ].filter(Boolean)
  const parts = [`Per call on one core, measured in this run: ${measured.join(', ')}.`]
  if (n1 !== undefined && n3 !== undefined)
    parts.push(`Hono and its adapter cost ${fmt(n3 - n1)} µs over the bare proxy (${fmt(n3 / n1, 2)} ×).`)
  if (info !== undefined) {
    parts.push(
      `Qiao's full pipeline at info: ${fmt(info)} µs (${n1 ? `${fmt(info / n1, 2)} × N1, ` : ''}${fmt(info - n3)} µs over the Hono floor)${warn !== undefined ? `; at warn ${fmt(warn)} µs, so the per-call log line costs ${fmt(info - warn)} µs (${fmt((100 * (info - warn)) / warn, 1)}%)` : ''}.`,
    )
  }
  if (haproxy !== undefined) parts.push(`HAProxy verifying RS256 per call: ${fmt(haproxy)} µs.`)
  return parts.join(' ')
}

/** The CPU and throughput bullets: what the floors leave for the pipeline, and where the profile puts it. */
function cpuBullets(r: BenchResults, p: CpuProfileResult): string[] {
  const sat = r.main?.saturation
  const n1 = us(sat?.N1)
  const info = us(sat?.P3) ?? us(sat?.P3W)
  const haproxyRps = sat?.P2?.rps.median
  const qiaoRps = (sat?.P3 ?? sat?.P3W)?.rps.median
  const stackStages = /^(Node HTTP server|HTTP client|framework|HTTP server adapter|garbage|other)/
  const pipelineStages = p.gateway?.summary.stages
    .filter((st) => !stackStages.test(st.stage) && st.usPerRequest !== undefined)
    .map((st) => `${st.stage.split(' (')[0]} ${fmt(st.usPerRequest)} µs`)
    .join('; ')
  const budget = n1 !== undefined ? CPU_VS_BARE_MAX * n1 : undefined
  const offload = r.offload ? offloadSummary(r.offload) : undefined
  const nextStep = offload
    ? ` The next step the profile points to, measured in this run: ${offload} ("Audit work off the request thread" below).`
    : ''
  return [
    `- **CPU per call (target ≤ ${CPU_VS_BARE_MAX} × N1${budget !== undefined ? `, i.e. ≤ ${fmt(budget)} µs here` : ''}) and throughput per core (target ≥ ${THROUGHPUT_VS_HAPROXY_MIN} × P2${haproxyRps !== undefined ? `, i.e. ≥ ${fmt(THROUGHPUT_VS_HAPROXY_MIN * haproxyRps)} req/s here` : ''}).** ${info !== undefined && budget !== undefined ? `Qiao spends ${fmt(info)} µs, ${fmt(info - budget)} µs over the budget; ` : ''}${qiaoRps !== undefined && haproxyRps !== undefined ? `it reaches ${fmt(qiaoRps)} req/s, ${fmt(qiaoRps / haproxyRps, 2)} × P2. ` : ''}Per call, profiled${pipelineStages ? ` (pipeline stages: ${pipelineStages})` : ''}; the stack itself (server, client, framework, GC) is in the table above. Each candidate change is measured with \`npm run bench -- --pair <before> <after>\` (two builds on one core at once), whose A/A noise is in "Paired method": a change smaller than that is not resolvable.${nextStep}`,
    `- **Added latency at ${fmt(1000)} req/s (targets ≤ 1 ms p50, ≤ 5 ms p99).** See "Latency breakdown" under the side-by-side table: queueing on Qiao's core, GC pauses and the audit append → durable wait from Qiao's own metrics at that rate.`,
  ]
}

/** Interior local minima of a series (lower than the value before, not higher than the one after). */
function troughs(values: readonly number[]): number[] {
  return values.filter(
    (v, i) => i > 0 && i < values.length - 1 && v < (values[i - 1] as number) && v <= (values[i + 1] as number),
  )
}

function stageTable(summary: ProfileSummary, unit: string): string {
  return table(
    ['Stage', 'Share of busy CPU', `CPU µs per ${unit} (main thread)`],
    summary.stages.map((s) => [s.stage, pct(s.share), fmt(s.usPerRequest)]),
  )
}

export function renderCpuProfile(r: BenchResults, p: CpuProfileResult, name: string): string[] {
  const out: string[] = []
  const qiao = r.main?.saturation?.P3
  out.push('## Where the time goes (CPU profiles)')
  out.push('')
  out.push(floorsParagraph(r, p))
  out.push('')
  if (p.gateway) {
    const g = p.gateway
    out.push(
      `### Qiao at saturation\n\nOne run under \`--cpu-prof\` (${fmt(g.rps)} req/s, ${fmt(g.cpuUsPerRequest)} µs CPU per call from /proc, profiler included). Each sample is charged to the innermost frame that names a stage; builtins (JSON, crypto, Buffer) count for the stage that called them. The profile is [\`${name}-qiao.cpuprofile\`](${name}-qiao.cpuprofile) (open it in Chrome DevTools → Performance, or speedscope, for the flame graph). Busy ${fmt(g.summary.busyMs)} ms, idle ${fmt(g.summary.idleMs)} ms.`,
    )
    out.push('')
    out.push(stageTable(g.summary, 'call'))
    out.push('')
    out.push('Functions with the most own time:')
    out.push('')
    out.push(
      table(
        ['Function', 'Share'],
        g.summary.topSelf.slice(0, 15).map((f) => [`\`${f.fn}\``, pct(f.share)]),
      ),
    )
    out.push('')
  }
  if (p.auditStore) {
    const a = p.auditStore
    out.push(
      `### The audit store alone\n\n256 appenders under \`--cpu-prof\`: ${fmt(a.recordsPerSecond)} records/s, ${fmt(a.cpuUsPerRecord)} µs CPU per record; the table covers the measured seconds (the driver's own share is its record generator and latency bookkeeping). Profile: [\`${name}-audit-store.cpuprofile\`](${name}-audit-store.cpuprofile).`,
    )
    out.push('')
    out.push(stageTable(a.summary, 'record'))
    out.push('')
    out.push(
      table(
        ['Function', 'Share'],
        a.summary.topSelf.slice(0, 12).map((f) => [`\`${f.fn}\``, pct(f.share)]),
      ),
    )
    out.push('')
  }
  out.push('### What the misses come from, and what would close them')
  out.push('')
  out.push(...cpuBullets(r, p))
  const soak = r.soak
  const sideBySideRss = qiao?.peakRssMB.median
  if (soak)
    out.push(
      `- **Soak peak RSS (target ${SOAK_RSS_MAX_MB} MB).** Side by side (${r.profile.saturationSeconds} s at saturation, info) Qiao peaks at ${fmt(sideBySideRss)} MB; over the ${fmt(soak.seconds)} s soak RSS rises and falls in a sawtooth (${fmt(Math.min(...soak.series.map((p) => p.rssMB)))}–${fmt(soak.peakRssMB)} MB, trend ${fmt(soakSlope(soak), 1)} MB/min): the V8 old generation fills with request objects that outlived two scavenges — with 64 connections a call lives tens of milliseconds, part of it waiting for its audit group's fdatasync — until a major GC empties it. It is not retained memory: after each drop RSS is back near ${fmt(Math.min(...soak.series.filter((p) => p.seconds >= 60).map((p) => p.rssMB)))}–${fmt(Math.max(...troughs(soak.series.filter((p) => p.seconds >= 60).map((p) => p.rssMB))))} MB, and the trend is flat (in a separate run with heap snapshots, the heap after a forced GC stayed at ~40 MB from the first to the fifth minute). Closing it means allocating less per call (the same work as CPU per call) or capping the heap (\`--max-old-space-size\`), which trades memory for more frequent major GCs.`,
    )
  out.push(
    `- **Audit store (targets ${fmt(AUDIT_RECORDS_MIN)} records/s, ${AUDIT_CPU_MAX_US} µs CPU per record on the request thread).** The profile above shows serialising the record and hashing it (leaf, chain, Merkle nodes) as the bulk of the per-record CPU, ahead of the file writes: ${p.auditStore ? `${fmt(p.auditStore.cpuUsPerRecord)} µs per record, i.e. at most ${fmt(1e6 / p.auditStore.cpuUsPerRecord)} records/s on one core` : 'see the audit table'}. Leaf hashes are independent of each other (only the chain is a sequential fold of 32-byte values), so hashing batches in worker threads would scale with cores; on this two-core machine one core is taken by the load generator.`,
  )
  out.push('')
  return out
}
