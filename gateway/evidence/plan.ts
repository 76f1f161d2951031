import type { Catalog, LoadedSchema } from '../catalog/types.js'
import { createAjv } from '../validation/ajv.js'

/** One evidence item as the bundle runs it: which resource, and each request parameter's input. */
export interface PlannedItem {
  readonly id: string
  readonly resource: string
  /** `[parameter, input]` pairs, in the catalog's order. */
  readonly params: readonly (readonly [string, string])[]
  readonly required: boolean
}

/** A matter's evidence, compiled once per catalog version: the per-request path only runs it. */
export interface EvidencePlan {
  readonly matter: string
  /** The bundle's request body: every input, of its format, and nothing else. */
  readonly inputs: LoadedSchema
  readonly items: readonly PlannedItem[]
}

const compiledFor = new WeakMap<Catalog, ReadonlyMap<string, EvidencePlan>>()

/**
 * The evidence plans of a file catalog, by matter code. Plans depend on the file alone (live grants change who may
 * read an item, which each item's own authorization decides), so a grant change reuses them.
 */
export function evidencePlansOf(fileCatalog: Catalog): ReadonlyMap<string, EvidencePlan> {
  let plans = compiledFor.get(fileCatalog)
  if (plans !== undefined) return plans
  const built = new Map<string, EvidencePlan>()
  // One validator per matter with evidence; none at all (and no Ajv instance) for a catalog without any.
  let ajv: ReturnType<typeof createAjv> | undefined
  for (const matter of fileCatalog.matters.values()) {
    const evidence = matter.evidence
    if (evidence === undefined) continue
    ajv ??= createAjv({ usccExceptions: fileCatalog.usccExceptions })
    const names = Object.keys(evidence.inputs)
    const schema = {
      type: 'object',
      properties: Object.fromEntries(
        names.map((name) => [name, { type: 'string', format: (evidence.inputs[name] as { format: string }).format }]),
      ),
      required: names,
      additionalProperties: false,
    }
    built.set(matter.code, {
      matter: matter.code,
      inputs: { path: `${fileCatalog.file}#${matter.code}/evidence/inputs`, schema, validate: ajv.compile(schema) },
      items: evidence.items.map((item) => ({
        id: item.id,
        resource: item.resource,
        params: Object.entries(item.params),
        required: item.required ?? true,
      })),
    })
  }
  plans = built
  compiledFor.set(fileCatalog, plans)
  return plans
}
