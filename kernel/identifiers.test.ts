import { describe, expect, it } from 'vitest'
import { divisionFullName, divisionStatus, isAdminDivisionCode } from './admin-divisions.js'
import {
  checkUscc,
  isInvestmentProjectCode,
  isOrgCodeValid,
  isResidentIdValid,
  isUsccChecksumValid,
  normaliseResidentId,
  projectCodeFormat,
  residentIdProblem,
  usccCheckChar,
} from './identifiers.js'

// Test vectors from domain primer Appendix A.
const USCC_VALID = [
  '91350200776049653A',
  '91350500798359476R',
  '91350503MA31DKY80A',
  '91350200MA31E12PXF',
  '91440101MA5CJQ4N59',
  '913502000728319549',
  '123502001549897397',
  '9135021359498494XQ',
  '91350213678251743X',
  '91330000755918469E',
  '913302033168690875',
]
const USCC_EXCEPTIONS = ['91350100M0001TGQXM', '91350211M0000XUF46', '91350203M0001FUE2P', '91350203M0001QAY9B']

describe('USCC (GB 32100)', () => {
  it.each(USCC_VALID)('accepts %s', (code) => {
    expect(isUsccChecksumValid(code)).toBe(true)
    expect(checkUscc(code)).toBe('valid')
  })
  it('rejects a bad check character and an illegal character', () => {
    expect(checkUscc('91350200776049653B')).toBe('invalid')
    expect(checkUscc('91350200776049653I')).toBe('invalid')
    expect(checkUscc('9135020077604965')).toBe('invalid')
  })
  it('computes the worked example', () => {
    expect(usccCheckChar('91350200776049653')).toBe('A')
  })
  it.each(USCC_EXCEPTIONS)('accepts the real pilot-era exception %s only through the allow-list', (code) => {
    expect(isUsccChecksumValid(code)).toBe(false)
    expect(checkUscc(code)).toBe('exception')
    expect(checkUscc(code, new Set())).toBe('invalid')
  })
  it('the exceptions still carry a valid embedded organisation code', () => {
    for (const code of USCC_EXCEPTIONS) expect(isOrgCodeValid(code.slice(8, 17))).toBe(true)
  })
})

describe('organisation code (GB 11714)', () => {
  it('accepts 77604965-3 with and without the hyphen', () => {
    expect(isOrgCodeValid('77604965-3')).toBe(true)
    expect(isOrgCodeValid('776049653')).toBe(true)
    expect(isOrgCodeValid('77604965-4')).toBe(false)
  })
})

describe('resident id (GB 11643)', () => {
  const today = new Date('2026-11-26T00:00:00Z')
  it('accepts the vectors', () => {
    expect(isResidentIdValid('11010519491231002X', today)).toBe(true)
    expect(isResidentIdValid('440524188001010014', today)).toBe(true)
  })
  it('names what is wrong', () => {
    expect(residentIdProblem('110105194912310021', today)).toBe('check-digit')
    expect(residentIdProblem('11010519491331002X', today)).toBe('birth-date')
    expect(residentIdProblem('99010519491231002X', today)).toBe('region')
    expect(residentIdProblem('1101051949123100', today)).toBe('shape')
  })
  it('rejects a birth date in the future', () => {
    expect(residentIdProblem('110105203001010011', today)).toBe('birth-date')
  })
  it('accepts a lower-case x and normalises it', () => {
    expect(isResidentIdValid('11010519491231002x', today)).toBe(true)
    expect(normaliseResidentId('11010519491231002x')).toBe('11010519491231002X')
  })
})

describe('investment project code', () => {
  it('accepts both formats and tells them apart', () => {
    expect(isInvestmentProjectCode('2509-320193-89-01-544060')).toBe(true)
    expect(projectCodeFormat('2509-320193-89-01-544060')).toBe('current')
    expect(isInvestmentProjectCode('2017-310101-70-03-012345')).toBe(true)
    expect(projectCodeFormat('2017-310101-70-03-012345')).toBe('legacy')
  })
  it('rejects other shapes and unknown provinces', () => {
    expect(isInvestmentProjectCode('2509-320193-89-01-54406')).toBe(false)
    expect(isInvestmentProjectCode('2509320193890154406000')).toBe(false)
    expect(isInvestmentProjectCode('2509-990193-89-01-544060')).toBe(false)
  })
})

describe('administrative division code (GB/T 2260)', () => {
  it('knows current and retired codes', () => {
    expect(divisionStatus('320102')).toBe('current')
    expect(divisionStatus('320103')).toBe('retired') // 白下区, merged into 秦淮区 in 2013
    expect(isAdminDivisionCode('320100')).toBe(true)
    expect(isAdminDivisionCode('329999')).toBe(false)
    expect(isAdminDivisionCode('32010')).toBe(false)
  })
  it('builds full names', () => {
    expect(divisionFullName('320102')).toBe('江苏省南京市玄武区')
    expect(divisionFullName('110108')).toBe('北京市海淀区')
  })
})
