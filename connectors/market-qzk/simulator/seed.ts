// Over 400 lines: word lists and one seeded generator whose draw order fixes the demo data
import pg from 'pg'
import { divisionName, divisionStatus } from '../../kit/admin-divisions.js'
import { SHARED_COMPANIES } from '../../kit/demo-universe.js'
import {
  compactDay,
  compactTime,
  drawUnique,
  frozenPerSeed,
  officeTime,
  personName,
  residentId,
  SeedRng,
  streetAddress,
  toDay,
  USCC_BODY_CHARS,
  usccFromParts,
  words,
} from '../../kit/seed-tools.js'
import { DEFAULT_SCHEMA, DEFAULT_TABLE, SCHEMA_NAME_PATTERN, TABLE_NAME_PATTERN } from '../options.js'
import { ROW_INVALID, ROW_VALID } from '../sql.js'
import { createTableStatements, insertBatches } from './schema.js'

/**
 * Deterministic seed data for the 法人库 front-end database: 南京市 enterprises as QZK_FRDJXX rows, including the
 * front-end history conventions (primer §4.2): corrections as an invalid copy (SJYXBS = '0', with SJWXYY) followed
 * by a new valid row, later valid rows superseding older ones, and history rows back-filled out of order.
 *
 * Everything comes from one mulberry32 stream, so the same seed always gives the same rows; nothing reads the clock.
 * USCCs are synthetic but valid: `91` + registering division + 组织机构代码 (with its own GB 11714 check) + GB 32100
 * check character. Names are synthetic. The legal representatives' resident IDs (valid, a few with the legacy
 * lower-case x) come from a stream of their own, so every other column is what it was before 法人库 recorded them.
 *
 * The owners of the projects shared with the other simulators (connectors/kit/demo-universe.ts) are registered too,
 * after the generated enterprises, with their upload times from a second stream: the generated rows are the same as
 * without them (only their LSH moves, rows going in by upload time).
 */

export const DEFAULT_SEED = 20_260_315
/** The dataset describes the world as of this day: no row is later. */
export const SEED_REFERENCE_DATE = '2026-10-31'
export const SEED_ENTERPRISE_COUNT = 320
/** Enterprises corrected once: invalid copy + new valid row with a changed 住所 or 法定代表人. */
export const SEED_CORRECTION_COUNT = 40
/** Enterprises with two valid rows at different SJGXSJ (a later change); half were back-filled out of order. */
export const SEED_HISTORY_COUNT = 20
/** Enterprises with two valid rows in the same second: the higher LSH wins. */
export const SEED_SAME_SECOND_COUNT = 2

/** A QZK_FRDJXX row as inserted (LSH is assigned by the database in `rows` order, from 1). */
export interface QzkSeedRow {
  readonly TYSHXYDM: string
  readonly QYMC: string
  readonly FDDBR: string
  /** 法定代表人证件号码 (公民身份号码). */
  readonly FDDBRZJHM: string
  readonly QYLX: string
  readonly DJZT: string
  readonly ZS: string
  readonly XZQHDM: string
  /** numeric(18,4) 万元, as text. */
  readonly ZCZB: string
  /** yyyyMMdd. */
  readonly CLRQ: string
  readonly DJJG: string
  readonly JYFW: string
  readonly SJYXBS: typeof ROW_VALID | typeof ROW_INVALID
  readonly SJWXYY: string | null
  /** yyyyMMddHHmmss (Asia/Shanghai wall-clock). */
  readonly SJGXSJ: string
}

export type SeedHistory = 'plain' | 'corrected' | 'later-change' | 'back-filled' | 'same-second'

export interface SeedEnterprise {
  readonly uscc: string
  readonly history: SeedHistory
  /** For `corrected`: what the correction changed. */
  readonly corrected?: 'address' | 'legalRepresentative'
  /** The row the connector must return: the newest valid one (SJGXSJ, then LSH). */
  readonly current: QzkSeedRow
  /** Every row of the enterprise, in insertion (LSH) order. */
  readonly rows: readonly QzkSeedRow[]
}

