// Over 400 lines: word lists and one seeded generator whose draw order fixes the demo data
import { divisionName } from '../../kit/admin-divisions.js'
import { SHARED_COMPANIES, SHARED_PROJECTS, type SharedProject } from '../../kit/demo-universe.js'
import {
  bumpLastDigit,
  compactDay,
  compactTime,
  companyName,
  currentProjectCode,
  drawUnique,
  frozenPerSeed,
  isoDay,
  officeTime,
  SeedRng,
  toDay,
  uniqueUscc,
  usccFromParts,
  words,
} from '../../kit/seed-tools.js'
import type { PermitFeedbackBody } from '../mapping.js'
import type { ApprovalWire, ProjectWire } from '../wire.js'

/**
 * Deterministic seed data for the 投资在线平台 simulator: 南京市 investment projects (filed, ratified and
 * government-approved) with their 项目单位 and approval results, as the platform's wire rows.
 *
 * Everything comes from one mulberry32 stream, so the same seed always gives the same dataset; nothing reads the
 * clock. Identifiers are synthetic but valid: USCCs (with the embedded 组织机构代码 check), GB/T 2260 codes, and
 * project codes in both layouts (primer §3.4): legacy `YYYY-AAAAAA-II-TT-NNNNNN` for 2016 to 2020-10, current
 * `YYMM-AAAAAA-DD-PP-RRRRRC` since 2020-11 (its last digit is a made-up check digit: the algorithm is not public).
 * Some company names carry rare characters, one outside the BMP (𠮷 U+20BB7), which only a GB18030 path keeps.
 *
 * The projects and owners shared with the other simulators (connectors/kit/demo-universe.ts) come last, with their
 * own times of day from a second stream: the generated rows (and the sample) are the same as without them.
 */

export const DEFAULT_SEED = 20_260_102
/** The dataset describes the world as of this day: no event is later. */
export const SEED_REFERENCE_DATE = '2026-10-31'
export const SEED_PROJECT_COUNT = 240
/** A 项目单位 whose name holds a character outside the BMP (𠮷, U+20BB7: four bytes in GB18030, absent from GBK). */
export const NON_BMP_COMPANY_NAME = '南京𠮷祥建设发展有限公司'

type Sector = 'realEstate' | 'manufacturing' | 'energy' | 'commerce' | 'public'

export interface SeedCompany {
  readonly name: string
  readonly uscc: string
  readonly sector: Sector
}

export interface DrcDataset {
  readonly seed: number
  readonly referenceDate: string
  readonly companies: readonly SeedCompany[]
  readonly projects: readonly ProjectWire[]
  /** Approval results of all projects, in project order then time order. */
  readonly approvals: readonly ApprovalWire[]
}

/** Stable fixtures for tests, derived from a dataset (the default one unless given). */
export interface SeedSample {
  /** A project with three or more approval results, whose company has two or more projects. */
  readonly projectCode: string
  readonly approvalResultCount: number
  /** The USCC of that project's company (not the non-BMP one). */
  readonly companyUscc: string
  readonly companyProjectCount: number
  /** A project of NON_BMP_COMPANY_NAME. */
  readonly nonBmpProjectCode: string
  readonly nonBmpCompanyName: string
  readonly nonBmpCompanyUscc: string
  /** A project code in the 2016–2020 layout. */
  readonly legacyProjectCode: string
  /** Well-formed identifiers that match nothing. */
  readonly unknownProjectCode: string
  readonly unknownCompanyUscc: string
  /** A valid pushConstructionPermit body for `projectCode`. */
  readonly permitFeedback: PermitFeedbackBody
}

/** The dataset for a seed (cached: the result is deeply frozen). */
export const drcDataset: (seed?: number) => DrcDataset = frozenPerSeed(generateDrcDataset, DEFAULT_SEED)

