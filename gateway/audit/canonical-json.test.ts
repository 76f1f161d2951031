import canonicalize from 'canonicalize'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../connectors/housing-gongai/simulator/seed.js'
import { canonicalJson } from './canonical-json.js'

/** Random plain JSON data, with Chinese text, escapes, awkward numbers and keys that sort by code unit. */
function generate(random: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const strings = ['', 'a', 'Z', '施工许可', '𠮷祥', 'quote"back\\slash', 'tab\tnl\n', '\u2028', 'é', '€', '\u0001']
  const numbers = [0, -0, 1, -1, 0.1 + 0.2, 1e21, 5e-324, 1.7976931348623157e308, 9007199254740991, 123.456, -7e-7]
  const r = random()
  if (depth <= 0 || r < 0.45) {
    return pick<unknown>([pick(strings), pick(numbers), true, false, null])
  }
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => generate(random, depth - 1))
  const keys = ['b', 'a', 'A', '10', '2', 'é', '€', '\u0080', '施', 'aa', '', 'Z', 'undefinedValue']
  const object: Record<string, unknown> = {}
  for (let i = 0; i < 1 + Math.floor(random() * 6); i++) {
    const key = pick(keys)
    object[key] = key === 'undefinedValue' ? undefined : generate(random, depth - 1)
  }
  return object
}

describe('canonical JSON (RFC 8785)', () => {
  it('matches the canonicalize reference implementation on 5,000 generated values', () => {
    const random = mulberry32(8785)
    for (let i = 0; i < 5000; i++) {
      const value = generate(random, 4)
      expect(canonicalJson(value)).toBe(canonicalize(value))
    }
  })

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError)
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError)
  })
})
