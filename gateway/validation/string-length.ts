import type { CodeKeywordDefinition } from 'ajv'
import { _, type Ajv2020, str } from 'ajv/dist/2020.js'

/**
 * `minLength` and `maxLength` as ajv checks them (characters are code points, a lone surrogate counting as one),
 * without counting the characters of every string. Ajv counts them all with a loop in JavaScript: on the demo's
 * construction permits (twenty CJK strings a record) that was a quarter of the response check. The count is only
 * needed near the limit: a string has at most `length` code points and at least `length / 2`, so
 *
 *   maxLength L: `length <= L` passes;            minLength M: `length < M` fails, `length >= 2M` passes;
 *
 * and only the strings in between are counted. Errors are ajv's own (keyword, `{limit}`, message), so reports and
 * their tests see no difference.
 */
export function addCodePointLengths(ajv: Ajv2020): Ajv2020 {
  ajv.removeKeyword('maxLength')
  ajv.removeKeyword('minLength')
  ajv.addKeyword(LENGTH_KEYWORDS)
  return ajv
}

const LENGTH_KEYWORDS: CodeKeywordDefinition = {
  keyword: ['maxLength', 'minLength'],
  type: 'string',
  schemaType: 'number',
  error: {
    message: ({ keyword, schemaCode }) =>
      str`must NOT have ${keyword === 'maxLength' ? 'more' : 'fewer'} than ${schemaCode} characters`,
    params: ({ schemaCode }) => _`{limit: ${schemaCode}}`,
  },
  code(cxt) {
    const within = cxt.gen.scopeValue('func', { ref: cxt.keyword === 'maxLength' ? hasAtMost : hasAtLeast })
    cxt.fail(_`!${within}(${cxt.data}, ${cxt.schemaCode})`)
  },
}

export function hasAtMost(text: string, limit: number): boolean {
  return text.length <= limit || codePointCount(text) <= limit
}

export function hasAtLeast(text: string, limit: number): boolean {
  if (text.length < limit) return false
  return text.length >= 2 * limit || codePointCount(text) >= limit
}

/** Code points, as ajv's ucs2length counts them: a surrogate pair is one, a lone surrogate one too. */
export function codePointCount(text: string): number {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if ((next & 0xfc00) === 0xdc00) i++
    }
    count++
  }
  return count
}