export function seedSample(dataset: DrcDataset = drcDataset()): SeedSample {
  const approvalsOf = (code: string) => dataset.approvals.filter((a) => a.项目代码 === code).length
  const projectsOf = (uscc: string) =>
    dataset.projects.filter((p) => p.项目单位.some((c) => c.统一社会信用代码 === uscc))
  const leadOf = (p: ProjectWire) => p.项目单位[0]
  const project = dataset.projects.find((p) => {
    const lead = leadOf(p)
    return (
      approvalsOf(p.项目代码) >= 3 &&
      lead !== undefined &&
      lead.单位名称 !== NON_BMP_COMPANY_NAME &&
      projectsOf(lead.统一社会信用代码).length >= 2
    )
  })
  const company = project && leadOf(project)
  const nonBmp = dataset.companies.find((c) => c.name === NON_BMP_COMPANY_NAME)
  const nonBmpProject = nonBmp && projectsOf(nonBmp.uscc)[0]
  const legacy = dataset.projects.find((p) => Number(p.项目代码.slice(2, 4)) > 12)
  if (!project || !company || !nonBmp || !nonBmpProject || !legacy) {
    throw new Error('seed has no sample project; change the generator or the seed')
  }
  const codes = new Set(dataset.projects.map((p) => p.项目代码))
  let unknownProjectCode = '2405-320115-04-03-000001'
  while (codes.has(unknownProjectCode)) unknownProjectCode = bumpLastDigit(unknownProjectCode)
  const usccs = new Set(dataset.companies.map((c) => c.uscc))
  let serial = 1
  let unknownCompanyUscc: string
  do unknownCompanyUscc = usccFromParts('91', '320115', String(serial++).padStart(8, '0'))
  while (usccs.has(unknownCompanyUscc))
  const code = project.项目代码
  return {
    projectCode: code,
    approvalResultCount: approvalsOf(code),
    companyUscc: company.统一社会信用代码,
    companyProjectCount: projectsOf(company.统一社会信用代码).length,
    nonBmpProjectCode: nonBmpProject.项目代码,
    nonBmpCompanyName: nonBmp.name,
    nonBmpCompanyUscc: nonBmp.uscc,
    legacyProjectCode: legacy.项目代码,
    unknownProjectCode,
    unknownCompanyUscc,
    permitFeedback: {
      projectCode: code,
      permitNo: `${code.slice(5, 11)}202610150101`,
      issueDate: '2026-10-15',
      issuingAuthority: '南京市城乡建设委员会',
      contractPriceWanYuan: 12_345.67,
      totalFloorAreaM2: 45_678.9,
      plannedStartDate: '2026-11-01',
      plannedCompletionDate: '2028-10-31',
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generator (draws from one SeedRng, connectors/kit/seed-tools.ts; keep the draw order, or every dataset changes)

/** mulberry32, the PRNG behind every seed (re-exported for tests that need a deterministic stream). */
export { mulberry32 } from '../../kit/seed-tools.js'

/** yyyyMMddHHmmss during a Shanghai working day, 08:30–17:30 (day numbers are Shanghai calendar days). */
const stamp = (rng: SeedRng, day: number): string => compactTime(officeTime(rng, day))

/** Current 南京市 districts (GB/T 2260) with localities and roads, and the short name used in document numbers. */
const DISTRICTS: Readonly<Record<string, { abbr: string; places: readonly string[]; roads: readonly string[] }>> = {
  '320102': { abbr: '玄', places: ['孝陵卫', '红山', '锁金村', '徐庄'], roads: ['中山路', '北京东路', '龙蟠路'] },
  '320104': { abbr: '秦', places: ['夫子庙', '中华门', '光华门', '红花'], roads: ['中华路', '建康路', '光华路'] },
  '320105': { abbr: '建', places: ['河西', '奥体', '江心洲', '南苑'], roads: ['江东中路', '应天大街', '江山大街'] },
  '320106': { abbr: '鼓', places: ['湖南路', '下关滨江', '幕府山', '挹江门'], roads: ['中山北路', '虎踞路', '热河路'] },
  '320111': { abbr: '浦', places: ['江浦', '桥林', '永宁', '顶山'], roads: ['浦珠南路', '文德路', '浦滨路'] },
  '320113': { abbr: '栖', places: ['仙林', '迈皋桥', '燕子矶', '尧化'], roads: ['仙林大道', '文苑路', '和燕路'] },
  '320114': { abbr: '雨', places: ['铁心桥', '板桥', '西善桥', '软件谷'], roads: ['雨花大道', '软件大道', '宁丹路'] },
  '320115': {
    abbr: '江',
    places: ['东山', '秣陵', '汤山', '淳化', '禄口', '九龙湖'],
    roads: ['胜太路', '双龙大道', '天元中路', '秣周东路'],
  },
  '320116': { abbr: '六', places: ['雄州', '龙袍', '竹镇', '大厂'], roads: ['雄州南路', '延安北路', '龙津路'] },
  '320117': { abbr: '溧', places: ['永阳', '洪蓝', '白马', '石湫'], roads: ['天生桥大道', '珍珠南路', '致远路'] },
  '320118': { abbr: '高', places: ['淳溪', '桠溪', '东坝', '古柏'], roads: ['宝塔路', '双湖路', '古檀大道'] },
}
const DISTRICT_CODES = Object.keys(DISTRICTS).sort()
/** 市本级: projects filed or approved by the city itself carry the city's code in their region segment. */
const CITY = '320100'
const DIRECTIONS = ['东', '南', '西', '北']

type Kind = 'residential' | 'commercial' | 'manufacturing' | 'energy' | 'public'

/** 项目类型 of each kind: enterprise projects are filed (备案) or, on the 核准目录, ratified; government ones approved. */
const KIND_TYPE: Readonly<Record<Kind, { type: '审批' | '核准' | '备案'; typeCode: string }>> = {
  residential: { type: '备案', typeCode: '03' },
  commercial: { type: '备案', typeCode: '03' },
  manufacturing: { type: '备案', typeCode: '03' },
  energy: { type: '核准', typeCode: '02' },
  public: { type: '审批', typeCode: '01' },
}
const KIND_ODDS: readonly Kind[] = [
  'residential',
  'residential',
  'residential',
  'manufacturing',
  'manufacturing',
  'manufacturing',
  'commercial',
  'energy',
  'public',
  'public',
]
/** GB/T 4754 industries (name, 2-digit 大类 used in legacy codes). */
const INDUSTRIES: Readonly<Record<Kind, readonly (readonly [string, string])[]>> = {
  residential: [['房地产业', '70']],
  commercial: [
    ['商务服务业', '72'],
    ['房地产业', '70'],
  ],
  manufacturing: [
    ['计算机、通信和其他电子设备制造业', '39'],
    ['汽车制造业', '36'],
    ['医药制造业', '27'],
    ['专用设备制造业', '35'],
  ],
  energy: [['电力、热力生产和供应业', '44']],
  public: [
    ['教育', '83'],
    ['卫生', '84'],
    ['公共设施管理业', '78'],
    ['道路运输业', '54'],
  ],
}
/** 中央业务指导部门代码 segment of current codes (value table not public, primer §3.4). */
const CENTRAL_DEPT_CODES = ['01', '04', '05', '89']

const TRADE_NAMES = words(`
  鸿泰 嘉禾 锦程 盛景 汇智 君和 瑞通 华信 恒远 德誉 宏图 金鼎 润和 博雅 永泰 中盛 星河 弘毅
  致远 宁泰 钟华 紫峰 龙江 建宁 石城 丰润 同创 汇川 东晟 鼎新 禾丰 睿德 景瑞 立信 通宇 云帆
`)
const SECTOR_SUFFIXES: Readonly<Record<Exclude<Sector, 'public'>, readonly string[]>> = {
  realEstate: ['置业有限公司', '房地产开发有限公司', '城市发展有限公司'],
  manufacturing: ['科技有限公司', '智能制造有限公司', '电子有限公司', '新材料有限公司', '生物医药有限公司'],
  energy: ['新能源有限公司', '热电有限公司', '能源发展有限公司'],
  commerce: ['商业管理有限公司', '实业有限公司', '投资发展有限公司'],
}
/**
 * Names with rare characters: 𠮷 (U+20BB7) outside the BMP; 堃 犇 淼 喆 昇 inside it but outside GB2312. The
 * full-width brackets in the last one are common in real names.
 */
const RARE_COMPANIES: readonly (readonly [string, Exclude<Sector, 'public'>])[] = [
  [NON_BMP_COMPANY_NAME, 'realEstate'],
  ['江苏堃泰置业有限公司', 'realEstate'],
  ['南京犇腾智能制造有限公司', 'manufacturing'],
  ['南京淼鑫环保科技有限公司', 'manufacturing'],
  ['南京喆安新能源有限公司', 'energy'],
  ['昇辉（南京）商业管理有限公司', 'commerce'],
]
/** Government project owners per district (机关, USCC registration authority 1, type 1). */
const PUBLIC_OWNERS: Readonly<Record<string, string>> = {
  教育: '教育局',
  卫生: '卫生健康委员会',
  公共设施管理业: '城市管理局',
  道路运输业: '交通运输局',
}
function districtLabel(division: string): string {
  return division === CITY ? '' : (divisionName(division) ?? '')
}

/** Generates a fresh (unfrozen) dataset. Prefer `drcDataset(seed)`, which caches. */
export function generateDrcDataset(seed: number = DEFAULT_SEED): DrcDataset {
  const rng = new SeedRng(seed)
  const refDay = toDay(SEED_REFERENCE_DATE)
  const usccs = new Set<string>()
  const companies: SeedCompany[] = []
  const bySector = new Map<Sector, SeedCompany[]>()
  const addCompany = (name: string, sector: Sector, uscc: string): SeedCompany => {
    const company = { name, uscc, sector }
    companies.push(company)
    const list = bySector.get(sector) ?? []
    list.push(company)
    bySector.set(sector, list)
    return company
  }
  const enterpriseUscc = () => uniqueUscc(rng, '91', rng.pick([...DISTRICT_CODES, CITY]), usccs)

  for (const [name, sector] of RARE_COMPANIES) addCompany(name, sector, enterpriseUscc())
  const names = new Set(companies.map((c) => c.name))
  const counts: Readonly<Record<Exclude<Sector, 'public'>, number>> = {
    realEstate: 22,
    manufacturing: 26,
    energy: 7,
    commerce: 10,
  }
  for (const [sector, count] of Object.entries(counts) as [Exclude<Sector, 'public'>, number][]) {
    for (let i = 0; i < count; i++) {
      const place = () => rng.pick(['南京', '南京', '江苏'])
      const name = drawUnique(names, () => companyName(rng, place(), TRADE_NAMES, SECTOR_SUFFIXES[sector]))
      addCompany(name, sector, enterpriseUscc())
    }
  }
  const nonBmp = companies[0] as SeedCompany
  const publicOwners = new Map<string, SeedCompany>()
  const publicOwner = (division: string, industry: string): SeedCompany => {
    const key = `${division}${industry}`
    let owner = publicOwners.get(key)
    if (!owner) {
      // A bureau (机关, USCC prefix 11), or the district's 城投 company (an enterprise, 91).
      const bureau = PUBLIC_OWNERS[industry]
      const name = `南京市${districtLabel(division)}${bureau ?? '城市建设投资集团有限公司'}`
      owner = addCompany(name, 'public', uniqueUscc(rng, bureau ? '11' : '91', division, usccs))
      publicOwners.set(key, owner)
    }
    return owner
  }

  const projects: ProjectWire[] = []
  const approvals: ApprovalWire[] = []
  const codes = new Set<string>()
  const projectNames = new Set<string>()
  const docSerials = new Map<string, number>()
  const nextDoc = (key: string): number => {
    const n = (docSerials.get(key) ?? 0) + 1
    docSerials.set(key, n)
    return n
  }

  for (let p = 0; p < SEED_PROJECT_COUNT; p++) {
    // The non-BMP company always gets a few residential projects, so the round trip has something to read.
    const forced = p % 50 === 3
    const kind: Kind = forced ? 'residential' : rng.pick(KIND_ODDS)
    const { type, typeCode } = KIND_TYPE[kind]
    const [industry, industryCode] = rng.pick(INDUSTRIES[kind])
    const siteDistrict = rng.pick(DISTRICT_CODES)
    const cityLevel = kind === 'energy' || rng.chance(0.15)
    const division = cityLevel ? CITY : siteDistrict
    const site = DISTRICTS[siteDistrict] as (typeof DISTRICTS)[string]
    const siteName = divisionName(siteDistrict) ?? ''

    const legacy = rng.chance(0.3)
    const registeredDay = legacy
      ? rng.int(toDay('2016-01-04'), toDay('2020-10-30'))
      : rng.int(toDay('2020-11-02'), toDay('2026-09-30'))
    const registered = isoDay(registeredDay)
    const yymm = registered.slice(2, 4) + registered.slice(5, 7)
    const code = drawUnique(codes, () =>
      legacy
        ? `${registered.slice(0, 4)}-${division}-${industryCode}-${typeCode}-${rng.digits(6)}`
        : currentProjectCode(rng, yymm, division, CENTRAL_DEPT_CODES, typeCode),
    )

    const place = rng.pick(site.places)
    let { name, scale } = describe(rng, kind, industry, place, site.roads)
    for (let attempt = 1; projectNames.has(name); attempt++) {
      ;({ name, scale } = describe(rng, kind, industry, place, site.roads))
      if (attempt > 6) name = `${name.slice(0, -2)}（${attempt}号地块）${name.slice(-2)}`
    }
    projectNames.add(name)

    const owner = forced
      ? nonBmp
      : kind === 'public'
        ? rng.chance(0.75)
          ? publicOwner(division, industry)
          : publicOwner(division, '城投')
        : rng.pick(bySector.get(sectorOf(kind)) ?? [])
    const road = rng.pick(site.roads)
    const otherRoad = rng.pick(site.roads.filter((r) => r !== road))
    const [d1, d2] = [rng.pick(DIRECTIONS), rng.pick(DIRECTIONS)]
    const drc = cityLevel ? '南京市发展和改革委员会' : `南京市${siteName}发展和改革局`
    const abbr = cityLevel ? '' : site.abbr
    const invest = investment(rng, kind)

    projects.push({
      项目代码: code,
      项目名称: name,
      项目单位: [{ 单位名称: owner.name, 统一社会信用代码: owner.uscc }],
      建设地点: `江苏省南京市${siteName}${place}，${road}以${d1}、${otherRoad}以${d2}`,
      建设规模及内容: scale,
      // Most amounts have two decimals; some are yuan-exact (four decimals of 万元).
      总投资: invest.toFixed(rng.chance(0.1) ? 4 : 2),
      行业: industry,
      项目类型: type,
      审批部门: drc,
      登记日期: compactDay(registeredDay),
    })

    // Approval results, in time order; those after the reference date are still pending.
    const results: Array<{ day: number; row: Omit<ApprovalWire, '办结时间'> }> = []
    const add = (day: number, 审批事项: string, 审批结果: string, 审批部门: string, 批复文号?: string) => {
      if (day > refDay) return
      const row: Omit<ApprovalWire, '办结时间'> = { 项目代码: code, 审批事项, 审批结果, 审批部门 }
      if (批复文号 !== undefined) row.批复文号 = 批复文号
      results.push({ day, row })
    }
    const year = (day: number) => isoDay(day).slice(0, 4)
    const natres = cityLevel ? '南京市规划和自然资源局' : `南京市规划和自然资源局${siteName.replace(/区$/, '')}分局`
    const landDoc = (day: number) =>
      `用字第${siteDistrict}${year(day)}${String(nextDoc(`land${year(day)}`)).padStart(5, '0')}号`
    const eiaDoc = (day: number) => `宁环建〔${year(day)}〕${nextDoc(`eia${year(day)}`)}号`
    const drcDoc = (day: number, series: string) =>
      `宁${abbr}发改${series}〔${year(day)}〕${nextDoc(`${abbr}${series}${year(day)}`)}号`

    if (type === '备案') {
      // Receiving the complete information is the filing: same day, sometimes with a 备案证 number.
      add(registeredDay, '企业投资项目备案', '已备案', drc, rng.chance(0.6) ? drcDoc(registeredDay, '备') : undefined)
      if (kind !== 'commercial' && rng.chance(0.5)) {
        const day = registeredDay + rng.int(20, 90)
        add(day, '建设项目用地预审与选址意见书核发', '同意', natres, landDoc(day))
      }
      if (rng.chance(kind === 'manufacturing' ? 0.6 : 0.2)) {
        const day = registeredDay + rng.int(30, 120)
        add(day, '建设项目环境影响评价审批', '同意', '南京市生态环境局', eiaDoc(day))
      }
    } else if (type === '核准') {
      const land = registeredDay + rng.int(10, 40)
      add(land, '建设项目用地预审与选址意见书核发', '同意', natres, landDoc(land))
      const eia = registeredDay + rng.int(20, 60)
      add(eia, '建设项目环境影响评价审批', '同意', '南京市生态环境局', eiaDoc(eia))
      let day = registeredDay + rng.int(40, 90)
      if (rng.chance(0.15)) {
        add(day, '企业投资项目核准', '不同意', drc, drcDoc(day, '能源字'))
        day += rng.int(30, 60)
      }
      add(day, '企业投资项目核准', '同意', drc, drcDoc(day, '能源字'))
    } else {
      let day = registeredDay + rng.int(3, 20)
      add(day, '项目建议书审批', '同意', drc, drcDoc(day, '审'))
      const land = day + rng.int(20, 60)
      add(land, '建设项目用地预审与选址意见书核发', '同意', natres, landDoc(land))
      day += rng.int(30, 120)
      add(day, '可行性研究报告审批', '同意', drc, drcDoc(day, '审'))
      day += rng.int(20, 90)
      if (rng.chance(0.1)) {
        add(day, '初步设计审批', '不同意', drc, drcDoc(day, '审'))
        day += rng.int(20, 45)
      }
      add(day, '初步设计审批', '同意', drc, drcDoc(day, '审'))
    }
    results.sort((a, b) => a.day - b.day)
    for (const { day, row } of results) approvals.push({ ...row, 办结时间: stamp(rng, day) })
  }
  // The shared projects go last, their document serials after the generated ones (none is reused).
  for (const company of SHARED_COMPANIES) {
    if (usccs.has(company.uscc) || names.has(company.name)) {
      throw new Error(`seed: shared company ${company.uscc} collides with a generated one; change the seed`)
    }
  }
  const sharedRng = new SeedRng(seed ^ SHARED_STREAM)
  const sharedProjects: ProjectWire[] = []
  const sharedApprovals: ApprovalWire[] = []
  for (const project of SHARED_PROJECTS) {
    if (codes.has(project.code) || projectNames.has(project.name)) {
      throw new Error(`seed: shared project ${project.code} collides with a generated one; change the seed`)
    }
    const rows = sharedProjectRows(sharedRng, project, nextDoc)
    sharedProjects.push(rows.project)
    sharedApprovals.push(...rows.approvals)
  }
  return {
    seed,
    referenceDate: SEED_REFERENCE_DATE,
    companies: [...companies, ...SHARED_COMPANIES.map(({ name, uscc, sector }) => ({ name, uscc, sector }))],
    projects: [...projects, ...sharedProjects],
    approvals: [...approvals, ...sharedApprovals],
  }
}

/** Mixed into the dataset's seed for the shared projects' own stream. */
const SHARED_STREAM = 0x5eed

/** A shared (district-level, filed) project as the platform's rows, authorities and documents by the rules above. */
function sharedProjectRows(
  rng: SeedRng,
  project: SharedProject,
  nextDoc: (key: string) => number,
): { project: ProjectWire; approvals: ApprovalWire[] } {
  const district = project.division
  const site = DISTRICTS[district]
  const siteName = divisionName(district)
  if (!site || !siteName) throw new Error(`seed: shared project ${project.code} is not in a 南京市 district`)
  const drc = `南京市${siteName}发展和改革局`
  const year = (iso: string) => iso.slice(0, 4)
  const authority: Record<SharedProject['approvals'][number]['matter'], (iso: string) => [string, string]> = {
    企业投资项目备案: (iso) => [drc, `宁${site.abbr}发改备〔${year(iso)}〕${nextDoc(`${site.abbr}备${year(iso)}`)}号`],
    建设项目用地预审与选址意见书核发: (iso) => [
      `南京市规划和自然资源局${siteName.replace(/区$/, '')}分局`,
      `用字第${district}${year(iso)}${String(nextDoc(`land${year(iso)}`)).padStart(5, '0')}号`,
    ],
    建设项目环境影响评价审批: (iso) => ['南京市生态环境局', `宁环建〔${year(iso)}〕${nextDoc(`eia${year(iso)}`)}号`],
  }
  const approvals = project.approvals.map(({ matter, result, date }): ApprovalWire => {
    const [审批部门, 批复文号] = authority[matter](date)
    return {
      项目代码: project.code,
      审批事项: matter,
      审批结果: result,
      审批部门,
      批复文号,
      办结时间: stamp(rng, toDay(date)),
    }
  })
  return {
    project: {
      项目代码: project.code,
      项目名称: project.name,
      项目单位: [{ 单位名称: project.owner.name, 统一社会信用代码: project.owner.uscc }],
      建设地点: project.location,
      建设规模及内容: project.scale,
      总投资: project.totalInvestmentWanYuan,
      行业: project.industry,
      项目类型: project.projectType,
      审批部门: drc,
      登记日期: compactDay(toDay(project.registered)),
    },
    approvals,
  }
}

function sectorOf(kind: Exclude<Kind, 'public'>): Exclude<Sector, 'public'> {
  switch (kind) {
    case 'residential':
      return 'realEstate'
    case 'commercial':
      return 'commerce'
    case 'manufacturing':
      return 'manufacturing'
    case 'energy':
      return 'energy'
  }
}

/** Products per manufacturing industry, so names agree with 行业. */
const PRODUCTS: Readonly<Record<string, readonly string[]>> = {
  '计算机、通信和其他电子设备制造业': ['智能终端', '集成电路封测', '通信设备'],
  汽车制造业: ['新能源汽车零部件', '汽车电子'],
  医药制造业: ['生物医药', '创新药物'],
  专用设备制造业: ['高端装备', '智能机器人'],
}

/** 项目名称 and 建设规模及内容, consistent with each other and with 行业. */
function describe(
  rng: SeedRng,
  kind: Kind,
  industry: string,
  place: string,
  roads: readonly string[],
): { name: string; scale: string } {
  const area = rng.int(8, 300) * 1000
  switch (kind) {
    case 'residential':
      return {
        name: `${place}${rng.pick(['锦绣', '华府', '悦澜', '云庭', '璟园', '雅苑', '天境', '澜岸'])}${rng.pick(['住宅小区项目', '安置房项目', '人才公寓项目', '保障性租赁住房项目'])}`,
        scale: `总用地面积约${Math.round(area / rng.int(2, 3))}平方米，总建筑面积约${area}平方米，建设住宅及配套商业、社区用房、地下车库等，容积率≤${rng.pick(['2.0', '2.2', '2.5', '2.8'])}。`,
      }
    case 'commercial':
      return {
        name: `${place}${rng.pick(['星港', '金融', '中央', '汇金', '时代'])}${rng.pick(['商业综合体项目', '商务办公楼项目', '总部基地项目'])}`,
        // Raw ampersands and angle brackets occur in free text; they must survive both levels of escaping.
        scale: `总建筑面积约${area}平方米，建设商业、办公及R&D研发用房，建筑高度<${rng.pick([60, 80, 100])}米，配建停车位${rng.int(300, 1500)}个。`,
      }
    case 'manufacturing':
      return {
        name: `${place}${rng.pick(PRODUCTS[industry] ?? ['智能制造'])}${rng.pick(['生产基地项目', '产业化项目', '技术改造项目', '研发及生产项目（一期）'])}`,
        scale: `新建生产厂房及研发用房约${area}平方米，购置生产及检测设备${rng.int(20, 400)}台（套），项目建成后形成年产${rng.int(5, 500)}万件（套）的生产能力。`,
      }
    case 'energy':
      switch (rng.int(0, 2)) {
        case 0:
          return {
            name: `${place}分布式光伏发电项目`,
            scale: `利用厂房屋顶建设${rng.int(2, 60)}兆瓦分布式光伏发电系统及配套设施。`,
          }
        case 1:
          return {
            name: `${place}220千伏输变电工程`,
            scale: `新建主变容量${rng.pick(['2×180', '3×240'])}兆伏安220千伏变电站一座及配套线路约${rng.int(3, 30)}公里。`,
          }
        default:
          return {
            name: `${place}储能电站项目`,
            scale: `建设${rng.pick([50, 100, 200])}兆瓦/${rng.pick([100, 200, 400])}兆瓦时电化学储能电站及配套设施。`,
          }
      }
    case 'public':
      switch (industry) {
        case '教育':
          return {
            name: `${place}${rng.pick(['实验', '育英', '新城', '滨江'])}${rng.pick(['小学新建工程', '初级中学新建工程', '幼儿园新建工程'])}`,
            scale: `新建教学楼、综合楼、风雨操场等，总建筑面积约${Math.round(area / 10)}平方米，办学规模${rng.pick([24, 36, 48])}个班。`,
          }
        case '卫生':
          return {
            name: `${place}${rng.pick(['社区卫生服务中心新建工程', '中心医院扩建工程', '急救分站新建工程'])}`,
            scale: `新建业务用房约${Math.round(area / 10)}平方米，设置床位${rng.int(0, 300)}张，购置医疗设备及配套设施。`,
          }
        case '道路运输业':
          return {
            name: `${rng.pick(roads)}（${place}段）${rng.pick(['快速化改造工程', '拓宽改造工程', '综合整治工程'])}`,
            scale: `道路全长约${rng.int(1, 12)}公里，建设内容包括道路、桥涵、排水、照明及交通设施等。`,
          }
        default:
          return {
            name: `${place}${rng.pick(['河道综合整治工程', '公园提升改造工程', '污水管网完善工程', '城市更新工程'])}`,
            scale: `工程总规模约${Math.round(area / 10)}平方米，建设内容包括主体工程及配套设施。`,
          }
      }
  }
}

function investment(rng: SeedRng, kind: Kind): number {
  switch (kind) {
    case 'residential':
      return rng.amount(50_000, 600_000)
    case 'commercial':
      return rng.amount(30_000, 300_000)
    case 'manufacturing':
      return rng.amount(3_000, 150_000)
    case 'energy':
      return rng.amount(2_000, 80_000)
    case 'public':
      return rng.amount(2_000, 60_000)
  }
}
