/** @jsxImportSource hono/jsx */
import { GatewayError } from '../errors/gateway-error.js'
import type { StatusReport } from '../health/status-report.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'
import { OpsPage, type ReloadOutcome } from './ops-page.js'
import type { OpsNames } from './ops-sections.js'

/**
 * The operator's page: connectors and breakers, quotas, the audit log's state, catalog reload. Both go through
 * Qiao's own API with the operator's token (GET /v1/admin/status needs ops:read, the reload catalog:admin), so the
 * API's checks and the reload's audit record apply exactly as for a script.
 */
export function registerOperatorPages(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, view, render, actorFor } = kit

  const names: OpsNames = {
    dept: (code) => deps.snapshot().catalog.departments.get(code)?.shortName ?? code,
    resource: (id) => deps.snapshot().catalog.resources.get(id)?.name ?? id,
  }

  /** The status as the API answers it; a refusal becomes the console's 403 page, anything else its error page. */
  async function statusOf(c: ConsoleContext): Promise<StatusReport> {
    const res = await kit.api(c, '/v1/admin/status')
    if (res.ok) return (await res.json()) as StatusReport
    const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string }
    if (res.status === 403) throw new GatewayError('insufficient-scope', { detail: problem.detail })
    throw new GatewayError('internal', { internal: `status answered ${res.status} ${problem.code ?? ''}` })
  }

  app.get('/ops', async (c) => {
    const actor = await actorFor(c, ['operator'])
    if (actor instanceof Response) return actor
    return render(c, 200, <OpsPage view={view(c)} report={await statusOf(c)} names={names} />)
  })

  app.post('/ops/catalog/reload', async (c) => {
    const actor = await actorFor(c, ['operator'])
    if (actor instanceof Response) return actor
    const res = await kit.api(c, '/v1/admin/catalog/reload', { method: 'POST' })
    const body = (await res.json().catch(() => ({}))) as {
      version?: string
      errors?: readonly string[]
      detail?: string
    }
    let outcome: ReloadOutcome
    if (res.ok) outcome = { kind: 'accepted', version: body.version ?? '' }
    else if (res.status === 422) outcome = { kind: 'rejected', problems: body.errors ?? [] }
    else outcome = { kind: 'failed', status: res.status, detail: body.detail ?? '' }
    // Read after the reload, so the page shows the catalog now serving and the reload just recorded.
    const page = <OpsPage view={view(c)} report={await statusOf(c)} names={names} outcome={outcome} />
    return render(c, res.ok ? 200 : res.status, page)
  })
}
