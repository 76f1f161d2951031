import { shanghaiDate } from '../../kernel/working-calendar.js'
import type { Principal } from '../auth/principal.js'
import type { Application } from './model.js'
import {
  type Actor,
  etagOf,
  SHARING_ADMIN_SCOPE,
  SHARING_APPLY_SCOPE,
  SHARING_REVIEW_SCOPE,
  type SharingWorkflow,
} from './service.js'
import type { SharingStore } from './store.js'

/**
 * Demo mode only: a few applications in different states, so that a newcomer (and the console) has something to
 * look at — one overdue in its conformity check, one waiting for the applicant after a 一次性告知, one approved into
 * a live grant, one refused. They are made through the workflow itself, on a clock set back in time, so each has
 * its real history and admin audit records (the records carry the times the clock gave). Seeded once: a store
 * that already holds applications is left alone.
 */
export interface DemoSeedDeps {
  readonly store: SharingStore
  /** The workflow on a clock the seed moves (same store, audit log and calendar as the gateway's). */
  readonly workflowAt: (clock: { now(): number }) => SharingWorkflow
  readonly now: number
}

const DAY = 86_400_000

function actor(dept: string, sub: string, scope: string): Actor {
  const principal: Principal = {
    sub,
    dept,
    clientId: 'qiao-demo-seed',
    scopes: new Set([scope]),
    expiresAt: Number.MAX_SAFE_INTEGER,
    tokenId: undefined,
    keyId: undefined,
  }
  return { principal, requestId: `demo-seed-${dept}-${sub}` }
}

const AUTHORITY = actor('data', 'data-officer-001', SHARING_ADMIN_SCOPE)
const contact = { name: '演示联系人', phone: '025-00000000' }

/** Seeds the demo's applications unless some exist; returns how many it made. */
export async function seedDemoApplications(deps: DemoSeedDeps): Promise<number> {
  const existing = await deps.store.listApplications({ limit: 1 }, deps.now)
  if (existing.items.length > 0) return 0
  let at = deps.now - 14 * DAY
  const clock = { now: () => at }
  const workflow = deps.workflowAt(clock)
  const validTo = shanghaiDate(deps.now + 365 * DAY)
  const step = (days: number) => {
    at += days * DAY
  }

  // Approved: 发改 registers its use of 市场监管's (无条件) enterprise registrations for 投资项目审批监管.
  const registered = await workflow.apply(actor('drc', 'drc-officer-001', SHARING_APPLY_SCOPE), {
    resource: 'market.enterprise-registration',
    matter: 'QT00301001',
    mode: 'query',
    usage: '数据校核',
    fields: ['uscc', 'name', 'status', 'registrationAuthority'],
    masked: [],
    legalBasis: '《企业投资项目核准和备案管理条例》（国务院令第673号）第四条',
    scene: '投资项目在线审批监管',
    scopeOfUse: '核对项目单位登记状态',
    validTo,
    contact,
  })
  step(1)
  await workflow.conformity(AUTHORITY, registered.id, etagOf(registered), { decision: 'pass' })

  // Waiting for the applicant: 自然资源 asked for permits; 住建 gave one notice of everything missing.
  step(1)
  const natres = actor('natres', 'natres-officer-001', SHARING_APPLY_SCOPE)
  let waiting: Application = await workflow.apply(natres, {
    resource: 'housing.construction-permit',
    matter: 'XK00102001',
    mode: 'query',
    usage: '行政依据',
    fields: ['permitNo', 'projectCode', 'projectName', 'constructionSite', 'ownerLeadIdNo'],
    masked: [],
    legalBasis: '《中华人民共和国土地管理法》',
    scene: '建设项目用地预审',
    scopeOfUse: '用地预审',
    validTo,
    contact,
  })
  step(1)
  waiting = await workflow.conformity(AUTHORITY, waiting.id, etagOf(waiting), { decision: 'pass' })
  step(2)
  await workflow.review(actor('housing', 'housing-reviewer-001', SHARING_REVIEW_SCOPE), waiting.id, etagOf(waiting), {
    decision: 'notice',
    items: [
      { pointer: '/legalBasis', message: '请写明条款：《土地管理法》第几条规定需要核对施工许可信息' },
      { pointer: '/fields/4', message: '负责人身份证号为敏感个人信息：说明必要性，或改为脱敏（masked）' },
    ],
  })

  // Refused, with its reason: 城管 asked for completion filings its matter does not need.
  step(1)
  const urban = actor('urban', 'urban-officer-001', SHARING_APPLY_SCOPE)
  let refused: Application = await workflow.apply(urban, {
    resource: 'housing.construction-permit',
    matter: 'XK00208001',
    mode: 'query',
    usage: '工作参考',
    fields: ['permitNo', 'contractPriceWanYuan', 'ownerLeadIdNo'],
    masked: [],
    legalBasis: '《城市建筑垃圾管理规定》（建设部令第139号）第七条',
    scene: '建设项目开工"一件事"',
    scopeOfUse: '建筑垃圾处置核准',
    validTo,
    contact,
  })
  step(1)
  refused = await workflow.conformity(AUTHORITY, refused.id, etagOf(refused), { decision: 'pass' })
  step(1)
  await workflow.review(actor('housing', 'housing-reviewer-001', SHARING_REVIEW_SCOPE), refused.id, etagOf(refused), {
    decision: 'refuse',
    reason: '合同价格与负责人身份证号不属于建筑垃圾处置核准所需信息；已有有效授权覆盖所需字段',
  })

  // Overdue: 城管's application for 发改's investment projects has waited in its conformity check for a week.
  step(1)
  await workflow.apply(urban, {
    resource: 'drc.investment-project',
    matter: 'XK00208001',
    mode: 'query',
    usage: '业务协同',
    fields: ['projectCode', 'projectName', 'location'],
    masked: [],
    legalBasis: '《城市建筑垃圾管理规定》（建设部令第139号）第七条',
    scene: '建设项目开工"一件事"',
    scopeOfUse: '核对建筑垃圾处置项目的立项信息',
    validTo,
    contact,
  })
  return 4
}
