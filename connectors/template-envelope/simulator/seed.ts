import {
  companyName,
  drawUnique,
  frozenPerSeed,
  SeedRng,
  USCC_BODY_CHARS,
  usccFromParts,
} from '../../kit/seed-tools.js'
import { formatRequestTime } from '../signing.js'
import { type RecordWireRow, STATUS_CODES } from '../wire.js'

/**
 * Deterministic seed data for the simulator: a small set of records as legacy wire rows. Everything comes from one
 * mulberry32 stream (`SeedRng`, connectors/kit/seed-tools.ts), so the same seed always gives the same rows; nothing
 * reads the clock. Names are synthetic; USCCs are valid (组织机构代码 body with its own check character + GB 32100
 * check character). The kit also generates resident ids, person names, mobile numbers and street addresses.
 *
 * TODO(integrator): replace with rows shaped like the real system's (columns, code values, quirks seen in samples).
 */

export const DEFAULT_SEED = 20_260_101
export const SEED_RECORD_COUNT = 50
/** Division code in the generated USCCs (the catalog's region). */
export const SEED_DIVISION_CODE = '110000'
/** Prefix of the generated record numbers. */
export const RECORD_NO_PREFIX = 'TE'
/** No record was updated after this moment (2026-10-31 18:00 Asia/Shanghai). */
export const SEED_REFERENCE_TIME = Date.parse('2026-10-31T10:00:00Z')

/** Stable fixtures for tests. */
export interface SeedSample {
  /** An active record. */
  readonly recordNo: string
  /** An inactive record. */
  readonly inactiveRecordNo: string
  /** A well-formed record number that matches nothing. */
  readonly unknownRecordNo: string
}

/** The rows for a seed (cached and frozen). */
export const seedRows: (seed?: number) => readonly RecordWireRow[] = frozenPerSeed(generateRows, DEFAULT_SEED)

export function seedSample(rows: readonly RecordWireRow[] = seedRows()): SeedSample {
  const active = rows.find((r) => r.ZT === STATUS_CODES.active)
  const inactive = rows.find((r) => r.ZT === STATUS_CODES.inactive)
  if (!active || !inactive) throw new Error('seed has no active and inactive record; change the generator or the seed')
  const known = new Set(rows.map((r) => r.JLBH))
  let serial = 999_999
  while (known.has(recordNo(2099, serial))) serial--
  return { recordNo: active.JLBH, inactiveRecordNo: inactive.JLBH, unknownRecordNo: recordNo(2099, serial) }
}

const TRADE_NAMES = ['鸿泰', '嘉禾', '锦程', '盛景', '汇智', '君和', '瑞通', '华信', '恒远', '德誉', '宏图', '金鼎']
const KINDS = ['实业有限公司', '建设工程有限公司', '环境科技有限公司', '物业管理有限公司', '餐饮管理有限公司']
const FIRST_UPDATE = Date.parse('2019-01-01T00:00:00Z')

function recordNo(year: number, serial: number): string {
  return `${RECORD_NO_PREFIX}${year}${String(serial).padStart(6, '0')}`
}

/** Keep the order of the draws: it is what makes a seed give the same rows. */
function generateRows(seed: number): RecordWireRow[] {
  const rng = new SeedRng(seed)
  const names = new Set<string>()
  const usccs = new Set<string>()
  const rows: RecordWireRow[] = []
  for (let i = 0; i < SEED_RECORD_COUNT; i++) {
    const name = drawUnique(names, () => companyName(rng, '', TRADE_NAMES, KINDS))
    const uscc = drawUnique(usccs, () => usccFromParts('91', SEED_DIVISION_CODE, rng.chars(USCC_BODY_CHARS, 8)))
    const updated = FIRST_UPDATE + Math.floor(rng.float() * (SEED_REFERENCE_TIME - FIRST_UPDATE))
    rows.push({
      JLBH: recordNo(rng.int(2019, 2026), i + 1),
      // CHAR columns come space-padded from the legacy database.
      MC: rng.chance(0.2) ? `${name}  ` : name,
      TYSHXYDM: uscc,
      ZT: rng.chance(0.85) ? STATUS_CODES.active : STATUS_CODES.inactive,
      GXSJ: formatRequestTime(updated),
    })
  }
  return rows
}
