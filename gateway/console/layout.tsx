/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import { ASSETS } from './assets.js'
import { CSRF_FIELD } from './csrf.js'
import { type Lang, type TextKey, t, tOf } from './i18n.js'
import type { ConsoleRole, ConsoleSession } from './session.js'

/** What every page knows about who is looking: the language, and the session (with its CSRF token) if any. */
export interface View {
  readonly lang: Lang
  readonly session: ConsoleSession | undefined
  /** The department's name as the catalog gives it, for the header. */
  readonly deptName?: string
  /** This page's path and query, for the language switch. */
  readonly here: string
}

/** Each role's menu: the pages its modules register (one role per session, so one menu). */
const NAV: Readonly<Record<ConsoleRole, readonly (readonly [string, TextKey])[]>> = {
  applicant: [
    ['/console/catalog', 'catalog'],
    ['/console/applications', 'myApplications'],
    ['/console/grants', 'navMyGrants'],
    ['/console/usage', 'navMyUsage'],
  ],
  reviewer: [
    ['/console/catalog', 'catalog'],
    ['/console/review', 'navReviewInbox'],
    ['/console/provider/grants', 'navProviderGrants'],
    ['/console/provider/usage', 'navProviderUsage'],
  ],
  authority: [
    ['/console/catalog', 'catalog'],
    ['/console/conformity', 'navConformityInbox'],
  ],
  auditor: [
    ['/console/audit', 'navAuditSearch'],
    ['/console/audit/dashboard', 'navAuditDashboard'],
  ],
  operator: [['/console/ops', 'navOperations']],
}

/** Where a role lands after sign-in: its work list. */
export function homeOf(role: ConsoleRole): string {
  const home: Record<ConsoleRole, string> = {
    applicant: '/console/applications',
    reviewer: '/console/review',
    authority: '/console/conformity',
    auditor: '/console/audit',
    operator: '/console/ops',
  }
  return home[role]
}

export function CsrfField(props: { view: View }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.view.session?.csrf ?? ''} />
}

/** The language switch keeps the page: the same path and query with `lang` set to the other language. */
function switchHref(here: string, lang: Lang): string {
  const url = new URL(here, 'http://console.invalid')
  url.searchParams.set('lang', lang === 'en' ? 'zh-CN' : 'en')
  return `${url.pathname}${url.search}`
}

export function Page(props: { view: View; title: string; children?: Child }) {
  const { view } = props
  const user = view.session?.user
  const lang = view.lang
  return (
    <html lang={lang} data-echarts={ASSETS['echarts.js']?.path}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${t(lang, 'console')}`}</title>
        <link rel="stylesheet" href={ASSETS['console.css']?.path} />
        <script src={ASSETS['console.js']?.path} defer />
      </head>
      <body>
        <a class="skip" href="#main">
          {t(lang, 'skip')}
        </a>
        <header>
          <strong>{t(lang, 'console')}</strong>
          <nav aria-label={t(lang, 'console')}>
            {(user === undefined ? [] : (NAV[user.role] ?? [])).map(([href, key]) => (
              <a href={href} aria-current={view.here.split('?')[0] === href ? 'page' : undefined}>
                {t(lang, key)}
              </a>
            ))}
            <a href="/docs">{t(lang, 'apiDocs')}</a>
          </nav>
          <a href={switchHref(view.here, lang)} lang={lang === 'en' ? 'zh-CN' : 'en'}>
            {t(lang, 'otherLang')}
          </a>
          {user !== undefined && (
            <>
              <span class="muted">
                {t(lang, 'signedInAs')}: {view.deptName ?? user.dept} · {tOf(lang, 'role', user.role)}
              </span>
              <form method="post" action="/console/sign-out">
                <CsrfField view={view} />
                <button type="submit" class="link">
                  {t(lang, 'signOut')}
                </button>
              </form>
            </>
          )}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  )
}

/** A page that only says something: 403, 404, a refused form, sign-in not configured. */
export function MessagePage(props: { view: View; title: string; message: string }) {
  return (
    <Page view={props.view} title={props.title}>
      <p>{props.message}</p>
    </Page>
  )
}
