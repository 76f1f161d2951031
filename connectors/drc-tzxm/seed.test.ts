import { readFileSync } from 'node:fs'
import type { ValidateFunction } from 'ajv'
import iconv from 'iconv-lite'
import { describe, expect, it } from 'vitest'
import { createAjv } from '../../gateway/validation/ajv.js'
import { isAdminDivisionCode } from '../kit/admin-divisions.js'
import { SHARED_PROJECTS } from '../kit/demo-universe.js'
import { isInvestmentProjectCode, isUsccChecksumValid, projectCodeFormat } from '../kit/identifiers.js'
import { mapApprovalResult, mapProject, parseLegacyDate, parseLegacyDateTime } from './mapping.js'
import {
  DEFAULT_SEED,
  drcDataset,
  generateDrcDataset,
  NON_BMP_COMPANY_NAME,
  SEED_PROJECT_COUNT,
  SEED_REFERENCE_DATE,
  seedSample,
} from './simulator/seed.js'

function compile(name: string): ValidateFunction {
  const url = new URL(`../../schemas/resources/drc/${name}.json`, import.meta.url)
  return createAjv().compile(JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>)
}

const data = drcDataset()
const sample = seedSample()

describe('seed', () => {
  it('is deterministic', () => {
    expect(generateDrcDataset(DEFAULT_SEED)).toStrictEqual(generateDrcDataset(DEFAULT_SEED))
    expect(drcDataset()).toBe(data)
    expect(seedSample(generateDrcDataset())).toStrictEqual(sample)
    expect(generateDrcDataset(7).projects[0]).not.toStrictEqual(data.projects[0])
  })

  it('has at least 200 南京市 projects of all three types, in both code layouts, with approval results', () => {
    expect(data.projects.length).toBe(SEED_PROJECT_COUNT + SHARED_PROJECTS.length)
    expect(SEED_PROJECT_COUNT).toBeGreaterThanOrEqual(200)
    const formats = new Set(data.projects.map((p) => projectCodeFormat(p.项目代码)))
    expect(formats).toStrictEqual(new Set(['current', 'legacy']))
    expect(new Set(data.projects.map((p) => p.项目类型))).toStrictEqual(new Set(['审批', '核准', '备案']))
    for (const p of data.projects) {
      expect(p.项目代码.slice(5, 9)).toBe('3201')
      expect(p.建设地点.startsWith('江苏省南京市')).toBe(true)
    }
    expect(data.approvals.length).toBeGreaterThan(data.projects.length)
    const outcomes = new Set(data.approvals.map((a) => a.审批结果))
    expect(outcomes).toStrictEqual(new Set(['同意', '不同意', '已备案']))
    expect(data.approvals.some((a) => a.审批结果 === '已备案' && a.批复文号 === undefined)).toBe(true)
  })

  it('uses only valid identifiers, and no event after the reference date', () => {
    const codes = new Set<string>()
    for (const p of data.projects) {
      expect(isInvestmentProjectCode(p.项目代码), p.项目代码).toBe(true)
      expect(isAdminDivisionCode(p.项目代码.slice(5, 11))).toBe(true)
      codes.add(p.项目代码)
      expect(parseLegacyDate(p.登记日期)! <= SEED_REFERENCE_DATE).toBe(true)
      // The time code agrees with the registration date: YYMM (current) or the year (legacy).
      if (projectCodeFormat(p.项目代码) === 'legacy') expect(p.项目代码.slice(0, 4)).toBe(p.登记日期.slice(0, 4))
      else expect(p.项目代码.slice(0, 4)).toBe(p.登记日期.slice(2, 6))
    }
    expect(codes.size).toBe(data.projects.length)
    for (const c of data.companies) expect(isUsccChecksumValid(c.uscc), c.uscc).toBe(true)
    expect(new Set(data.companies.map((c) => c.uscc)).size).toBe(data.companies.length)
    for (const a of data.approvals) {
      expect(codes.has(a.项目代码)).toBe(true)
      expect(parseLegacyDateTime(a.办结时间)!.slice(0, 10) <= SEED_REFERENCE_DATE).toBe(true)
    }
  })

  it('has company names that only a GB18030 path keeps, one outside the BMP', () => {
    const names = data.projects.map((p) => p.项目单位[0]?.单位名称 ?? '')
    expect(names).toContain(NON_BMP_COMPANY_NAME)
    expect(NON_BMP_COMPANY_NAME.codePointAt(2)).toBe(0x20bb7)
    for (const rare of ['堃', '犇', '淼', '喆', '昇'])
      expect(
        names.some((n) => n.includes(rare)),
        rare,
      ).toBe(true)
    // GBK cannot encode 𠮷; GB18030 can, in four bytes.
    expect(iconv.decode(iconv.encode(NON_BMP_COMPANY_NAME, 'gbk'), 'gbk')).not.toBe(NON_BMP_COMPANY_NAME)
    const bytes = iconv.encode('𠮷', 'gb18030')
    expect(bytes.toString('hex')).toBe('9534b235')
    expect(new TextDecoder('gb18030', { fatal: true }).decode(bytes)).toBe('𠮷')
  })

  it('maps every project and approval result to a record that passes its schema', () => {
    const project = compile('investment-project.record')
    const approval = compile('approval-result.record')
    for (const p of data.projects) {
      const record = mapProject(p)
      expect(project(record), `${p.项目代码} ${JSON.stringify(project.errors)}`).toBe(true)
      expect(record.divisionCode).toBe(p.项目代码.slice(5, 11))
    }
    for (const a of data.approvals) {
      expect(approval(mapApprovalResult(a)), JSON.stringify(approval.errors)).toBe(true)
    }
  })

  it('gives stable fixtures', () => {
    const projectsOf = (uscc: string) =>
      data.projects.filter((p) => p.项目单位.some((c) => c.统一社会信用代码 === uscc))
    expect(sample.approvalResultCount).toBeGreaterThanOrEqual(3)
    expect(sample.companyProjectCount).toBeGreaterThanOrEqual(2)
    expect(projectsOf(sample.companyUscc)).toHaveLength(sample.companyProjectCount)
    expect(projectsOf(sample.companyUscc).map((p) => p.项目代码)).toContain(sample.projectCode)
    expect(projectsOf(sample.nonBmpCompanyUscc).map((p) => p.项目代码)).toContain(sample.nonBmpProjectCode)
    expect(sample.nonBmpCompanyName).toBe(NON_BMP_COMPANY_NAME)
    expect(projectCodeFormat(sample.legacyProjectCode)).toBe('legacy')
    expect(data.projects.some((p) => p.项目代码 === sample.unknownProjectCode)).toBe(false)
    expect(isInvestmentProjectCode(sample.unknownProjectCode)).toBe(true)
    expect(isUsccChecksumValid(sample.unknownCompanyUscc)).toBe(true)
    expect(projectsOf(sample.unknownCompanyUscc)).toHaveLength(0)
    expect(compile('permit-feedback.write')(sample.permitFeedback)).toBe(true)
  })
})
