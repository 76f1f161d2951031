import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Files with one job: a source file under gateway/, connectors/ or kernel/ longer than MAX_LINES must say why on
 * one of its first REASON_WITHIN lines, as `// Over 400 lines: <reason>`. Tests and generated data are exempt.
 */

const REPO = resolve(import.meta.dirname, '..')
const ROOTS = ['gateway', 'connectors', 'kernel']
const MAX_LINES = 400
const REASON_WITHIN = 3
/** The agreed form; the reason must say something (ten characters at least). */
const REASON = /^\/\/ Over 400 lines: \S.{9,}$/
const SOURCE = /\.[cm]?[jt]sx?$/
const EXEMPT = /\.test\.[cm]?[jt]sx?$|\.generated\.|\.d\.ts$/

function lineCount(text: string): number {
  if (text.length === 0) return 0
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
}

/** Repository-relative paths (forward slashes) of source files over the limit without a reason, with their length. */
function oversizedWithoutReason(root: string, dirs: readonly string[]): string[] {
  const offenders: string[] = []
  const walk = (rel: string) => {
    const abs = join(root, rel)
    if (!existsSync(abs)) return
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const child = posix.join(rel, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(child)
        continue
      }
      if (!SOURCE.test(entry.name) || EXEMPT.test(entry.name)) continue
      const text = readFileSync(join(root, child), 'utf8')
      const lines = lineCount(text)
      if (lines <= MAX_LINES) continue
      const head = text.split('\n', REASON_WITHIN)
      if (!head.some((line) => REASON.test(line.trim()))) offenders.push(`${child} (${lines} lines)`)
    }
  }
  for (const dir of dirs) walk(dir)
  return offenders.sort()
}

describe('the file-size rule', () => {
  let dir: string
  const lines = (n: number, first?: string) =>
    `${[...(first === undefined ? [] : [first]), ...Array.from({ length: n - (first === undefined ? 0 : 1) }, (_, i) => `export const v${i} = ${i}`)].join('\n')}\n`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-file-sizes-'))
    await mkdir(join(dir, 'gateway', 'deep', 'er'), { recursive: true })
    await mkdir(join(dir, 'connectors', 'x', 'node_modules'), { recursive: true })
    await mkdir(join(dir, 'elsewhere'), { recursive: true })
    await writeFile(join(dir, 'gateway', 'deep', 'er', 'planted.ts'), lines(401))
    await writeFile(join(dir, 'gateway', 'at-limit.ts'), lines(400))
    await writeFile(
      join(dir, 'gateway', 'with-reason.ts'),
      lines(401, '// Over 400 lines: one table of codes, read top to bottom'),
    )
    await writeFile(
      join(dir, 'gateway', 'reason-after-imports.ts'),
      `import a from 'a'\nimport b from 'b'\nimport c from 'c'\n// Over 400 lines: too late to count\n${lines(400)}`,
    )
    await writeFile(join(dir, 'gateway', 'empty-reason.ts'), lines(401, '// Over 400 lines: '))
    await writeFile(join(dir, 'connectors', 'x', 'big.test.ts'), lines(900))
    await writeFile(join(dir, 'connectors', 'x', 'seed.generated.json'), lines(900))
    await writeFile(join(dir, 'connectors', 'x', 'node_modules', 'dep.js'), lines(900))
    await writeFile(join(dir, 'elsewhere', 'big.ts'), lines(900))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('flags a 401-line file without a reason, a reason too far down and an empty reason; nothing else', () => {
    expect(oversizedWithoutReason(dir, ROOTS)).toEqual([
      'gateway/deep/er/planted.ts (401 lines)',
      'gateway/empty-reason.ts (401 lines)',
      'gateway/reason-after-imports.ts (404 lines)',
    ])
  })
})

describe('files with one job', () => {
  it(`no source file under ${ROOTS.join(', ')} is over ${MAX_LINES} lines without \`// Over 400 lines: <reason>\` at its top`, () => {
    expect(oversizedWithoutReason(REPO, ROOTS)).toEqual([])
  })
})
