import { access, readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { renderGeneratedSections } from '../gateway/docs.js'

describe('README', () => {
  it('has the configuration table and error catalogue generated from the code (run `npm run docs`)', async () => {
    const readme = await readFile('README.md', 'utf8')
    expect(renderGeneratedSections(readme)).toBe(readme)
  })

  it('shows the two set-up commands', async () => {
    const readme = await readFile('README.md', 'utf8')
    expect(readme).toContain('npm install && npm start')
    expect(readme).toMatch(/^npm test\b/m)
  })

  it('names in its pipeline table files that exist, and every stage file of gateway/pipeline/', async () => {
    const readme = await readFile('README.md', 'utf8')
    const section = readme.slice(readme.indexOf('## The request pipeline'), readme.indexOf('## Exchange API'))
    const rows = section.split('\n').filter((line) => /^\| [^-]/.test(line) && !line.startsWith('| Stage '))
    const named = rows.flatMap((row) =>
      [...(row.split('|')[2] ?? '').matchAll(/`(gateway\/[^`]+)`/g)].map((m) => m[1] as string),
    )
    expect(rows.length).toBeGreaterThan(0)
    for (const file of named) await expect(access(file).then(() => file)).resolves.toBe(file)
    const stages = (await readdir('gateway/pipeline')).filter((f) => /^\d\d-.*\.ts$/.test(f) && !f.endsWith('.test.ts'))
    expect(stages.map((f) => `gateway/pipeline/${f}`).filter((f) => !named.includes(f))).toEqual([])
  })
})
