import type { MaskRule, MaskRuleName } from '../catalog/types.js'

/**
 * Masking conventions (domain primer §5.4). There is no national format, so each rule has the dominant
 * convention as its default and takes keepStart/keepEnd where a deployment needs another.
 * Masks work on Unicode code points, so a name with a character outside the BMP keeps its shape.
 */
export type Masker = (value: string) => string

const STAR = '*'

interface KeepDefaults {
  keepStart: number
  keepEnd: number
}

const KEEP_DEFAULTS: Partial<Record<MaskRuleName, KeepDefaults>> = {
  idcard: { keepStart: 6, keepEnd: 4 }, // region kept for matching, birth date hidden
  phone: { keepStart: 3, keepEnd: 4 },
  landline: { keepStart: 0, keepEnd: 4 },
  bankcard: { keepStart: 6, keepEnd: 4 },
  keep: { keepStart: 1, keepEnd: 1 },
}

/**
 * A value's code points, to index and cut: the string itself when it holds no surrogate (each code unit is then
 * one code point: no array to build, as for nearly every Chinese name, number and address), else an array.
 */
type CodePoints = string | readonly string[]

const SURROGATE = /[\ud800-\udfff]/

function codePointsOf(value: string): CodePoints {
  return SURROGATE.test(value) ? [...value] : value
}

function cut(chars: CodePoints, start: number, end?: number): string {
  return typeof chars === 'string' ? chars.slice(start, end) : chars.slice(start, end).join('')
}

function keepEnds(chars: CodePoints, keepStart: number, keepEnd: number): string {
  // A value too short for the convention (a truncated id, a typo) must not come out in clear: shrink what is
  // kept until at least a third of it is hidden.
  let start = keepStart
  let end = keepEnd
  while (start + end > 0 && chars.length - start - end < Math.max(1, Math.ceil(chars.length / 3))) {
    if (start >= end && start > 0) start--
    else end--
  }
  const hidden = chars.length - start - end
  return cut(chars, 0, start) + STAR.repeat(hidden) + cut(chars, chars.length - end)
}

function maskName(chars: CodePoints): string {
  // Keep the surname (first character); 张* for two characters, 李** for three. Compound surnames stay masked
  // after their first character, which errs on the side of hiding.
  if (chars.length <= 1) return STAR
  return chars[0] + STAR.repeat(chars.length - 1)
}

// Administrative suffixes up to county level; anything after the county is the street address.
const ADDRESS_PREFIX =
  /^(?:[^省市区县旗州盟]{1,7}(?:省|自治区|特别行政区))?(?:[^省市区县旗州盟]{1,9}(?:市|自治州|州|盟|地区))?(?:[^省市区县旗州盟]{1,9}(?:区|县|自治县|旗|自治旗|市|林区|特区))?/u

function maskAddress(value: string): string {
  const prefix = ADDRESS_PREFIX.exec(value)?.[0] ?? ''
  if (prefix.length === 0 || prefix.length === value.length) return keepEnds(codePointsOf(value), 0, 0)
  return `${prefix}****`
}

function maskEmail(value: string): string {
  const at = value.lastIndexOf('@')
  if (at <= 0) return keepEnds(codePointsOf(value), 0, 0)
  const local = codePointsOf(value.slice(0, at))
  return `${local[0]}${STAR.repeat(Math.max(2, local.length - 1))}${value.slice(at)}`
}

/** Builds the masker for a rule once (at catalog load); the returned function runs per value. */
export function compileMask(rule: MaskRule): Masker {
  switch (rule.rule) {
    case 'name':
      return (value) => maskName(codePointsOf(value))
    case 'address':
      return maskAddress
    case 'email':
      return maskEmail
    case 'redact':
      return () => '****'
    case 'idcard':
    case 'phone':
    case 'landline':
    case 'bankcard':
    case 'keep': {
      const defaults = KEEP_DEFAULTS[rule.rule] as KeepDefaults
      const keepStart = rule.keepStart ?? defaults.keepStart
      const keepEnd = rule.keepEnd ?? defaults.keepEnd
      return (value) => keepEnds(codePointsOf(value), keepStart, keepEnd)
    }
  }
}
