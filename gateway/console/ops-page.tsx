/** @jsxImportSource hono/jsx */
import type { ConnectorReport, StatusReport } from '../health/status-report.js'
import type { Lang } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'
import {
  AuditSection,
  bracketed,
  ConnectorsSection,
  connectorRank,
  type OpsNames,
  percentUsed,
  QuotasSection,
  StateStoreSection,
  when,
} from './ops-sections.js'
import { ot } from './ops-texts.js'

/** What the reload button led to, as the reload API answered it. */
export type ReloadOutcome =
  | { readonly kind: 'accepted'; readonly version: string }
  | { readonly kind: 'rejected'; readonly problems: readonly string[] }
  | { readonly kind: 'failed'; readonly status: number; readonly detail: string }

/** The colon each language writes between a name and what is said of it. */
const colon = (lang: Lang) => (lang === 'en' ? ': ' : '：')

/** A quota this full is listed under "needs attention". */
const QUOTA_ATTENTION_PERCENT = 80

/** What is wrong with a connection, worst first (the order connectorRank sorts by); undefined when nothing is. */
function connectorTrouble(c: ConnectorReport) {
  if (c.breaker.state === 'open') return 'attnBreakerOpen'
  if (c.breaker.state === 'half-open') return 'attnBreakerHalfOpen'
  if (c.health === 'down') return 'attnDown'
  if (c.health === 'degraded') return 'attnDegraded'
  return undefined
}

/** Everything that needs someone's attention, worst first, each said in words (never by colour alone). */
function attentionItems(lang: Lang, report: StatusReport, names: OpsNames): string[] {
  const items: string[] = []
  if (report.instance.draining) items.push(ot(lang, 'attnDraining'))
  if (report.audit.state !== 'ok' || report.audit.problems.length > 0) items.push(ot(lang, 'attnAudit'))
  const connectors = [...report.connectors].sort((a, b) => connectorRank(a) - connectorRank(b))
  for (const c of connectors) {
    const trouble = connectorTrouble(c)
    if (trouble !== undefined)
      items.push(`${c.id}${bracketed(lang, names.dept(c.department))}${colon(lang)}${ot(lang, trouble)}`)
  }
  if (!report.stateStore.reachable) items.push(ot(lang, 'attnState'))
  for (const q of report.quotas.items) {
    if (percentUsed(q) >= QUOTA_ATTENTION_PERCENT)
      items.push(`${q.id}${colon(lang)}${ot(lang, 'attnQuota')}${bracketed(lang, `${percentUsed(q)}%`)}`)
  }
  if (report.catalog.lastReload?.outcome === 'rejected') items.push(ot(lang, 'attnReload'))
  return items
}

function Attention(props: { lang: Lang; report: StatusReport; names: OpsNames }) {
  const items = attentionItems(props.lang, props.report, props.names)
  return (
    <section aria-labelledby="ops-attention" class={items.length > 0 ? 'card ops-card ops-attention' : 'card ops-card'}>
      <h2 id="ops-attention">{ot(props.lang, 'attention')}</h2>
      {items.length === 0 ? (
        <p class="ok">{ot(props.lang, 'allWell')}</p>
      ) : (
        <ul>
          {items.map((item) => (
            <li class="warn">{item}</li>
          ))}
        </ul>
      )}
    </section>
  )
}

/** The reload button: a POST with the session's CSRF token to the console route that calls the reload API. */
function ReloadForm(props: { view: View; id: string; label: string }) {
  return (
    <form method="post" action="/console/ops/catalog/reload">
      <CsrfField view={props.view} />
      <button type="submit" id={props.id}>
        {props.label}
      </button>
    </form>
  )
}

/** The reload's answer, shown above everything (it gets the focus, so a screen reader reads it first). */
function ReloadResult(props: { view: View; outcome: ReloadOutcome; runningVersion: string }) {
  const { outcome } = props
  const { lang } = props.view
  if (outcome.kind === 'accepted') {
    return (
      <div id="reload-outcome" class="card ops-card ops-done" role="status" tabindex={-1} data-focus="">
        <h2>{ot(lang, 'reloadedTitle')}</h2>
        <p>
          {ot(lang, 'reloadedText')}
          <strong>{outcome.version}</strong>
        </p>
      </div>
    )
  }
  if (outcome.kind === 'rejected') {
    return (
      <div id="reload-outcome" class="summary" role="alert" tabindex={-1} data-focus="">
        <h2>{ot(lang, 'rejectedTitle')}</h2>
        <p>
          {ot(lang, 'rejectedKept')}
          <strong>{props.runningVersion}</strong>
        </p>
        <p>{ot(lang, 'rejectedHint')}</p>
        <ul id="reload-problems">
          {outcome.problems.map((p) => (
            <li>
              <code>{p}</code>
            </li>
          ))}
        </ul>
        <ReloadForm view={props.view} id="reload-again" label={ot(lang, 'reloadAgain')} />
      </div>
    )
  }
  return (
    <div id="reload-outcome" class="summary" role="alert" tabindex={-1} data-focus="">
      <h2>{ot(lang, 'reloadFailedTitle')}</h2>
      <p>
        {outcome.status}: {outcome.detail}
      </p>
    </div>
  )
}

