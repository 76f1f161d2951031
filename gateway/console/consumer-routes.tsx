/** @jsxImportSource hono/jsx */
import { shanghaiDate } from '../../kernel/working-calendar.js'
import { type GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { Application } from '../sharing/model.js'
import { type Actor, etagOf, type GrantView } from '../sharing/service.js'
import { actionText, hasOpenNotice, isWithdrawable, WithdrawPage } from './consumer-actions.js'
import { AnswerPage, answerText } from './consumer-answer.js'
import { type AnswerProblem, groupsOf, resubmissionOf, valuesFromForm, valuesOf } from './consumer-answer-form.js'
import { GrantsPage, type RenewalProblem } from './consumer-grants.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'
import { MessagePage } from './layout.js'
import { registerUsagePages } from './usage-routes.js'

/** Pages a listing follows at most: 200 grants each, far beyond what one department holds. */
const MAX_GRANT_PAGES = 10

/** The requesting department's grants (expiring soon marked), its own usage, and answers to 一次性告知 notices. */
export function registerConsumerPages(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, view, actorFor, render } = kit
  const today = () => shanghaiDate(deps.clock.now())

  /** The department's grants, live ones first (the workflow's order), then the catalog's. */
  async function grantsOf(actor: Actor): Promise<GrantView[]> {
    const grants: GrantView[] = []
    let cursor: string | undefined
    for (let page = 0; page < MAX_GRANT_PAGES; page++) {
      const query = { consumer: actor.principal.dept, limit: 200, ...(cursor === undefined ? {} : { cursor }) }
      const found = await deps.sharing.listGrants(actor, query)
      grants.push(...found.items)
      cursor = found.next
      if (cursor === undefined) break
    }
    return grants
  }

  async function grantsPage(c: ConsoleContext, actor: Actor, status: number, problem?: RenewalProblem) {
    const page = (
      <GrantsPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        today={today()}
        grants={await grantsOf(actor)}
        {...(problem === undefined ? {} : { problem })}
      />
    )
    return render(c, status, page)
  }

  /** A page that says why a step cannot be taken, with the status the workflow gave. */
  const says = (c: ConsoleContext, status: number, title: string, text: string) =>
    render(c, status, <MessagePage view={view(c)} title={title} message={text} />)

  /** The step's If-Match from the version the page showed: a page older than the application gets 412. */
  const ifMatchOf = (app: Application, form: Record<string, unknown>) =>
    etagOf({ id: app.id, version: Number.parseInt(String(form.version ?? ''), 10) })

  const stale = (c: ConsoleContext, error: GatewayError) =>
    says(c, error.status, answerText(c.get('lang'), 'staleTitle'), answerText(c.get('lang'), 'stale'))

  const noOpenNotice = (c: ConsoleContext) => {
    const lang = c.get('lang')
    return says(c, 409, answerText(lang, 'noOpenNoticeTitle'), answerText(lang, 'noOpenNotice'))
  }

  const notWithdrawable = (c: ConsoleContext) => {
    const lang = c.get('lang')
    return says(c, 409, actionText(lang, 'notWithdrawableTitle'), actionText(lang, 'notWithdrawable'))
  }

  app.get('/grants', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    return grantsPage(c, actor, 200)
  })

  app.post('/grants/:id/renew', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const grantId = c.req.param('id')
    const validTo = String(c.get('form').validTo ?? '').trim()
    try {
      const created = await deps.sharing.renewGrant(actor, grantId, validTo === '' ? {} : { validTo })
      return c.redirect(`/console/applications/${created.id}`, 303)
    } catch (err) {
      const error = toGatewayError(err)
      if (error.code !== 'application-invalid') throw error
      const problems = (error.extensions?.errors ?? []) as readonly AnswerProblem[]
      const messages = problems.map((p) => `${p.pointer} ${p.message}`)
      return grantsPage(c, actor, 422, { grantId, validTo, messages })
    }
  })

  app.get('/applications/:id/answer', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const found = await deps.sharing.getApplication(actor, c.req.param('id'))
    const notice = found.notices.findLast((n) => n.answeredAt === undefined)
    if (!hasOpenNotice(found) || notice === undefined) return noOpenNotice(c)
    const groups = groupsOf(notice)
    const page = (
      <AnswerPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        app={found}
        notice={notice}
        groups={groups}
        values={valuesOf(found.request)}
        problems={[]}
      />
    )
    return render(c, 200, page)
  })

  app.post('/applications/:id/answer', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const found = await deps.sharing.getApplication(actor, c.req.param('id'))
    const notice = found.notices.findLast((n) => n.answeredAt === undefined)
    if (!hasOpenNotice(found) || notice === undefined) return noOpenNotice(c)
    const form = c.get('form')
    const groups = groupsOf(notice)
    const values = valuesFromForm(form, groups, found.request)
    try {
      await deps.sharing.resubmit(actor, found.id, ifMatchOf(found, form), resubmissionOf(values, found.request))
      return c.redirect(`/console/applications/${found.id}`, 303)
    } catch (err) {
      const error = toGatewayError(err)
      if (error.code === 'precondition-failed') return stale(c, error)
      if (error.code !== 'application-invalid') throw error
      const problems = (error.extensions?.errors ?? []) as readonly AnswerProblem[]
      const page = (
        <AnswerPage
          view={view(c)}
          catalog={deps.snapshot().catalog}
          app={found}
          notice={notice}
          groups={groups}
          values={values}
          problems={problems}
        />
      )
      return render(c, 422, page)
    }
  })

  app.get('/applications/:id/withdraw', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const found = await deps.sharing.getApplication(actor, c.req.param('id'))
    if (!isWithdrawable(found)) return notWithdrawable(c)
    return render(c, 200, <WithdrawPage view={view(c)} catalog={deps.snapshot().catalog} app={found} />)
  })

  app.post('/applications/:id/withdraw', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const found = await deps.sharing.getApplication(actor, c.req.param('id'))
    if (!isWithdrawable(found)) return notWithdrawable(c)
    const form = c.get('form')
    const reason = String(form.reason ?? '').trim()
    try {
      await deps.sharing.withdraw(actor, found.id, ifMatchOf(found, form), reason === '' ? {} : { reason })
      return c.redirect(`/console/applications/${found.id}`, 303)
    } catch (err) {
      const error = toGatewayError(err)
      if (error.code === 'precondition-failed') return stale(c, error)
      if (error.code === 'transition-not-allowed') return notWithdrawable(c)
      throw error
    }
  })

  registerUsagePages(app, kit)
}
