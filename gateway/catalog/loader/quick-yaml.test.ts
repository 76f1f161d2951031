import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { detachFromSource, readYamlQuickly } from './quick-yaml.js'

const exact = (text: string): unknown => parse(text, { schema: 'core' })
const repoFile = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8')

describe('readYamlQuickly', () => {
  it('reads every catalog in the repository exactly as the yaml library does', () => {
    for (const path of [
      'catalog.yaml',
      'test/fixtures/catalogs/base.yaml',
      'test/fixtures/catalogs/valid-minimal.yaml',
      'test/fixtures/catalogs/three-mistakes.yaml',
      'connectors/market-qzk/conformance.catalog.yaml',
      'connectors/drc-tzxm/conformance.catalog.yaml',
    ]) {
      const text = repoFile(path)
      const quick = readYamlQuickly(text)
      expect(quick, path).toBeDefined()
      expect(quick, path).toStrictEqual(exact(text))
    }
  })

  // The YAML 1.2 core schema at its edges; js-yaml's own CORE_SCHEMA gets 0b101 and +.5 wrong.
  it.each([
    '014',
    '0o14',
    '0x1F',
    '+12',
    '-0',
    '12345678901234567890',
    '0b101',
    '1_000',
    '.5',
    '+.5',
    '1.',
    '1.0',
    '1e3',
    '-1.5E-3',
    '1e',
    '.inf',
    '-.Inf',
    '+.INF',
    '.NaN',
    '~',
    'Null',
    'NULL',
    'nULL',
    '',
    'TRUE',
    'True',
    'yes',
    'on',
    'off',
    '2025-01-01',
    '2025-01-01T00:00:00Z',
    '1:20',
    '"\\u00e9\\t"',
    "'it''s'",
    '!!str 12',
    '|\n  x\n  y\n',
    '>-\n  x\n\n  y\n',
    '[1, "a", null, {b: true}]',
  ])('reads the value %j as the yaml library does', (value) => {
    const text = `a: ${value}\nb: [x]\n`
    expect(readYamlQuickly(text)).toStrictEqual(exact(text))
  })

  it('detaches the data from the source text, so the text can be collected', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const heapAfterGc = () => {
      gc()
      return process.memoryUsage().heapUsed
    }
    const read = (detach: boolean) => {
      // 16 MB of comment (UTF-16 in memory) and one string long enough for V8 to slice it out of the text.
      const text = `# ${'注'.repeat(8_000_000)}\nname: 住房和城乡建设局建筑工程施工许可\nn: 1.5\n`
      const data = readYamlQuickly(text)
      return detach ? detachFromSource(data) : data
    }
    const before = heapAfterGc()
    const sliced = read(false)
    const retainedSliced = heapAfterGc() - before
    const detached = read(true)
    const retainedDetached = heapAfterGc() - before - retainedSliced
    expect(sliced).toStrictEqual(detached)
    expect(retainedSliced).toBeGreaterThan(10_000_000)
    expect(retainedDetached).toBeLessThan(1_000_000)
    expect(detachFromSource({ a: [1, Number.NaN] })).toStrictEqual({ a: [1, Number.NaN] })
  })

  it.each([
    ['a directive', '%YAML 1.1\n---\na: yes\n'],
    ['an alias', 'a: &x {b: 1}\nc: *x\n'],
    ['an explicit key', '? a\n: 1\n'],
    ['a collection as a key', '[1, 2]: v\n'],
    ['a flow map as a key', '- {a: 1}: v\n'],
    ['a null key', 'a: 1\n~: x\n'],
    ['a null key spelt out', 'b:\n  null: x\n'],
    ['an empty key', ': x\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['invalid YAML', 'a: [1, 2\n'],
    ['an unknown tag', 'a: !!binary aGk=\n'],
    ['an empty file', ''],
    ['a scalar document', 'just text\n'],
  ])('leaves %s to the exact parser', (_, text) => {
    expect(readYamlQuickly(text)).toBeUndefined()
  })
})
