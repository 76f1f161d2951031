import { describe, expect, it } from 'vitest'
import {
  isInvestmentProjectCode,
  isOrgCodeValid,
  isResidentIdValid,
  isUsccChecksumValid,
  orgCodeCheckChar,
  projectCodeFormat,
} from './identifiers.js'
import {
  bumpLastDigit,
  compactDay,
  compactTime,
  currentProjectCode,
  drawUnique,
  frozenPerSeed,
  isoDay,
  mobileNumber,
  mulberry32,
  officeTime,
  orgCodeBody,
  personName,
  residentId,
  SeedRng,
  streetAddress,
  toDay,
  uniqueUscc,
  usccFromParts,
  words,
} from './seed-tools.js'

describe('SeedRng', () => {
  it('is a deterministic mulberry32 stream', () => {
    const a = mulberry32(8785)
    const b = new SeedRng(8785)
    const values = [a(), a(), a()]
    expect([b.float(), b.float(), b.float()]).toEqual(values)
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
    expect(new SeedRng(1).float()).not.toBe(new SeedRng(2).float())
  })

  it('draws integers, picks, digits, amounts and permutations within bounds', () => {
    const rng = new SeedRng(42)
    for (let i = 0; i < 500; i++) {
      const n = rng.int(3, 7)
      expect(n >= 3 && n <= 7 && Number.isInteger(n)).toBe(true)
      expect(['a', 'b', 'c']).toContain(rng.pick(['a', 'b', 'c']))
      const amount = rng.amount(1, 2)
      expect(amount >= 1 && amount <= 2 && Number(amount.toFixed(2)) === amount).toBe(true)
    }
    expect(rng.digits(6)).toMatch(/^\d{6}$/)
    expect(rng.chars('XY', 4)).toMatch(/^[XY]{4}$/)
    expect(
      rng
        .shuffle([1, 2, 3, 4, 5])
        .slice()
        .sort((x, y) => x - y),
    ).toEqual([1, 2, 3, 4, 5])
  })
})

describe('seed helpers', () => {
  it('drawUnique redraws until a value is new, and keeps it', () => {
    const taken = new Set(['a', 'b'])
    const queue = ['a', 'b', 'c']
    expect(drawUnique(taken, () => queue.shift() as string)).toBe('c')
    expect(taken.has('c')).toBe(true)
  })

  it('frozenPerSeed caches per seed, deep-freezes and uses the default seed', () => {
    let calls = 0
    const dataset = frozenPerSeed((seed) => ({ seed, rows: [{ n: ++calls }] }), 7)
    expect(dataset()).toBe(dataset(7))
    expect(dataset(8)).not.toBe(dataset())
    expect(calls).toBe(2)
    expect(Object.isFrozen(dataset().rows[0])).toBe(true)
  })

  it('counts days and formats wall-clock times without time zones', () => {
    const day = toDay('2026-01-15')
    expect(isoDay(day)).toBe('2026-01-15')
    expect(compactDay(day)).toBe('20260115')
    expect(compactTime(day * 86_400 + 9 * 3600 + 30 * 60 + 5)).toBe('20260115093005')
    const rng = new SeedRng(1)
    for (let i = 0; i < 100; i++) {
      const hhmm = compactTime(officeTime(rng, day)).slice(8, 12)
      expect(hhmm >= '0830' && hhmm <= '1730').toBe(true)
    }
    expect(bumpLastDigit('2405-320115-89-01-000009')).toBe('2405-320115-89-01-000000')
  })

  it('reads word lists written as text', () => {
    expect(
      words(`
      鸿泰 嘉禾
      锦程
    `),
    ).toEqual(['鸿泰', '嘉禾', '锦程'])
  })
})

describe('identifier generators', () => {
  it('makes valid, unique USCCs (MA bodies only for enterprises)', () => {
    const fromParts = usccFromParts('91', '320115', '12345678')
    expect(fromParts.slice(0, 17)).toBe(`9132011512345678${orgCodeCheckChar('12345678')}`)
    expect(isUsccChecksumValid(fromParts)).toBe(true)
    const rng = new SeedRng(3)
    const taken = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const uscc = uniqueUscc(rng, i % 2 === 0 ? '91' : '11', '320115', taken)
      expect(isUsccChecksumValid(uscc), uscc).toBe(true)
      if (uscc.startsWith('11')) expect(uscc.slice(8, 10)).not.toBe('MA')
    }
    expect(taken.size).toBe(200)
    const body = orgCodeBody(rng)
    expect(isOrgCodeValid(`${body}-${orgCodeCheckChar(body)}`)).toBe(true)
  })

  it('makes valid resident ids, some with a lower-case x when asked', () => {
    const rng = new SeedRng(5)
    const ids = Array.from({ length: 400 }, () =>
      residentId(rng, { regions: ['320102', '320103'], bornFrom: '1960-01-01', bornTo: '1995-12-31', lowerCaseX: 1 }),
    )
    for (const id of ids) {
      expect(isResidentIdValid(id), id).toBe(true)
      expect(['320102', '320103']).toContain(id.slice(0, 6))
      expect(id.endsWith('X')).toBe(false)
    }
    expect(ids.some((id) => id.endsWith('x'))).toBe(true)
  })

  it('makes current-format project codes with the given segments', () => {
    const rng = new SeedRng(9)
    const code = currentProjectCode(rng, '2403', '320115', ['04'], ['03'])
    expect(code).toMatch(/^2403-320115-04-03-\d{6}$/)
    expect(isInvestmentProjectCode(code)).toBe(true)
    expect(projectCodeFormat(code)).toBe('current')
    expect(currentProjectCode(rng, '2403', '320115', ['04'], '01').slice(15, 17)).toBe('01')
  })

  it('makes names, mobile numbers and addresses', () => {
    const rng = new SeedRng(11)
    expect(personName(rng, 0.5)).toMatch(/^\p{Script=Han}{2,4}$/u)
    expect(mobileNumber(rng)).toMatch(/^1\d{10}$/)
    expect(streetAddress(rng, '320115', ['胜太路'])).toMatch(/^江苏省南京市江宁区胜太路\d{1,3}号$/)
  })
})
