import canonicalize from 'canonicalize'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../connectors/housing-gongai/simulator/seed.js'
import type { CanonicalRecord } from '../../kernel/records.js'
import { canonicalJson } from '../audit/canonical-json.js'
import type { Field, Grant, Resource } from '../catalog/types.js'
import { compileProjector, releasedFields } from './project.js'
import { compileReleaseRenderer } from './render.js'

// Keys in catalog order that is not code-unit order: the renderer must sort them as RFC 8785 does.
const KEYS = ['permitNo', 'b', 'a', 'A', '10', '2', 'é', '€', '\u0080', '施工', 'aa', 'Z', 'ownerLeadName']

const permit = {
  id: 'test.permit',
  provider: 'housing',
  fields: KEYS.map(
    (key): Field => ({
      key,
      name: key,
      sensitivity: key === 'ownerLeadName' ? 'personal' : 'public',
      ...(key === 'ownerLeadName' ? { mask: { rule: 'name' } } : {}),
    }),
  ),
} as unknown as Resource

function grant(fields: string[], masked: string[]): Grant {
  return {
    source: 'catalog',
    matter: 'QT00301001',
    consumer: 'drc',
    resource: 'test.permit',
    action: 'read',
    usage: '业务协同',
    fields,
    masked,
  }
}

const STRINGS = ['', 'a', '施工许可', '𠮷祥', 'quote"back\\slash', 'tab\tnl\n', '\u2028', '\u007f', '\u0001']
// canonicalize refuses these; canonicalJson (what the release evidence has always used) writes them as \uXXXX.
const LONE_SURROGATES = ['\ud800', 'x\udc00y']
const NUMBERS = [0, -0, 1, -1, 0.1 + 0.2, 1e21, 5e-324, 1.7976931348623157e308, 9007199254740991, -7e-7]

/** A record as a provider may send it: every kind of JSON value, nested ones with keys out of order. */
function generateRecord(random: () => number, strings: readonly string[]): CanonicalRecord {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const value = (depth: number): unknown => {
    const r = random()
    if (depth <= 0 || r < 0.6) return pick<unknown>([pick(strings), pick(NUMBERS), true, false, null])
    if (r < 0.8) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth - 1))
    return { z: value(depth - 1), a: value(depth - 1), 施: value(depth - 1) }
  }
  const record: CanonicalRecord = {}
  for (const key of [...KEYS, 'notInTheCatalog']) {
    if (random() < 0.8) record[key] = key === 'ownerLeadName' ? pick(['张三', '𠀾明', '王']) : value(2)
  }
  return record
}

describe('compiled release renderer', () => {
  it('writes exactly the RFC 8785 text of the projected records (canonicalize) on 1,500 generated answers', () => {
    const random = mulberry32(1608)
    const g = grant(KEYS.slice(0, 12), ['ownerLeadName'])
    const project = compileProjector(permit, g)
    const { data } = compileReleaseRenderer(permit, releasedFields(permit, g))
    const answer = (strings: readonly string[]) =>
      Array.from({ length: Math.floor(random() * 4) }, () => project(generateRecord(random, strings)))
    for (let i = 0; i < 1500; i++) {
      const released = answer(STRINGS)
      expect(data(released)).toBe(canonicalize(released))
      const withLoneSurrogates = answer([...STRINGS, ...LONE_SURROGATES])
      expect(data(withLoneSurrogates)).toBe(canonicalJson(withLoneSurrogates))
    }
  })

  it('writes only the granted fields, in code-unit order, and leaves absent ones out', () => {
    const g = grant(['b', 'a', 'A', '10', '2'], [])
    const project = compileProjector(permit, g)
    const { data } = compileReleaseRenderer(permit, releasedFields(permit, g))
    const released = [project({ b: 1, a: 'x', '10': null, permitNo: 'not granted', secret: 's' })]
    expect(data(released)).toBe('[{"10":null,"a":"x","b":1}]')
    expect(data([])).toBe('[]')
  })

  it('refuses NaN and Infinity, as canonicalJson does', () => {
    const { data } = compileReleaseRenderer(permit, releasedFields(permit, grant(['a'], [])))
    expect(() => data([{ a: Number.NaN }])).toThrow(TypeError)
    expect(() => data([{ a: Number.POSITIVE_INFINITY }])).toThrow(TypeError)
    expect(() => data([{ a: { nested: Number.NaN } }])).toThrow(TypeError)
  })

  it('writes the meta members the grant fixes as JSON.stringify would', () => {
    const g = grant(['b', 'a'], ['ownerLeadName'])
    const { metaOpening, metaFields } = compileReleaseRenderer(permit, releasedFields(permit, g))
    expect(metaOpening).toBe('{"resource":"test.permit","provider":"housing","matter":')
    // Catalog order, clear and masked together, then the masked ones (projection/project.ts releasedFields).
    expect(metaFields).toBe(',"fields":["b","a","ownerLeadName"],"masked":["ownerLeadName"],"count":')
  })
})
