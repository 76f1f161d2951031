import type { CanonicalRecord } from '../../connectors/kit/types.js'
import type { CompiledGrant } from '../catalog/snapshot.js'

/** Minimum necessary (最小必要): only the grant's fields leave, masked where the grant says so. */
export function project(grant: CompiledGrant, records: readonly CanonicalRecord[]): CanonicalRecord[] {
  const out = new Array<CanonicalRecord>(records.length)
  for (let i = 0; i < records.length; i++) out[i] = grant.project(records[i] as CanonicalRecord)
  return out
}
