import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { completeUscc, DEPARTMENT_CODE_PATTERN, departmentNextSteps, planDepartment } from './department.js'
import { ScaffoldError, writePlan } from './generate.js'

const REPO = resolve(import.meta.dirname, '../..')
let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'qiao-department-'))
  await writeFile(join(root, 'catalog.yaml'), await readFile(join(REPO, 'catalog.yaml'), 'utf8'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(ScaffoldError)
    return (err as ScaffoldError).problems
  }
  throw new Error('expected a ScaffoldError')
}

/** True when every line of `original` appears in `result`, in order: the edit only inserted lines. */
function onlyInserted(original: string, result: string): boolean {
  const lines = result.split('\n')
  let at = 0
  for (const line of original.split('\n')) {
    while (at < lines.length && lines[at] !== line) at++
    if (at === lines.length) return false
    at++
  }
  return true
}

describe('completeUscc', () => {
  it('computes the GB 32100 check character from 17 characters and verifies it on 18', () => {
    // The demo catalog's 住建: 11320100002493021L.
    expect(completeUscc('11320100002493021')).toEqual({ uscc: '11320100002493021L', computed: true })
    expect(completeUscc(' 11320100002493021l ')).toEqual({ uscc: '11320100002493021L', computed: false })
    expect(completeUscc('11320100002493021K')).toEqual({
      problem: '--uscc 11320100002493021K: the check character should be L, not K',
    })
    expect(completeUscc('1132010000249302I')).toEqual({
      problem: '--uscc 1132010000249302I has characters GB 32100 does not use (I, O, S, V, Z)',
    })
    expect(completeUscc('1132')).toEqual({
      problem: '--uscc must be 18 characters (or the first 17, to have the check character computed); got 4',
    })
  })
})

describe('planDepartment', () => {
  it('appends the department to the real catalog, every existing line kept; an all-digit USCC stays a string', async () => {
    const original = await readFile(join(root, 'catalog.yaml'), 'utf8')
    const plan = await planDepartment({ root, code: 'sewage', name: '南京市排水管理处', uscc: '11320100002493073' })
    expect(plan.department).toEqual({ code: 'sewage', name: '南京市排水管理处', uscc: '113201000024930730' })
    expect(plan.computedCheck).toBe(true)
    await writePlan(root, plan)
    const result = await readFile(join(root, 'catalog.yaml'), 'utf8')
    expect(onlyInserted(original, result)).toBe(true)
    expect(result).toContain(
      '    uscc: 11320100002493072W\n  - code: sewage\n    name: 南京市排水管理处\n    uscc: "113201000024930730"\n',
    )
    const data = parse(result, { schema: 'core' })
    expect(data.departments.at(-1)).toEqual(plan.department)
    expect(departmentNextSteps(plan).join('\n')).toMatch(/SIGHUP[\s\S]*rebuild and restart/)
  })

  it('writes a flow item where the departments are flow maps', async () => {
    const text =
      'version: "1"\ndepartments:\n  - { code: water, name: 水务局, uscc: "113201000024930642" }\n\nresources: []\n'
    await writeFile(join(root, 'catalog.yaml'), text)
    const plan = await planDepartment({
      root,
      code: 'housing',
      name: '住建局',
      shortName: '住建',
      uscc: '11320100002493021L',
    })
    expect(plan.files[0]?.content).toBe(
      `${text.replace('\n\n', '\n  - { code: housing, name: 住建局, shortName: 住建, uscc: 11320100002493021L }\n\n')}`,
    )
  })

  it('refuses a duplicate code, name or USCC and an invalid code, all at once; nothing written', async () => {
    const original = await readFile(join(root, 'catalog.yaml'), 'utf8')
    expect(
      await problemsOf(planDepartment({ root, code: 'water', name: '南京市水务局', uscc: '113201000024930642' })),
    ).toEqual([
      'catalog.yaml already has a department "water"',
      'USCC 113201000024930642 is already department "water"\'s in catalog.yaml',
      'catalog.yaml already has a department named 南京市水务局',
    ])
    expect(await problemsOf(planDepartment({ root, code: 'Water_2', name: ' ', uscc: '11320100002493021' }))).toEqual([
      'department code "Water_2" must be 2 to 32 lower-case letters, digits or dashes, starting with a letter',
      '--name must not be empty',
      'USCC 11320100002493021L is already department "housing"\'s in catalog.yaml',
    ])
    expect(await readFile(join(root, 'catalog.yaml'), 'utf8')).toBe(original)
  })

  it('checks codes as the catalog schema does', async () => {
    const schema = JSON.parse(await readFile(join(REPO, 'schemas/catalog.schema.json'), 'utf8'))
    expect(DEPARTMENT_CODE_PATTERN.source).toBe(schema.$defs.departmentCode.pattern)
  })
})
