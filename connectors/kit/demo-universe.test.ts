import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { exchangeScope } from '../../gateway/auth/principal.js'
import { type Harness, NOW, startHarness } from '../../test/support/gateway.js'
import { drcDataset, drcSimulator } from '../drc-tzxm/simulator/index.js'
import { housingDataset, housingSimulator } from '../housing-gongai/simulator/index.js'
import { marketDataset, marketSimulator } from '../market-qzk/simulator/index.js'
import { divisionStatus } from './admin-divisions.js'
import {
  SHARED_COMPANIES,
  SHARED_PARTICIPANTS,
  SHARED_PROJECTS,
  type SharedProject,
  sharedProjectsOf,
} from './demo-universe.js'
import {
  isInvestmentProjectCode,
  isOrgCodeValid,
  isResidentIdValid,
  isUsccChecksumValid,
  projectCodeFormat,
} from './identifiers.js'
import type { SimulatorDefinition } from './simulator.js'

/** The seeds' reference date: no shared event is later. */
const REFERENCE_DATE = '2026-10-31'

/** Every event of a project, in the order it must have happened. */
function timeline(p: SharedProject): string[] {
  const c = p.construction
  return [
    p.owner.established,
    p.registered,
    ...p.approvals.map((a) => a.date),
    ...(c.reviewFailed === undefined ? [] : [c.reviewFailed]),
    c.reviewPassed,
    c.permitIssued,
    c.plannedStart,
    ...(c.completion ? [c.completion.accepted, c.completion.filed] : []),
  ]
}

describe('the demo universe', () => {
  it('is written out, not drawn: a fresh import gives the same frozen values', async () => {
    vi.resetModules()
    const again = await import('./demo-universe.js')
    expect(again.SHARED_PROJECTS).not.toBe(SHARED_PROJECTS)
    expect(again.SHARED_PROJECTS).toStrictEqual(SHARED_PROJECTS)
    expect(again.SHARED_COMPANIES).toStrictEqual(SHARED_COMPANIES)
    expect(Object.isFrozen(SHARED_PROJECTS[0]?.construction.subProjects[0])).toBe(true)
    expect(Object.isFrozen(SHARED_COMPANIES[0])).toBe(true)
  })

  it('uses valid, unique 南京市 identifiers and dates in the order things happen', () => {
    expect(SHARED_PROJECTS.length).toBeGreaterThanOrEqual(3)
    expect(new Set(SHARED_PROJECTS.map((p) => p.code)).size).toBe(SHARED_PROJECTS.length)
    expect(new Set(SHARED_PROJECTS.map((p) => p.name)).size).toBe(SHARED_PROJECTS.length)
    for (const p of SHARED_PROJECTS) {
      expect(isInvestmentProjectCode(p.code), p.code).toBe(true)
      expect(projectCodeFormat(p.code)).toBe('current')
      expect(p.code.slice(5, 11)).toBe(p.division)
      expect(p.code.slice(0, 4)).toBe(p.registered.slice(2, 4) + p.registered.slice(5, 7))
      expect(p.division).toMatch(/^3201\d\d$/)
      expect(divisionStatus(p.division)).toBe('current')
      expect(p.name.startsWith(p.place)).toBe(true)
      expect(p.location.startsWith('江苏省南京市')).toBe(true)
      expect(p.construction.site.startsWith('江苏省南京市')).toBe(true)
      const events = timeline(p)
      expect(events).toStrictEqual([...events].sort())
      expect(events.every((d) => d <= REFERENCE_DATE)).toBe(true)
      expect(p.construction.plannedCompletion > p.construction.plannedStart).toBe(true)
    }
    // A company with two projects (the 发改 company-projects example), and one project still being built.
    expect(SHARED_COMPANIES.some((c) => sharedProjectsOf(c.uscc).length >= 2)).toBe(true)
    expect(SHARED_PROJECTS.some((p) => p.construction.completion === undefined)).toBe(true)
    const companies = [...SHARED_COMPANIES, ...SHARED_PARTICIPANTS]
    expect(new Set(companies.map((c) => c.uscc)).size).toBe(companies.length)
    for (const c of companies) {
      expect(isUsccChecksumValid(c.uscc), c.uscc).toBe(true)
      expect(isOrgCodeValid(c.uscc.slice(8, 17)), c.uscc).toBe(true)
      expect(c.uscc).toMatch(/^913201\d\d/)
    }
    for (const c of SHARED_COMPANIES) expect(c.uscc.slice(2, 8)).toBe(c.division)
    expect(new Set(SHARED_COMPANIES.map((c) => c.legalRepIdNo)).size).toBe(SHARED_COMPANIES.length)
    for (const c of SHARED_COMPANIES) {
      expect(isResidentIdValid(c.legalRepIdNo, new Date(`${REFERENCE_DATE}T00:00:00Z`)), c.legalRepIdNo).toBe(true)
      // Of age when the company was set up.
      expect(Number(c.established.slice(0, 4)) - Number(c.legalRepIdNo.slice(6, 10))).toBeGreaterThanOrEqual(18)
    }
  })
})

