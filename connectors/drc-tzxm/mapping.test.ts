import { describe, expect, it } from 'vitest'
import {
  divisionFromProjectCode,
  formatDecimal,
  MappingError,
  mapApprovalResult,
  mapProject,
  mapReceipt,
  type PermitFeedbackBody,
  parseApprovalOutcome,
  parseLegacyDate,
  parseLegacyDateTime,
  parseLegacyNumber,
  parseProjectType,
  toPermitParas,
} from './mapping.js'
import { parseResultXml } from './wire.js'

/** A `<项目>` as wire.ts hands it over (parsed from the platform's result XML). */
const projectNode = {
  项目代码: '2403-320115-04-03-123456',
  项目名称: '东山锦绣住宅小区项目',
  项目单位: [{ 单位名称: '南京𠮷祥建设发展有限公司', 统一社会信用代码: '91350200776049653a' }],
  建设地点: '江苏省南京市江宁区东山，胜太路以南、双龙大道以东',
  建设规模及内容: '总建筑面积约120000平方米，容积率≤2.5。',
  总投资: '12345.67',
  行业: '房地产业',
  项目类型: '备案',
  审批部门: '南京市江宁区发展和改革局',
  登记日期: '20240315',
  // Elements the canonical record does not carry.
  项目状态: '在建',
  SOMETHING_NEW: 'x',
}

const approvalNode = {
  项目代码: '2403-320115-04-03-123456',
  审批事项: '企业投资项目核准',
  审批结果: '同意',
  批复文号: '宁发改能源字〔2024〕12号',
  办结时间: '20240402153012',
  审批部门: '南京市发展和改革委员会',
}

const permitBody: PermitFeedbackBody = {
  projectCode: '2403-320115-04-03-123456',
  permitNo: '320115202410150101',
  issueDate: '2024-10-15',
  issuingAuthority: '南京市江宁区建设局',
  contractPriceWanYuan: 12_345.6,
  totalFloorAreaM2: 45_678,
  plannedStartDate: '2024-11-01',
  plannedCompletionDate: '2026-10-31',
}

function mappingError(run: () => unknown): MappingError {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError)
    return err as MappingError
  }
  throw new Error('expected a MappingError')
}

describe('mapProject', () => {
  it('maps a 项目 to the canonical record in schema order, dropping unknown elements', () => {
    const record = mapProject(projectNode)
    expect(record).toStrictEqual({
      projectCode: '2403-320115-04-03-123456',
      projectName: '东山锦绣住宅小区项目',
      companyName: '南京𠮷祥建设发展有限公司',
      companyUscc: '91350200776049653A',
      location: '江苏省南京市江宁区东山，胜太路以南、双龙大道以东',
      divisionCode: '320115',
      scaleAndContent: '总建筑面积约120000平方米，容积率≤2.5。',
      totalInvestmentWanYuan: 12_345.67,
      industry: '房地产业',
      projectType: 'filing',
      approvingAuthority: '南京市江宁区发展和改革局',
      registeredDate: '2024-03-15',
    })
    expect(Object.keys(record)).toStrictEqual([
      'projectCode',
      'projectName',
      'companyName',
      'companyUscc',
      'location',
      'divisionCode',
      'scaleAndContent',
      'totalInvestmentWanYuan',
      'industry',
      'projectType',
      'approvingAuthority',
      'registeredDate',
    ])
  })

  it('prefers the platform 行政区划代码 and derives the division from the code otherwise', () => {
    expect(mapProject({ ...projectNode, 行政区划代码: '320100' }).divisionCode).toBe('320100')
    expect(mapProject({ ...projectNode, 项目代码: '2016-320104-70-03-976482' }).divisionCode).toBe('320104')
    // 310052 (长三角示范区) is a platform region code, not a GB/T 2260 division: the field is left out.
    expect(mapProject({ ...projectNode, 项目代码: '2403-310052-04-03-123456' })).not.toHaveProperty('divisionCode')
  })

  it('takes the first 项目单位 as the project company, whether one element or several', () => {
    const second = { 单位名称: '江苏堃泰置业有限公司', 统一社会信用代码: '91350500798359476R' }
    const lead = projectNode.项目单位[0]
    expect(mapProject({ ...projectNode, 项目单位: lead }).companyName).toBe('南京𠮷祥建设发展有限公司')
    expect(mapProject({ ...projectNode, 项目单位: [second, lead] }).companyUscc).toBe('91350500798359476R')
    const none = mapProject({ ...projectNode, 项目单位: '' })
    expect(none).not.toHaveProperty('companyName')
    expect(none).not.toHaveProperty('companyUscc')
  })

  it('leaves missing and empty elements out', () => {
    const { 总投资: _, ...rest } = projectNode
    const record = mapProject({ ...rest, 行业: '', 审批部门: '   ' })
    expect(record).not.toHaveProperty('totalInvestmentWanYuan')
    expect(record).not.toHaveProperty('industry')
    expect(record).not.toHaveProperty('approvingAuthority')
  })

  it('names the element, never the value, when something does not parse', () => {
    expect(mappingError(() => mapProject({ ...projectNode, 总投资: '约5000万元' })).message).toBe(
      '总投资 is not a decimal number',
    )
    expect(mappingError(() => mapProject({ ...projectNode, 登记日期: '20241315' })).message).toBe(
      '登记日期 is not a yyyyMMdd date',
    )
    expect(mappingError(() => mapProject({ ...projectNode, 项目类型: '其他' })).message).toBe(
      '项目类型 is not 审批, 核准 or 备案',
    )
    expect(mappingError(() => mapProject({ ...projectNode, 项目名称: ['a', 'b'] })).message).toBe(
      '项目名称 is repeated',
    )
    expect(mappingError(() => mapProject({ ...projectNode, 建设地点: { 省: '江苏' } })).message).toBe(
      '建设地点 has child elements where text was expected',
    )
    expect(mappingError(() => mapProject('x')).message).toBe('项目 is not an element with children')
    expect(mappingError(() => mapProject({ ...projectNode, 项目单位: ['x'] })).message).toBe(
      '项目单位[0] is not an element with children',
    )
  })
})

