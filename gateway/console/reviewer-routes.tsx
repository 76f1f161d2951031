/** @jsxImportSource hono/jsx */
import { shanghaiDate } from '../../kernel/working-calendar.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import { isApplicationId, isGrantId } from '../routes/sharing-http.js'
import type { Application, ApplicationQuery, LiveGrant, Stage } from '../sharing/model.js'
import type { Actor } from '../sharing/service.js'
import type { Violation } from '../validation/ajv.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'
import { render } from './kit.js'
import { ConformityPage } from './review-conformity.js'
import { ReviewPage } from './review-decision.js'
import { dueOf } from './review-due.js'
import {
  conformityBody,
  type DecisionForm,
  decisionFormFrom,
  formAfter,
  ifMatchOf,
  initialForm,
  type Located,
  locate,
  NO_PROBLEMS,
  reviewBody,
  type Sent,
} from './review-forms.js'
import { ProviderGrantsPage, type RevokeAttempt, reasonInputId } from './review-grants.js'
import { byDue, InboxPage, openNoticeOf } from './review-inbox.js'
import { StalePage } from './review-sections.js'
import { problemText, tr } from './review-texts.js'
import type { ConsoleRole } from './session.js'

/**
 * The 数据局's conformity checks (/console/conformity) and the provider's reviewer (/console/review, and the live
 * grants of its resources at /console/provider/grants). Every decision is a `deps.sharing` call with the signed-in
 * officer's actor, so the workflow checks role, department, separation of duties and If-Match (the version the
 * page showed) and writes the admin audit record, exactly as for the API. A 422 comes back as the form with each
 * problem at its input; a 412 (someone acted first) as a page saying so, with a link to reload.
 */
export function registerReviewerPages(app: ConsoleApp, kit: ConsoleKit): void {
  registerCheck(app, kit, {
    path: '/conformity',
    role: 'authority',
    stage: 'conformity',
    state: 'conformity-check',
    decide: (actor, id, ifMatch, body) => kit.deps.sharing.conformity(actor, id, ifMatch, body),
  })
  registerCheck(app, kit, {
    path: '/review',
    role: 'reviewer',
    stage: 'review',
    state: 'provider-review',
    decide: (actor, id, ifMatch, body) => kit.deps.sharing.review(actor, id, ifMatch, body),
  })
  registerProviderGrants(app, kit)
}

/** One of the two checks: its inbox, one application's page, and the decision posted from it. */
interface Check {
  readonly path: '/conformity' | '/review'
  readonly role: ConsoleRole
  readonly stage: Stage
  readonly state: Application['state']
  readonly decide: (actor: Actor, id: string, ifMatch: string | undefined, body: unknown) => Promise<Application>
}

/** Problems the officer can correct on the form; the others mean the page was out of date. */
const CORRECTABLE = new Set(['decision-invalid', 'notice-item-repeated'])
const STALE = new Set(['precondition-failed', 'precondition-required', 'transition-not-allowed'])

function registerCheck(app: ConsoleApp, kit: ConsoleKit, check: Check): void {
  const { deps, calendar, view, actorFor } = kit
  const pageOf = (id: string) => `/console${check.path}/${id}`

  app.get(check.path, async (c) => {
    const actor = await actorFor(c, [check.role])
    if (actor instanceof Response) return actor
    // A reviewer's inbox is its department's resources; the authority's is every department's.
    const scope: Partial<ApplicationQuery> = check.stage === 'review' ? { provider: actor.principal.dept } : {}
    const waiting = await deps.sharing.listApplications(actor, { ...scope, state: check.state, limit: 200 })
    const held = await deps.sharing.listApplications(actor, { ...scope, state: 'awaiting-applicant', limit: 200 })
    const noticed = held.items.filter((a) => openNoticeOf(a, check.stage) !== undefined)
    const now = deps.clock.now()
    const lang = c.get('lang')
    const page = (
      <InboxPage
        view={view(c)}
        title={tr(lang, check.stage === 'review' ? 'reviewTitle' : 'conformityTitle')}
        catalog={deps.snapshot().catalog}
        waitingTitle={tr(lang, check.stage === 'review' ? 'waitingReview' : 'waitingCheck')}
        waiting={[...waiting.items].sort(byDue)}
        noticed={[...noticed].sort(byNotice(check.stage))}
        stage={check.stage}
        truncated={waiting.next !== undefined || held.next !== undefined}
        due={(a) => dueOf(a, calendar, now)}
        href={(a) => pageOf(a.id)}
      />
    )
    return render(c, 200, page)
  })

  /** The application's page with the forms as given (first view: as applied for; after a 422: as posted). */
  async function showPage(c: ConsoleContext, actor: Actor, found: Application, form: DecisionForm, located: Located) {
    const history = await deps.sharing.history(actor, found.id)
    const props = {
      view: view(c),
      catalog: deps.snapshot().catalog,
      app: found,
      history,
      due: dueOf(found, calendar, deps.clock.now()),
      form,
      located,
    }
    const status = located.list.length > 0 ? 422 : 200
    return render(c, status, check.stage === 'review' ? <ReviewPage {...props} /> : <ConformityPage {...props} />)
  }

  app.get(`${check.path}/:id`, async (c) => {
    const actor = await actorFor(c, [check.role])
    if (actor instanceof Response) return actor
    const found = await deps.sharing.getApplication(actor, applicationIdOf(c))
    return showPage(c, actor, found, initialForm(found), NO_PROBLEMS)
  })

  app.post(`${check.path}/:id`, async (c) => {
    const actor = await actorFor(c, [check.role])
    if (actor instanceof Response) return actor
    const id = applicationIdOf(c)
    const found = await deps.sharing.getApplication(actor, id)
    const posted = decisionFormFrom(c.get('form'))
    const resource = deps.snapshot().catalog.resources.get(found.request.resource)
    const sent =
      check.stage === 'review' ? reviewBody(view(c), posted, found, resource) : conformityBody(view(c), posted)
    try {
      await check.decide(actor, id, ifMatchOf(id, posted), sent.body)
    } catch (err) {
      return refused(kit, c, err, pageOf(id), sent, async (located) => {
        // Shown on the application as it stands now, with the forms carrying the version the officer read.
        const current = await deps.sharing.getApplication(actor, id)
        return showPage(c, actor, current, formAfter(current, posted), located)
      })
    }
    return c.redirect(pageOf(id), 303)
  })
}

