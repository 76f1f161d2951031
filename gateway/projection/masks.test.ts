import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../connectors/housing-gongai/simulator/seed.js'
import type { MaskRule } from '../catalog/types.js'
import { compileMask } from './masks.js'

/** The masks as first written, on arrays of code points for every value: the reference for the string path. */
function referenceKeepEnds(chars: readonly string[], keepStart: number, keepEnd: number): string {
  let start = keepStart
  let end = keepEnd
  while (start + end > 0 && chars.length - start - end < Math.max(1, Math.ceil(chars.length / 3))) {
    if (start >= end && start > 0) start--
    else end--
  }
  return (
    chars.slice(0, start).join('') + '*'.repeat(chars.length - start - end) + chars.slice(chars.length - end).join('')
  )
}

function referenceMask(rule: MaskRule, value: string): string | undefined {
  const chars = [...value]
  switch (rule.rule) {
    case 'name':
      return chars.length <= 1 ? '*' : chars[0] + '*'.repeat(chars.length - 1)
    case 'idcard':
      return referenceKeepEnds(chars, rule.keepStart ?? 6, rule.keepEnd ?? 4)
    case 'phone':
      return referenceKeepEnds(chars, rule.keepStart ?? 3, rule.keepEnd ?? 4)
    case 'keep':
      return referenceKeepEnds(chars, rule.keepStart ?? 1, rule.keepEnd ?? 1)
    case 'email': {
      const at = value.lastIndexOf('@')
      if (at <= 0) return referenceKeepEnds(chars, 0, 0)
      const local = [...value.slice(0, at)]
      return `${local[0]}${'*'.repeat(Math.max(2, local.length - 1))}${value.slice(at)}`
    }
    default:
      return undefined
  }
}

describe('masks (primer §5.4)', () => {
  it('idcard keeps region and the last four by default', () => {
    expect(compileMask({ rule: 'idcard' })('451002199001011647')).toBe('451002********1647')
    expect(compileMask({ rule: 'idcard', keepStart: 3, keepEnd: 4 })('110105194912311234')).toBe('110***********1234')
  })
  it('phone keeps 3 + 4', () => {
    expect(compileMask({ rule: 'phone' })('13812341234')).toBe('138****1234')
  })
  it('landline keeps the last four', () => {
    expect(compileMask({ rule: 'landline' })('02583451234')).toBe('*******1234')
  })
  it('name keeps the surname', () => {
    expect(compileMask({ rule: 'name' })('张三')).toBe('张*')
    expect(compileMask({ rule: 'name' })('李小龙')).toBe('李**')
    expect(compileMask({ rule: 'name' })('王')).toBe('*')
  })
  it('name masking counts code points, so a character outside the BMP is one character', () => {
    expect(compileMask({ rule: 'name' })('𠀾明')).toBe('𠀾*')
    expect(compileMask({ rule: 'name' })('张𠀾')).toBe('张*')
  })
  it('address keeps up to district level', () => {
    const mask = compileMask({ rule: 'address' })
    expect(mask('北京市海淀区中关村大街1号')).toBe('北京市海淀区****')
    expect(mask('江苏省南京市鼓楼区中山北路30号')).toBe('江苏省南京市鼓楼区****')
    expect(mask('广西壮族自治区南宁市青秀区民族大道100号')).toBe('广西壮族自治区南宁市青秀区****')
  })
  it('address without an administrative prefix is masked entirely', () => {
    expect(compileMask({ rule: 'address' })('中山路1号')).toBe('*****')
  })
  it('bankcard keeps 6 + 4', () => {
    expect(compileMask({ rule: 'bankcard' })('6222600123456781234')).toBe('622260*********1234')
  })
  it('email keeps the first character of the local part', () => {
    expect(compileMask({ rule: 'email' })('gao@163.com')).toBe('g**@163.com')
  })
  it('redact hides everything', () => {
    expect(compileMask({ rule: 'redact' })('secret')).toBe('****')
  })
  it('a value too short for the convention never comes out in clear', () => {
    expect(compileMask({ rule: 'idcard' })('12345')).not.toMatch(/^12345$/)
    expect(compileMask({ rule: 'phone' })('1381')).toContain('*')
    expect(compileMask({ rule: 'keep' })('ab')).toContain('*')
  })
  it('masks every value by code points, with or without characters outside the BMP or lone surrogates', () => {
    const random = mulberry32(54)
    const pieces = ['1', '张', '𠀾', '😀', '@', '\ud800', '\udc00', 'a']
    const rules: MaskRule[] = [
      { rule: 'name' },
      { rule: 'idcard' },
      { rule: 'phone' },
      { rule: 'keep' },
      { rule: 'keep', keepStart: 2, keepEnd: 3 },
      { rule: 'email' },
    ]
    for (let i = 0; i < 2000; i++) {
      let value = ''
      for (let n = Math.floor(random() * 20); n > 0; n--) value += pieces[Math.floor(random() * pieces.length)]
      for (const rule of rules) expect(compileMask(rule)(value)).toBe(referenceMask(rule, value))
    }
  })
})
