/** @jsxImportSource hono/jsx */
import { shanghaiDate } from '../../kernel/working-calendar.js'
import { toGatewayError } from '../errors/gateway-error.js'
import { ApplicationFormPage, applicationBody, emptyForm, type FormProblem, formFrom } from './application-form.js'
import { ApplicationListPage, ApplicationPage, deadlineOf } from './application-pages.js'
import { CatalogPage, ResourcePage, searchResources } from './catalog-pages.js'
import { ALL_ROLES, type ConsoleApp, type ConsoleKit, render } from './kit.js'

/** The catalog (every role) and the requesting department's applications: apply, list, one application. */
export function registerApplicantPages(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, calendar, view, message, actorFor } = kit
  app.get('/catalog', async (c) => {
    const actor = await actorFor(c, ALL_ROLES)
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const q = (c.req.query('q') ?? '').slice(0, 200)
    return render(c, 200, <CatalogPage view={view(c)} catalog={catalog} q={q} found={searchResources(catalog, q)} />)
  })

  app.get('/catalog/:id', async (c) => {
    const actor = await actorFor(c, ALL_ROLES)
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const resource = catalog.resources.get(c.req.param('id'))
    if (resource === undefined) return message(c, 404, 'notFoundTitle', 'noResults')
    const canApply = c.get('session')?.user?.role === 'applicant'
    return render(c, 200, <ResourcePage view={view(c)} catalog={catalog} resource={resource} canApply={canApply} />)
  })

  app.get('/applications/new', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const resource = catalog.resources.get(c.req.query('resource') ?? '')
    if (resource === undefined) return message(c, 404, 'notFoundTitle', 'noResults')
    const page = (
      <ApplicationFormPage
        view={view(c)}
        catalog={catalog}
        resource={resource}
        form={emptyForm(resource)}
        problems={[]}
      />
    )
    return render(c, 200, page)
  })

  app.post('/applications', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const form = formFrom(c.get('form'))
    try {
      const created = await deps.sharing.apply(actor, applicationBody(form))
      return c.redirect(`/console/applications/${created.id}`, 303)
    } catch (err) {
      const error = toGatewayError(err)
      const catalog = deps.snapshot().catalog
      const resource = catalog.resources.get(form.resource)
      if (error.code !== 'application-invalid' || resource === undefined) throw error
      const problems = (error.extensions?.errors ?? []) as readonly FormProblem[]
      const page = (
        <ApplicationFormPage view={view(c)} catalog={catalog} resource={resource} form={form} problems={problems} />
      )
      return render(c, 422, page)
    }
  })

  app.get('/applications', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const list = await deps.sharing.listApplications(actor, { consumer: actor.principal.dept, limit: 100 })
    const today = shanghaiDate(deps.clock.now())
    const page = (
      <ApplicationListPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        items={list.items}
        deadline={(a) => deadlineOf(a, calendar, today)}
      />
    )
    return render(c, 200, page)
  })

  app.get('/applications/:id', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const id = c.req.param('id')
    const found = await deps.sharing.getApplication(actor, id)
    const history = await deps.sharing.history(actor, id)
    const deadline = deadlineOf(found, calendar, shanghaiDate(deps.clock.now()))
    const page = (
      <ApplicationPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        app={found}
        history={history}
        deadline={deadline}
      />
    )
    return render(c, 200, page)
  })
}