describe('mapApprovalResult', () => {
  it('maps a 审批记录', () => {
    expect(mapApprovalResult(approvalNode)).toStrictEqual({
      projectCode: '2403-320115-04-03-123456',
      matterName: '企业投资项目核准',
      result: 'approved',
      approvalDocNo: '宁发改能源字〔2024〕12号',
      completedAt: '2024-04-02T15:30:12+08:00',
      authority: '南京市发展和改革委员会',
    })
  })

  it('leaves the 批复文号 out when a filing has none', () => {
    const { 批复文号: _, ...filed } = { ...approvalNode, 审批结果: '已备案' }
    expect(mapApprovalResult(filed)).toMatchObject({ result: 'filed' })
    expect(mapApprovalResult(filed)).not.toHaveProperty('approvalDocNo')
  })

  it('refuses unknown results and times', () => {
    expect(mappingError(() => mapApprovalResult({ ...approvalNode, 审批结果: '待定' })).message).toBe(
      '审批结果 is not 同意, 不同意 or 已备案',
    )
    expect(mappingError(() => mapApprovalResult({ ...approvalNode, 办结时间: '20240402' })).message).toBe(
      '办结时间 is not a yyyyMMddHHmmss time',
    )
  })
})

describe('value parsers', () => {
  it('parses dates and times (Asia/Shanghai, +08:00)', () => {
    expect(parseLegacyDate('20240315')).toBe('2024-03-15')
    expect(parseLegacyDate('2024-03-15')).toBe('2024-03-15')
    expect(parseLegacyDate('2024/03/15')).toBe('2024-03-15')
    for (const bad of ['20230229', '20241301', '2024315', '2024年3月15日', '20240315101010', '']) {
      expect(parseLegacyDate(bad), bad).toBeUndefined()
    }
    expect(parseLegacyDateTime('20240315235959')).toBe('2024-03-15T23:59:59+08:00')
    expect(parseLegacyDateTime('2024-03-15 08:00:00')).toBe('2024-03-15T08:00:00+08:00')
    for (const bad of ['20240315240000', '20240315126000', '20230229120000', '20240315', '2024-03-15T08:00:00Z']) {
      expect(parseLegacyDateTime(bad), bad).toBeUndefined()
    }
  })

  it('parses amounts in 万元 without converting units', () => {
    expect(parseLegacyNumber('12345.67')).toBe(12_345.67)
    expect(parseLegacyNumber('12345.6789')).toBe(12_345.6789)
    expect(parseLegacyNumber('1,234.5')).toBe(1234.5)
    expect(parseLegacyNumber('-1')).toBe(-1)
    for (const bad of ['1e5', '12万', '', 'NaN', '0x10']) expect(parseLegacyNumber(bad), bad).toBeUndefined()
  })

  it('maps 项目类型 and 审批结果 to enums', () => {
    expect(['审批', '核准', '备案', '01', '02', '03'].map(parseProjectType)).toStrictEqual([
      'approval',
      'ratification',
      'filing',
      'approval',
      'ratification',
      'filing',
    ])
    expect(parseProjectType('其他')).toBeUndefined()
    expect(['同意', '不同意', '已备案', '准予', '不予'].map(parseApprovalOutcome)).toStrictEqual([
      'approved',
      'rejected',
      'filed',
      'approved',
      'rejected',
    ])
    expect(parseApprovalOutcome('退回')).toBeUndefined()
  })

  it('derives the division only from a known GB/T 2260 region segment', () => {
    expect(divisionFromProjectCode('2403-320115-04-03-123456')).toBe('320115')
    expect(divisionFromProjectCode('2016-320103-70-03-012345')).toBe('320103') // 白下区, retired in 2013
    expect(divisionFromProjectCode('2403-310052-04-03-123456')).toBeUndefined()
    expect(divisionFromProjectCode('short')).toBeUndefined()
    expect(divisionFromProjectCode(undefined)).toBeUndefined()
  })
})

