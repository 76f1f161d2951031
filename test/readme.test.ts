import { readFile } from 'node:fs/promises'
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
})
