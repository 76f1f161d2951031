import { residentIdCheckChar } from './identifiers.js'
import { deepFreeze, digitSumCheckDigit, usccFromParts } from './seed-tools.js'

/**
 * The demo's shared world: a few investment projects that every department's simulator knows, so that one project
 * can be followed across departments — registered and approved at 发改 (投资在线平台), its drawings reviewed, its
 * permits issued and (when finished) its completion filed at 住建 (工改), its owner registered at 市场监管 (法人库
 * 前置库). Each simulator's seed turns these facts into its own wire rows, besides the rows it generates; what only
 * one system records (流水号, times of day, document serials) comes from that seed. The owner's legal representative
 * (法定代表人, with the resident ID 法人库 records beside the name) is also its project lead on 住建's permits, so one
 * person can be followed across two departments too.
 *
 * Written out by hand, not drawn: the same at every import and under every seed, so examples, the API docs and tests
 * can name these projects. Identifiers are synthetic but valid (USCC and 组织机构代码 check characters, resident IDs
 * with their ISO 7064 check character, GB/T 2260 codes, current-format project codes with the made-up check digit of
 * seed-tools). Dates are ISO `YYYY-MM-DD`, all before the seeds' reference date (2026-10-31).
 */

/** A company registered at 市场监管 that owns shared projects (its 法人库 row is built from these fields). */
export interface SharedCompany {
  readonly name: string
  readonly uscc: string
  /** Registering division (GB/T 2260), as in the USCC. */
  readonly division: string
  /** The 投资在线平台's sector of its 项目单位 (发改 groups companies by it). */
  readonly sector: 'realEstate' | 'manufacturing'
  readonly established: string
  readonly legalRepresentative: string
  /** 法定代表人身份证件号码 (公民身份号码); the same person is the project lead on the company's permits. */
  readonly legalRepIdNo: string
  readonly enterpriseType: string
  readonly address: string
  readonly registeredCapitalWanYuan: string
  readonly registrationAuthority: string
  readonly businessScope: string
}

/** A company that takes part in construction (住建 records its name and USCC on permits and reviews). */
export interface SharedParticipant {
  readonly name: string
  readonly uscc: string
}

/** An approval result at the 投资在线平台; the 发改 seed adds the authority and document number by its own rules. */
export interface SharedApproval {
  readonly matter: '企业投资项目备案' | '建设项目用地预审与选址意见书核发' | '建设项目环境影响评价审批'
  readonly result: '已备案' | '同意'
  readonly date: string
}

/** One 单位工程 (标段) of a project: one drawing review, one permit, one completion filing. */
export interface SharedSubProject {
  readonly name: string
  readonly floorAreaM2: string
  readonly belowGroundM2: string
  readonly floorsAbove: number
  readonly floorsBelow: number
  readonly contractPriceWanYuan: string
  /** At completion acceptance: the measured area and the final cost. */
  readonly completedAreaM2?: string
  readonly finalCostWanYuan?: string
}

/** What 住建's 工改 system holds for a project. */
export interface SharedConstruction {
  /** 建设地址, `<division full name><road><number>号`. */
  readonly site: string
  readonly subProjects: readonly SharedSubProject[]
  readonly designer: string
  readonly reviewer: SharedParticipant
  readonly contractor: SharedParticipant
  /** A first review that failed (不合格), before the one that passed. */
  readonly reviewFailed?: string
  readonly reviewPassed: string
  readonly planningPermitNo: string
  readonly permitIssued: string
  readonly issuingAuthority: string
  readonly plannedStart: string
  readonly plannedCompletion: string
  /** Completion acceptance and its filing, for a finished project. */
  readonly completion?: { readonly accepted: string; readonly filed: string }
}

export interface SharedProject {
  /** 投资项目代码, current layout `YYMM-AAAAAA-DD-TT-RRRRRC`. */
  readonly code: string
  readonly name: string
  /** Site district (GB/T 2260); also the code's region segment (a district-level filing). */
  readonly division: string
  /** The locality within the district, as in the name. */
  readonly place: string
  readonly owner: SharedCompany
  /** 发改: filed (赋码) on this day. */
  readonly registered: string
  readonly projectType: '备案'
  readonly industry: string
  readonly location: string
  readonly scale: string
  readonly totalInvestmentWanYuan: string
  readonly approvals: readonly SharedApproval[]
  readonly construction: SharedConstruction
  /** A few words on where the project stands, for example summaries. */
  readonly stage: string
}

/** Current-format project code with seed-tools' stand-in check digit. */
function projectCode(yymm: string, division: string, department: string, type: string, random5: string): string {
  return `${yymm}-${division}-${department}-${type}-${random5}${digitSumCheckDigit(random5 + division)}`
}

