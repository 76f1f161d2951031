import { describe, expect, it } from 'vitest'
import {
  isSupersededRow,
  MappingError,
  mapCompletionFilingRow,
  mapDrawingReviewRow,
  mapPermitRow,
  parseLegacyDate,
  parseLegacyNumber,
  parseReviewResult,
} from './mapping.js'

const permitRow = {
  SGXKZBH: '320115202403150201',
  XMDM: '2401-320115-89-01-123456',
  GCDM: '2401-320115-89-01-123456-001',
  GCMC: '东山锦绣住宅小区项目一标段  ',
  XZQHDM: '320115',
  JSDZ: '江苏省南京市江宁区胜太路88号',
  JSGM: '总建筑面积12345.67平方米，地上18层，地下2层',
  JSDW: '南京鸿泰置业有限公司',
  JSDWDM: '91350200776049653a',
  JSDWXMFZR: '王伟',
  JSFZRZJHM: '11010519491231002x',
  JSFZRLXDH: '13812345678',
  SGDWMC: '江苏嘉禾建设集团有限公司',
  SGDWDM: '91350500798359476R',
  HTJG: '12345.67',
  ZJZMJ: '23456.78',
  JHKGRQ: '20240401',
  JHJGRQ: '20260930',
  FZRQ: '20240315',
  FZJG: '南京市江宁区建设局',
  GCGHXKZBH: '建字第320115202312345号',
  SCHGSBH: 'SC32011520240001',
  // Columns the canonical record does not carry.
  LSH: '20240315101010123456',
  DFSJZJ: '71ab2b3206928b3936379f3f881253dd',
  SJYXBS: '1',
  SJGXSJ: '20240315101010',
  JSXZ: '新建',
  DSJZMJ: '18000.00',
  SOMETHING_NEW: 'x',
}

describe('parseLegacyDate', () => {
  it('converts yyyyMMdd and its variants to ISO', () => {
    expect(parseLegacyDate('20240315')).toBe('2024-03-15')
    expect(parseLegacyDate('20240315101010')).toBe('2024-03-15')
    expect(parseLegacyDate('2024-03-15')).toBe('2024-03-15')
    expect(parseLegacyDate('2024/03/15')).toBe('2024-03-15')
    expect(parseLegacyDate('2024-03-15 10:10:10')).toBe('2024-03-15')
    expect(parseLegacyDate('2024-02-29')).toBe('2024-02-29')
  })

  it('refuses what is not a real date', () => {
    for (const bad of ['20230229', '20241301', '20240132', '00000000', '2024315', '2024年3月15日', '15/03/2024', '']) {
      expect(parseLegacyDate(bad), bad).toBeUndefined()
    }
  })
})

describe('parseLegacyNumber', () => {
  it('converts numbers sent as strings', () => {
    expect(parseLegacyNumber('12345.67')).toBe(12345.67)
    expect(parseLegacyNumber('0')).toBe(0)
    expect(parseLegacyNumber('-12.5')).toBe(-12.5)
    expect(parseLegacyNumber('1,234,567.5')).toBe(1234567.5)
    expect(parseLegacyNumber('.5')).toBe(0.5)
  })

  it('refuses units, words and exponents', () => {
    for (const bad of ['12万元', 'NaN', 'Infinity', '1e5', '1,23', '12.3.4', '', '一百']) {
      expect(parseLegacyNumber(bad), bad).toBeUndefined()
    }
  })
})

describe('parseReviewResult', () => {
  it('maps 审查结论', () => {
    expect(parseReviewResult('合格')).toBe('passed')
    expect(parseReviewResult('不合格')).toBe('failed')
    expect(parseReviewResult('待定')).toBeUndefined()
  })
})

