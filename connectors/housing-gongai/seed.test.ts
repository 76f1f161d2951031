import { readFileSync } from 'node:fs'
import type { ValidateFunction } from 'ajv'
import { describe, expect, it } from 'vitest'
import { createAjv } from '../../gateway/validation/ajv.js'
import { divisionStatus, isAdminDivisionCode } from '../kit/admin-divisions.js'
import {
  isInvestmentProjectCode,
  isOrgCodeValid,
  isResidentIdValid,
  isUsccChecksumValid,
  projectCodeFormat,
} from '../kit/identifiers.js'
import { isSupersededRow, mapCompletionFilingRow, mapDrawingReviewRow, mapPermitRow } from './mapping.js'
import {
  DEFAULT_SEED,
  generateHousingDataset,
  housingDataset,
  SEED_REFERENCE_DATE,
  seedSample,
} from './simulator/seed.js'

/** Compiles a record schema the way the catalog loader does. */
function compileRecordSchema(name: string): ValidateFunction {
  const url = new URL(`../../schemas/resources/housing/${name}.record.json`, import.meta.url)
  const schema = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>
  return createAjv({ today: () => new Date(`${SEED_REFERENCE_DATE}T00:00:00Z`) }).compile(schema)
}

const data = housingDataset()
const reference = new Date(`${SEED_REFERENCE_DATE}T00:00:00Z`)
const isoOf = (yyyymmdd: string) => `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`