describe('the three seeds share the projects', () => {
  it.each([
    ['the default seeds', housingDataset(), drcDataset(), marketDataset()],
    ['another seed', housingDataset(7), drcDataset(7), marketDataset(7)],
  ])('%s: same project code at 发改 and 住建, the owner registered at 市场监管', (_, housing, drc, market) => {
    for (const p of SHARED_PROJECTS) {
      const project = drc.projects.find((r) => r.项目代码 === p.code)
      expect(project?.项目名称).toBe(p.name)
      expect(project?.项目单位).toStrictEqual([{ 单位名称: p.owner.name, 统一社会信用代码: p.owner.uscc }])
      expect(drc.approvals.filter((a) => a.项目代码 === p.code)).toHaveLength(p.approvals.length)

      const built = housing.projects.find((r) => r.projectCode === p.code)
      expect(built).toMatchObject({ name: p.name, divisionCode: p.division, owner: { uscc: p.owner.uscc } })
      const permits = housing.permits.filter((r) => r.XMDM === p.code)
      expect(permits).toHaveLength(p.construction.subProjects.length)
      expect(permits.every((r) => r.JSDWDM === p.owner.uscc && r.JSDW === p.owner.name)).toBe(true)
      // The owner's project lead is its legal representative: one person, by name and ID, at 住建 and 市场监管.
      for (const r of permits) {
        expect([r.JSDWXMFZR, r.JSFZRZJHM]).toStrictEqual([p.owner.legalRepresentative, p.owner.legalRepIdNo])
      }
      const passed = housing.drawingReviews.filter((r) => r.XMDM === p.code && r.SCJL === '合格')
      expect(passed).toHaveLength(p.construction.subProjects.length)
      const filings = housing.completionFilings.filter((r) => r.XMDM === p.code)
      expect(filings).toHaveLength(p.construction.completion ? p.construction.subProjects.length : 0)

      const registered = market.enterprises.find((e) => e.uscc === p.owner.uscc)
      expect(registered?.current).toMatchObject({
        TYSHXYDM: p.owner.uscc,
        QYMC: p.owner.name,
        FDDBR: p.owner.legalRepresentative,
        FDDBRZJHM: p.owner.legalRepIdNo,
        SJYXBS: '1',
      })
    }
    for (const c of SHARED_COMPANIES) {
      expect(drc.companies.filter((r) => r.uscc === c.uscc)).toHaveLength(1)
      const projects = drc.projects.filter((r) => r.项目单位.some((u) => u.统一社会信用代码 === c.uscc))
      expect(projects.map((r) => r.项目代码)).toStrictEqual(sharedProjectsOf(c.uscc).map((p) => p.code))
    }
  })
})

/** Resources each simulator serves: every one has examples. */
const SERVED: ReadonlyArray<readonly [string, SimulatorDefinition, readonly string[]]> = [
  ['housing', housingSimulator, ['housing.construction-permit', 'housing.drawing-review', 'housing.completion-filing']],
  ['drc', drcSimulator, ['drc.investment-project', 'drc.company-projects', 'drc.approval-result']],
  ['market', marketSimulator, ['market.enterprise-registration']],
]
const sharedKeys = new Set<unknown>([...SHARED_PROJECTS.map((p) => p.code), ...SHARED_COMPANIES.map((c) => c.uscc)])

describe('simulator examples', () => {
  it.each(SERVED)(
    '%s: several per resource, the shared projects first, each with a summary',
    (_, simulator, served) => {
      const examples = simulator.examples ?? []
      expect(new Set(examples.map((e) => e.resource))).toStrictEqual(new Set(served))
      for (const resource of served) {
        const mine = examples.filter((e) => e.resource === resource)
        expect(mine.length, resource).toBeGreaterThanOrEqual(2)
        expect(sharedKeys.has(Object.values(mine[0]?.params ?? {})[0]), resource).toBe(true)
        expect(mine[0]?.summary).toContain('跨部门示例项目')
        for (const e of mine) expect(e.summary, JSON.stringify(e.params)).toMatch(/\p{Script=Han}/u)
      }
    },
  )
})

describe('simulator examples through the gateway (住建, 发改)', () => {
  let h: Harness
  beforeAll(async () => {
    // No PostgreSQL needed (this runs with the unit tests): 市场监管's examples are checked in its seed test.
    h = await startHarness({ vars: { QIAO_MARKET_DB_URL: 'postgres://postgres@127.0.0.1:1/none' } })
  })
  afterAll(async () => {
    await h.close()
  })

  it('every example returns data to the department granted it in catalog.yaml', async () => {
    const grants = [...h.gateway.deps.snapshot().catalog.grants.values()]
    const examples = [...(housingSimulator.examples ?? []), ...(drcSimulator.examples ?? [])]
    for (const [i, example] of examples.entries()) {
      const grant = grants.find(
        (g) =>
          g.resource === example.resource &&
          g.action === 'read' &&
          (g.validFromMs ?? 0) <= NOW &&
          NOW < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
      )
      expect(grant, example.resource).toBeDefined()
      if (!grant) continue
      const scope = exchangeScope(grant.matter, grant.resource, 'read')
      const res = await h.query(example.resource, example.params, {
        token: await h.token({ dept: grant.consumer, scope }),
        matter: grant.matter,
        caseId: `SANDBOX-${i + 1}`,
      })
      expect(res.status, `${example.resource} ${JSON.stringify(example.params)}: ${res.text}`).toBe(200)
      expect((res.json.data as unknown[]).length, JSON.stringify(example.params)).toBeGreaterThan(0)
    }
  })
})
