import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { checkUscc, usccCheckChar } from '../../kernel/identifiers.js'
import { addDepartment, type CatalogDepartment, CatalogEditError, readCatalogFacts } from './catalog-edit.js'
import { type PlannedFile, ScaffoldError } from './generate.js'

/**
 * `qiao department add`: a department appended to catalog.yaml without editing YAML by hand (comments, order and
 * quoting of the file kept, catalog-edit.ts). The USCC's GB 32100 check character is computed from 17 characters or
 * verified on 18.
 */

/** As `$defs.departmentCode` in schemas/catalog.schema.json (a test keeps them equal). */
export const DEPARTMENT_CODE_PATTERN = /^[a-z][a-z0-9-]{1,31}$/
/** GB 32100: the first 17 characters, without I, O, S, V, Z. */
const USCC_FIRST_17 = /^[0-9A-HJ-NPQRTUWXY]{17}$/
const NAME_FORBIDDEN = /[\p{Cc}]/u
const MAX_NAME_LENGTH = 60

export interface DepartmentAddOptions {
  readonly root: string
  readonly code: string
  readonly name: string
  readonly shortName?: string
  /** 18 characters, or the first 17 (the check character is then computed). */
  readonly uscc: string
  /** @default 'catalog.yaml' */
  readonly catalog?: string
}

export interface DepartmentPlan {
  readonly department: CatalogDepartment
  /** The USCC's check character was computed (17 characters were given). */
  readonly computedCheck: boolean
  readonly files: readonly PlannedFile[]
}

/** The full USCC for 17 or 18 characters, or why not. */
export function completeUscc(input: string): { uscc: string; computed: boolean } | { problem: string } {
  const code = input.trim().toUpperCase()
  if (code.length === 17) {
    const check = USCC_FIRST_17.test(code) ? usccCheckChar(code) : undefined
    if (check === undefined) return { problem: `--uscc ${code} has characters GB 32100 does not use (I, O, S, V, Z)` }
    return { uscc: code + check, computed: true }
  }
  if (code.length === 18) {
    if (!USCC_FIRST_17.test(code.slice(0, 17))) {
      return { problem: `--uscc ${code} has characters GB 32100 does not use (I, O, S, V, Z)` }
    }
    if (checkUscc(code, new Set()) !== 'valid') {
      const expected = usccCheckChar(code.slice(0, 17))
      return { problem: `--uscc ${code}: the check character should be ${expected}, not ${code.charAt(17)}` }
    }
    return { uscc: code, computed: false }
  }
  return {
    problem: `--uscc must be 18 characters (or the first 17, to have the check character computed); got ${code.length}`,
  }
}

/** Checks everything and returns the catalog change. Throws ScaffoldError listing every problem. */
export async function planDepartment(options: DepartmentAddOptions): Promise<DepartmentPlan> {
  const problems: string[] = []
  const catalogFile = options.catalog ?? 'catalog.yaml'
  if (!DEPARTMENT_CODE_PATTERN.test(options.code)) {
    problems.push(
      `department code "${options.code}" must be 2 to 32 lower-case letters, digits or dashes, starting with a letter`,
    )
  }
  const name = options.name.trim()
  const shortName = options.shortName?.trim()
  for (const [flag, value] of [
    ['--name', name],
    ['--short-name', shortName],
  ] as const) {
    if (value === undefined) continue
    if (value === '') problems.push(`${flag} must not be empty`)
    else if (NAME_FORBIDDEN.test(value) || Array.from(value).length > MAX_NAME_LENGTH) {
      problems.push(`${flag} must be at most ${MAX_NAME_LENGTH} characters, without control characters`)
    }
  }
  const uscc = completeUscc(options.uscc)
  if ('problem' in uscc) problems.push(uscc.problem)

  let text: string | undefined
  try {
    text = await readFile(join(resolve(options.root), catalogFile), 'utf8')
  } catch {
    problems.push(`cannot read ${catalogFile}`)
  }
  if (text !== undefined) {
    try {
      const facts = readCatalogFacts(text)
      if (facts.departments.has(options.code)) {
        problems.push(`${catalogFile} already has a department "${options.code}"`)
      }
      for (const other of facts.departments.values()) {
        if ('uscc' in uscc && other.uscc?.toUpperCase() === uscc.uscc) {
          problems.push(`USCC ${uscc.uscc} is already department "${other.code}"'s in ${catalogFile}`)
        }
        if (other.name === name) problems.push(`${catalogFile} already has a department named ${name}`)
      }
    } catch (err) {
      problems.push(`${catalogFile}: ${(err as Error).message}`)
    }
  }
  if (problems.length > 0 || text === undefined || 'problem' in uscc) throw new ScaffoldError(problems)

  const department: CatalogDepartment = {
    code: options.code,
    name,
    ...(shortName === undefined ? {} : { shortName }),
    uscc: uscc.uscc,
  }
  let next: string
  try {
    next = addDepartment(text, department)
  } catch (err) {
    if (err instanceof CatalogEditError) throw new ScaffoldError([`${catalogFile}: ${err.message}`])
    throw err
  }
  return {
    department,
    computedCheck: uscc.computed,
    files: [{ path: catalogFile, content: next, action: 'change', original: text }],
  }
}

/** What to do next, as lines for the terminal. */
export function departmentNextSteps(plan: DepartmentPlan, catalogFile = 'catalog.yaml'): string[] {
  const { code } = plan.department
  return [
    `1. Check the catalog:`,
    `     npx tsx gateway/cli.ts catalog check ${catalogFile}     (qiao catalog check)`,
    `2. A running gateway reads the change without a restart (catalog-only): send it SIGHUP or`,
    `   POST /v1/admin/catalog/reload. Tokens for the department name it as dept: ${code}.`,
    `3. To let ${code} provide data, generate a connector for its system:`,
    `     npx tsx gateway/cli.ts connector new ${code}-<system> --department ${code}`,
    `   New connector code needs a rebuild and restart (\`npm run build\`, then restart \`qiao serve\`).`,
  ]
}
