/** @jsxImportSource hono/jsx */
import { beijingTime } from '../audit/export.js'
import type { ConnectorReport, QuotaItem, StatusReport } from '../health/status-report.js'
import type { Lang } from './i18n.js'
import { fill, ot } from './ops-texts.js'

/** The operator page's sections below the summary: connections, quotas, audit log, state store. */

/** Names the catalog gives, for codes and ids in the report: a department's short name, a resource's name. */
export interface OpsNames {
  dept(code: string): string
  resource(id: string): string
}

/** `2026-11-26 10:00:00`, Beijing time. */
export const when = (iso: string): string => beijingTime(iso).slice(0, 19)

/** Byte counts as people read them: 1.5 GiB, 64 MiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

/** Connections needing attention first: open breaker, half-open, down, degraded; then catalog order. */
export function connectorRank(c: ConnectorReport): number {
  if (c.breaker.state === 'open') return 0
  if (c.breaker.state === 'half-open') return 1
  if (c.health === 'down') return 2
  if (c.health === 'degraded') return 3
  return 4
}

/** A remark in brackets, as each language writes it. */
export const bracketed = (lang: Lang, text: string): string => (lang === 'en' ? ` (${text})` : `（${text}）`)

/** Share of the bucket used, in whole percent. */
export const percentUsed = (q: QuotaItem): number => (q.points === 0 ? 0 : Math.round((q.used / q.points) * 100))

