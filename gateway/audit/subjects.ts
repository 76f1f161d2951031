import type { CanonicalRecord, JsonSchema } from '../../kernel/records.js'
import type { KeyedDigest } from './digest.js'

/** Identifier formats that name a data subject (a company or a person). */
const SUBJECT_FORMATS = new Set(['uscc', 'cn-resident-id', 'org-code'])

/** Top-level properties of an object schema whose format identifies a data subject. */
export function subjectFieldsOf(schema: JsonSchema | undefined): string[] {
  const properties = (schema?.properties ?? {}) as Record<string, { format?: unknown }>
  return Object.entries(properties)
    .filter(([, p]) => typeof p?.format === 'string' && SUBJECT_FORMATS.has(p.format))
    .map(([key]) => key)
}

/** One spelling per identifier: trimmed, upper case (a resident id's check `x` is `X`). */
export function normaliseSubject(identifier: string): string {
  return identifier.trim().toUpperCase()
}

/** The keyed digest auditors query by: HMAC of the normalised identifier, never the identifier itself. */
export function subjectDigest(digest: KeyedDigest, identifier: string): string {
  return digest(`subject:${normaliseSubject(identifier)}`)
}

/** Keyed digests of the subjects named in parameters and in the records a call fetched (before projection), without repeats. */
export function subjectsOf(
  digest: KeyedDigest,
  paramFields: readonly string[],
  params: Record<string, unknown> | undefined,
  recordFields: readonly string[],
  records: readonly CanonicalRecord[] | undefined,
): string[] {
  // Repeats are dropped before hashing: a list of permits names the same builder on many rows.
  const identifiers = new Set<string>()
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.length > 0) identifiers.add(normaliseSubject(v))
  }
  if (params) for (const f of paramFields) add(params[f])
  if (records) for (const r of records) for (const f of recordFields) add(r[f])
  const out: string[] = []
  for (const identifier of identifiers) out.push(subjectDigest(digest, identifier))
  return out
}