/** Those sent back longest ago first. */
function byNotice(stage: Stage) {
  return (a: Application, b: Application) =>
    (openNoticeOf(a, stage)?.at ?? '').localeCompare(openNoticeOf(b, stage)?.at ?? '')
}

function applicationIdOf(c: ConsoleContext): string {
  const id = c.req.param('id') ?? ''
  if (!isApplicationId(id)) throw new GatewayError('application-not-found')
  return id
}

/** A refused step: a correctable one back on its form (422), an out-of-date page as such; anything else is thrown. */
async function refused(
  kit: ConsoleKit,
  c: ConsoleContext,
  err: unknown,
  reload: string,
  sent: Sent,
  again: (located: Located) => Promise<Response>,
): Promise<Response> {
  const error = toGatewayError(err)
  if (CORRECTABLE.has(error.code)) {
    const problems = (error.extensions?.errors ?? []) as readonly Violation[]
    const lang = c.get('lang')
    const located = locate(kit.view(c), problems, sent, (problem) => problemText(lang, problem))
    // A problem list that names nothing would show a page claiming an error it cannot point at.
    if (located.list.length > 0) return again(located)
  }
  if (STALE.has(error.code)) return render(c, error.status, <StalePage view={kit.view(c)} reload={reload} />)
  throw error
}

/** 已发授权: the live grants of the reviewer's department's resources; revoke one with a reason. */
function registerProviderGrants(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, view, actorFor } = kit
  const LIST = '/console/provider/grants'

  async function showGrants(c: ConsoleContext, actor: Actor, attempt?: RevokeAttempt) {
    const page = await deps.sharing.listGrants(actor, {
      provider: actor.principal.dept,
      source: 'application',
      limit: 200,
    })
    const live = page.items.filter(
      (g): g is LiveGrant & { source: 'application' } => g.source === 'application' && g.state !== 'superseded',
    )
    // Active first, the soonest to end first; revoked after them.
    live.sort(
      (a, b) => Number(a.state !== 'active') - Number(b.state !== 'active') || a.validTo.localeCompare(b.validTo),
    )
    const today = shanghaiDate(deps.clock.now())
    const body = (
      <ProviderGrantsPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        grants={live}
        today={today}
        {...(attempt === undefined ? {} : { attempt })}
      />
    )
    return render(c, attempt === undefined ? 200 : 422, body)
  }

  app.get('/provider/grants', async (c) => {
    const actor = await actorFor(c, ['reviewer'])
    if (actor instanceof Response) return actor
    return showGrants(c, actor)
  })

  app.post('/provider/grants/:id/revoke', async (c) => {
    const actor = await actorFor(c, ['reviewer'])
    if (actor instanceof Response) return actor
    const id = c.req.param('id') ?? ''
    // Only live grants are revoked here; a catalog grant changes with catalog.yaml.
    if (!isGrantId(id) || id.startsWith('catalog:')) throw new GatewayError('grant-not-found')
    const posted = decisionFormFrom(c.get('form'))
    const sent: Sent = {
      body: posted.reason === '' ? {} : { reason: posted.reason },
      place: (pointer) => (pointer === '/reason' ? [reasonInputId(id), tr(c.get('lang'), 'revokeReason')] : undefined),
    }
    try {
      await deps.sharing.revokeGrant(actor, id, ifMatchOf(id, posted), sent.body)
    } catch (err) {
      return refused(kit, c, err, LIST, sent, (located) =>
        showGrants(c, actor, { grantId: id, reason: posted.reason, located }),
      )
    }
    return c.redirect(LIST, 303)
  })
}
