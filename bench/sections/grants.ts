import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { demoResourceCount } from '../lib/catalog.js'
import {
  benchCopy,
  type CompiledGrants,
  compiledGrants,
  LIVE_GRANT_COUNT,
  permitGrantFields,
  seedLiveGrants,
} from '../lib/live-grants.js'
import { cell, measure, type Sample } from '../lib/measure.js'
import { type PeerHandle, startQiao } from '../lib/peers.js'
import { probePeer, requestHeaders } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { stat } from '../lib/stats.js'
import { benchClaims, signOne } from '../lib/tokens.js'
import { append, attempt, type BenchRun, log, ROOT } from './shared.js'

/**
 * Live grants (issue 13): the side-by-side call with 1,000 live grants compiled into Qiao's snapshot, and with none.
 * Both variants serve the same catalog (the demo plus 1,000 copies of the construction permits, each with a matter
 * granting drc) and the same call (drc, QT00301001, granted by the catalog); the live variant's state store holds
 * 1,000 approvals for 城管 (one per copy, each with a quota) before it starts. Variants in turn, none live none live …
 */

type Variant = 'none' | 'live'
const VARIANTS: readonly Variant[] = ['none', 'live']

export async function runGrants(bench: BenchRun): Promise<void> {
  const { profile, ctx, upstream, keys, probeTokens, body, catalogFor, spec, mo, check, busy, results } = bench
  const catalog = catalogFor(demoResourceCount(join(ROOT, 'catalog.yaml')) + LIVE_GRANT_COUNT)
  const fields = permitGrantFields(catalog.file)
  const expected: Record<Variant, number> = { none: 0, live: LIVE_GRANT_COUNT }
  // 城管's officer, for the first and the last copy: granted only by the live grants.
  const probed = [benchCopy(1), benchCopy(LIVE_GRANT_COUNT)]
  const urban = await signOne(
    keys,
    benchClaims(3, Math.floor(Date.now() / 1000), {
      dept: 'urban',
      client_id: 'urban-bench',
      scope: probed.map((c) => `${c.matter}:${c.resource}:read`).join(' '),
    }),
  )

  const start = (variant: Variant, logLevel?: string) =>
    startQiao(ctx, catalog.file, [], {
      ...(logLevel ? { logLevel } : {}),
      ...(variant === 'live'
        ? {
            prepareDataDir: async (dataDir: string) => {
              const t = performance.now()
              await seedLiveGrants(dataDir, fields)
              log(`  seeded ${LIVE_GRANT_COUNT} live grants in ${((performance.now() - t) / 1000).toFixed(1)} s`)
            },
          }
        : {}),
    })

  /** The live grants a started instance serves: 城管's calls of the copies answer 200 with the grants' masks, else 403. */
  const probeUrban = async (peer: PeerHandle, variant: Variant) => {
    for (const copy of probed) {
      const res = await fetch(`${peer.baseUrl}/v1/resources/${copy.resource}/query`, {
        method: 'POST',
        headers: { ...requestHeaders(), 'Qiao-Matter': copy.matter, Authorization: `Bearer ${urban}` },
        body,
      })
      const text = await res.text()
      const want = variant === 'live' ? 200 : 403
      if (res.status !== want) {
        throw new Error(`grants ${variant}: 城管's call of ${copy.resource} answered ${res.status}, not ${want}`)
      }
      if (variant === 'live') {
        const { meta } = JSON.parse(text) as { meta?: { masked?: string[] } }
        if (!meta?.masked?.includes('ownerLeadName')) {
          throw new Error(`grants live: 城管's answer of ${copy.resource} does not mask ownerLeadName`)
        }
      }
    }
  }

  /** No grant skipped: the snapshot builder warns for each one it could not carry (seen at any level ≤ warn). */
  const noneSkipped = (peer: PeerHandle, variant: Variant) => {
    const { skippedWarnings } = compiledGrants(readFileSync(peer.logFile as string, 'utf8'))
    if (skippedWarnings > 0) throw new Error(`grants ${variant}: the gateway skipped ${skippedWarnings} live grant(s)`)
  }

  // The measured instances log at warn, as everywhere in the bench (at info every call is logged). The count of
  // compiled grants is logged at info: one instance per variant at info shows it, from the same seed.
  const compiled: Partial<Record<Variant, CompiledGrants>> = {}
  for (const variant of VARIANTS) {
    log(`grants: checking what the ${variant} variant compiles`)
    await attempt(`grants check ${variant}`, async (stage) => {
      const peer = await start(variant, 'info')
      try {
        const seen = await compiledLine(peer)
        if (seen.liveGrants !== expected[variant] || seen.skipped !== 0) {
          throw new Error(
            `grants ${variant}: the gateway compiled ${seen.liveGrants} live grants (${seen.skipped} skipped), not ${expected[variant]} (0 skipped)`,
          )
        }
        noneSkipped(peer, variant)
        await probeUrban(peer, variant)
        stage(() => {
          compiled[variant] = seen
        })
        log(
          `  ${seen.liveGrants} live grants compiled, ${seen.skipped} skipped; started in ${peer.startupSeconds.toFixed(1)} s`,
        )
      } finally {
        await peer.stop()
      }
    })
    await sleep(profile.settleMs)
  }

  const samples = new Map<Variant, Sample[]>()
  const startups = new Map<Variant, number[]>()
  for (let round = 1; round <= profile.rounds; round++) {
    for (const variant of VARIANTS) {
      log(`grants round ${round}/${profile.rounds}: ${variant === 'live' ? `${LIVE_GRANT_COUNT} live grants` : 'none'}`)
      await attempt(`grants round ${round} ${variant}`, async (stage) => {
        const peer = await start(variant)
        try {
          stage(() => append(startups, variant, peer.startupSeconds))
          log(`  started in ${peer.startupSeconds.toFixed(1)} s`)
          noneSkipped(peer, variant)
          await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads['1k'].rows })
          await probeUrban(peer, variant)
          await measure(mo(round, peer), spec(peer, { seconds: profile.warmupSeconds }))
          const s = check(`grants ${variant}`, await measure({ ...mo(round, peer), calibrate: true }, spec(peer, {})))
          stage(() => append(samples, variant, s))
          log(
            `  ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, ${busy(s)}, speed ${s.speedIndex?.toFixed(0)}`,
          )
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  const variantCell = (variant: Variant) => ({
    ...cell(samples.get(variant) ?? []),
    startupSeconds: stat(startups.get(variant) ?? []),
  })
  results.liveGrants = {
    grants: LIVE_GRANT_COUNT,
    catalog: { resources: catalog.resources, matters: catalog.matters, grants: catalog.grants },
    compiled: { none: compiled.none as CompiledGrants, live: compiled.live as CompiledGrants },
    none: variantCell('none'),
    live: variantCell('live'),
  }
}

/** The `live grants compiled` line of an instance started at info (grant sync logs it before the port opens). */
async function compiledLine(peer: PeerHandle): Promise<CompiledGrants> {
  const deadline = performance.now() + 10_000
  for (;;) {
    // The gateway's log is asynchronous: give the line a moment to reach the file.
    const { compiled } = compiledGrants(readFileSync(peer.logFile as string, 'utf8'))
    if (compiled) return compiled
    if (performance.now() > deadline) throw new Error('grants: the gateway logged no "live grants compiled" line')
    await sleep(100)
  }
}
