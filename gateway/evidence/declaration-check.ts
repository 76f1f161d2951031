// The load-time checks of a matter's `evidence:` block (the JSON Schema has checked its shape): every item names a
// readable resource, maps only parameters that resource takes from inputs the block declares, leaves none of its
// required parameters unmapped, and item ids are unique. Each problem is reported at its place in the file.

import type { Checker } from '../catalog/loader/checks.js'
import type { Loose, LooseResource, Path, RawMatter } from '../catalog/loader/raw.js'
import { formatPath } from '../catalog/loader/report.js'
import type { EvidenceDeclaration } from '../catalog/types.js'

interface RequestShape {
  readonly properties: ReadonlyMap<string, { readonly format?: string }>
  readonly required: readonly string[]
}

export function checkEvidence(checker: Checker): void {
  for (const [i, m] of (checker.data.matters ?? []).entries()) {
    if (m?.evidence) checkDeclaration(checker, m as Loose<RawMatter>, ['matters', i, 'evidence'])
  }
}

function checkDeclaration(checker: Checker, m: Loose<RawMatter>, at: Path): void {
  const evidence = m.evidence as Loose<EvidenceDeclaration>
  const inputs = evidence.inputs ?? {}
  const used = new Set<string>()
  const firstId = new Map<string, Path>()
  for (const [k, item] of (evidence.items ?? []).entries()) {
    if (!item) continue
    const path: Path = [...at, 'items', k]
    if (item.id !== undefined) checker.unique(firstId, item.id, [...path, 'id'], 'evidence item id')
    const params = item.params ?? {}
    for (const [param, input] of Object.entries(params)) {
      if (input === undefined) continue
      used.add(input)
      if (!Object.hasOwn(inputs, input)) {
        checker.problem([...path, 'params', param], `input "${input}" is not declared under inputs`)
      }
    }
    if (item.resource === undefined) continue
    const resource = checker.resources.get(item.resource)
    if (!resource) {
      checker.problem([...path, 'resource'], `unknown resource "${item.resource}"`)
      continue
    }
    if (!resource.read) {
      checker.problem([...path, 'resource'], `${item.resource} cannot be read (no read binding), so it is no evidence`)
      continue
    }
    const shape = requestShape(checker, resource)
    if (shape === undefined) continue // its request schema did not load: reported with the resource
    for (const [param, input] of Object.entries(params)) {
      const property = shape.properties.get(param)
      if (property === undefined) {
        const allowed = [...shape.properties.keys()].join(', ') || '(none)'
        const where: Path = [...path, 'params', param]
        checker.report.error(
          where,
          `${formatPath(where)}: ${item.resource} takes no parameter "${param}" (it takes: ${allowed})`,
          'key',
        )
        continue
      }
      // An input checked as one identifier must not feed a parameter the provider checks as another.
      const format = input === undefined ? undefined : inputs[input]?.format
      if (property.format !== undefined && format !== undefined && property.format !== format) {
        checker.problem(
          [...path, 'params', param],
          `input "${input}" is ${format}, but ${item.resource} parameter "${param}" is ${property.format}`,
        )
      }
    }
    const unmapped = shape.required.filter((param) => !Object.hasOwn(params, param))
    if (unmapped.length > 0) {
      checker.problem(
        [...path, 'params'],
        `${item.resource} requires parameter(s) ${unmapped.join(', ')}: map each to an input`,
      )
    }
  }
  for (const name of Object.keys(inputs)) {
    if (!used.has(name)) {
      const where: Path = [...at, 'inputs', name]
      checker.report.warn(where, `${formatPath(where)}: input "${name}" feeds no evidence item`, 'key')
    }
  }
}

function requestShape(checker: Checker, resource: LooseResource): RequestShape | undefined {
  const written = resource.read?.request
  const loaded = written === undefined ? undefined : checker.schemas.get(written)
  if (!loaded?.ok) return undefined
  const schema = loaded.schema as { properties?: Record<string, { format?: unknown }>; required?: unknown }
  const properties = new Map<string, { format?: string }>()
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    properties.set(name, typeof property?.format === 'string' ? { format: property.format } : {})
  }
  const required = Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []
  return { properties, required }
}
