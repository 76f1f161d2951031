import { describe, expect, it } from 'vitest'
import {
  ENTERPRISE_COLUMNS,
  MappingError,
  mapEnterpriseRow,
  parseDecimal,
  parseLegacyDate,
  parseRegistrationStatus,
  type QzkRow,
} from './mapping.js'
import { MAPPED_COLUMNS } from './sql.js'

/** A row as the connector reads it: every column as text, CHAR columns space-padded by the database. */
const row: QzkRow = {
  TYSHXYDM: '91320102MA1XYK121J',
  QYMC: '南京鸿泰信息科技有限公司',
  FDDBR: '王晓明',
  FDDBRZJHM: '320102198205170417',
  QYLX: '有限责任公司（自然人投资或控股）',
  DJZT: '存续',
  ZS: '江苏省南京市玄武区中山路100号',
  XZQHDM: '320102',
  ZCZB: '1200.5000',
  CLRQ: '20160408',
  DJJG: '南京市玄武区市场监督管理局',
  JYFW: '一般项目：技术服务、技术开发',
}

function mappingError(fn: () => unknown): MappingError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError)
    return err as MappingError
  }
  throw new Error('expected a MappingError')
}

describe('mapEnterpriseRow', () => {
  it('maps every column to its canonical field', () => {
    expect(mapEnterpriseRow(row)).toStrictEqual({
      uscc: '91320102MA1XYK121J',
      name: '南京鸿泰信息科技有限公司',
      legalRepresentative: '王晓明',
      legalRepIdNo: '320102198205170417',
      enterpriseType: '有限责任公司（自然人投资或控股）',
      status: 'active',
      address: '江苏省南京市玄武区中山路100号',
      divisionCode: '320102',
      registeredCapitalWanYuan: 1200.5,
      establishedDate: '2016-04-08',
      registrationAuthority: '南京市玄武区市场监督管理局',
      businessScope: '一般项目：技术服务、技术开发',
    })
  })

  it('maps exactly the columns the connector selects', () => {
    expect(ENTERPRISE_COLUMNS.map((r) => r.column)).toStrictEqual([...MAPPED_COLUMNS])
  })

  it('trims padding, upper-cases the USCC and ignores columns it does not know', () => {
    const record = mapEnterpriseRow({
      ...row,
      TYSHXYDM: '  91320102ma1xyk121j ',
      XZQHDM: '320102',
      QYMC: '  南京鸿泰信息科技有限公司\t',
      LSH: '17',
      SJYXBS: '1',
      SJGXSJ: '20240101120000',
    })
    expect(record.uscc).toBe('91320102MA1XYK121J')
    expect(record.name).toBe('南京鸿泰信息科技有限公司')
    // A legacy check `x` (and CHAR padding) become the one spelling the subject index and the mask expect.
    expect(mapEnterpriseRow({ ...row, FDDBRZJHM: '11010519491231002x  ' }).legalRepIdNo).toBe('11010519491231002X')
    expect(Object.keys(record)).not.toContain('LSH')
    expect(Object.keys(record)).not.toContain('SJYXBS')
  })

  it('leaves null, missing and blank columns out', () => {
    const record = mapEnterpriseRow({ ...row, ZCZB: null, JYFW: '   ', DJJG: undefined })
    expect(record).not.toHaveProperty('registeredCapitalWanYuan')
    expect(record).not.toHaveProperty('businessScope')
    expect(record).not.toHaveProperty('registrationAuthority')
    expect(mapEnterpriseRow({})).toStrictEqual({})
  })

  it('throws a MappingError that names the column, never the value', () => {
    const cases: Array<[Partial<QzkRow>, string, string]> = [
      [{ CLRQ: '2O16-04-08' }, 'CLRQ', 'column CLRQ is not a yyyyMMdd date'],
      [{ CLRQ: '20160230' }, 'CLRQ', 'column CLRQ is not a yyyyMMdd date'],
      [{ ZCZB: '一千万' }, 'ZCZB', 'column ZCZB is not a decimal number'],
      [{ ZCZB: '1e3' }, 'ZCZB', 'column ZCZB is not a decimal number'],
      [{ DJZT: '歇业中' }, 'DJZT', 'column DJZT is not a known 登记状态'],
    ]
    for (const [change, column, message] of cases) {
      const err = mappingError(() => mapEnterpriseRow({ ...row, ...change }))
      expect(err.column).toBe(column)
      expect(err.message).toBe(message)
      for (const value of Object.values(change)) expect(err.message).not.toContain(String(value))
    }
    const typed = mappingError(() => mapEnterpriseRow({ ...row, ZCZB: 12 as unknown as string }))
    expect(typed.message).toBe('column ZCZB has a number where text was expected')
  })
})

describe('parseRegistrationStatus', () => {
  it('maps 登记状态 to the canonical enum', () => {
    expect(parseRegistrationStatus('存续')).toBe('active')
    expect(parseRegistrationStatus('在业')).toBe('active')
    expect(parseRegistrationStatus('迁出')).toBe('moved-out')
    expect(parseRegistrationStatus('吊销')).toBe('revoked')
    expect(parseRegistrationStatus('注销')).toBe('deregistered')
    expect(parseRegistrationStatus(' 注销 ')).toBe('deregistered')
  })

  it('accepts the long forms of the enterprise credit publicity system', () => {
    expect(parseRegistrationStatus('存续（在营、开业、在册）')).toBe('active')
    expect(parseRegistrationStatus('吊销，未注销')).toBe('revoked')
    expect(parseRegistrationStatus('吊销，已注销')).toBe('deregistered')
  })

  it('knows nothing else', () => {
    for (const value of ['', '正常', 'active', '1', 'toString', '__proto__', '撤销']) {
      expect(parseRegistrationStatus(value), value).toBeUndefined()
    }
  })
})

describe('parseLegacyDate', () => {
  it('converts yyyyMMdd and yyyy-MM-dd to ISO dates', () => {
    expect(parseLegacyDate('20160408')).toBe('2016-04-08')
    expect(parseLegacyDate('2016-04-08')).toBe('2016-04-08')
    expect(parseLegacyDate('20000229')).toBe('2000-02-29')
  })

  it('refuses impossible or malformed dates', () => {
    for (const value of ['20190229', '20161301', '20160400', '18991231', '22000101', '2016408', '2016/04/08', 'x']) {
      expect(parseLegacyDate(value), value).toBeUndefined()
    }
  })
})

describe('parseDecimal', () => {
  it('reads numeric text', () => {
    expect(parseDecimal('500')).toBe(500)
    expect(parseDecimal('1200.5000')).toBe(1200.5)
    expect(parseDecimal('0.0100')).toBe(0.01)
    expect(parseDecimal('-3')).toBe(-3)
    expect(parseDecimal('.5')).toBe(0.5)
  })

  it('refuses units, words, exponents and empties', () => {
    for (const value of ['', '500万元', '1,200', '1e3', 'NaN', 'Infinity', '五百']) {
      expect(parseDecimal(value), value).toBeUndefined()
    }
  })
})
