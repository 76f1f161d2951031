// Cross-references and sharing rules. The Checker keeps what one load has learnt (departments, resources, compiled
// schemas, interpolated options); the sections in checks/ run in the catalog's order, which is the order of the issues.

import type { ValidateFunction } from 'ajv'
import type { Ajv2020 as Ajv } from 'ajv/dist/2020.js'
import type { ConnectorDefinition } from '../../../connectors/kit/types.js'
import type { LoadCatalogOptions } from '../load.js'
import { checkConnectors } from './checks/connectors.js'
import { checkDepartments } from './checks/departments.js'
import { checkMatters } from './checks/matters.js'
import { checkQuotas } from './checks/quotas.js'
import { checkResources } from './checks/resources.js'
import type { Loose, LooseResource, Path, RawCatalog } from './raw.js'
import { formatPath, type Reporter } from './report.js'
import { SchemaFiles } from './schema-files.js'

export class Checker {
  readonly schemas: SchemaFiles
  /** Connector options after interpolation, by instance id. */
  readonly connectorOptions = new Map<string, Record<string, unknown>>()
  /** Department codes, for the references of the later sections. */
  readonly departments = new Set<string>()
  /** Resources by id (the first of a repeated id), for the grant and quota checks. */
  readonly resources = new Map<string, LooseResource>()
  /** Options validators by connector type; undefined when the type's options schema does not compile. */
  readonly compiledOptions = new Map<string, ValidateFunction | undefined>()

  constructor(
    readonly data: Loose<RawCatalog>,
    readonly settings: LoadCatalogOptions & { baseDir: string },
    readonly report: Reporter,
    readonly ajv: Ajv,
    readonly usccExceptions: ReadonlySet<string>,
  ) {
    this.schemas = new SchemaFiles(ajv, settings.baseDir)
  }

  /** The definition of a connector type that the checks found registered. */
  definition(type: string): ConnectorDefinition<never> {
    const definition = this.settings.definitions.get(type)
    if (!definition) throw new Error(`internal: connector type ${type} is not registered`)
    return definition
  }

  checkAll(): void {
    checkDepartments(this)
    checkConnectors(this)
    checkResources(this)
    checkMatters(this)
    checkQuotas(this)
  }

  /** Reports `text` about the value at `path`, prefixed with that path. */
  problem(path: Path, text: string, point: 'value' | 'key' = 'value'): void {
    this.report.error(path, `${formatPath(path)}: ${text}`, point)
  }

  /** True if the department exists; reports it otherwise. */
  department(code: string, path: Path): boolean {
    if (this.departments.has(code)) return true
    this.problem(path, `unknown department "${code}"`)
    return false
  }

  /** True for the first occurrence of `value`; later ones are reported with the first one's line. */
  unique(first: Map<string, Path>, value: string, path: Path, what: string): boolean {
    const earlier = first.get(value)
    if (earlier) {
      this.problem(path, `duplicate ${what} "${value}" (first at line ${this.report.lineOf(earlier)})`)
      return false
    }
    first.set(value, path)
    return true
  }
}