export function ConnectorsSection(props: { lang: Lang; report: StatusReport; names: OpsNames }) {
  const { lang, report } = props
  const rows = [...report.connectors].sort((a, b) => connectorRank(a) - connectorRank(b))
  return (
    <section aria-labelledby="ops-connectors" class="card ops-card">
      <h2 id="ops-connectors">{ot(lang, 'connectors')}</h2>
      <p class="muted">{ot(lang, 'connectorsIntro')}</p>
      <table>
        <thead>
          <tr>
            <th scope="col">{ot(lang, 'connector')}</th>
            <th scope="col">{ot(lang, 'health')}</th>
            <th scope="col">{ot(lang, 'breaker')}</th>
            <th scope="col">{ot(lang, 'concurrency')}</th>
            <th scope="col">{ot(lang, 'resources')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr id={`connector-${c.id}`} class={connectorRank(c) < 4 ? 'ops-alert' : undefined}>
              <th scope="row">
                {c.id}
                <br />
                <span class="muted">{props.names.dept(c.department)}</span>
              </th>
              <td>
                <span class={c.health === 'up' ? 'ok' : 'warn'}>{ot(lang, `health.${c.health}`)}</span>
                <br />
                <span class="muted">
                  {ot(lang, 'checkedAt')}: {c.checkedAt === null ? ot(lang, 'notChecked') : when(c.checkedAt)}
                </span>
              </td>
              <td>
                <span class={c.breaker.state === 'closed' ? 'ok' : 'warn'}>
                  {ot(lang, `breaker.${c.breaker.state}`)}
                </span>
                {c.breaker.openedAt !== null && (
                  <>
                    <br />
                    {ot(lang, 'openedAt')} {when(c.breaker.openedAt)}
                  </>
                )}
                <br />
                <span class="muted">
                  {fill(ot(lang, 'breakerRule'), {
                    n: c.breaker.threshold,
                    s: Math.round(c.breaker.halfOpenAfterMs / 1000),
                  })}
                </span>
              </td>
              <td>
                {c.bulkhead.inFlight} / {c.bulkhead.max}
              </td>
              <td>{c.resources.map(props.names.resource).join('、')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

/** A quota's `per` in words: second, minute, hour, day; a span such as `10s` as written. */
function perText(lang: Lang, per: string): string {
  return per === 'second' || per === 'minute' || per === 'hour' || per === 'day' ? ot(lang, `per.${per}`) : per
}

function appliesTo(lang: Lang, q: QuotaItem, names: OpsNames): string {
  const parts = [
    ...(q.department === undefined ? [] : [names.dept(q.department)]),
    ...(q.matter === undefined ? [] : [q.matter]),
    q.resource === undefined ? ot(lang, 'everyResource') : names.resource(q.resource),
  ]
  return parts.join(' · ')
}

export function QuotasSection(props: { lang: Lang; report: StatusReport; names: OpsNames }) {
  const { lang } = props
  const { quotas } = props.report
  const rows = [...quotas.items].sort((a, b) => percentUsed(b) - percentUsed(a))
  return (
    <section aria-labelledby="ops-quotas" class="card ops-card">
      <h2 id="ops-quotas">{ot(lang, 'quotas')}</h2>
      <p class="muted">
        {quotas.store === 'redis' ? fill(ot(lang, 'quotas.redis'), { max: quotas.listed }) : ot(lang, 'quotas.memory')}{' '}
        {fill(ot(lang, 'quotasListed'), { listed: quotas.listed, total: quotas.total })}
      </p>
      {!quotas.reachable && <p class="warn">{ot(lang, 'quotas.unreachable')}</p>}
      {quotas.store === 'redis' && (
        <p>
          {ot(lang, 'fallbacks')}: {quotas.fallbacks}
        </p>
      )}
      {rows.length === 0 ? (
        <p>{ot(lang, 'noQuotas')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{ot(lang, 'quota')}</th>
              <th scope="col">{ot(lang, 'appliesTo')}</th>
              <th scope="col">{ot(lang, 'rule')}</th>
              <th scope="col">{ot(lang, 'use')}</th>
              <th scope="col">{ot(lang, 'windowEnds')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((q) => (
              <tr id={`quota-${q.id}`}>
                <th scope="row">
                  {q.id}
                  <br />
                  <span class="muted">{ot(lang, `source.${q.source}`)}</span>
                </th>
                <td>{appliesTo(lang, q, props.names)}</td>
                <td>
                  {q.limit} {ot(lang, 'calls')} / {perText(lang, q.per)}
                </td>
                <td>
                  <meter
                    min={0}
                    max={q.points}
                    value={q.used}
                    high={Math.floor(q.points * 0.8)}
                    optimum={0}
                    aria-label={`${q.id} ${ot(lang, 'use')}`}
                  >
                    {percentUsed(q)}%
                  </meter>{' '}
                  <span class={percentUsed(q) >= 80 ? 'warn' : undefined}>
                    {q.used} / {q.points}
                    {bracketed(lang, `${percentUsed(q)}%`)}
                  </span>
                </td>
                <td>{q.windowEndsAt === null ? ot(lang, 'noWindow') : when(q.windowEndsAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

export function AuditSection(props: { lang: Lang; report: StatusReport }) {
  const { lang } = props
  const { audit } = props.report
  const checkpoint = audit.lastCheckpoint
  return (
    <section aria-labelledby="ops-audit" class="card ops-card">
      <h2 id="ops-audit">{ot(lang, 'audit')}</h2>
      <p class="muted">{ot(lang, 'auditIntro')}</p>
      <dl class="ops-facts">
        <dt>{ot(lang, 'auditState')}</dt>
        <dd id="audit-state">
          <span class={audit.state === 'ok' ? 'ok' : 'warn'}>{ot(lang, `audit.${audit.state}`)}</span>{' '}
          {ot(lang, 'since')} {when(audit.since)}
        </dd>
        {audit.problems.length > 0 && (
          <>
            <dt>{ot(lang, 'auditProblems')}</dt>
            <dd>
              <ul>
                {audit.problems.map((p) => (
                  <li>{p}</li>
                ))}
              </ul>
            </dd>
          </>
        )}
        <dt>{ot(lang, 'backend')}</dt>
        <dd>{ot(lang, `backend.${audit.backend}`)}</dd>
        <dt>{ot(lang, 'logId')}</dt>
        <dd>{audit.logId}</dd>
        <dt>{ot(lang, 'appended')}</dt>
        <dd id="audit-appended">{audit.appended}</dd>
        <dt>{ot(lang, 'syncs')}</dt>
        <dd>{audit.syncs}</dd>
        <dt>{ot(lang, 'lastCheckpoint')}</dt>
        <dd>
          {checkpoint === null
            ? ot(lang, 'noCheckpoint')
            : `${when(checkpoint.at)} · ${fill(ot(lang, 'checkpointSize'), { size: checkpoint.size, segment: checkpoint.segment })}`}
        </dd>
        <dt>{ot(lang, 'segment')}</dt>
        <dd>
          {audit.segment} ·{' '}
          {audit.segmentSizeUnit === 'bytes'
            ? bytes(audit.segmentSize)
            : `${audit.segmentSize} ${ot(lang, 'unit.records')}`}
        </dd>
        <dt>{ot(lang, 'freeSpace')}</dt>
        <dd>
          {audit.freeBytes === null ? ot(lang, 'unknown') : bytes(audit.freeBytes)}{' '}
          <span class="muted">{bracketed(lang, `${ot(lang, 'freeMin')} ${bytes(audit.minFreeBytes)}`)}</span>
        </dd>
      </dl>
    </section>
  )
}

export function StateStoreSection(props: { lang: Lang; report: StatusReport }) {
  const { lang } = props
  const { stateStore } = props.report
  return (
    <section aria-labelledby="ops-state" class="card ops-card">
      <h2 id="ops-state">{ot(lang, 'stateStore')}</h2>
      <p class="muted">{ot(lang, 'stateStoreIntro')}</p>
      <dl class="ops-facts">
        <dt>{ot(lang, 'backend')}</dt>
        <dd>{ot(lang, `backend.${stateStore.backend}`)}</dd>
        <dt>{ot(lang, 'reachable')}</dt>
        <dd class={stateStore.reachable ? 'ok' : 'warn'}>{ot(lang, `reachable.${stateStore.reachable}`)}</dd>
      </dl>
    </section>
  )
}