/**
 * A 公民身份号码 from its parts: the county code of issuance, the birth date `YYYYMMDD` and the 3-digit sequence
 * (odd for a man, even for a woman); the check character is computed.
 */
function residentIdFromParts(region: string, born: string, sequence: string): string {
  const first17 = `${region}${born}${sequence}`
  return first17 + (residentIdCheckChar(first17) as string)
}

const LICENSED = '（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以审批结果为准）'
const GENERAL = '（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）'

const QINGXI: SharedCompany = {
  name: '南京青溪城市发展有限公司',
  uscc: usccFromParts('91', '320115', 'MA1W2K7Q'),
  division: '320115',
  sector: 'realEstate',
  established: '2017-04-18',
  legalRepresentative: '周立新',
  // Issued under 溧水县 (320124): a number keeps the code it was issued under after the county became a district.
  legalRepIdNo: residentIdFromParts('320124', '19720814', '031'),
  enterpriseType: '有限责任公司（非自然人投资或控股的法人独资）',
  address: '江苏省南京市江宁区双龙大道1118号5幢1602室',
  registeredCapitalWanYuan: '20000',
  registrationAuthority: '南京市江宁区市场监督管理局',
  businessScope: `许可项目：房地产开发经营${LICENSED}一般项目：住房租赁；非居住房地产租赁；物业管理${GENERAL}`,
}

const XIANHE: SharedCompany = {
  name: '南京仙鹤智能装备有限公司',
  uscc: usccFromParts('91', '320113', 'MA1N8T3R'),
  division: '320113',
  sector: 'manufacturing',
  established: '2019-08-21',
  legalRepresentative: '陈晓雪',
  legalRepIdNo: residentIdFromParts('320113', '19840309', '026'),
  enterpriseType: '有限责任公司（自然人投资或控股）',
  address: '江苏省南京市栖霞区纬地路9号2幢301室',
  registeredCapitalWanYuan: '5000',
  registrationAuthority: '南京市栖霞区市场监督管理局',
  businessScope: `一般项目：智能基础制造装备制造；工业机器人制造；工业机器人销售；通用设备修理${GENERAL}`,
}

const ZHONGFU: SharedParticipant = { name: '江苏钟阜建设集团有限公司', uscc: usccFromParts('91', '320106', 'MA1P4D6X') }
const QIFENG: SharedParticipant = { name: '南京栖峰建筑工程有限公司', uscc: usccFromParts('91', '320113', '74391285') }
const JINCHUAN: SharedParticipant = {
  name: '南京金川施工图审查中心有限公司',
  uscc: usccFromParts('91', '320102', 'MA1R5H2L'),
}
const CHANGGAN = '江苏长干建筑设计研究院有限公司'

