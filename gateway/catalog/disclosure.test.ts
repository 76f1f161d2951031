import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { loadCatalogText } from './load.js'
import { formatIssue } from './types.js'

/** A matter's `disclosure: after <days>d`: checked at load with its position, and built as a delay in ms. */

const root = fileURLToPath(new URL('../../', import.meta.url))
const demo = readFileSync(`${root}catalog.yaml`, 'utf8')
const MATTER_LINE = '    name: 城市建筑垃圾处置核准\n'

function loadWith(disclosure: string) {
  expect(demo).toContain(MATTER_LINE)
  const text = demo.replace(MATTER_LINE, `${MATTER_LINE}    disclosure: ${disclosure}\n`)
  const line = text.slice(0, text.indexOf('    disclosure:')).split('\n').length
  return {
    line,
    result: loadCatalogText(text, { definitions: connectorDefinitions, file: 'catalog.yaml', baseDir: root }),
  }
}

describe('catalog matter disclosure', () => {
  it('builds after 90d as a delay of 90 days on the matter', () => {
    const { result } = loadWith('after 90d')
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'))
    expect(result.catalog.matters.get('XK00208001')?.disclosure).toEqual({
      after: 'after 90d',
      delayMs: 90 * 86_400_000,
    })
    expect(result.catalog.matters.get('QT00301001')?.disclosure).toBeUndefined()
  })

  it.each(['P90D', '90d', 'after 0d', 'after 3651d', 'after 12h'])('refuses %s at file:line:col', (text) => {
    const { line, result } = loadWith(text)
    expect(result.ok).toBe(false)
    const issues = result.ok ? [] : result.issues.map(formatIssue)
    expect(issues).toEqual([
      `catalog.yaml:${line}:17 matters[1].disclosure: expected "after <days>d" with 1 to 3650 days, such as "after 90d"`,
    ])
  })
})
