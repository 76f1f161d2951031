/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { LogEntry } from '../audit/entry.js'
import type { AdminAuditRecord, ExchangeAuditRecord } from '../audit/record.js'
import type { Catalog } from '../catalog/types.js'
import { isProblemCode, problems } from '../errors/codes.js'
import { ASSETS } from './assets.js'
import { type GrantLookup, GrantSection } from './audit-record-grant.js'
import { beijingSeconds } from './audit-search-page.js'
import { at } from './audit-texts.js'
import type { Lang } from './i18n.js'
import { Page, type View } from './layout.js'

/**
 * One audit record as an auditor reads it — who, for what, what was read, how it went, names beside the codes —
 * the grant it used, and its receipt checked in this browser by receipt-verify.js from the proof the page fetches.
 */

type Row = readonly [label: string, value: Child | undefined]

function Rows(props: { id?: string; rows: readonly Row[] }) {
  return (
    <dl class="facts" id={props.id}>
      {props.rows
        .filter(([, value]) => value !== undefined && value !== '')
        .map(([label, value]) => (
          <>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </>
        ))}
    </dl>
  )
}

const named = (map: ReadonlyMap<string, { readonly name: string }>, code: string | undefined): string | undefined =>
  code === undefined ? undefined : `${map.get(code)?.name ?? '—'}（${code}）`

export function RecordPage(props: {
  view: View
  catalog: Catalog
  entry: LogEntry
  grant: GrantLookup | undefined
  /** The audit public keys (JWKS JSON), fetched apart from the proof the script checks. */
  keys: string
}) {
  const { view, catalog, entry } = props
  const { lang } = view
  const r = entry.record
  return (
    <Page view={view} title={`${at(lang, 'recordTitle')} ${beijingSeconds(r.time)}`}>
      <p>
        <a href="/console/audit">{at(lang, 'backToSearch')}</a>
      </p>
      <Receipt lang={lang} id={r.id} keys={props.keys} />
      {r.kind === 'exchange' ? (
        <ExchangeDetails lang={lang} catalog={catalog} record={r} />
      ) : (
        <AdminDetails lang={lang} record={r} />
      )}
      {r.kind === 'exchange' && props.grant !== undefined && (
        <GrantSection view={view} catalog={catalog} lookup={props.grant} />
      )}
      <section class="card audit" aria-labelledby="log-heading">
        <h2 id="log-heading">{at(lang, 'logPlace')}</h2>
        <Rows
          rows={[
            ['logId', <code>{entry.logId}</code>],
            ['seq', String(entry.seq)],
            ['segment / index', `${entry.segment} / ${entry.index}`],
            ['loggedAt (UTC)', entry.loggedAt],
            ['chain', <code class="hash">{entry.chain}</code>],
          ]}
        />
      </section>
    </Page>
  )
}

function ReasonCode(props: { code: string }) {
  const title = isProblemCode(props.code) ? problems[props.code].title : undefined
  return (
    <>
      <code>{props.code}</code>
      {title !== undefined && (
        <>
          {' '}
          <a href={`/problems/${props.code}`} lang="en">
            {title}
          </a>
        </>
      )}
    </>
  )
}

function ExchangeDetails(props: { lang: Lang; catalog: Catalog; record: ExchangeAuditRecord }) {
  const { lang, catalog, record: r } = props
  const fields = (keys: readonly string[]) =>
    keys.length === 0
      ? '—'
      : keys
          .map((k) => {
            const name = r.resource === undefined ? undefined : catalog.resources.get(r.resource)?.fieldsByKey.get(k)
            return name === undefined ? k : `${name.name}（${k}）`
          })
          .join('、')
  const section = (key: Parameters<typeof at>[1], rows: readonly Row[]) => (
    <section class="card audit" aria-labelledby={`${key}-heading`}>
      <h2 id={`${key}-heading`}>{at(lang, key)}</h2>
      <Rows id={`record-${key}`} rows={rows} />
    </section>
  )
  return (
    <>
      <div class="record-grid">
        {section('who', [
          [at(lang, 'dept'), named(catalog.departments, r.requester.dept)],
          [at(lang, 'officer'), r.requester.sub],
          [at(lang, 'clientId'), r.requester.clientId],
          [at(lang, 'tokenId'), r.requester.tokenId],
        ])}
        {section('why', [
          [at(lang, 'matter'), named(catalog.matters, r.matter)],
          [at(lang, 'case'), r.case],
        ])}
      </div>
      {section('what', [
        [at(lang, 'resource'), named(catalog.resources, r.resource)],
        [at(lang, 'provider'), named(catalog.departments, r.provider)],
        [at(lang, 'action'), r.action === undefined ? undefined : at(lang, `action.${r.action}`)],
        [at(lang, 'fieldsReleased'), fields(r.fields)],
        [at(lang, 'maskedFields'), fields(r.masked)],
        [at(lang, 'recordCount'), String(r.recordCount)],
        [
          at(lang, 'subjects'),
          r.subjects === undefined
            ? undefined
            : at(lang, 'subjectsCount').replace('{count}', String(r.subjects.length)),
        ],
      ])}
      {(r.bundle !== undefined || r.bundleItems !== undefined) &&
        section('bundle', [
          [at(lang, 'bundleOf'), r.bundle === undefined ? undefined : <RecordLink id={r.bundle} linkId="bundle-of" />],
          [
            at(lang, 'bundleItems'),
            r.bundleItems === undefined ? undefined : <BundleItems lang={lang} ids={r.bundleItems} />,
          ],
        ])}
      <div class="record-grid">
        {section('how', [
          [at(lang, 'decision'), at(lang, `decision.${r.decision}`)],
          [at(lang, 'reason'), <ReasonCode code={r.reason} />],
          [at(lang, 'status'), String(r.status)],
          [at(lang, 'upstreamCode'), r.upstreamCode],
          [at(lang, 'approvalRef'), r.approvalRef],
          [at(lang, 'replayOf'), r.replayOf === undefined ? undefined : <RecordLink id={r.replayOf} />],
          [at(lang, 'timing'), `${r.upstreamMs ?? '—'} / ${r.totalMs}`],
        ])}
        {section('record', [
          [at(lang, 'recordId'), <code id="record-id">{r.id}</code>],
          [at(lang, 'time'), beijingSeconds(r.time)],
          [at(lang, 'timeUtc'), r.time],
          [at(lang, 'requestId'), r.requestId],
          [at(lang, 'catalogVersion'), r.catalogVersion],
          [
            at(lang, 'paramsDigest'),
            r.paramsDigest === undefined ? undefined : <code class="hash">{r.paramsDigest}</code>,
          ],
          [
            at(lang, 'idempotencyKeyDigest'),
            r.idempotencyKeyDigest === undefined ? undefined : <code class="hash">{r.idempotencyKeyDigest}</code>,
          ],
          [at(lang, 'traceId'), r.traceId],
        ])}
      </div>
    </>
  )
}

