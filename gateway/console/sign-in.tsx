/** @jsxImportSource hono/jsx */
import { AUDIT_READ_SCOPE, exchangeScope, OPS_READ_SCOPE } from '../auth/principal.js'
import type { Catalog } from '../catalog/types.js'
import { CATALOG_ADMIN_SCOPE } from '../routes/operations.js'
import { SHARING_ADMIN_SCOPE, SHARING_APPLY_SCOPE, SHARING_REVIEW_SCOPE } from '../sharing/service.js'
import { t, tOf } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'
import type { ConsoleRole } from './session.js'

/**
 * Demo mode's built-in sign-in: pick a department and one role; the console mints that demo officer a token with
 * the dev key, exactly the scopes of the role, and uses it for every page like any API client.
 */

export const ROLES: readonly ConsoleRole[] = ['applicant', 'reviewer', 'authority', 'auditor', 'operator']
/** The data-sharing authority's department: only it may take the 数据局 role. */
export const AUTHORITY_DEPT = 'data'

export function isRole(value: unknown): value is ConsoleRole {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/** Why this department may not take this role, or undefined when it may. */
export function roleProblem(role: ConsoleRole, dept: string): 'authorityOnlyData' | undefined {
  return role === 'authority' && dept !== AUTHORITY_DEPT ? 'authorityOnlyData' : undefined
}

/** The token's scopes: the role's, and for a requesting department the exchange scopes of its grants too. */
export function scopesFor(role: ConsoleRole, dept: string, catalog: Catalog): string[] {
  if (role !== 'applicant') return roleScopes(role)
  const exchange = new Set<string>()
  for (const g of catalog.grants.values()) {
    if (g.consumer === dept) exchange.add(exchangeScope(g.matter, g.resource, g.action))
  }
  return [...roleScopes(role), ...[...exchange].sort()]
}

/** The scopes that make a token this role's (what an identity provider must grant for it; no exchange scopes). */
export function roleScopes(role: ConsoleRole): string[] {
  switch (role) {
    case 'applicant':
      return [SHARING_APPLY_SCOPE]
    case 'reviewer':
      return [SHARING_REVIEW_SCOPE]
    case 'authority':
      return [SHARING_ADMIN_SCOPE]
    case 'auditor':
      return [AUDIT_READ_SCOPE]
    case 'operator':
      return [OPS_READ_SCOPE, CATALOG_ADMIN_SCOPE]
  }
}

export function SignInPage(props: {
  view: View
  catalog: Catalog
  dept?: string
  role?: string
  problem?: 'authorityOnlyData' | 'chooseDepartment' | 'chooseRole'
}) {
  const { view, catalog } = props
  const { lang } = view
  return (
    <Page view={view} title={t(lang, 'signInTitle')}>
      <p>{t(lang, 'signInIntro')}</p>
      {props.problem !== undefined && (
        <div class="summary" role="alert" tabindex={-1} data-focus="">
          <p id="sign-in-error">{t(lang, props.problem)}</p>
        </div>
      )}
      <form method="post" action="/console/sign-in">
        <CsrfField view={view} />
        <label for="dept">{t(lang, 'department')}</label>
        <select id="dept" name="dept">
          {[...catalog.departments.values()].map((d) => (
            <option value={d.code} selected={d.code === props.dept}>
              {d.shortName === undefined ? d.name : `${d.shortName} · ${d.name}`}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>{t(lang, 'role')}</legend>
          {ROLES.map((role) => (
            <>
              <input
                type="radio"
                id={`role-${role}`}
                name="role"
                value={role}
                checked={role === (props.role ?? 'applicant')}
              />
              <label for={`role-${role}`}>{tOf(lang, 'role', role)}</label>
            </>
          ))}
        </fieldset>
        <p>
          <button type="submit">{t(lang, 'signIn')}</button>
        </p>
      </form>
    </Page>
  )
}
