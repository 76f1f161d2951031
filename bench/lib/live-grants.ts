import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { openSharingStore } from '../../gateway/sharing/kysely-store.js'
import type { LiveGrant } from '../../gateway/sharing/model.js'
import { STATE_MODULES } from '../../gateway/state/modules.js'
import { openSqliteState } from '../../gateway/state/sqlite.js'

/**
 * Live grants for the bench (issue 13: the exchange path must cost the same with 1,000 approvals as with none).
 * A gateway's data directory is seeded before it starts, as if 1,000 sharing applications had been approved: grant
 * i lets 城管 (urban) read copy i of the construction permits (`housing.construction-permit-x<i>`, added by
 * bench/lib/catalog.ts with its matter `BENCH<i>`), with masks and a quota, so starting the gateway compiles 1,000
 * grants and 1,000 quotas into its snapshot. None of them is the measured call's (drc, QT00301001), which the
 * catalog grants: what is measured is what they cost every other call.
 */

export const LIVE_GRANT_COUNT = 1000

/** Copy i of the construction permits, and its matter, as bench/lib/catalog.ts names them. */
export const benchCopy = (i: number) => {
  const n = String(i).padStart(5, '0')
  return { resource: `housing.construction-permit-x${n}`, matter: `BENCH${n}` }
}

/** Fields with a mask rule: what a provider typically lets a second department see masked. */
const MASKED = ['ownerLeadName', 'ownerLeadPhone']

/**
 * The fields drc's catalog grant of the construction permits releases: a realistic set for an approval of that
 * resource, read from the catalog so that the grants stay valid when the demo's fields change.
 */
export function permitGrantFields(catalogFile: string): string[] {
  const doc = parse(readFileSync(catalogFile, 'utf8')) as {
    matters: Array<{ grants: Array<{ consumer: string; resource: string; fields?: string[] }> }>
  }
  const grant = doc.matters
    .flatMap((m) => m.grants)
    .find((g) => g.consumer === 'drc' && g.resource === 'housing.construction-permit')
  if (!grant?.fields?.length) throw new Error(`${catalogFile}: no drc grant of housing.construction-permit`)
  return grant.fields.filter((f) => !MASKED.includes(f))
}

/** Live grant i (1-based): active, approved by 住建 at the end of 2025, valid through 2030, with a quota. */
export function benchLiveGrant(i: number, fields: readonly string[]): LiveGrant {
  const n = String(i).padStart(5, '0')
  const { resource, matter } = benchCopy(i)
  return {
    id: `bench-grant-${n}`,
    version: 1,
    state: 'active',
    applicationId: `bench-app-${n}`,
    matter,
    consumer: 'urban',
    resource,
    provider: 'housing',
    action: 'read',
    usage: '业务协同',
    fields: [...fields],
    masked: [...MASKED],
    validFrom: '2026-01-01',
    validTo: '2030-12-31',
    quota: { limit: 100_000, per: 'minute' },
    approvedBy: 'housing',
    approvedAt: new Date(Date.UTC(2025, 11, 30, 2, 0, 0) + i * 1000).toISOString(),
    reminders: {},
  }
}

/**
 * Writes `count` live grants into `<dataDir>/state.sqlite` (the embedded state store a gateway with that data
 * directory opens), in one transaction that also bumps the grant epoch, as the workflow's approvals would.
 */
export async function seedLiveGrants(dataDir: string, fields: readonly string[], count = LIVE_GRANT_COUNT) {
  const state = await openSqliteState({ file: join(dataDir, 'state.sqlite'), modules: STATE_MODULES })
  try {
    await openSharingStore(state).transaction(async (tx) => {
      for (let i = 1; i <= count; i++) await tx.insertGrant(benchLiveGrant(i, fields))
      await tx.bumpGrantEpoch()
    })
  } finally {
    await state.close()
  }
}

export interface CompiledGrants {
  readonly liveGrants: number
  readonly skipped: number
}

/**
 * What the gateway's log (JSON lines) says it compiled: the last `live grants compiled` line (grant sync logs one
 * per sync, at info), or undefined when there is none yet. `skippedWarnings` counts the warnings the snapshot builder
 * logs for each grant it could not carry (logged at warn, so seen at the bench's usual log level too).
 */
export function compiledGrants(logText: string): { compiled?: CompiledGrants; skippedWarnings: number } {
  let compiled: CompiledGrants | undefined
  let skippedWarnings = 0
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue
    let entry: { msg?: unknown; liveGrants?: unknown; skipped?: unknown }
    try {
      entry = JSON.parse(line) as typeof entry
    } catch {
      continue
    }
    if (typeof entry.msg !== 'string') continue
    if (entry.msg.startsWith('live grant skipped')) skippedWarnings++
    if (entry.msg === 'live grants compiled') {
      compiled = { liveGrants: Number(entry.liveGrants), skipped: Number(entry.skipped) }
    }
  }
  return compiled === undefined ? { skippedWarnings } : { compiled, skippedWarnings }
}
