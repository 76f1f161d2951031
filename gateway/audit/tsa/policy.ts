/**
 * QIAO_AUDIT_TSA_POLICY: what the gateway does while no checkpoint can be timestamped. `continue` keeps serving and
 * timestamps the backlog once the TSA answers again; `refuse-after:<minutes>` answers exchange calls 503
 * `timestamping-unavailable` once the oldest checkpoint without a token is that old (as X-Road stops exchanging
 * when timestamping keeps failing).
 */
export type TsaPolicy = { readonly kind: 'continue' } | { readonly kind: 'refuse-after'; readonly afterMs: number }

export function parseTsaPolicy(raw: string): TsaPolicy {
  const v = raw.trim()
  if (v === 'continue') return { kind: 'continue' }
  const m = /^refuse-after:([1-9][0-9]{0,5})$/.exec(v)
  if (!m) throw new Error('expected `continue` or `refuse-after:<minutes>` (1–999999)')
  return { kind: 'refuse-after', afterMs: Number(m[1]) * 60_000 }
}

/** A dotted object identifier (the TSA policy asked for in each request). */
export function parseObjectIdentifier(raw: string): string {
  const v = raw.trim()
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(v)) throw new Error('expected a dotted object identifier, e.g. 1.2.156.1')
  return v
}

export function describeTsaPolicy(policy: TsaPolicy): string {
  return policy.kind === 'continue' ? 'continue' : `refuse-after:${policy.afterMs / 60_000}`
}
