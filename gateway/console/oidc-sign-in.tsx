/** @jsxImportSource hono/jsx */
import { textsFor, tOf } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'
import { SIGN_IN_PATH, type SignInFailure } from './oidc-client.js'
import { ROLES } from './sign-in.js'

/** The pages of OIDC sign-in: the role form, the hop back from the provider, and one page per failure. */

const text = textsFor({
  title: ['登录', 'Sign in'],
  intro: [
    '选择本次登录的角色，然后在统一身份认证平台登录。您所在的部门和可担任的角色由身份认证平台确定；每次登录只有一个角色（职责分离）。',
    'Choose the role for this sign-in, then sign in at the identity provider, which says which department you belong to and which roles you may take. One role per sign-in (separation of duties).',
  ],
  role: ['本次登录的角色', 'Role for this sign-in'],
  submit: ['前往统一身份认证登录', 'Sign in at the identity provider'],
  chooseRole: ['请选择一个角色。', 'Choose a role.'],
  resumingTitle: ['正在完成登录', 'Completing sign-in'],
  resuming: [
    '正在返回控制台。页面没有自动跳转时，请选择“继续”。',
    'Returning to the console. If nothing happens, choose “Continue”.',
  ],
  continue: ['继续', 'Continue'],
  failedTitle: ['登录未完成', 'Sign-in not completed'],
  again: ['重新登录', 'Sign in again'],
  'failure.idp-unreachable': [
    '暂时无法连接统一身份认证平台，请稍后再试。问题持续时请联系运维人员。',
    'The identity provider cannot be reached right now; try again later. If this persists, tell the operators.',
  ],
  'failure.sign-in-expired': [
    '没有找到进行中的登录，或登录已超时（10 分钟）。请从登录页重新开始。',
    'No sign-in is under way in this browser, or it took longer than 10 minutes. Start again from the sign-in page.',
  ],
  'failure.state-mismatch': [
    '返回的登录结果与本浏览器发起的登录不符（state 不一致），已拒绝。请从登录页重新开始。',
    'The sign-in result does not answer the sign-in this browser started (state mismatch) and was refused. Start again from the sign-in page.',
  ],
  'failure.idp-refused': [
    '统一身份认证平台没有同意这次登录（例如登录被取消）。',
    'The identity provider did not allow this sign-in (for example, it was cancelled).',
  ],
  'failure.code-rejected': [
    '统一身份认证平台不再接受这次登录的授权码（已过期或已使用）。请重新登录。',
    'The identity provider no longer accepts this sign-in’s authorization code (expired or already used). Sign in again.',
  ],
  'failure.client-refused': [
    '统一身份认证平台拒绝了控制台的请求（客户端配置问题），请联系运维人员。',
    'The identity provider refused the console’s request (a client configuration problem); tell the operators.',
  ],
  'failure.response-invalid': [
    '统一身份认证平台的应答未通过校验（ID 令牌或应答参数不符），已拒绝。',
    'The identity provider’s answer failed verification (ID token or response parameters) and was refused.',
  ],
  'failure.token-refused': [
    '统一身份认证平台签发的访问令牌不被本网关接受（签发方、受众、算法或有效期不符），请联系运维人员。',
    'This gateway does not accept the access token the identity provider issued (issuer, audience, algorithm or lifetime); tell the operators.',
  ],
  'failure.department-unknown': [
    '统一身份认证平台给出的部门不在本网关的目录中。',
    'The department the identity provider names is not in this gateway’s catalog.',
  ],
  'failure.role-not-granted': [
    '统一身份认证平台没有授予您所选的角色。请选择您可担任的角色重新登录。',
    'The identity provider did not grant you the role you chose. Sign in again with a role you may take.',
  ],
} as const)

/** The role form; `chosen` is the role checked (none after a form without one). */
export function OidcSignInPage(props: { view: View; chosen?: string; problem?: 'chooseRole' }) {
  const { view } = props
  const { lang } = view
  const chosen = props.chosen ?? 'applicant'
  return (
    <Page view={view} title={text(lang, 'title')}>
      <p>{text(lang, 'intro')}</p>
      {props.problem !== undefined && (
        <div class="summary" role="alert" tabindex={-1} data-focus="">
          <p id="role-error">{text(lang, props.problem)}</p>
        </div>
      )}
      <form method="post" action={SIGN_IN_PATH}>
        <CsrfField view={view} />
        <fieldset aria-describedby={props.problem === undefined ? undefined : 'role-error'}>
          <legend>{text(lang, 'role')}</legend>
          {ROLES.map((role) => (
            <>
              <input type="radio" id={`role-${role}`} name="role" value={role} checked={role === chosen} />
              <label for={`role-${role}`}>{tOf(lang, 'role', role)}</label>
            </>
          ))}
        </fieldset>
        <p>
          <button type="submit">{text(lang, 'submit')}</button>
        </p>
      </form>
    </Page>
  )
}

/**
 * The provider's redirect back is a navigation another site started, so the browser leaves the SameSite=Strict
 * session cookie off it; this page sends the browser on to the same callback from this site (a `Refresh` header,
 * and a link), which carries the cookie.
 */
export function ResumingPage(props: { view: View; href: string }) {
  const { lang } = props.view
  return (
    <Page view={props.view} title={text(lang, 'resumingTitle')}>
      <p>{text(lang, 'resuming')}</p>
      <p>
        <a id="resume" href={props.href}>
          {text(lang, 'continue')}
        </a>
      </p>
    </Page>
  )
}

export function SignInFailedPage(props: { view: View; failure: SignInFailure }) {
  const { lang } = props.view
  return (
    <Page view={props.view} title={text(lang, 'failedTitle')}>
      <p id="sign-in-failure" data-failure={props.failure}>
        {text(lang, `failure.${props.failure}`)}
      </p>
      <p>
        <a href={SIGN_IN_PATH}>{text(lang, 'again')}</a>
      </p>
    </Page>
  )
}
