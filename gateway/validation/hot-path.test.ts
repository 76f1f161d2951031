import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../connectors/housing-gongai/simulator/seed.js'
import { createAjv } from './ajv.js'
import { hotValidator } from './hot-path.js'

const permitSchema = JSON.parse(
  readFileSync(new URL('../../schemas/resources/housing/construction-permit.record.json', import.meta.url), 'utf8'),
) as Record<string, unknown>

const valid = {
  permitNo: '320106202611260101',
  projectCode: '2611-320106-04-01-123456',
  subProjectCode: '2611-320106-04-01-123456-001',
  projectName: '鼓楼区某某小学改扩建工程',
  divisionCode: '320106',
  constructionSite: '江苏省南京市鼓楼区中山北路30号',
  ownerName: '南京市鼓楼区教育局',
  ownerUscc: '91350100M000100Y43',
  ownerLeadName: '张三',
  ownerLeadIdNo: '11010519491231002X',
  ownerLeadPhone: '13812341234',
  contractorName: '南京某建设集团有限公司',
  contractorUscc: '91350100M000100Y43',
  contractPriceWanYuan: 1234.5,
  totalFloorAreaM2: 12500,
  plannedStartDate: '2026-12-01',
  plannedCompletionDate: '2027-12-01',
  issueDate: '2026-11-26',
  issuingAuthority: '南京市鼓楼区住房和城乡建设局',
}

/** The valid record with some members broken, added or removed: formats, patterns, lengths, types, required. */
function mutate(random: () => number): Record<string, unknown> {
  const record: Record<string, unknown> = { ...valid }
  const breakages: Array<(r: Record<string, unknown>) => void> = [
    (r) => {
      r.permitNo = '3201'
    },
    (r) => {
      r.ownerUscc = '91350100M000100Y44'
    },
    (r) => {
      r.ownerLeadIdNo = '110105194912310021'
    },
    (r) => {
      r.projectCode = '2611-990106-04-01-123456'
    },
    (r) => {
      r.divisionCode = '999999'
    },
    (r) => {
      r.plannedStartDate = '2026-02-30'
    },
    (r) => {
      r.ownerLeadName = ''
    },
    (r) => {
      r.projectName = '施'.repeat(201)
    },
    (r) => {
      r.contractPriceWanYuan = -1
    },
    (r) => {
      r.totalFloorAreaM2 = '12500'
    },
    (r) => {
      r.secretNote = 'x'
    },
    (r) => {
      delete r.issuingAuthority
    },
  ]
  for (const breakage of breakages) if (random() < 0.15) breakage(record)
  return record
}

describe('hot validators', () => {
  it('are compiled apart from the catalog’s validator and give its verdict on every document', () => {
    const full = createAjv().compile(permitSchema)
    const hot = hotValidator(full)
    expect(hot).not.toBe(full)
    expect(hotValidator(full)).toBe(hot)
    expect(hot(valid)).toBe(true)
    const random = mulberry32(16)
    let invalid = 0
    for (let i = 0; i < 2000; i++) {
      const record = mutate(random)
      const verdict = full(record)
      expect(hot(record)).toBe(verdict)
      if (!verdict) invalid++
    }
    expect(invalid).toBeGreaterThan(1000)
  })

  it('stop at the first violation, where the catalog’s validator reports them all', () => {
    const full = createAjv().compile(permitSchema)
    const broken = { ...valid, permitNo: '3201', ownerUscc: '91350100M000100Y44', extra: 1 }
    expect(hotValidator(full)(broken)).toBe(false)
    expect(hotValidator(full).errors).toHaveLength(1)
    expect(full(broken)).toBe(false)
    expect(full.errors?.map((e) => e.keyword).sort()).toEqual(['additionalProperties', 'format', 'pattern'])
  })

  it('use the formats of the instance that compiled the validator, catalog options included', () => {
    // A USCC that fails its checksum but that this catalog lists as a known exception.
    const exception = '91350100M000100Y44'
    const full = createAjv({ usccExceptions: [exception] }).compile(permitSchema)
    expect(full({ ...valid, ownerUscc: exception })).toBe(true)
    expect(hotValidator(full)({ ...valid, ownerUscc: exception })).toBe(true)
  })

  it('fall back to the catalog’s validator when the twin cannot compile the schema the same', () => {
    const ajv = createAjv()
    ajv.addKeyword('x-qiao-sensitivity')
    ajv.addFormat('uri-reference', true)
    const custom = ajv.compile({ type: 'object', properties: { a: { type: 'string', 'x-qiao-sensitivity': 'p' } } })
    expect(hotValidator(custom)).toBe(custom)
    const format = ajv.compile({ type: 'string', format: 'uri-reference' })
    expect(hotValidator(format)).not.toBe(format)
    // Not made by createAjv: no twin is known.
    const other = new Ajv2020().compile({ type: 'string' })
    expect(hotValidator(other)).toBe(other)
  })
})
