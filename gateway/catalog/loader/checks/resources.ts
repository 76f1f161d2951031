// Resources: ids, codes and providers, sharing rules, the connector binding with its schema files, and fields.

import type { JsonSchema } from '../../../../kernel/records.js'
import type { Checker } from '../checks.js'
import type { LooseResource, Path } from '../raw.js'
import { formatPath } from '../report.js'
import { isRecord } from '../values.js'

export const DEFAULT_RESOURCE_CODE_PATTERN = '^[0-9](/[0-9A-Za-z]+)+$'

export function checkResources(checker: Checker): void {
  const firstId = new Map<string, Path>()
  const firstCode = new Map<string, Path>()
  const codePattern = resourceCodePattern(checker)
  for (const [i, r] of (checker.data.resources ?? []).entries()) {
    if (!r) continue
    const at: Path = ['resources', i]
    if (r.id !== undefined && checker.unique(firstId, r.id, [...at, 'id'], 'resource id'))
      checker.resources.set(r.id, r)
    if (r.code !== undefined) {
      checker.unique(firstCode, r.code, [...at, 'code'], 'resource code')
      if (codePattern && !codePattern.regexp.test(r.code)) {
        checker.report.error(
          [...at, 'code'],
          `${formatPath([...at, 'code'])} must match resourceCodePattern ${codePattern.source}`,
        )
      }
    }
    if (r.provider !== undefined && checker.department(r.provider, [...at, 'provider']) && r.id?.includes('.')) {
      const prefix = r.id.slice(0, r.id.indexOf('.'))
      if (prefix !== r.provider) {
        checker.problem([...at, 'id'], `the part before the dot must be the provider "${r.provider}", not "${prefix}"`)
      }
    }
    checkSharing(checker, r, at)
    checkBinding(checker, r, at)
    checkFields(checker, r, at)
  }
}

function resourceCodePattern(checker: Checker): { source: string; regexp: RegExp } | undefined {
  const source = checker.data.resourceCodePattern ?? DEFAULT_RESOURCE_CODE_PATTERN
  try {
    return { source, regexp: new RegExp(source, 'u') }
  } catch (err) {
    // V8 says "Invalid regular expression: /…/u: <reason>"; the reason is the useful part.
    const reason = (err as Error).message.split(': ').at(-1)
    checker.report.error(['resourceCodePattern'], `resourceCodePattern is not a valid regular expression (${reason})`)
    return undefined
  }
}

function checkSharing(checker: Checker, r: LooseResource, at: Path): void {
  const sharing = r.sharing
  const path = [...at, 'sharing']
  if (sharing?.type === 'conditional') {
    if (sharing.condition === undefined) checker.problem(path, 'conditional sharing needs a condition')
    if (sharing.legalBasis === undefined) checker.problem(path, 'conditional sharing needs a legalBasis')
  } else if (sharing?.type === 'none') {
    if (sharing.legalBasis === undefined) checker.problem(path, 'sharing type none needs a legalBasis')
    for (const binding of ['read', 'write', 'changes'] as const) {
      if (r[binding] !== undefined) {
        checker.report.error(
          [...at, binding],
          `${formatPath(at)}: a resource with sharing type none cannot have ${binding}`,
          'key',
        )
      }
    }
  }
}

/** Connector, operations and the schema files of read/write. */
function checkBinding(checker: Checker, r: LooseResource, at: Path): void {
  const connectors = checker.data.connectors ?? {}
  const known = r.connector !== undefined && Object.hasOwn(connectors, r.connector)
  const connector = known ? connectors[r.connector as string] : undefined
  if (r.connector !== undefined && !known) {
    checker.problem([...at, 'connector'], `unknown connector "${r.connector}"`)
  } else if (
    connector?.department !== undefined &&
    checker.departments.has(connector.department) &&
    r.provider !== undefined &&
    connector.department !== r.provider
  ) {
    checker.problem(
      [...at, 'connector'],
      `connector "${r.connector}" belongs to department "${connector.department}", not to the provider "${r.provider}"`,
    )
  }
  const definition = connector?.type === undefined ? undefined : checker.settings.definitions.get(connector.type)
  if (r.changes !== undefined && r.read === undefined) {
    checker.report.error(
      [...at, 'changes'],
      `${formatPath(at)}: changes needs read (its records are read records)`,
      'key',
    )
  }
  for (const kind of ['read', 'write', 'changes'] as const) {
    const binding = r[kind]
    if (!binding) continue
    if (r.connector === undefined) {
      checker.report.error([...at, kind], `${formatPath(at)}: ${kind} needs a connector`, 'key')
    }
    if (definition && binding.operation !== undefined) {
      const path = [...at, kind, 'operation']
      const operation = Object.hasOwn(definition.operations, binding.operation)
        ? definition.operations[binding.operation]
        : undefined
      if (!operation) {
        const known = Object.keys(definition.operations).join(', ') || 'none'
        checker.problem(
          path,
          `connector type ${definition.type} has no operation "${binding.operation}" (operations: ${known})`,
        )
      } else if (operation.kind !== kind) {
        checker.problem(path, `operation "${binding.operation}" is a ${operation.kind} operation`)
      }
    }
    if ('request' in binding && binding.request !== undefined)
      checker.schemas.load(binding.request, [...at, kind, 'request'], checker.report)
  }
  if (r.read?.response !== undefined) {
    const path = [...at, 'read', 'response']
    const loaded = checker.schemas.load(r.read.response, path, checker.report)
    if (loaded.ok && !isClosedObjectSchema(loaded.schema)) {
      checker.problem(
        path,
        `${r.read.response} must be an object schema with properties and "additionalProperties": false`,
      )
    }
  }
}

/** Field keys are unique and match the response schema's properties one to one; masks apply to strings. */
function checkFields(checker: Checker, r: LooseResource, at: Path): void {
  const firstKey = new Map<string, Path>()
  const response = r.read?.response === undefined ? undefined : checker.schemas.get(r.read.response)
  const properties = response?.ok && isClosedObjectSchema(response.schema) ? response.schema.properties : undefined
  for (const [j, f] of (r.fields ?? []).entries()) {
    if (!f || f.key === undefined) continue
    const path = [...at, 'fields', j, 'key']
    checker.unique(firstKey, f.key, path, 'field key')
    if (!properties) continue
    const property = properties[f.key]
    if (!isRecord(property) || !Object.hasOwn(properties, f.key)) {
      checker.problem(path, `"${f.key}" is not a property of ${r.read?.response}`)
    } else if (f.mask !== undefined) {
      const maskPath = [...at, 'fields', j, 'mask']
      const types = property.type === undefined ? undefined : [property.type].flat()
      if (types === undefined) {
        checker.report.warn(
          maskPath,
          `${formatPath(maskPath)}: "${f.key}" has no type in ${r.read?.response}; masks apply to strings`,
        )
      } else if (!types.includes('string')) {
        checker.problem(maskPath, `a mask needs a string, but "${f.key}" is ${types.join(' or ')}`)
      }
    }
  }
  if (!properties) return
  for (const name of Object.keys(properties)) {
    if (!firstKey.has(name)) {
      checker.problem([...at, 'fields'], `property "${name}" of ${r.read?.response} is not declared in fields`, 'key')
    }
  }
}

function isClosedObjectSchema(schema: JsonSchema): schema is JsonSchema & { properties: Record<string, unknown> } {
  return schema.type === 'object' && schema.additionalProperties === false && isRecord(schema.properties)
}
