/**
 * Names and checks for `qiao connector new`: every name the template copy substitutes is derived here, from the
 * connector id, the department and the command's options, and validated so the generated code stays valid and
 * formatted whatever was typed.
 */

/** `water-drainage`: lower-case words joined by dashes, at least two words. */
export const CONNECTOR_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/
/** Longer ids would push generated lines past Biome's line width. */
export const MAX_CONNECTOR_ID_LENGTH = 32
/** `drainage-record`: lower-case words joined by dashes. */
export const RESOURCE_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/
export const MAX_RESOURCE_NAME_LENGTH = 48
/** Characters of a system name that would need escaping in TypeScript, JSON, YAML or a Markdown table. */
const SYSTEM_FORBIDDEN = /[\p{Cc}'"`\\$|*<>]/u
export const MAX_SYSTEM_LENGTH = 40
/** Simulator ports are taken from this range. */
export const SIMULATOR_PORT_RANGE = { first: 9101, last: 9199 } as const

export interface ScaffoldNames {
  /** Connector type and instance id: `water-drainage`. */
  readonly id: string
  /** `waterDrainage`: the definition's export (the simulator's is `waterDrainageSimulator`). */
  readonly camel: string
  /** `WaterDrainage`. */
  readonly pascal: string
  /** `QIAO_WATER_DRAINAGE`: prefix of the environment variables in the catalog options. */
  readonly envPrefix: string
  /** Department code: `water`. */
  readonly department: string
  /** Department name: `南京市水务局`. */
  readonly departmentName: string
  /** The legacy system, in words: `水务 排水许可系统`. */
  readonly system: string
  /** Resource name: `drainage-record`. */
  readonly resource: string
  /** `water.drainage-record`. */
  readonly resourceId: string
  /** 信息资源名称 in the catalog and title of the record schema. */
  readonly resourceName: string
  /** 信息资源代码 (a placeholder the integrator replaces). */
  readonly resourceCode: string
  /** The simulator's default port. */
  readonly port: number
  /** Division code in the seed's USCCs (the catalog's region). */
  readonly region: string
  /** Prefix of the seed's record numbers: `WD`. */
  readonly recordNoPrefix: string
  /** The catalog file, relative to the repository root, with forward slashes. */
  readonly catalogFile: string
  /** `connectors/water-drainage`. */
  readonly connectorDir: string
  /** `schemas/resources/water`. */
  readonly schemaDir: string
}

export interface NameInputs {
  readonly id: string
  readonly department: string
  readonly departmentName: string
  readonly departmentShortName?: string
  readonly system?: string
  readonly resource?: string
  readonly resourceCode: string
  readonly port: number
  readonly region?: string
  readonly catalogFile: string
}

/** Problems with a connector id, in words; empty when it is usable. */
export function connectorIdProblems(id: string): string[] {
  if (!CONNECTOR_ID_PATTERN.test(id)) {
    return [`connector id "${id}" must be lower-case words joined by dashes, at least two (e.g. water-drainage)`]
  }
  if (id.length > MAX_CONNECTOR_ID_LENGTH) {
    return [`connector id "${id}" is longer than ${MAX_CONNECTOR_ID_LENGTH} characters`]
  }
  return []
}

export function resourceNameProblems(resource: string): string[] {
  if (!RESOURCE_NAME_PATTERN.test(resource)) {
    return [`resource name "${resource}" must be lower-case words joined by dashes (e.g. drainage-record)`]
  }
  if (resource.length > MAX_RESOURCE_NAME_LENGTH) {
    return [`resource name "${resource}" is longer than ${MAX_RESOURCE_NAME_LENGTH} characters`]
  }
  return []
}

export function systemProblems(system: string): string[] {
  if (system.trim() === '') return ['--system must not be empty']
  if (Array.from(system).length > MAX_SYSTEM_LENGTH) {
    return [`--system must be at most ${MAX_SYSTEM_LENGTH} characters (the full name belongs in the README)`]
  }
  if (SYSTEM_FORBIDDEN.test(system)) return ['--system must not contain quotes, backslashes, $, |, *, < or >']
  return []
}

/**
 * The default resource name: the id without the department prefix, plus `-record` (`water-drainage` in department
 * `water` → `drainage-record`); the whole id plus `-record` when it does not start with the department.
 */
export function defaultResourceName(id: string, department: string): string {
  const rest = id.startsWith(`${department}-`) ? id.slice(department.length + 1) : id
  return RESOURCE_NAME_PATTERN.test(rest) ? `${rest}-record` : `${id}-record`
}

/** `water-drainage` → `waterDrainage`. */
export function camelCase(id: string): string {
  return id.split('-').reduce((name, word) => name + word.charAt(0).toUpperCase() + word.slice(1))
}

/** The lowest port of the simulator range that is not in `used`. */
export function nextFreePort(used: Iterable<number>): number | undefined {
  const taken = new Set(used)
  for (let port = SIMULATOR_PORT_RANGE.first; port <= SIMULATOR_PORT_RANGE.last; port++) {
    if (!taken.has(port)) return port
  }
  return undefined
}

/** Initials of the id's words (letters only, at most four): `water-drainage` → `WD`. */
export function recordNoPrefix(id: string): string {
  const initials = id
    .split('-')
    .map((word) => word.charAt(0))
    .filter((c) => c >= 'a' && c <= 'z')
    .join('')
    .slice(0, 4)
    .toUpperCase()
  return initials === '' ? 'R' : initials
}

export function scaffoldNames(inputs: NameInputs): ScaffoldNames {
  const { id, department } = inputs
  const camel = camelCase(id)
  const system = (inputs.system ?? `${inputs.departmentShortName ?? inputs.departmentName}业务系统`).trim()
  const resource = inputs.resource ?? defaultResourceName(id, department)
  return {
    id,
    camel,
    pascal: camel.charAt(0).toUpperCase() + camel.slice(1),
    envPrefix: `QIAO_${id.toUpperCase().replaceAll('-', '_')}`,
    department,
    departmentName: inputs.departmentName,
    system,
    resource,
    resourceId: `${department}.${resource}`,
    resourceName: `${system}业务记录`,
    resourceCode: inputs.resourceCode,
    port: inputs.port,
    region: inputs.region !== undefined && /^[0-9]{6}$/.test(inputs.region) ? inputs.region : '110000',
    recordNoPrefix: recordNoPrefix(id),
    catalogFile: inputs.catalogFile,
    connectorDir: `connectors/${id}`,
    schemaDir: `schemas/resources/${department}`,
  }
}
