import { cores, flag, fmt, range, table } from './format.js'
import type { Cell } from './measure.js'
import { MATTER } from './peers.js'
import type { BenchResults, LiveGrantsResult } from './results.js'
import type { Stat } from './stats.js'
import { LIVE_GRANTS_TOLERANCE } from './targets.js'

/** The curves of the results' Markdown (catalog size, token mix, payload size) and the live-grants comparison. */

export function renderCurves(r: BenchResults): string[] {
  const out: string[] = []
  const cat = r.curves?.catalog
  if (cat) {
    out.push('## Curve: catalog size (Qiao)')
    out.push('')
    out.push(
      `Copies of housing.construction-permit, each with its own matter granting drc. ${r.profile.connections} connections, ${r.profile.curveSeconds} s.`,
    )
    out.push('')
    const base = cat[0]?.rps.median
    out.push(
      table(
        [
          'Resources',
          'Matters / grants',
          'Throughput req/s',
          'vs smallest',
          'CPU µs/req',
          'Peak RSS MB',
          'Startup s',
          'Cores busy 0 / 1 (other work)',
          'Notes',
        ],
        cat.map((c) => [
          fmt(c.resources),
          `${fmt(c.matters)} / ${fmt(c.grants)}`,
          range(c.rps),
          base ? `${fmt(100 * (c.rps.median / base - 1), 1)}%` : '—',
          range(c.cpuUsPerRequest),
          range(c.peakRssMB),
          range(c.startupSeconds, 1),
          cores(c),
          flag(c),
        ]),
      ),
    )
    out.push('')
  }
  const tok = r.curves?.tokens
  if (tok) {
    out.push('## Curve: token mix (Qiao)')
    out.push('')
    out.push(
      `RS256 tokens. "distinct": ${fmt(r.profile.distinctTokens)} distinct tokens round-robin, all verified and cached during the warm-up (the cache holds 10,000). "unique": every request carries a token never seen before (signature verified every time).`,
    )
    out.push('')
    const base = tok[0]?.rps.median
    out.push(
      table(
        [
          'Mix',
          'Distinct tokens',
          'Throughput req/s',
          'vs one token',
          'CPU µs/req',
          'Cache hit ratio',
          'Peak RSS MB',
          'Cores busy 0 / 1 (other work)',
          'Notes',
        ],
        tok.map((c) => [
          c.mix,
          fmt(c.distinctTokens),
          range(c.rps),
          base ? `${fmt(100 * (c.rps.median / base - 1), 1)}%` : '—',
          range(c.cpuUsPerRequest),
          c.tokenCacheHitRatio === undefined ? '—' : `${fmt(100 * c.tokenCacheHitRatio, 1)}%`,
          range(c.peakRssMB),
          cores(c),
          flag(c, c.mix !== 'unique'),
        ]),
      ),
    )
    out.push('')
  }
  const pay = r.curves?.payload
  if (pay) {
    out.push('## Curve: payload size (P0 and Qiao)')
    out.push('')
    out.push(
      `The upstream repeats the permit rows; Qiao validates, projects and masks every row. ${r.profile.payloadConnections} connections, ${r.profile.curveSeconds} s.`,
    )
    out.push('')
    out.push(
      table(
        [
          'Upstream answer',
          'Rows',
          'P0 req/s',
          'Qiao req/s',
          'Qiao CPU µs/req',
          'Qiao CPU µs/row',
          'Qiao p50 / p99 ms',
          'Qiao peak RSS MB',
          'Qiao cores busy 0 / 1 (other work)',
          'Notes',
        ],
        pay.map((p) => [
          `${fmt(p.upstreamBytes / 1024, 1)} KiB`,
          fmt(p.rows),
          range(p.P0.rps),
          range(p.P3.rps),
          range(p.P3.cpuUsPerRequest),
          fmt(p.P3.cpuUsPerRequest.median / p.rows, 1),
          `${fmt(p.P3.p50Ms.median, 1)} / ${fmt(p.P3.p99Ms.median, 1)}`,
          range(p.P3.peakRssMB),
          cores(p.P3),
          [flag(p.P0) && `P0: ${flag(p.P0)}`, flag(p.P3) && `Qiao: ${flag(p.P3)}`].filter(Boolean).join('; '),
        ]),
      ),
    )
    out.push('')
  }
  return out
}

export function renderLiveGrants(r: BenchResults, lg: LiveGrantsResult): string[] {
  const base = lg.none.rps.median
  const row = (label: string, c: Cell & { startupSeconds: Stat }) => [
    label,
    range(c.rps),
    `${fmt(100 * (c.rps.median / base - 1), 1)}%`,
    range(c.cpuUsPerRequest),
    range(c.p50Ms, 2),
    range(c.p99Ms, 2),
    range(c.peakRssMB),
    range(c.startupSeconds, 1),
    flag(c),
  ]
  return [
    `## Live grants (Qiao, ${fmt(lg.grants)} vs none)`,
    '',
    `The side-by-side call (drc, matter ${MATTER}, granted by the catalog; 1 KB answer, one cached token) on a catalog of ${fmt(lg.catalog.resources)} resources, ${fmt(lg.catalog.matters)} matters and ${fmt(lg.catalog.grants)} catalog grants (the demo plus ${fmt(lg.grants)} copies of the construction permits) in both variants. The live variant's state store holds ${fmt(lg.grants)} approvals for 城管, one per copy, each with masks and a quota; its gateway logged ${fmt(lg.compiled.live.liveGrants)} live grants compiled, ${fmt(lg.compiled.live.skipped)} skipped (none: ${fmt(lg.compiled.none.liveGrants)}). Variants in turn (none, live, none, live …), ${r.profile.connections} connections, ${r.profile.saturationSeconds} s at saturation after ${r.profile.warmupSeconds} s of warm-up; latencies closed loop.`,
    '',
    table(
      ['Variant', 'Throughput req/s', 'vs none', 'CPU µs/req', 'p50 ms', 'p99 ms', 'Peak RSS MB', 'Startup s', 'Notes'],
      [row('none', lg.none), row(`${fmt(lg.grants)} live grants`, lg.live)],
    ),
    '',
    `How to read it: the none row's min–max is how much the same gateway varies between rounds in this run, so the live grants cost the exchange path nothing measurable when the live median lies within it (the target allows ${fmt(100 * LIVE_GRANTS_TOLERANCE)}% either side); startup includes reading and compiling the grants.`,
    '',
  ]
}
