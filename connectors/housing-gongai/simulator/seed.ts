// Over 400 lines: word lists and one seeded generator whose draw order fixes the demo data
import { currentCountyCodes, divisionName } from '../../kit/admin-divisions.js'
import { SHARED_PROJECTS, type SharedProject } from '../../kit/demo-universe.js'
import {
  bumpLastDigit,
  compactDay,
  compactTime,
  companyName,
  currentProjectCode,
  drawUnique,
  frozenPerSeed,
  givenName,
  mobileNumber,
  officeTime,
  residentId,
  SeedRng,
  streetAddress,
  surname,
  toDay,
  uniqueUscc,
  words,
} from '../../kit/seed-tools.js'
import {
  type CompletionFilingWireRow,
  type DrawingReviewWireRow,
  type PermitWireRow,
  ROW_INVALID,
  ROW_VALID,
} from '../wire.js'

/**
 * Deterministic seed data for the 工改 simulator: 南京市 construction projects with their construction-drawing
 * reviews, construction permits and (for projects old enough) completion-acceptance filings, as legacy wire rows.
 *
 * Everything comes from one mulberry32 stream, so the same seed always gives the same dataset; nothing reads the
 * clock. All identifiers are synthetic but valid: USCCs (with the embedded 组织机构代码 check), resident ids, mobile
 * numbers, division codes and current-format investment project codes (whose last digit is a made-up check digit:
 * the real algorithm is not public, primer §3.4).
 *
 * The projects shared with the other simulators (connectors/kit/demo-universe.ts) come first, with their own details
 * (流水号, the lead's phone) from a second stream: the generated rows are the same as without them. Their owner's
 * project lead is the owner's legal representative, as 法人库 records them.
 */

export const DEFAULT_SEED = 20_260_101
/** The dataset describes the world as of this day: no event is later. */
export const SEED_REFERENCE_DATE = '2026-10-31'
export const SEED_PROJECT_COUNT = 230

export interface SeedCompany {
  readonly name: string
  readonly uscc: string
}

export interface SeedPerson {
  readonly name: string
  readonly idNo: string
  readonly phone: string
}

export interface SeedSubProject {
  /** 工程代码; equals the project code when the project has one sub-project. */
  readonly gcdm: string
  readonly name: string
}

export interface SeedProject {
  readonly projectCode: string
  readonly divisionCode: string
  readonly name: string
  readonly owner: SeedCompany
  readonly ownerLead: SeedPerson
  readonly subProjects: readonly SeedSubProject[]
}

export interface HousingDataset {
  readonly seed: number
  readonly referenceDate: string
  readonly projects: readonly SeedProject[]
  /** 施工许可 rows as served, including rows superseded by a correction (SJYXBS = "0"). */
  readonly permits: readonly PermitWireRow[]
  readonly drawingReviews: readonly DrawingReviewWireRow[]
  readonly completionFilings: readonly CompletionFilingWireRow[]
}

/** Stable fixtures for tests, derived from a dataset (the default one unless given). */
export interface SeedSample {
  /** A project with two or more permits, drawing reviews and completion filings. */
  readonly projectCode: string
  /** Its valid permit numbers, in dataset order. */
  readonly permitNos: readonly string[]
  readonly drawingReviewCount: number
  readonly completionFilingCount: number
  /** A project whose permit rows include a superseded (SJYXBS = "0") row. */
  readonly correctedProjectCode: string
  /** Well-formed codes that match nothing. */
  readonly unknownProjectCode: string
  readonly unknownPermitNo: string
}

/** The dataset for a seed (cached: the result is deeply frozen). */
export const housingDataset: (seed?: number) => HousingDataset = frozenPerSeed(generateHousingDataset, DEFAULT_SEED)

