import { divisionFullName } from '../../kernel/admin-divisions.js'
import { orgCodeCheckChar, residentIdCheckChar, usccCheckChar } from '../../kernel/identifiers.js'

/**
 * Building blocks for deterministic simulator seed data: a seeded PRNG, pick/shuffle helpers, calendar helpers and
 * generators of valid identifiers (USCC, 组织机构代码 body, 公民身份号码), Chinese person and company names, mobile
 * numbers and street addresses. Nothing here reads the clock.
 *
 * Every generator documents the draws it makes, in order. A dataset is the sequence of its draws: changing a
 * generator's draw order (or a word list a dataset picks from) changes every dataset built on it, so keep the
 * per-connector lists and orders where a seed must stay byte-for-byte the same.
 */

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. Floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** A mulberry32 stream with the helpers seed generators need. Each method draws once unless it says otherwise. */
export class SeedRng {
  readonly #next: () => number
  constructor(seed: number) {
    this.#next = mulberry32(seed)
  }
  /** In [0, 1). */
  float(): number {
    return this.#next()
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)] as T
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.#next() < p
  }
  /** n decimal digits (n draws). */
  digits(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += String(this.int(0, 9))
    return s
  }
  /** n characters of `alphabet` (n draws; BMP characters only). */
  chars(alphabet: string, n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += alphabet.charAt(this.int(0, alphabet.length - 1))
    return s
  }
  /** In [min, max). */
  between(min: number, max: number): number {
    return min + this.#next() * (max - min)
  }
  /** In [min, max), rounded to `decimals` (two: as legacy systems print amounts and areas). */
  amount(min: number, max: number, decimals = 2): number {
    const f = 10 ** decimals
    return Math.round((min + this.#next() * (max - min)) * f) / f
  }
  /** Fisher–Yates, in place (length − 1 draws). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      ;[items[i], items[j]] = [items[j] as T, items[i] as T]
    }
    return items
  }
}

/** A word list written as text: the words separated by white space (spaces, line breaks). */
export function words(text: string): readonly string[] {
  return Object.freeze(text.trim().split(/\s+/))
}

/** Calls `make` until it returns a value not in `taken`, adds that value to `taken` and returns it. */
export function drawUnique<T>(taken: Set<T>, make: () => T): T {
  for (;;) {
    const value = make()
    if (!taken.has(value)) {
      taken.add(value)
      return value
    }
  }
}

/**
 * `generate` cached per seed, `defaultSeed` when none is given; each result is deeply frozen, so callers share it.
 *
 * @example
 * export const housingDataset = frozenPerSeed(generateHousingDataset, DEFAULT_SEED)
 */
export function frozenPerSeed<T>(generate: (seed: number) => T, defaultSeed: number): (seed?: number) => T {
  const cache = new Map<number, T>()
  return (seed = defaultSeed) => {
    let value = cache.get(seed)
    if (value === undefined) {
      value = deepFreeze(generate(seed))
      cache.set(seed, value)
    }
    return value
  }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

// ---------------------------------------------------------------------------------------------------------------
// Calendar: day numbers (days since 1970-01-01) and wall-clock times without time-zone arithmetic.

export const DAY_MS = 86_400_000
const DAY_SECONDS = 86_400

/** Day number of an ISO `YYYY-MM-DD`. */
export const toDay = (iso: string): number => Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS)
/** ISO `YYYY-MM-DD` of a day number. */
export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10)
/** `yyyyMMdd` of a day number. */
export const compactDay = (day: number): string => isoDay(day).replaceAll('-', '')
/** `yyyyMMddHHmmss` of a wall-clock moment given as seconds since the epoch. */
export const compactTime = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().replace(/\D/g, '').slice(0, 14)

/** A wall-clock moment of `day` between the given hours (default 08:30–17:30), as seconds. One draw. */
export function officeTime(rng: SeedRng, day: number, fromHour = 8.5, toHour = 17.5): number {
  return day * DAY_SECONDS + rng.int(fromHour * 3600, toHour * 3600)
}

// ---------------------------------------------------------------------------------------------------------------
// Identifiers (all valid by their check algorithms in identifiers.ts).

/** Characters of a 组织机构代码 body usable in a USCC (digits and letters without I O Z S V). */
export const USCC_BODY_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'

/**
 * A 统一社会信用代码 from its parts: registration authority and type (`91` enterprise, `11` 机关), the registering
 * division, and an 8-character 组织机构代码 body; both check characters (GB 11714, GB 32100) are computed.
 */
export function usccFromParts(prefix: string, division: string, orgCodeBody: string): string {
  const first17 = `${prefix}${division}${orgCodeBody}${orgCodeCheckChar(orgCodeBody)}`
  return first17 + usccCheckChar(first17)
}

/**
 * A 组织机构代码 body as issued to a USCC holder: enterprises (prefix `91`) registered since the 2015 reform get `MA`,
 * a non-zero digit and five body characters (half of them); everyone else an old all-digit code.
 * Draws: for `91` a chance, then the characters.
 */
export function orgCodeBody(rng: SeedRng, prefix = '91'): string {
  return prefix === '91' && rng.chance(0.5)
    ? `MA${rng.chars('123456789', 1)}${rng.chars(USCC_BODY_CHARS, 5)}`
    : rng.digits(8)
}

/** A USCC not in `taken` (added to it), with an `orgCodeBody`; redraws on a collision. */
export function uniqueUscc(rng: SeedRng, prefix: string, division: string, taken: Set<string>): string {
  return drawUnique(taken, () => usccFromParts(prefix, division, orgCodeBody(rng, prefix)))
}

export interface ResidentIdOptions {
  /** County codes of issuance to pick from (retired ones are fine: numbers keep the code they were issued under). */
  readonly regions: readonly string[]
  /** Earliest and latest birth date, ISO `YYYY-MM-DD`. */
  readonly bornFrom: string
  readonly bornTo: string
  /** Share of ids ending in X written with a lower-case x (a legacy quirk). @default 0 */
  readonly lowerCaseX?: number
}

/**
 * A valid 18-digit 公民身份号码. Draws: birth day, region, sequence number (001–999), then — for a check character X
 * when `lowerCaseX` > 0 — a chance.
 */
export function residentId(rng: SeedRng, options: ResidentIdOptions): string {
  const birthDay = rng.int(toDay(options.bornFrom), toDay(options.bornTo))
  const first17 = `${rng.pick(options.regions)}${compactDay(birthDay)}${String(rng.int(1, 999)).padStart(3, '0')}`
  const id = first17 + residentIdCheckChar(first17)
  const lowerCaseX = options.lowerCaseX ?? 0
  return id.endsWith('X') && lowerCaseX > 0 && rng.chance(lowerCaseX) ? `${first17}x` : id
}

/**
 * A current-format (GB/T 40058-2021) 投资项目代码 `YYMM-AAAAAA-DD-TT-RRRRRC`. The real check-digit algorithm is not
 * public, so C is `digitSumCheckDigit`. Draws: five digits, the department code, then the type code when given a
 * list to pick from.
 */
export function currentProjectCode(
  rng: SeedRng,
  yymm: string,
  division: string,
  departmentCodes: readonly string[],
  typeCode: string | readonly string[],
): string {
  const random5 = rng.digits(5)
  const department = rng.pick(departmentCodes)
  const type = typeof typeCode === 'string' ? typeCode : rng.pick(typeCode)
  return `${yymm}-${division}-${department}-${type}-${random5}${digitSumCheckDigit(random5 + division)}`
}

/** Stand-in for an unpublished check digit: the digit sum mod 10. */
export function digitSumCheckDigit(digits: string): string {
  let sum = 0
  for (const ch of digits) sum += ch.charCodeAt(0) - 48
  return String(sum % 10)
}

/** The code with its last digit incremented mod 10: walks well-formed codes to one the seed does not use. */
export function bumpLastDigit(code: string): string {
  const last = Number(code.slice(-1))
  return code.slice(0, -1) + String((last + 1) % 10)
}

// ---------------------------------------------------------------------------------------------------------------
// People, companies, places (synthetic).

/** Common surnames, two compound ones last. */
export const SURNAMES: readonly string[] = Object.freeze([
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚陆汪范金钱顾孔戴夏',
  '诸葛',
  '欧阳',
])
/** Characters of given names. */
export const GIVEN_NAME_CHARS =
  '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晨晓雪浩宇凯鹏飞婷欣然文斌俊峰海燕立新亮'
/** Mobile number prefixes (segments of the three carriers). */
export const MOBILE_PREFIXES: readonly string[] = words(`
  130 131 133 135 136 137 138 139 150 151 152 155 157 158 159 166 173 177 180 181 182 185 186 187 188 189 191 198 199
`)

/** One draw. */
export function surname(rng: SeedRng): string {
  return rng.pick(SURNAMES)
}

/** One character with probability `single`, else two. Draws: a chance, then the characters. */
export function givenName(rng: SeedRng, single: number): string {
  return rng.chars(GIVEN_NAME_CHARS, rng.chance(single) ? 1 : 2)
}

/** Surname then given name (`givenName` with `single`). */
export function personName(rng: SeedRng, single: number): string {
  return surname(rng) + givenName(rng, single)
}

/** An 11-digit mobile number. Draws: the prefix, then eight digits. */
export function mobileNumber(rng: SeedRng): string {
  return `${rng.pick(MOBILE_PREFIXES)}${rng.digits(8)}`
}

/** `<place><trade name><kind>`, e.g. 南京鸿泰置业有限公司. Draws: the trade name, then the kind. */
export function companyName(
  rng: SeedRng,
  place: string,
  tradeNames: readonly string[],
  kinds: readonly string[],
): string {
  return `${place}${rng.pick(tradeNames)}${rng.pick(kinds)}`
}

/**
 * `<province><city><county><road><number>号` for a county-level division code, e.g. 江苏省南京市江宁区胜太路88号.
 * Draws: the road, then the number (1–399).
 */
export function streetAddress(rng: SeedRng, division: string, roads: readonly string[]): string {
  return `${divisionFullName(division) ?? ''}${rng.pick(roads)}${rng.int(1, 399)}号`
}