export interface MarketDataset {
  readonly seed: number
  readonly referenceDate: string
  readonly enterprises: readonly SeedEnterprise[]
  /** All rows in insertion order: row i gets LSH i + 1 in a freshly seeded table. */
  readonly rows: readonly QzkSeedRow[]
}

/** Stable fixtures for tests and the demo, derived from a dataset (the default one unless given). */
export interface SeedSample {
  /** Corrected once (invalid copy + new valid row); the new row has another 住所. */
  readonly correctedUscc: string
  /** One valid row, 存续. */
  readonly plainUscc: string
  /** Currently 注销. */
  readonly deregisteredUscc: string
  /** Currently 吊销. */
  readonly revokedUscc: string
  /** Two valid rows; the older one was back-filled later, so it has the higher LSH. */
  readonly backFilledUscc: string
  /** Two valid rows with the same SJGXSJ. */
  readonly sameSecondUscc: string
  /** Well-formed (valid check characters) and in no row. */
  readonly unknownUscc: string
}

/** The dataset for a seed (cached: the result is deeply frozen). */
export const marketDataset: (seed?: number) => MarketDataset = frozenPerSeed(generateMarketDataset, DEFAULT_SEED)

export function seedSample(dataset: MarketDataset = marketDataset()): SeedSample {
  const find = (what: string, test: (e: SeedEnterprise) => boolean): string => {
    const found = dataset.enterprises.find(test)
    if (!found) throw new Error(`seed has no ${what} enterprise; change the generator or the seed`)
    return found.uscc
  }
  const known = new Set(dataset.enterprises.map((e) => e.uscc))
  let serial = 1
  let unknownUscc = usccFromParts('91', '320102', `MA${String(serial).padStart(6, '0')}`)
  while (known.has(unknownUscc)) unknownUscc = usccFromParts('91', '320102', `MA${String(++serial).padStart(6, '0')}`)
  return {
    correctedUscc: find('corrected', (e) => e.history === 'corrected' && e.corrected === 'address'),
    plainUscc: find('plain', (e) => e.history === 'plain' && e.current.DJZT === '存续'),
    deregisteredUscc: find('deregistered', (e) => e.current.DJZT === '注销'),
    revokedUscc: find('revoked', (e) => e.current.DJZT === '吊销'),
    backFilledUscc: find('back-filled', (e) => e.history === 'back-filled'),
    sameSecondUscc: find('same-second', (e) => e.history === 'same-second'),
    unknownUscc,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing it to PostgreSQL.

export interface SeedDatabaseOptions {
  /** @default 'qiao_market_qzk' — dropped and recreated. */
  readonly schema?: string
  /** @default 'QZK_FRDJXX' */
  readonly table?: string
  readonly seed?: number
}

export interface SeededDatabase {
  readonly schema: string
  readonly table: string
  readonly rowCount: number
  readonly enterpriseCount: number
}

const SCHEMA_NAME = new RegExp(SCHEMA_NAME_PATTERN)
const TABLE_NAME = new RegExp(TABLE_NAME_PATTERN)
/** Schemas the seeder refuses to drop. */
const PROTECTED_SCHEMA = /^(public|information_schema|pg_.*)$/

/**
 * Writes the dataset to PostgreSQL: DROPS `schema` (CASCADE) if it exists, recreates it with the table, index and
 * comments, and inserts every row with parameterised multi-row INSERTs, all in one transaction (concurrent seeds of
 * the same schema are serialised by an advisory lock). Idempotent; takes well under a second.
 *
 * @example
 * await seedMarketDatabase('postgres://postgres@127.0.0.1:5432/test', { schema: 'qiao_market_qzk' })
 */
export async function seedMarketDatabase(
  target: pg.Pool | string,
  options: SeedDatabaseOptions = {},
): Promise<SeededDatabase> {
  const schema = options.schema ?? DEFAULT_SCHEMA
  const table = options.table ?? DEFAULT_TABLE
  if (!SCHEMA_NAME.test(schema) || PROTECTED_SCHEMA.test(schema)) {
    throw new TypeError(`seedMarketDatabase: schema must match ${SCHEMA_NAME_PATTERN} and not be a system schema`)
  }
  if (!TABLE_NAME.test(table)) throw new TypeError(`seedMarketDatabase: table must match ${TABLE_NAME_PATTERN}`)
  const dataset = marketDataset(options.seed)

  const write = async (client: pg.ClientBase) => {
    await client.query('BEGIN')
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`qiao-market-seed:${schema}`])
      for (const statement of createTableStatements(schema, table)) await client.query(statement)
      for (const batch of insertBatches(schema, table, dataset.rows as unknown as Record<string, string | null>[])) {
        await client.query(batch.text, batch.values)
      }
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  if (typeof target === 'string') {
    const client = new pg.Client({ connectionString: target, connectionTimeoutMillis: 5_000 })
    client.on('error', () => undefined)
    try {
      await client.connect()
      await write(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  } else {
    const client = await target.connect()
    let failed = false
    try {
      await write(client)
    } catch (err) {
      failed = true
      throw err
    } finally {
      client.release(failed ? true : undefined)
    }
  }
  return { schema, table, rowCount: dataset.rows.length, enterpriseCount: dataset.enterprises.length }
}

// ---------------------------------------------------------------------------------------------------------------
// Generator

/** mulberry32, the PRNG behind every seed (re-exported for tests that need a deterministic stream). */
export { mulberry32 } from '../../kit/seed-tools.js'

const REFERENCE_DAY = toDay(SEED_REFERENCE_DATE)
/** The front-end database went live (first uploads). */
const FRONT_END_START_DAY = toDay('2019-03-01')
const FIRST_ESTABLISHED_DAY = toDay('1996-01-01')
const LAST_ESTABLISHED_DAY = toDay('2025-12-31')
/** 统一社会信用代码 issued to new registrations from here on: 主体标识码 starting with MA. */
const USCC_ERA_DAY = toDay('2015-10-01')

/** Roads per current 南京市 district (GB/T 2260 codes, see admin-divisions). */
const DISTRICT_ROADS: Readonly<Record<string, readonly string[]>> = {
  '320102': ['中山路', '北京东路', '珠江路', '龙蟠路', '太平北路', '长江路'],
  '320104': ['中华路', '建康路', '太平南路', '长乐路', '光华路', '应天大街'],
  '320105': ['江东中路', '庐山路', '河西大街', '江山大街', '嘉陵江东街', '乐山路'],
  '320106': ['中山北路', '宁海路', '虎踞路', '热河路', '湖南路', '草场门大街'],
  '320111': ['浦珠南路', '文德路', '星火路', '浦滨路', '江浦街道园林路', '浦口大道'],
  '320113': ['仙林大道', '文苑路', '和燕路', '学海路', '尧佳路', '纬地路'],
  '320114': ['雨花大道', '软件大道', '宁丹路', '凤台南路', '花神大道', '西善桥南路'],
  '320115': ['胜太路', '双龙大道', '天元中路', '竹山路', '秣周东路', '诚信大道', '苏源大道'],
  '320116': ['雄州南路', '延安北路', '棠城路', '龙津路', '园林东路'],
  '320117': ['天生桥大道', '珍珠南路', '秦淮大街', '致远路', '团山东路'],
  '320118': ['宝塔路', '双湖路', '镇兴路', '古檀大道', '淳溪路'],
}
const DISTRICT_CODES = Object.freeze(Object.keys(DISTRICT_ROADS))

const TRADE_NAMES = words(`
  鸿泰 嘉禾 锦程 盛景 汇智 君和 瑞通 华信 恒远 德誉 宏图 金鼎 润和 天启 博雅 永泰 中盛 明珠
  万隆 星河 弘毅 致远 宁泰 钟华 秦淮 紫峰 龙江 建宁 石城 丰润 长川 同创 汇川 东晟 鼎新 禾丰
  睿德 景瑞 立信 通宇 金陵 玄昇 钟山 栖霞 云锦 宁远 泓达 启辰
`)

interface Industry {
  readonly word: string
  readonly scope: string
}
const LICENSED = '（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以审批结果为准）'
const GENERAL = '（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）'
const INDUSTRIES: readonly Industry[] = [
  {
    word: '信息科技',
    scope: `一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务${GENERAL}`,
  },
  {
    word: '建设工程',
    scope: `许可项目：建设工程施工；建设工程设计${LICENSED}一般项目：园林绿化工程施工；建筑材料销售${GENERAL}`,
  },
  {
    word: '建筑安装工程',
    scope: `许可项目：建设工程施工；施工专业作业${LICENSED}一般项目：普通机械设备安装服务；五金产品批发${GENERAL}`,
  },
  {
    word: '环保科技',
    scope: `一般项目：环境保护专用设备制造；水污染治理；大气污染治理；固体废物治理；环保咨询服务${GENERAL}`,
  },
  {
    word: '贸易',
    scope: `一般项目：日用百货销售；五金产品批发；电子产品销售；货物进出口；技术进出口${GENERAL}`,
  },
  { word: '餐饮管理', scope: `许可项目：餐饮服务；食品销售${LICENSED}一般项目：餐饮管理；外卖递送服务${GENERAL}` },
  { word: '物业管理', scope: `一般项目：物业管理；停车场服务；家政服务；园林绿化工程施工${GENERAL}` },
  { word: '房地产开发', scope: `许可项目：房地产开发经营${LICENSED}一般项目：住房租赁；非居住房地产租赁${GENERAL}` },
  {
    word: '医药',
    scope: `许可项目：药品批发；第三类医疗器械经营${LICENSED}一般项目：第二类医疗器械销售；消毒剂销售${GENERAL}`,
  },
  { word: '智能装备', scope: `一般项目：智能基础制造装备制造；工业机器人制造；通用设备修理${GENERAL}` },
  { word: '新材料科技', scope: `一般项目：新材料技术研发；高性能纤维及复合材料销售；塑料制品制造${GENERAL}` },
  {
    word: '文化传媒',
    scope: `一般项目：组织文化艺术交流活动；广告设计、代理；广告制作；会议及展览服务${GENERAL}`,
  },
  {
    word: '物流',
    scope: `许可项目：道路货物运输（不含危险货物）${LICENSED}一般项目：国内货物运输代理；普通货物仓储服务${GENERAL}`,
  },
  {
    word: '电力工程',
    scope: `许可项目：输电、供电、受电电力设施的安装、维修和试验${LICENSED}一般项目：电气设备销售${GENERAL}`,
  },
  {
    word: '人力资源',
    scope: `许可项目：职业中介活动；劳务派遣服务${LICENSED}一般项目：人力资源服务；企业管理咨询${GENERAL}`,
  },
  { word: '生物科技', scope: `一般项目：生物化工产品技术研发；细胞技术研发和应用；实验分析仪器销售${GENERAL}` },
  { word: '汽车销售服务', scope: `一般项目：汽车新车销售；汽车零配件零售；机动车修理和维护${GENERAL}` },
  { word: '企业管理咨询', scope: `一般项目：企业管理咨询；信息咨询服务；市场营销策划；财务咨询${GENERAL}` },
]

const LIMITED_TYPES = [
  '有限责任公司（自然人投资或控股）',
  '有限责任公司（自然人投资或控股）',
  '有限责任公司（自然人投资或控股）',
  '有限责任公司（自然人独资）',
  '有限责任公司（非自然人投资或控股的法人独资）',
]
const JOINT_STOCK_TYPE = '股份有限公司（非上市、自然人投资或控股）'

/** Round amounts (万元) most registrations use. */
const ROUND_CAPITAL = ['10', '30', '50', '100', '100', '200', '300', '500', '500', '1000', '1000', '2000', '5000']

/** Old (pre-2015) 组织机构代码 bodies start with these. */
const OLD_ORG_PREFIXES = ['13', '24', '30', '57', '60', '67', '69', '72', '73', '74', '75', '76', '77', '78', '79']

const ADDRESS_REASONS = ['住所变更，原登记信息作废', '住所信息录入有误，予以更正']
const REPRESENTATIVE_CHANGED = '法定代表人变更，原登记信息作废'
const REPRESENTATIVE_REASONS = [REPRESENTATIVE_CHANGED, '法定代表人姓名录入有误，予以更正']

function address(rng: SeedRng, district: string): string {
  const base = streetAddress(rng, district, DISTRICT_ROADS[district] as readonly string[])
  return rng.chance(0.45)
    ? `${base}${rng.int(1, 12)}幢${rng.int(1, 28)}${String(rng.int(1, 20)).padStart(2, '0')}室`
    : base
}

function capital(rng: SeedRng): string {
  if (rng.chance(0.8)) return rng.pick(ROUND_CAPITAL)
  return (rng.int(1_000, 800_000) / 100).toFixed(2)
}

type Role = 'plain' | 'corrected' | 'history' | 'same-second'

interface Draft {
  readonly uscc: string
  readonly history: SeedHistory
  readonly corrected?: 'address' | 'legalRepresentative'
  /** Rows in the order the enterprise's own uploads happened. */
  readonly rows: QzkSeedRow[]
  /** Index in `rows` of the row the connector must return. */
  readonly current: number
  /** Index of a row uploaded late (back-filled history): inserted after every other row. */
  readonly backFilled?: number
}

/** Mixed into the dataset's seed for the shared companies' own stream. */
const SHARED_STREAM = 0x5eed
/** Mixed into the dataset's seed for the legal representatives' resident IDs. */
const ID_STREAM = 0x1d5

/** Counties of issuance of the legal representatives' IDs: 南京's, some retired (numbers keep them), and beyond. */
const ID_REGIONS = words(`
  320102 320103 320104 320105 320106 320107 320111 320113 320114 320115 320116 320124 320125
  320303 320402 320503 320681 321002 321102 340104 340503 370102
`)

/** Generates the dataset for a seed. Pure: same seed, same result. */
export function generateMarketDataset(seed: number = DEFAULT_SEED): MarketDataset {
  const rng = new SeedRng(seed)
  const roles: Role[] = rng.shuffle([
    ...Array<Role>(SEED_CORRECTION_COUNT).fill('corrected'),
    ...Array<Role>(SEED_HISTORY_COUNT).fill('history'),
    ...Array<Role>(SEED_SAME_SECOND_COUNT).fill('same-second'),
    ...Array<Role>(SEED_ENTERPRISE_COUNT - SEED_CORRECTION_COUNT - SEED_HISTORY_COUNT - SEED_SAME_SECOND_COUNT).fill(
      'plain',
    ),
  ])
  for (const code of DISTRICT_CODES) {
    if (divisionStatus(code) !== 'current') throw new Error(`seed: division ${code} is not current`)
  }

  const usccs = new Set<string>()
  const names = new Set<string>()
  const idRng = new SeedRng(seed ^ ID_STREAM)
  const representativeIds = new Set(SHARED_COMPANIES.map((c) => c.legalRepIdNo))
  /** A new person's ID: an adult (22 to 60) in the year the enterprise was established. */
  const representativeId = (established: number): string => {
    const year = Number(compactDay(established).slice(0, 4))
    const options = {
      regions: ID_REGIONS,
      bornFrom: `${year - 60}-01-01`,
      bornTo: `${year - 22}-12-31`,
      lowerCaseX: 0.3,
    }
    return drawUnique(representativeIds, () => residentId(idRng, options))
  }
  const drafts: Draft[] = []
  let historyCount = 0
  for (const role of roles) {
    const district = rng.pick(DISTRICT_CODES)
    const cityLevel = rng.chance(0.15)
    const established = rng.int(FIRST_ESTABLISHED_DAY, LAST_ESTABLISHED_DAY)
    const uscc = drawUnique(usccs, () => {
      const body =
        established >= USCC_ERA_DAY
          ? `MA${rng.chars(USCC_BODY_CHARS, 6)}`
          : `${rng.pick(OLD_ORG_PREFIXES)}${rng.chars('0123456789', 6)}`
      return usccFromParts('91', cityLevel ? '320100' : district, body)
    })

    const industry = rng.pick(INDUSTRIES)
    const jointStock = rng.chance(0.08)
    const name = drawUnique(names, () => {
      const trade = rng.pick(TRADE_NAMES)
      return `${jointStock || rng.chance(0.06) ? '江苏' : '南京'}${trade}${industry.word}${jointStock ? '股份' : ''}有限公司`
    })

    const roll = rng.int(1, 100)
    const status = roll <= 80 ? '存续' : roll <= 88 ? '在业' : roll <= 91 ? '迁出' : roll <= 95 ? '吊销' : '注销'
    const firstUploadDay = Math.max(established, FRONT_END_START_DAY) + rng.int(0, 90)
    const firstUpload = officeTime(rng, firstUploadDay)
    /** Days left for later events, so that none is after the reference date. */
    const room = REFERENCE_DAY - 2 - firstUploadDay
    const later = (min: number, max: number) => rng.int(Math.min(min, room), Math.min(max, room)) * 86_400
    const base: QzkSeedRow = {
      TYSHXYDM: uscc,
      QYMC: name,
      FDDBR: personName(rng, 0.35),
      FDDBRZJHM: representativeId(established),
      QYLX: jointStock ? JOINT_STOCK_TYPE : rng.pick(LIMITED_TYPES),
      DJZT: status,
      ZS: address(rng, district),
      XZQHDM: district,
      ZCZB: jointStock ? String(rng.int(5, 60) * 1000) : capital(rng),
      CLRQ: compactDay(established),
      DJJG: cityLevel ? '南京市市场监督管理局' : `南京市${divisionName(district) as string}市场监督管理局`,
      JYFW: industry.scope,
      SJYXBS: ROW_VALID,
      SJWXYY: null,
      SJGXSJ: compactTime(firstUpload),
    }

    switch (role) {
      case 'plain':
        drafts.push({ uscc, history: 'plain', rows: [base], current: 0 })
        break
      case 'corrected': {
        const what = rng.chance(0.5) ? 'address' : 'legalRepresentative'
        const invalidAt = firstUpload + later(30, 900) + rng.int(-3600, 3600)
        // Often the invalid copy and the new row go up in the same batch (same second); the valid one comes second.
        const validAt = rng.chance(0.4) ? invalidAt : invalidAt + rng.int(1, 600)
        let changed: QzkSeedRow
        if (what === 'address') {
          let moved = address(rng, district)
          while (moved === base.ZS) moved = address(rng, district)
          changed = { ...base, ZS: moved, SJGXSJ: compactTime(validAt) }
        } else {
          let person = personName(rng, 0.35)
          while (person === base.FDDBR) person = personName(rng, 0.35)
          changed = { ...base, FDDBR: person, SJGXSJ: compactTime(validAt) }
        }
        const reasons = what === 'address' ? ADDRESS_REASONS : REPRESENTATIVE_REASONS
        const invalid: QzkSeedRow = {
          ...base,
          SJYXBS: ROW_INVALID,
          SJWXYY: rng.pick(reasons),
          SJGXSJ: compactTime(invalidAt),
        }
        // A new legal representative is another person; a misspelt name was the same one, with the same ID.
        if (invalid.SJWXYY === REPRESENTATIVE_CHANGED) {
          changed = { ...changed, FDDBRZJHM: representativeId(established) }
        }
        drafts.push({ uscc, history: 'corrected', corrected: what, rows: [base, invalid, changed], current: 2 })
        break
      }
      case 'history': {
        const laterAt = firstUpload + later(60, 1200) + rng.int(-3600, 3600)
        const change = rng.int(1, 4)
        const newer: QzkSeedRow =
          change === 1
            ? { ...base, DJZT: '注销', SJGXSJ: compactTime(laterAt) }
            : change === 2
              ? { ...base, DJZT: '吊销', SJGXSJ: compactTime(laterAt) }
              : { ...base, ZCZB: String(Number(base.ZCZB) * 2), SJGXSJ: compactTime(laterAt) }
        // Every other one: the older row was back-filled after the newer one (higher LSH, older SJGXSJ).
        const backFilled = historyCount++ % 2 === 0
        drafts.push({
          uscc,
          history: backFilled ? 'back-filled' : 'later-change',
          rows: [base, newer],
          current: 1,
          ...(backFilled ? { backFilled: 0 } : {}),
        })
        break
      }
      case 'same-second': {
        let person = personName(rng, 0.35)
        while (person === base.FDDBR) person = personName(rng, 0.35)
        const successor = { ...base, FDDBR: person, FDDBRZJHM: representativeId(established) }
        drafts.push({ uscc, history: 'same-second', rows: [base, successor], current: 1 })
        break
      }
    }
  }

  const sharedRng = new SeedRng(seed ^ SHARED_STREAM)
  for (const company of SHARED_COMPANIES) {
    if (usccs.has(company.uscc) || names.has(company.name)) {
      throw new Error(`seed: shared company ${company.uscc} collides with a generated one; change the seed`)
    }
    const established = toDay(company.established)
    const upload = officeTime(sharedRng, Math.max(established, FRONT_END_START_DAY) + sharedRng.int(0, 90))
    const row: QzkSeedRow = {
      TYSHXYDM: company.uscc,
      QYMC: company.name,
      FDDBR: company.legalRepresentative,
      FDDBRZJHM: company.legalRepIdNo,
      QYLX: company.enterpriseType,
      DJZT: '存续',
      ZS: company.address,
      XZQHDM: company.division,
      ZCZB: company.registeredCapitalWanYuan,
      CLRQ: compactDay(established),
      DJJG: company.registrationAuthority,
      JYFW: company.businessScope,
      SJYXBS: ROW_VALID,
      SJWXYY: null,
      SJGXSJ: compactTime(upload),
    }
    drafts.push({ uscc: company.uscc, history: 'plain', rows: [row], current: 0 })
  }

  // Rows go in by upload time (ties keep the enterprise's own order); back-filled rows come last.
  const live: Array<{ row: QzkSeedRow; order: number }> = []
  const late: QzkSeedRow[] = []
  for (const draft of drafts) {
    draft.rows.forEach((row, i) => {
      if (draft.backFilled === i) late.push(row)
      else live.push({ row, order: live.length })
    })
  }
  live.sort((a, b) => (a.row.SJGXSJ < b.row.SJGXSJ ? -1 : a.row.SJGXSJ > b.row.SJGXSJ ? 1 : a.order - b.order))
  const rows = [...live.map((x) => x.row), ...late]
  const lsh = new Map<QzkSeedRow, number>(rows.map((row, i) => [row, i + 1]))
  const reference = compactTime(REFERENCE_DAY * 86_400)
  for (const row of rows) {
    if (row.SJGXSJ >= reference) throw new Error('seed: a row is later than the reference date; adjust the generator')
  }

  const enterprises: SeedEnterprise[] = drafts.map((draft) => ({
    uscc: draft.uscc,
    history: draft.history,
    ...(draft.corrected ? { corrected: draft.corrected } : {}),
    current: draft.rows[draft.current] as QzkSeedRow,
    rows: [...draft.rows].sort((a, b) => (lsh.get(a) as number) - (lsh.get(b) as number)),
  }))
  return { seed, referenceDate: SEED_REFERENCE_DATE, enterprises, rows }
}