export function seedSample(dataset: HousingDataset = housingDataset()): SeedSample {
  const valid = dataset.permits.filter((p) => p.SJYXBS !== ROW_INVALID)
  const count = <T extends { XMDM: string }>(rows: readonly T[], code: string) =>
    rows.filter((r) => r.XMDM === code).length
  const project = dataset.projects.find(
    (p) =>
      count(valid, p.projectCode) >= 2 &&
      count(dataset.drawingReviews, p.projectCode) >= 2 &&
      count(dataset.completionFilings, p.projectCode) >= 2,
  )
  const corrected = dataset.permits.find((p) => p.SJYXBS === ROW_INVALID)
  if (!project || !corrected) throw new Error('seed has no sample project; change the generator or the seed')
  const codes = new Set(dataset.projects.map((p) => p.projectCode))
  const permitNos = new Set(dataset.permits.map((p) => p.SGXKZBH))
  let unknownProjectCode = '2405-320115-89-01-000001'
  while (codes.has(unknownProjectCode)) unknownProjectCode = bumpLastDigit(unknownProjectCode)
  let unknownPermitNo = '320115202401019901'
  while (permitNos.has(unknownPermitNo)) unknownPermitNo = bumpLastDigit(unknownPermitNo)
  return {
    projectCode: project.projectCode,
    permitNos: valid.filter((p) => p.XMDM === project.projectCode).map((p) => p.SGXKZBH),
    drawingReviewCount: count(dataset.drawingReviews, project.projectCode),
    completionFilingCount: count(dataset.completionFilings, project.projectCode),
    correctedProjectCode: corrected.XMDM,
    unknownProjectCode,
    unknownPermitNo,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generator (draws from one SeedRng, connectors/kit/seed-tools.ts; keep the draw order, or every dataset changes)

/** mulberry32, the PRNG behind every seed (re-exported for tests that need a deterministic stream). */
export { mulberry32 } from '../../kit/seed-tools.js'

/** yyyyMMddHHmmss for a moment during a (Shanghai) working day, 08:00–18:00. */
const stamp = (rng: SeedRng, day: number): string => compactTime(officeTime(rng, day, 8, 18))

/** Localities and roads per current 南京市 district (GB/T 2260 codes, see admin-divisions). */
const DISTRICTS: Readonly<Record<string, { places: readonly string[]; roads: readonly string[] }>> = {
  '320102': {
    places: ['孝陵卫', '红山', '锁金村', '徐庄'],
    roads: ['中山路', '北京东路', '珠江路', '龙蟠路', '玄武大道'],
  },
  '320104': {
    places: ['夫子庙', '中华门', '光华门', '红花'],
    roads: ['中华路', '建康路', '太平南路', '长乐路', '光华路'],
  },
  '320105': {
    places: ['河西', '奥体', '江心洲', '南苑'],
    roads: ['江东中路', '应天大街', '河西大街', '庐山路', '江山大街'],
  },
  '320106': {
    places: ['湖南路', '下关滨江', '幕府山', '挹江门'],
    roads: ['中山北路', '宁海路', '虎踞路', '热河路', '江东北路'],
  },
  '320111': { places: ['江浦', '桥林', '永宁', '顶山'], roads: ['浦珠南路', '文德路', '星火路', '浦滨路', '浦口大道'] },
  '320113': {
    places: ['仙林', '迈皋桥', '燕子矶', '尧化'],
    roads: ['仙林大道', '文苑路', '和燕路', '学海路', '尧佳路'],
  },
  '320114': {
    places: ['铁心桥', '板桥', '西善桥', '软件谷'],
    roads: ['雨花大道', '软件大道', '宁丹路', '凤台南路', '花神大道'],
  },
  '320115': {
    places: ['东山', '秣陵', '汤山', '淳化', '禄口', '九龙湖'],
    roads: ['胜太路', '双龙大道', '天元中路', '竹山路', '秣周东路', '诚信大道'],
  },
  '320116': { places: ['雄州', '龙袍', '竹镇', '大厂'], roads: ['雄州南路', '延安北路', '棠城路', '龙津路'] },
  '320117': { places: ['永阳', '洪蓝', '白马', '石湫'], roads: ['天生桥大道', '珍珠南路', '秦淮大街', '致远路'] },
  '320118': { places: ['淳溪', '桠溪', '东坝', '古柏'], roads: ['宝塔路', '双湖路', '镇兴路', '古檀大道', '丹阳湖路'] },
}

/** Resident ids keep the county code of issuance, so retired 南京 codes (白下区, 下关区, 溧水县, 高淳县) appear too. */
const ID_REGIONS = words(`
  320102 320103 320104 320105 320106 320107 320111 320113
  320114 320115 320116 320117 320118 320124 320125
`)

type ProjectKind = 'residential' | 'industrial' | 'public' | 'commercial'

const PROJECT_KINDS: Readonly<
  Record<
    ProjectKind,
    {
      words: readonly string[]
      suffixes: readonly string[]
      area: [number, number]
      floors: [number, number]
      unitCost: [number, number]
    }
  >
> = {
  residential: {
    words: ['锦绣', '华府', '悦澜', '云庭', '璟园', '雅苑', '和府', '天境', '翠湖', '澜岸'],
    suffixes: ['住宅小区项目', '安置房项目', '人才公寓项目', '保障性租赁住房项目'],
    area: [18_000, 180_000],
    floors: [6, 33],
    unitCost: [0.22, 0.38],
  },
  industrial: {
    words: ['科创', '智谷', '高新', '数字', '智造', '未来'],
    suffixes: ['产业园一期工程', '产业园二期工程', '智能制造基地项目', '研发中心项目'],
    area: [8_000, 95_000],
    floors: [3, 12],
    unitCost: [0.25, 0.45],
  },
  public: {
    words: ['实验', '育英', '新城', '滨江', '民生'],
    suffixes: ['学校新建工程', '社区综合服务中心项目', '社区卫生服务中心新建工程'],
    area: [6_000, 42_000],
    floors: [3, 6],
    unitCost: [0.3, 0.48],
  },
  commercial: {
    words: ['星港', '金融', '中央', '汇金', '时代'],
    suffixes: ['商业综合体项目', '商务办公楼项目'],
    area: [25_000, 160_000],
    floors: [8, 40],
    unitCost: [0.35, 0.55],
  },
}
const KIND_ODDS: readonly ProjectKind[] = [
  'residential',
  'residential',
  'residential',
  'industrial',
  'industrial',
  'public',
  'commercial',
]

const TRADE_NAMES = words(`
  鸿泰 嘉禾 锦程 盛景 汇智 君和 瑞通 华信 恒远 德誉 安居 宏图 金鼎 润和 天启 博雅 永泰 中盛
  明珠 万隆 星河 弘毅 致远 宁泰 钟华 秦淮 紫峰 龙江 建宁 石城 丰润 长川 同创 汇川 东晟 鼎新
  禾丰 睿德 景瑞 华润达 立信 通宇
`)
const CENTRAL_DEPT_CODES = ['89', '04', '05', '01']
const PROJECT_TYPE_CODES = ['01', '02', '03', '03', '03']

interface Pools {
  owners: SeedCompany[]
  contractors: SeedCompany[]
  designers: SeedCompany[]
  reviewers: SeedCompany[]
}

/** Generates a fresh (unfrozen) dataset. Prefer `housingDataset(seed)`, which caches. */
export function generateHousingDataset(seed: number = DEFAULT_SEED): HousingDataset {
  const rng = new SeedRng(seed)
  const refDay = toDay(SEED_REFERENCE_DATE)
  const districts = currentCountyCodes()
    .filter((c) => c.startsWith('3201') && Object.hasOwn(DISTRICTS, c))
    .sort()
  const usccs = new Set<string>()
  const names = new Set<string>()
  const company = (place: string, trades: readonly string[], kinds: readonly string[]): SeedCompany => {
    const name = drawUnique(names, () => companyName(rng, place, trades, kinds))
    return { name, uscc: uniqueUscc(rng, '91', rng.pick(districts), usccs) }
  }
  const pools: Pools = { owners: [], contractors: [], designers: [], reviewers: [] }
  for (let i = 0; i < 70; i++)
    pools.owners.push(
      company('南京', TRADE_NAMES, [
        '置业有限公司',
        '房地产开发有限公司',
        '城市建设投资有限公司',
        '产业投资有限公司',
        '实业有限公司',
      ]),
    )
  for (let i = 0; i < 45; i++)
    pools.contractors.push(
      company(rng.pick(['江苏', '南京']), TRADE_NAMES, [
        '建设集团有限公司',
        '建筑工程有限公司',
        '建工集团有限公司',
        '建设工程有限公司',
      ]),
    )
  for (let i = 0; i < 24; i++)
    pools.designers.push(
      company(rng.pick(['江苏', '南京']), TRADE_NAMES, [
        '建筑设计研究院有限公司',
        '工程设计有限公司',
        '规划建筑设计有限公司',
      ]),
    )
  for (let i = 0; i < 8; i++)
    pools.reviewers.push(
      company(rng.pick(['江苏', '南京']), TRADE_NAMES, ['施工图审查中心有限公司', '工程施工图审查有限公司']),
    )

  const projects: SeedProject[] = []
  const permits: PermitWireRow[] = []
  const drawingReviews: DrawingReviewWireRow[] = []
  const completionFilings: CompletionFilingWireRow[] = []
  const projectCodes = new Set<string>()
  const projectNames = new Set<string>()
  const permitSerials = new Map<string, number>()
  const docSerials = new Map<string, number>()
  const nextDoc = (key: string): string => {
    const n = (docSerials.get(key) ?? 0) + 1
    docSerials.set(key, n)
    return String(n).padStart(4, '0')
  }
  const status = (day: number) => {
    const at = stamp(rng, day)
    return { LSH: `${at}${rng.digits(6)}`, DFSJZJ: rng.chars('0123456789abcdef', 32), SJYXBS: ROW_VALID, SJGXSJ: at }
  }

  for (let p = 0; p < SEED_PROJECT_COUNT; p++) {
    const division = rng.pick(districts)
    const district = DISTRICTS[division] as (typeof DISTRICTS)[string]
    const districtName = divisionName(division) ?? ''
    // Current-format codes exist since 2020-11: register between 2020-11 and 2026-06.
    const month = rng.int(0, 67)
    const year = 2020 + Math.floor((10 + month) / 12)
    const monthOfYear = ((10 + month) % 12) + 1
    const registeredDay = toDay(`${year}-${String(monthOfYear).padStart(2, '0')}-01`)
    const yymm = `${String(year).slice(2)}${String(monthOfYear).padStart(2, '0')}`
    const projectCode = drawUnique(projectCodes, () =>
      currentProjectCode(rng, yymm, division, CENTRAL_DEPT_CODES, PROJECT_TYPE_CODES),
    )

    const kind = rng.pick(KIND_ODDS)
    const spec = PROJECT_KINDS[kind]
    let attempts = 0
    const name = drawUnique(projectNames, () => {
      const drawn = `${rng.pick(district.places)}${rng.pick(spec.words)}${rng.pick(spec.suffixes)}`
      return ++attempts > 8 ? drawn.replace(/(项目|工程)$/, `（${attempts}号地块）$1`) : drawn
    })

    const owner = rng.pick(pools.owners)
    const ownerLead = makePerson(rng)
    const designer = rng.pick(pools.designers)
    const reviewer = rng.pick(pools.reviewers)
    const subCount = rng.pick([1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4])
    const subProjects: SeedSubProject[] = []
    for (let s = 0; s < subCount; s++) {
      subProjects.push(
        subCount === 1
          ? { gcdm: projectCode, name }
          : { gcdm: `${projectCode}-${String(s + 1).padStart(3, '0')}`, name: `${name}${'一二三四'.charAt(s)}标段` },
      )
    }
    projects.push({ projectCode, divisionCode: division, name, owner, ownerLead, subProjects })

    // All sub-projects of a project are permitted together: one batch serial, one sub-project sequence each.
    const issueDay = Math.min(registeredDay + rng.int(60, 540), refDay - 7)
    const batchKey = `${division}${compactDay(issueDay)}`
    const serial = (permitSerials.get(batchKey) ?? 0) + 1
    permitSerials.set(batchKey, serial)
    const authority = rng.chance(0.2) ? '南京市城乡建设委员会' : `南京市${districtName}建设局`
    const planningPermitNo = `建字第${division}${compactDay(issueDay - rng.int(60, 200)).slice(0, 4)}${rng.digits(5)}号`

    subProjects.forEach((sub, s) => {
      const area = rng.amount(spec.area[0] / subCount, spec.area[1] / subCount)
      const below = Math.round(area * rng.between(0.1, 0.3) * 100) / 100
      const price = Math.round(area * rng.between(spec.unitCost[0], spec.unitCost[1]) * 100) / 100
      const floors = rng.int(spec.floors[0], spec.floors[1])

      // 施工图审查: sometimes a failed first review, always a passed one before the permit.
      const passDay = issueDay - rng.int(10, 60)
      const reviewKey = `SC${division}${compactDay(passDay).slice(0, 4)}`
      if (rng.chance(0.12)) {
        const failDay = passDay - rng.int(15, 40)
        drawingReviews.push({
          SCHGSBH: `${reviewKey}${nextDoc(reviewKey)}`,
          XMDM: projectCode,
          GCDM: sub.gcdm,
          GCMC: sub.name,
          SCJGMC: reviewer.name,
          SCJGDM: reviewer.uscc,
          SJDWMC: designer.name,
          SCJL: '不合格',
          SCWCRQ: compactDay(failDay),
          ...status(failDay),
        })
      }
      const certNo = `${reviewKey}${nextDoc(reviewKey)}`
      drawingReviews.push({
        SCHGSBH: certNo,
        XMDM: projectCode,
        GCDM: sub.gcdm,
        GCMC: sub.name,
        SCJGMC: reviewer.name,
        SCJGDM: reviewer.uscc,
        SJDWMC: designer.name,
        SCJL: '合格',
        SCWCRQ: compactDay(passDay),
        ...status(passDay),
      })

      // 施工许可
      const contractor = rng.pick(pools.contractors)
      const startDay = issueDay + rng.int(0, 30)
      const plannedEndDay = startDay + rng.int(540, 1100)
      const permit: PermitWireRow = {
        SGXKZBH: `${batchKey}${String(serial).padStart(2, '0')}${String(s + 1).padStart(2, '0')}`,
        XMDM: projectCode,
        GCDM: sub.gcdm,
        // Legacy CHAR columns: a few names come space-padded.
        GCMC: rng.chance(0.05) ? `${sub.name}  ` : sub.name,
        XZQHDM: division,
        JSDZ: streetAddress(rng, division, district.roads),
        JSGM: `总建筑面积${area.toFixed(2)}平方米，地上${floors}层，地下${rng.int(1, 3)}层`,
        JSDW: owner.name,
        JSDWDM: owner.uscc,
        JSDWXMFZR: ownerLead.name,
        JSFZRZJHM: ownerLead.idNo,
        JSFZRLXDH: ownerLead.phone,
        SGDWMC: contractor.name,
        SGDWDM: contractor.uscc,
        HTJG: price.toFixed(2),
        ZJZMJ: area.toFixed(2),
        JHKGRQ: compactDay(startDay),
        JHJGRQ: compactDay(plannedEndDay),
        FZRQ: compactDay(issueDay),
        FZJG: authority,
        GCGHXKZBH: planningPermitNo,
        SCHGSBH: certNo,
        JSXZ: rng.pick(['新建', '新建', '新建', '改建', '扩建']),
        DSJZMJ: (area - below).toFixed(2),
        DXJZMJ: below.toFixed(2),
        ...status(issueDay),
      }
      if (rng.chance(0.06)) {
        // A correction: the first upload had the contract price in 元 instead of 万元; it was invalidated and
        // re-uploaded the next day (工改 never updates rows in place).
        permits.push({
          ...permit,
          HTJG: (price * 10_000).toFixed(2),
          ...status(issueDay),
          SJYXBS: ROW_INVALID,
          SJWXYY: '合同价格单位填报错误',
        })
        permit.SJGXSJ = stamp(rng, Math.min(issueDay + 1, refDay))
      }
      permits.push(permit)

      // 竣工验收备案, when the works are finished by the reference date.
      const acceptanceDay = plannedEndDay + rng.int(-60, 120)
      if (acceptanceDay <= refDay - 15) {
        const filingDay = acceptanceDay + rng.int(3, 14)
        const filingKey = `JB${division}${compactDay(filingDay).slice(0, 4)}`
        completionFilings.push({
          JGYSBABH: `${filingKey}${nextDoc(filingKey)}`,
          XMDM: projectCode,
          GCDM: sub.gcdm,
          GCMC: sub.name,
          JSDW: owner.name,
          JSDWDM: owner.uscc,
          JGYSRQ: compactDay(acceptanceDay),
          BARQ: compactDay(filingDay),
          ZJZMJ: (Math.round(area * rng.between(0.98, 1.02) * 100) / 100).toFixed(2),
          GCJS: (Math.round(price * rng.between(1, 1.12) * 100) / 100).toFixed(2),
          ...status(filingDay),
        })
      }
    })
  }
  // The shared projects go first, numbered after the generated rows (document serials continue, none is reused).
  const shared: SharedRows = { projects: [], permits: [], drawingReviews: [], completionFilings: [] }
  const sharedRng = new SeedRng(seed ^ SHARED_STREAM)
  for (const project of SHARED_PROJECTS) {
    if (projectCodes.has(project.code) || projectNames.has(project.name) || names.has(project.owner.name)) {
      throw new Error(`seed: shared project ${project.code} collides with a generated one; change the seed`)
    }
    addSharedProject(sharedRng, project, shared, { permitSerials, nextDoc })
  }
  return {
    seed,
    referenceDate: SEED_REFERENCE_DATE,
    projects: [...shared.projects, ...projects],
    permits: [...shared.permits, ...permits],
    drawingReviews: [...shared.drawingReviews, ...drawingReviews],
    completionFilings: [...shared.completionFilings, ...completionFilings],
  }
}

/** Mixed into the dataset's seed for the shared projects' own stream. */
const SHARED_STREAM = 0x5eed

interface SharedRows {
  projects: SeedProject[]
  permits: PermitWireRow[]
  drawingReviews: DrawingReviewWireRow[]
  completionFilings: CompletionFilingWireRow[]
}

/** A shared project as 工改 rows: a passed review (after a failed one, if it had one), a permit, and a filing if done. */
function addSharedProject(
  rng: SeedRng,
  project: SharedProject,
  out: SharedRows,
  counters: { permitSerials: Map<string, number>; nextDoc: (key: string) => string },
): void {
  const c = project.construction
  const division = project.division
  const status = (iso: string) => {
    const at = stamp(rng, toDay(iso))
    return { LSH: `${at}${rng.digits(6)}`, DFSJZJ: rng.chars('0123456789abcdef', 32), SJYXBS: ROW_VALID, SJGXSJ: at }
  }
  // The owner's legal representative leads its projects (one person in 法人库 and on permits); the phone is drawn,
  // and the name and ID are drawn too, then replaced, so the stream stays where it was.
  const drawn = makePerson(rng)
  const ownerLead = { ...drawn, name: project.owner.legalRepresentative, idNo: project.owner.legalRepIdNo }
  const single = c.subProjects.length === 1
  const subProjects = c.subProjects.map((sub, s) => ({
    gcdm: single ? project.code : `${project.code}-${String(s + 1).padStart(3, '0')}`,
    name: sub.name,
  }))
  const owner = { name: project.owner.name, uscc: project.owner.uscc }
  out.projects.push({
    projectCode: project.code,
    divisionCode: division,
    name: project.name,
    owner,
    ownerLead,
    subProjects,
  })

  const issued = compactDay(toDay(c.permitIssued))
  const batchKey = `${division}${issued}`
  const serial = (counters.permitSerials.get(batchKey) ?? 0) + 1
  counters.permitSerials.set(batchKey, serial)
  c.subProjects.forEach((sub, s) => {
    const { gcdm } = subProjects[s] as SeedSubProject
    const review = (iso: string, result: '合格' | '不合格'): DrawingReviewWireRow => {
      const key = `SC${division}${iso.slice(0, 4)}`
      const row: DrawingReviewWireRow = {
        SCHGSBH: `${key}${counters.nextDoc(key)}`,
        XMDM: project.code,
        GCDM: gcdm,
        GCMC: sub.name,
        SCJGMC: c.reviewer.name,
        SCJGDM: c.reviewer.uscc,
        SJDWMC: c.designer,
        SCJL: result,
        SCWCRQ: compactDay(toDay(iso)),
        ...status(iso),
      }
      out.drawingReviews.push(row)
      return row
    }
    if (c.reviewFailed !== undefined) review(c.reviewFailed, '不合格')
    const passed = review(c.reviewPassed, '合格')
    out.permits.push({
      SGXKZBH: `${batchKey}${String(serial).padStart(2, '0')}${String(s + 1).padStart(2, '0')}`,
      XMDM: project.code,
      GCDM: gcdm,
      GCMC: sub.name,
      XZQHDM: division,
      JSDZ: c.site,
      JSGM: `总建筑面积${sub.floorAreaM2}平方米，地上${sub.floorsAbove}层，地下${sub.floorsBelow}层`,
      JSDW: owner.name,
      JSDWDM: owner.uscc,
      JSDWXMFZR: ownerLead.name,
      JSFZRZJHM: ownerLead.idNo,
      JSFZRLXDH: ownerLead.phone,
      SGDWMC: c.contractor.name,
      SGDWDM: c.contractor.uscc,
      HTJG: sub.contractPriceWanYuan,
      ZJZMJ: sub.floorAreaM2,
      JHKGRQ: compactDay(toDay(c.plannedStart)),
      JHJGRQ: compactDay(toDay(c.plannedCompletion)),
      FZRQ: issued,
      FZJG: c.issuingAuthority,
      GCGHXKZBH: c.planningPermitNo,
      SCHGSBH: passed.SCHGSBH,
      JSXZ: '新建',
      DSJZMJ: (Number(sub.floorAreaM2) - Number(sub.belowGroundM2)).toFixed(2),
      DXJZMJ: sub.belowGroundM2,
      ...status(c.permitIssued),
    })
    if (c.completion && sub.completedAreaM2 !== undefined && sub.finalCostWanYuan !== undefined) {
      const key = `JB${division}${c.completion.filed.slice(0, 4)}`
      out.completionFilings.push({
        JGYSBABH: `${key}${counters.nextDoc(key)}`,
        XMDM: project.code,
        GCDM: gcdm,
        GCMC: sub.name,
        JSDW: owner.name,
        JSDWDM: owner.uscc,
        JGYSRQ: compactDay(toDay(c.completion.accepted)),
        BARQ: compactDay(toDay(c.completion.filed)),
        ZJZMJ: sub.completedAreaM2,
        GCJS: sub.finalCostWanYuan,
        ...status(c.completion.filed),
      })
    }
  })
}

function makePerson(rng: SeedRng): SeedPerson {
  const given = givenName(rng, 0.3)
  // Legacy quirk: some systems stored the check character as a lower-case x.
  const idNo = residentId(rng, { regions: ID_REGIONS, bornFrom: '1960-01-01', bornTo: '1995-12-31', lowerCaseX: 0.3 })
  return { name: surname(rng) + given, idNo, phone: mobileNumber(rng) }
}