describe('seed', () => {
  it('is deterministic', () => {
    expect(generateHousingDataset(DEFAULT_SEED)).toStrictEqual(generateHousingDataset(DEFAULT_SEED))
    expect(housingDataset()).toBe(data)
    expect(seedSample()).toStrictEqual(seedSample(generateHousingDataset()))
    // The shared projects come first and are the same under every seed: compare a generated one.
    expect(generateHousingDataset(7).projects.at(-1)).not.toStrictEqual(data.projects.at(-1))
  })

  it('has enough 南京市 projects, permits, reviews and filings', () => {
    expect(data.projects.length).toBeGreaterThanOrEqual(220)
    expect(data.permits.filter((r) => !isSupersededRow(r)).length).toBeGreaterThanOrEqual(250)
    expect(data.drawingReviews.length).toBeGreaterThanOrEqual(data.projects.length)
    expect(data.completionFilings.length).toBeGreaterThan(20)
    expect(data.permits.some(isSupersededRow)).toBe(true)
    expect(new Set(data.projects.map((p) => p.divisionCode)).size).toBe(11)
    for (const p of data.projects) {
      expect(p.divisionCode).toMatch(/^3201\d\d$/)
      expect(divisionStatus(p.divisionCode)).toBe('current')
    }
  })

  it('uses only valid identifiers', () => {
    const usccs = new Set<string>()
    for (const p of data.projects) {
      expect(isInvestmentProjectCode(p.projectCode), p.projectCode).toBe(true)
      expect(projectCodeFormat(p.projectCode)).toBe('current')
      expect(p.projectCode.slice(5, 11)).toBe(p.divisionCode)
      usccs.add(p.owner.uscc)
      expect(isResidentIdValid(p.ownerLead.idNo, reference), p.ownerLead.idNo).toBe(true)
      expect(p.ownerLead.idNo.slice(0, 4)).toBe('3201')
      expect(isAdminDivisionCode(p.ownerLead.idNo.slice(0, 6))).toBe(true)
      const birthYear = Number(p.ownerLead.idNo.slice(6, 10))
      expect(birthYear).toBeGreaterThanOrEqual(1960)
      expect(birthYear).toBeLessThanOrEqual(1995)
      expect(p.ownerLead.phone).toMatch(/^1[3-9]\d{9}$/)
    }
    for (const r of data.permits) {
      usccs.add(r.JSDWDM)
      usccs.add(r.SGDWDM)
      expect(isResidentIdValid(r.JSFZRZJHM, reference)).toBe(true)
      expect(r.JSFZRLXDH).toMatch(/^1[3-9]\d{9}$/)
      expect(isAdminDivisionCode(r.XZQHDM)).toBe(true)
      // SGXKZBH = division + issue date + serial + sub-project sequence.
      expect(r.SGXKZBH).toMatch(/^\d{18}$/)
      expect(r.SGXKZBH.slice(0, 6)).toBe(r.XZQHDM)
      expect(r.SGXKZBH.slice(6, 14)).toBe(r.FZRQ)
      expect(r.JSDZ.startsWith('江苏省南京市')).toBe(true)
      expect(r.JSDZ).toMatch(/路\d+号$|大街\d+号$|大道\d+号$/)
    }
    for (const r of data.drawingReviews) usccs.add(r.SCJGDM)
    for (const r of data.completionFilings) usccs.add(r.JSDWDM)
    for (const uscc of usccs) {
      expect(isUsccChecksumValid(uscc), uscc).toBe(true)
      expect(uscc).toMatch(/^913201\d\d/)
      expect(isOrgCodeValid(uscc.slice(8, 17)), uscc).toBe(true)
    }
  })

  it('keeps business keys unique and events in order', () => {
    const valid = data.permits.filter((r) => !isSupersededRow(r))
    expect(new Set(valid.map((r) => r.SGXKZBH)).size).toBe(valid.length)
    expect(new Set(data.drawingReviews.map((r) => r.SCHGSBH)).size).toBe(data.drawingReviews.length)
    expect(new Set(data.completionFilings.map((r) => r.JGYSBABH)).size).toBe(data.completionFilings.length)
    expect(new Set(data.projects.map((p) => p.projectCode)).size).toBe(data.projects.length)
    const passedCerts = new Set(data.drawingReviews.filter((r) => r.SCJL === '合格').map((r) => r.SCHGSBH))
    for (const r of valid) {
      expect(passedCerts.has(r.SCHGSBH)).toBe(true)
      expect(r.JHKGRQ >= r.FZRQ).toBe(true)
      expect(r.JHJGRQ > r.JHKGRQ).toBe(true)
      expect(isoOf(r.FZRQ) <= SEED_REFERENCE_DATE).toBe(true)
    }
    for (const r of data.completionFilings) {
      expect(r.BARQ > r.JGYSRQ).toBe(true)
      expect(isoOf(r.BARQ) <= SEED_REFERENCE_DATE).toBe(true)
    }
  })

  it('maps every row to a record that validates against the record schemas', () => {
    const tables = [
      { name: 'construction-permit', rows: data.permits, map: mapPermitRow },
      { name: 'drawing-review', rows: data.drawingReviews, map: mapDrawingReviewRow },
      { name: 'completion-filing', rows: data.completionFilings, map: mapCompletionFilingRow },
    ]
    for (const { name, rows, map } of tables) {
      const validate = compileRecordSchema(name)
      for (const row of rows) {
        const record = map(row)
        const ok = validate(record)
        expect(ok, `${name} ${JSON.stringify(validate.errors)}`).toBe(true)
      }
    }
  })

  it('exports stable fixtures', () => {
    const sample = seedSample()
    expect(sample.permitNos.length).toBeGreaterThanOrEqual(2)
    expect(sample.drawingReviewCount).toBeGreaterThanOrEqual(2)
    expect(sample.completionFilingCount).toBeGreaterThanOrEqual(2)
    expect(isInvestmentProjectCode(sample.unknownProjectCode)).toBe(true)
    expect(data.projects.some((p) => p.projectCode === sample.unknownProjectCode)).toBe(false)
    expect(data.permits.some((r) => r.SGXKZBH === sample.unknownPermitNo)).toBe(false)
    expect(data.permits.some((r) => r.XMDM === sample.correctedProjectCode && isSupersededRow(r))).toBe(true)
  })
})