/** A link to another record's page, its id as the text (what the auditor compares with a receipt or an export). */
function RecordLink(props: { id: string; linkId?: string }) {
  return (
    <a href={`/console/audit/records/${encodeURIComponent(props.id)}`} id={props.linkId}>
      <code>{props.id}</code>
    </a>
  )
}

/** A bundle's items, in the matter's order, each a link to its record. */
function BundleItems(props: { lang: Lang; ids: readonly string[] }) {
  if (props.ids.length === 0) return <>{at(props.lang, 'bundleNoItems')}</>
  return (
    <ol id="bundle-items">
      {props.ids.map((id) => (
        <li>
          <RecordLink id={id} />
        </li>
      ))}
    </ol>
  )
}

function AdminDetails(props: { lang: Lang; record: AdminAuditRecord }) {
  const { lang, record: r } = props
  return (
    <section class="card audit" aria-labelledby="admin-heading">
      <h2 id="admin-heading">{`${at(lang, 'adminAction')}：${r.action}`}</h2>
      <Rows
        id="record-admin"
        rows={[
          [at(lang, 'recordId'), <code id="record-id">{r.id}</code>],
          [at(lang, 'time'), beijingSeconds(r.time)],
          [at(lang, 'timeUtc'), r.time],
          [at(lang, 'actor'), r.actor],
          [at(lang, 'adminOutcome'), r.outcome],
          [at(lang, 'requestId'), r.requestId],
        ]}
      />
      <h3>{at(lang, 'details')}</h3>
      <Rows
        rows={Object.entries(r.details).map(([key, value]): Row => [key, value === null ? 'null' : String(value)])}
      />
    </section>
  )
}

/** The receipt check's region: the script fills the steps and the verdict; the page says only what it will do. */
function Receipt(props: { lang: Lang; id: string; keys: string }) {
  const { lang } = props
  const texts: Record<string, string> = {
    'data-text-verified': at(lang, 'receiptVerified'),
    'data-text-failed': at(lang, 'receiptFailed'),
    'data-text-failed-at': at(lang, 'receiptFailedAt'),
    'data-text-unsupported': at(lang, 'receiptUnsupported'),
    'data-text-sm3': at(lang, 'receiptSm3'),
    'data-text-sm2': at(lang, 'receiptSm2'),
    'data-text-no-crypto': at(lang, 'receiptNoCrypto'),
    'data-text-no-proof': at(lang, 'receiptNoProof'),
    'data-text-step-passed': at(lang, 'stepPassed'),
    'data-text-step-failed': at(lang, 'stepFailed'),
    'data-text-step-skipped': at(lang, 'stepSkipped'),
    'data-text-leaf-mismatch': at(lang, 'leafMismatch'),
    'data-text-root-mismatch': at(lang, 'rootMismatch'),
    'data-text-signature-bad': at(lang, 'signatureBad'),
  }
  const steps = [
    ['leaf', at(lang, 'stepLeaf')],
    ['path', at(lang, 'stepPath')],
    ['signature', at(lang, 'stepSignature')],
  ] as const
  return (
    <section
      class="card audit"
      id="receipt"
      aria-labelledby="receipt-heading"
      data-receipt-proof={`/console/audit/records/${encodeURIComponent(props.id)}/proof.json`}
      data-record-id={props.id}
      data-audit-keys={props.keys}
      {...texts}
    >
      <h2 id="receipt-heading">{at(lang, 'receiptTitle')}</h2>
      <p class="muted">{at(lang, 'receiptIntro')}</p>
      <p id="receipt-status" role="status" aria-live="polite" class="warn">
        {at(lang, 'receiptChecking')}
      </p>
      <ol class="steps">
        {steps.map(([step, name]) => (
          <li data-step={step}>
            <span class="step-name">{name}</span>：<span class="step-result">…</span>
            <br />
            <code class="step-detail hash" />
          </li>
        ))}
      </ol>
      <p class="muted">
        {at(lang, 'verifyOffline')}: <code>qiao audit verify</code>
      </p>
      <script src={ASSETS['receipt-verify.js']?.path} defer />
    </section>
  )
}
