import { describe, expect, it } from 'vitest'
import { compileMask } from './masks.js'

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
})