describe('write body → <paras>', () => {
  it('orders the platform parameters, compacts dates and prints plain decimals', () => {
    expect(toPermitParas(permitBody)).toStrictEqual([
      ['项目代码', '2403-320115-04-03-123456'],
      ['施工许可证编号', '320115202410150101'],
      ['发证日期', '20241015'],
      ['发证机关', '南京市江宁区建设局'],
      ['合同价格', '12345.6'],
      ['建筑面积', '45678'],
      ['计划开工日期', '20241101'],
      ['计划竣工日期', '20261031'],
    ])
  })

  it('formats amounts without exponents or float noise', () => {
    expect(formatDecimal(0, 'x')).toBe('0')
    expect(formatDecimal(-0, 'x')).toBe('0')
    expect(formatDecimal(0.1 + 0.2, 'x')).toBe('0.3')
    expect(formatDecimal(1e-7, 'x')).toBe('0')
    expect(formatDecimal(123_456_789.123456, 'x')).toBe('123456789.123456')
    expect(formatDecimal(1e14, 'x')).toBe('100000000000000')
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1e15]) {
      expect(() => formatDecimal(bad, 'contractPriceWanYuan')).toThrow(
        'contractPriceWanYuan is not a non-negative amount below 1e15',
      )
    }
  })

  it('refuses a body that was not validated, naming the field', () => {
    expect(mappingError(() => toPermitParas({ ...permitBody, issueDate: '20241015' })).message).toBe(
      'issueDate is not a YYYY-MM-DD date',
    )
    expect(mappingError(() => toPermitParas({ ...permitBody, plannedStartDate: '2024-02-30' })).message).toBe(
      'plannedStartDate is not a YYYY-MM-DD date',
    )
    expect(mappingError(() => toPermitParas({ ...permitBody, issuingAuthority: ' ' })).message).toBe(
      'issuingAuthority is not a non-empty string',
    )
  })
})

describe('mapReceipt', () => {
  it('turns <data> of a write answer into a receipt with an ISO time', () => {
    const { data } = parseResultXml(
      '<?xml version="1.0" encoding="gb2312"?><result><code>1</code><message>接收成功</message>' +
        '<data><回执编号>HZ20261115093000000001</回执编号><接收时间>20261115093000</接收时间></data></result>',
    )
    expect(mapReceipt(data)).toStrictEqual({
      receiptId: 'HZ20261115093000000001',
      acceptedAt: '2026-11-15T09:30:00+08:00',
    })
  })

  it('refuses a receipt without number or time', () => {
    expect(mappingError(() => mapReceipt({ 接收时间: '20261115093000' })).message).toBe('回执编号 is missing')
    expect(mappingError(() => mapReceipt({ 回执编号: 'HZ1' })).message).toBe('接收时间 is missing')
    expect(mappingError(() => mapReceipt({ 回执编号: 'HZ1', 接收时间: '2026-11-15' })).message).toBe(
      '接收时间 is not a yyyyMMddHHmmss time',
    )
    expect(mappingError(() => mapReceipt('')).message).toBe('data is not an element with children')
  })
})
