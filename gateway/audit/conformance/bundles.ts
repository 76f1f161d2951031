import { expect } from 'vitest'
import type { AuditLog } from '../audit-log.js'
import type { AuditFilter } from '../backend.js'
import type { LogEntry } from '../entry.js'
import { adminRecord, exchangeRecord } from './records.js'

/** Audit ids as the gateway makes them (UUIDv7, longer than an index term keeps in clear). */
const BUNDLE_A = '019ad1c2-0000-7000-8000-00000000b0a1'
const BUNDLE_B = '019ad1c2-0000-7000-8000-00000000b0b2'
const PLAIN = '019ad1c2-0000-7000-8000-00000000c0c3'

/**
 * The `bundle` filter on any backend: two evidence bundles written as the gateway writes them (items first, each
 * naming its bundle, then the bundle's own record listing them), interleaved, beside a plain record and an admin
 * record. A bundle's id finds its items and its own record, in log order, and nothing of the other bundle; a plain
 * record's id finds nothing (it is no bundle); it combines with the other filters by AND.
 */
export async function expectBundleFilter(
  log: AuditLog,
  all: (filter: AuditFilter) => Promise<LogEntry[]>,
): Promise<void> {
  const item = (i: number, bundle: string) =>
    exchangeRecord(9000 + i, { id: `${bundle}-item-${i}`, bundle, case: bundle === BUNDLE_A ? 'CASE-A' : 'CASE-B' })
  const own = (id: string, items: readonly string[]) =>
    exchangeRecord(9100, { id, case: id === BUNDLE_A ? 'CASE-A' : 'CASE-B', resource: undefined, bundleItems: items })
  const written = [item(1, BUNDLE_A), item(4, BUNDLE_B), item(2, BUNDLE_A), exchangeRecord(9200, { id: PLAIN })]
  written.push(item(5, BUNDLE_B), item(3, BUNDLE_A))
  for (const record of written) await log.append(record)
  const itemsOf = (bundle: string) => written.filter((r) => r.bundle === bundle).map((r) => r.id)
  await log.append(adminRecord(9300))
  await log.append(own(BUNDLE_B, itemsOf(BUNDLE_B)))
  await log.append(own(BUNDLE_A, itemsOf(BUNDLE_A)))
  const ids = async (filter: AuditFilter) => (await all(filter)).map((e) => e.record.id)
  expect(await ids({ bundle: BUNDLE_A })).toEqual([...itemsOf(BUNDLE_A), BUNDLE_A])
  expect(await ids({ bundle: BUNDLE_B })).toEqual([...itemsOf(BUNDLE_B), BUNDLE_B])
  expect(await ids({ bundle: BUNDLE_A, case: 'CASE-A', kind: 'exchange' })).toEqual([...itemsOf(BUNDLE_A), BUNDLE_A])
  expect(await ids({ bundle: BUNDLE_A, case: 'CASE-B' })).toEqual([])
  expect(await ids({ bundle: PLAIN })).toEqual([])
  expect(await ids({ bundle: 'no-such-bundle' })).toEqual([])
  expect(await ids({ bundle: BUNDLE_A, kind: 'admin' })).toEqual([])
}
