import type { CanonicalRecord } from '../../kernel/records.js'
import type { CompiledGrant } from '../catalog/snapshot.js'
import type { Fetched, Reached, Released } from './exchange.js'

/** Minimum necessary (最小必要): only the grant's fields leave, masked where the grant says so. */
export function project(grant: CompiledGrant, records: readonly CanonicalRecord[]): CanonicalRecord[] {
  const out = new Array<CanonicalRecord>(records.length)
  for (let i = 0; i < records.length; i++) out[i] = grant.project(records[i] as CanonicalRecord)
  return out
}

/** The read stage: what leaves, once the records are valid. */
export function releaseRecords(call: Fetched): Released {
  const reached: Reached = call
  reached.released = project(call.grant, call.records)
  return call as Released
}