function InstanceSection(props: { lang: Lang; report: StatusReport }) {
  const { lang } = props
  const { instance } = props.report
  const yesNo = (b: boolean) => ot(lang, b ? 'yes' : 'no')
  return (
    <section aria-labelledby="ops-instance" class="card ops-card">
      <h2 id="ops-instance">{ot(lang, 'instance')}</h2>
      <dl class="ops-facts">
        <dt>{ot(lang, 'instanceId')}</dt>
        <dd>{instance.id}</dd>
        <dt>{ot(lang, 'version')}</dt>
        <dd>{instance.version}</dd>
        <dt>{ot(lang, 'mode')}</dt>
        <dd>{ot(lang, instance.demoMode ? 'mode.demo' : 'mode.serve')}</dd>
        <dt>{ot(lang, 'startedAt')}</dt>
        <dd>{when(instance.startedAt)}</dd>
        <dt>{ot(lang, 'draining')}</dt>
        <dd>{yesNo(instance.draining)}</dd>
        <dt>{ot(lang, 'inFlight')}</dt>
        <dd>{instance.inFlight}</dd>
      </dl>
    </section>
  )
}

/** The catalog serving now, the last reload, and the reload button. */
function CatalogSection(props: { view: View; report: StatusReport }) {
  const { view } = props
  const { lang } = view
  const { catalog } = props.report
  const last = catalog.lastReload
  return (
    <section aria-labelledby="ops-catalog" class="card ops-card">
      <h2 id="ops-catalog">{ot(lang, 'catalog')}</h2>
      <dl class="ops-facts">
        <dt>{ot(lang, 'catalogVersion')}</dt>
        <dd id="catalog-version">{catalog.version}</dd>
        <dt>{ot(lang, 'digest')}</dt>
        <dd>
          <code>{catalog.digest.slice(0, 16)}…</code>
        </dd>
        <dt>{ot(lang, 'loadedAt')}</dt>
        <dd>{when(catalog.loadedAt)}</dd>
        <dt>{ot(lang, 'counts')}</dt>
        <dd>
          {catalog.resources} / {catalog.matters} / {catalog.grants}
          {bracketed(lang, `${ot(lang, 'liveGrants')} ${catalog.liveGrants}`)}
        </dd>
        <dt>{ot(lang, 'lastReload')}</dt>
        <dd id="last-reload">
          {last === null
            ? ot(lang, 'noReload')
            : `${when(last.at)} · ${ot(lang, `reload.${last.outcome}`)} · ${last.version}`}
        </dd>
      </dl>
      <p class="muted">{ot(lang, 'reloadHelp')}</p>
      <ReloadForm view={view} id="reload-catalog" label={ot(lang, 'reloadButton')} />
    </section>
  )
}

export function OpsPage(props: { view: View; report: StatusReport; names: OpsNames; outcome?: ReloadOutcome }) {
  const { view, report, names } = props
  const { lang } = view
  return (
    <Page view={view} title={ot(lang, 'title')}>
      {props.outcome !== undefined && (
        <ReloadResult view={view} outcome={props.outcome} runningVersion={report.catalog.version} />
      )}
      <p>{ot(lang, 'intro')}</p>
      <p class="muted">
        {ot(lang, 'generatedAt')}: {when(report.generatedAt)} · <a href="/console/ops">{ot(lang, 'refresh')}</a>
      </p>
      <Attention lang={lang} report={report} names={names} />
      <ConnectorsSection lang={lang} report={report} names={names} />
      <AuditSection lang={lang} report={report} />
      <CatalogSection view={view} report={report} />
      <QuotasSection lang={lang} report={report} names={names} />
      <InstanceSection lang={lang} report={report} />
      <StateStoreSection lang={lang} report={report} />
    </Page>
  )
}
