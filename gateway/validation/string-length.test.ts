import { createRequire } from 'node:module'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../connectors/housing-gongai/simulator/seed.js'
import { createAjv } from './ajv.js'
import { codePointCount, hasAtLeast, hasAtMost } from './string-length.js'

// ajv's own count, the reference (CommonJS: the function sits on `.default`).
const ucs2length = createRequire(import.meta.url)('ajv/dist/runtime/ucs2length.js').default as (s: string) => number

/** Strings of BMP, CJK, astral characters and lone surrogates of both kinds. */
function generate(random: () => number): string {
  const pieces = ['a', '施', '工', '𠮷', '😀', '\ud800', '\udc00', ' ', '"']
  let out = ''
  for (let i = Math.floor(random() * 12); i > 0; i--) out += pieces[Math.floor(random() * pieces.length)]
  return out
}

describe('minLength / maxLength without counting every string', () => {
  it('counts code points as ajv does, and decides every limit as a full count would', () => {
    const random = mulberry32(2020)
    for (let i = 0; i < 20_000; i++) {
      const text = generate(random)
      const count = ucs2length(text)
      expect(codePointCount(text)).toBe(count)
      const limit = Math.floor(random() * 14)
      expect(hasAtMost(text, limit)).toBe(count <= limit)
      expect(hasAtLeast(text, limit)).toBe(count >= limit)
    }
  })

  it('gives the verdicts and the error objects of ajv’s own keywords', () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', minLength: 2, maxLength: 3 }, code: { type: 'string', maxLength: 1 } },
    }
    const ours = createAjv().compile(schema)
    const ajvs = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(
      schema,
    )
    const random = mulberry32(3)
    for (let i = 0; i < 5_000; i++) {
      const doc = { name: generate(random), code: generate(random) }
      expect(ours(doc)).toBe(ajvs(doc))
      expect(ours.errors ?? null).toEqual(ajvs.errors ?? null)
    }
    expect(ours({ name: '𠮷', code: '施工' })).toBe(false)
    expect(ours.errors?.map((e) => [e.instancePath, e.keyword, e.params, e.message])).toEqual([
      ['/name', 'minLength', { limit: 2 }, 'must NOT have fewer than 2 characters'],
      ['/code', 'maxLength', { limit: 1 }, 'must NOT have more than 1 characters'],
    ])
  })
})