describe('mapPermitRow', () => {
  it('maps every column to the canonical record and drops unknown columns', () => {
    expect(mapPermitRow(permitRow)).toStrictEqual({
      permitNo: '320115202403150201',
      projectCode: '2401-320115-89-01-123456',
      subProjectCode: '2401-320115-89-01-123456-001',
      projectName: '东山锦绣住宅小区项目一标段',
      divisionCode: '320115',
      constructionSite: '江苏省南京市江宁区胜太路88号',
      constructionScale: '总建筑面积12345.67平方米，地上18层，地下2层',
      ownerName: '南京鸿泰置业有限公司',
      ownerUscc: '91350200776049653A',
      ownerLeadName: '王伟',
      ownerLeadIdNo: '11010519491231002X',
      ownerLeadPhone: '13812345678',
      contractorName: '江苏嘉禾建设集团有限公司',
      contractorUscc: '91350500798359476R',
      contractPriceWanYuan: 12345.67,
      totalFloorAreaM2: 23456.78,
      plannedStartDate: '2024-04-01',
      plannedCompletionDate: '2026-09-30',
      issueDate: '2024-03-15',
      issuingAuthority: '南京市江宁区建设局',
      planningPermitNo: '建字第320115202312345号',
      drawingReviewCertNo: 'SC32011520240001',
    })
  })

  it('leaves missing, null and empty columns out', () => {
    const { HTJG: _price, ...rest } = permitRow
    const record = mapPermitRow({ ...rest, JHJGRQ: null, SCHGSBH: '   ' })
    expect(record).not.toHaveProperty('contractPriceWanYuan')
    expect(record).not.toHaveProperty('plannedCompletionDate')
    expect(record).not.toHaveProperty('drawingReviewCertNo')
    expect(record.permitNo).toBe('320115202403150201')
  })

  it('accepts JSON numbers where the legacy system sometimes sends them', () => {
    const record = mapPermitRow({ ...permitRow, HTJG: 100.5, XZQHDM: 320115 })
    expect(record.contractPriceWanYuan).toBe(100.5)
    expect(record.divisionCode).toBe('320115')
  })

  it('throws a MappingError that names the column, never the value', () => {
    const cases: Array<[string, unknown]> = [
      ['FZRQ', '20240230'],
      ['JHKGRQ', '2024年4月1日'],
      ['HTJG', '12345.67万元'],
      ['ZJZMJ', { value: 1 }],
      ['GCMC', true],
    ]
    for (const [column, value] of cases) {
      let caught: unknown
      try {
        mapPermitRow({ ...permitRow, [column]: value })
      } catch (err) {
        caught = err
      }
      expect(caught, column).toBeInstanceOf(MappingError)
      expect((caught as MappingError).column).toBe(column)
      expect((caught as Error).message).toContain(column)
      expect((caught as Error).message).not.toContain(String(value))
    }
  })

  it('refuses a row that is not an object', () => {
    expect(() => mapPermitRow(['a'])).toThrow(MappingError)
    expect(() => mapPermitRow(null)).toThrow(MappingError)
  })
})

describe('mapDrawingReviewRow', () => {
  it('maps a review and its 审查结论', () => {
    const row = {
      SCHGSBH: 'SC32011520240001',
      XMDM: '2401-320115-89-01-123456',
      GCDM: '2401-320115-89-01-123456',
      GCMC: '东山锦绣住宅小区项目',
      SCJGMC: '江苏汇智施工图审查中心有限公司',
      SCJGDM: '91350200776049653A',
      SJDWMC: '南京博雅建筑设计研究院有限公司',
      SCJL: '不合格',
      SCWCRQ: '20240201',
      LSH: '1',
      SJYXBS: '1',
    }
    expect(mapDrawingReviewRow(row)).toStrictEqual({
      certNo: 'SC32011520240001',
      projectCode: '2401-320115-89-01-123456',
      subProjectCode: '2401-320115-89-01-123456',
      projectName: '东山锦绣住宅小区项目',
      reviewAgency: '江苏汇智施工图审查中心有限公司',
      reviewAgencyUscc: '91350200776049653A',
      designUnit: '南京博雅建筑设计研究院有限公司',
      result: 'failed',
      completedDate: '2024-02-01',
    })
    expect(() => mapDrawingReviewRow({ ...row, SCJL: '待定' })).toThrow(/column SCJL/)
  })
})

describe('mapCompletionFilingRow', () => {
  it('maps a filing with numbers as JSON numbers', () => {
    const row = {
      JGYSBABH: 'JB32011520260001',
      XMDM: '2401-320115-89-01-123456',
      GCDM: '2401-320115-89-01-123456',
      GCMC: '东山锦绣住宅小区项目',
      JSDW: '南京鸿泰置业有限公司',
      JSDWDM: '91350200776049653A',
      JGYSRQ: '20260820',
      BARQ: '20260901',
      ZJZMJ: '23456.78',
      GCJS: '13000',
      SJGXSJ: '20260901101010',
    }
    expect(mapCompletionFilingRow(row)).toStrictEqual({
      filingNo: 'JB32011520260001',
      projectCode: '2401-320115-89-01-123456',
      subProjectCode: '2401-320115-89-01-123456',
      projectName: '东山锦绣住宅小区项目',
      ownerName: '南京鸿泰置业有限公司',
      ownerUscc: '91350200776049653A',
      acceptanceDate: '2026-08-20',
      filingDate: '2026-09-01',
      totalFloorAreaM2: 23456.78,
      finalCostWanYuan: 13000,
    })
  })
})

describe('isSupersededRow', () => {
  it('is true only for SJYXBS = "0"', () => {
    expect(isSupersededRow({ SJYXBS: '0' })).toBe(true)
    expect(isSupersededRow({ SJYXBS: 0 })).toBe(true)
    expect(isSupersededRow({ SJYXBS: '1' })).toBe(false)
    expect(isSupersededRow({})).toBe(false)
  })
})