/** The shared projects, the most complete first: it is the one the demo's first query shows. */
export const SHARED_PROJECTS: readonly SharedProject[] = deepFreeze([
  {
    code: projectCode('2303', '320115', '04', '03', '51827'),
    name: '九龙湖青溪云庭住宅小区项目',
    division: '320115',
    place: '九龙湖',
    owner: QINGXI,
    registered: '2023-03-06',
    projectType: '备案',
    industry: '房地产业',
    location: '江苏省南京市江宁区九龙湖，胜太路以东、双龙大道以南',
    scale: '总用地面积约52000平方米，总建筑面积约128300平方米，建设住宅及配套商业、社区用房、地下车库等，容积率≤2.2。',
    totalInvestmentWanYuan: '286500.00',
    approvals: [
      { matter: '企业投资项目备案', result: '已备案', date: '2023-03-06' },
      { matter: '建设项目用地预审与选址意见书核发', result: '同意', date: '2023-04-18' },
      { matter: '建设项目环境影响评价审批', result: '同意', date: '2023-05-25' },
    ],
    construction: {
      site: '江苏省南京市江宁区胜太路299号',
      subProjects: [
        {
          name: '九龙湖青溪云庭住宅小区项目一标段',
          floorAreaM2: '68420.35',
          belowGroundM2: '13684.07',
          floorsAbove: 26,
          floorsBelow: 2,
          contractPriceWanYuan: '18650.40',
          completedAreaM2: '68433.10',
          finalCostWanYuan: '19102.55',
        },
        {
          name: '九龙湖青溪云庭住宅小区项目二标段',
          floorAreaM2: '59876.12',
          belowGroundM2: '11975.22',
          floorsAbove: 18,
          floorsBelow: 2,
          contractPriceWanYuan: '16230.75',
          completedAreaM2: '59870.02',
          finalCostWanYuan: '16588.30',
        },
      ],
      designer: CHANGGAN,
      reviewer: JINCHUAN,
      contractor: ZHONGFU,
      reviewPassed: '2023-08-10',
      planningPermitNo: '建字第320115202300418号',
      permitIssued: '2023-09-12',
      issuingAuthority: '南京市江宁区建设局',
      plannedStart: '2023-09-20',
      plannedCompletion: '2025-08-31',
      completion: { accepted: '2025-09-26', filed: '2025-10-10' },
    },
    stage: '已竣工验收备案',
  },
  {
    code: projectCode('2411', '320114', '04', '03', '30962'),
    name: '板桥青溪雅苑保障性租赁住房项目',
    division: '320114',
    place: '板桥',
    owner: QINGXI,
    registered: '2024-11-12',
    projectType: '备案',
    industry: '房地产业',
    location: '江苏省南京市雨花台区板桥，宁丹路以西、雨花大道以北',
    scale:
      '总用地面积约21000平方米，总建筑面积约42300平方米，建设保障性租赁住房及配套社区用房、地下车库等，容积率≤2.0。',
    totalInvestmentWanYuan: '68900.00',
    approvals: [
      { matter: '企业投资项目备案', result: '已备案', date: '2024-11-12' },
      { matter: '建设项目用地预审与选址意见书核发', result: '同意', date: '2024-12-20' },
    ],
    construction: {
      site: '江苏省南京市雨花台区宁丹路186号',
      subProjects: [
        {
          name: '板桥青溪雅苑保障性租赁住房项目',
          floorAreaM2: '42315.60',
          belowGroundM2: '8463.12',
          floorsAbove: 18,
          floorsBelow: 1,
          contractPriceWanYuan: '11270.88',
        },
      ],
      designer: CHANGGAN,
      reviewer: JINCHUAN,
      contractor: ZHONGFU,
      reviewFailed: '2025-04-18',
      reviewPassed: '2025-05-22',
      planningPermitNo: '建字第320114202500093号',
      permitIssued: '2025-06-16',
      issuingAuthority: '南京市雨花台区建设局',
      plannedStart: '2025-06-28',
      plannedCompletion: '2027-06-30',
    },
    stage: '在建（图审一次不合格后复审合格）',
  },
  {
    code: projectCode('2106', '320113', '89', '03', '72405'),
    name: '仙林智能机器人研发及生产项目（一期）',
    division: '320113',
    place: '仙林',
    owner: XIANHE,
    registered: '2021-06-15',
    projectType: '备案',
    industry: '专用设备制造业',
    location: '江苏省南京市栖霞区仙林，仙林大道以北、学海路以东',
    scale:
      '新建生产厂房及研发用房约36600平方米，购置生产及检测设备180台（套），项目建成后形成年产2万台（套）工业机器人的生产能力。',
    totalInvestmentWanYuan: '42800.00',
    approvals: [
      { matter: '企业投资项目备案', result: '已备案', date: '2021-06-15' },
      { matter: '建设项目用地预审与选址意见书核发', result: '同意', date: '2021-07-22' },
      { matter: '建设项目环境影响评价审批', result: '同意', date: '2021-08-30' },
    ],
    construction: {
      site: '江苏省南京市栖霞区学海路36号',
      subProjects: [
        {
          name: '仙林智能机器人研发及生产项目（一期）',
          floorAreaM2: '36582.40',
          belowGroundM2: '3658.24',
          floorsAbove: 5,
          floorsBelow: 1,
          contractPriceWanYuan: '10243.07',
          completedAreaM2: '36590.15',
          finalCostWanYuan: '10876.31',
        },
      ],
      designer: CHANGGAN,
      reviewer: JINCHUAN,
      contractor: QIFENG,
      reviewPassed: '2022-02-15',
      planningPermitNo: '建字第320113202200057号',
      permitIssued: '2022-03-08',
      issuingAuthority: '南京市栖霞区建设局',
      plannedStart: '2022-03-20',
      plannedCompletion: '2023-12-31',
      completion: { accepted: '2024-01-18', filed: '2024-01-29' },
    },
    stage: '已竣工验收备案',
  },
])

/** The owners of the shared projects, each once, in project order: registered at 市场监管. */
export const SHARED_COMPANIES: readonly SharedCompany[] = Object.freeze([
  ...new Set(SHARED_PROJECTS.map((p) => p.owner)),
])

/** Construction companies and review agencies the shared projects name (住建 only). */
export const SHARED_PARTICIPANTS: readonly SharedParticipant[] = deepFreeze([ZHONGFU, QIFENG, JINCHUAN])

/** Shared projects of a company (the 发改 `companyProjects` answer, in project order). */
export function sharedProjectsOf(uscc: string): readonly SharedProject[] {
  return SHARED_PROJECTS.filter((p) => p.owner.uscc === uscc)
}

/**
 * The summary of an example that finds a shared project: what it finds, and that the same project can be followed
 * at the other departments.
 */
export function sharedSummary(finds: string): string {
  return `跨部门示例项目：${finds}；发改立项、住建施工许可、市场监管登记均可查`
}
