/**
 * The console's texts: zh-CN first, English on request (`?lang=en`, kept in the session). One table, so that a
 * text missing in one language is a type error rather than a blank on the page.
 */

export type Lang = 'zh-CN' | 'en'

export function langOf(value: string | undefined): Lang | undefined {
  if (value === 'en') return 'en'
  if (value === 'zh' || value === 'zh-CN') return 'zh-CN'
  return undefined
}

const TEXTS = {
  console: ['桥 · 数据共享控制台', 'Qiao · data-sharing console'],
  skip: ['跳到正文', 'Skip to content'],
  otherLang: ['English', '中文'],
  catalog: ['目录', 'Catalog'],
  myApplications: ['我的申请', 'My applications'],
  signOut: ['退出', 'Sign out'],
  signIn: ['登录', 'Sign in'],
  signInTitle: ['演示登录', 'Demo sign-in'],
  signInIntro: [
    '演示模式：选择一个部门和一个角色，以该部门演示工作人员的身份登录。每次登录只有一个角色（职责分离）。',
    'Demo mode: pick a department and a role to sign in as a demo officer of it. One role per sign-in (separation of duties).',
  ],
  department: ['部门', 'Department'],
  role: ['角色', 'Role'],
  'role.applicant': ['办事部门', 'Requesting department'],
  'role.reviewer': ['数源部门审核', 'Provider review'],
  'role.authority': ['数据局', 'Data authority'],
  'role.auditor': ['审计', 'Audit'],
  'role.operator': ['运维', 'Operations'],
  authorityOnlyData: ['数据局角色只属于数据局。', 'The data-authority role belongs to 数据局 only.'],
  chooseDepartment: ['请选择部门。', 'Choose a department.'],
  chooseRole: ['请选择角色。', 'Choose a role.'],
  notConfiguredTitle: ['尚未配置登录', 'Sign-in is not configured yet'],
  notConfigured: [
    '控制台的登录（OIDC）尚未配置；目前只有演示模式（qiao demo）提供内置的演示登录。接口文档见 /docs。',
    'Console sign-in (OIDC) is not configured yet; only demo mode (qiao demo) has the built-in demo sign-in. The API reference is at /docs.',
  ],
  search: ['搜索', 'Search'],
  searchLabel: ['按名称、代码或信息项搜索', 'Search by name, code or field'],
  results: ['条资源', 'resources'],
  noResults: ['没有符合的资源。', 'No resource matches.'],
  provider: ['数源部门', 'Provider'],
  sharingType: ['共享属性', 'Sharing type'],
  'sharing.unconditional': ['无条件共享', 'Unconditional'],
  'sharing.conditional': ['有条件共享', 'Conditional'],
  'sharing.none': ['不予共享', 'Not shared'],
  condition: ['共享条件', 'Condition'],
  legalBasis: ['使用依据', 'Legal basis'],
  sharingLegalBasis: ['共享依据', 'Basis'],
  fields: ['信息项', 'Fields'],
  fieldKey: ['字段', 'Key'],
  fieldName: ['名称', 'Name'],
  sensitivity: ['敏感级别', 'Sensitivity'],
  'sensitivity.public': ['公开', 'public'],
  'sensitivity.internal': ['内部', 'internal'],
  'sensitivity.personal': ['个人信息', 'personal'],
  'sensitivity.sensitive-personal': ['敏感个人信息', 'sensitive personal'],
  mask: ['脱敏规则', 'Mask rule'],
  noMask: ['—', '—'],
  matters: ['使用该资源的事项', 'Matters using it'],
  noMatters: ['暂无事项使用。', 'No matter uses it yet.'],
  apiDocs: ['接口文档', 'API reference'],
  apply: ['申请共享', 'Apply for it'],
  applyTitle: ['共享申请', 'Sharing application'],
  resource: ['资源', 'Resource'],
  matter: ['事项', 'Matter'],
  mode: ['共享方式', 'Mode'],
  'mode.query': ['接口查询', 'Query'],
  'mode.write-back': ['结果回传', 'Write-back'],
  usage: ['共享用途', 'Usage'],
  fieldsWanted: ['申请的信息项', 'Fields wanted'],
  clear: ['明文', 'clear'],
  masked: ['脱敏', 'masked'],
  notWanted: ['不申请', 'not wanted'],
  scene: ['使用场景', 'Scene'],
  scopeOfUse: ['使用范围', 'Scope of use'],
  validTo: ['使用时限（截止日期）', 'Valid to (last day)'],
  contactName: ['联系人', 'Contact name'],
  contactPhone: ['联系电话', 'Contact phone'],
  contactEmail: ['电子邮箱（可选）', 'E-mail (optional)'],
  submit: ['提交申请', 'Submit'],
  errorSummary: [
    '申请有以下问题，请修改后重新提交：',
    'The application has these problems; correct them and submit again:',
  ],
  required: ['此项必填', 'is required'],
  state: ['状态', 'State'],
  'state.conformity-check': ['待合规审查', 'Conformity check'],
  'state.awaiting-applicant': ['待补正', 'Awaiting the applicant'],
  'state.provider-review': ['待数源部门审核', 'Provider review'],
  'state.approved': ['已批准', 'Approved'],
  'state.refused': ['未通过', 'Refused'],
  'state.withdrawn': ['已撤回', 'Withdrawn'],
  dueDate: ['办理期限', 'Due date'],
  daysLeft: ['剩余工作日', 'Working days left'],
  paused: ['已暂停（等待补正）', 'paused (awaiting the applicant)'],
  notices: ['待答复告知', 'Notices to answer'],
  submittedAt: ['提交时间', 'Submitted'],
  noApplications: ['尚无申请。', 'No applications yet.'],
  newApplication: ['去目录选择资源申请', 'Pick a resource in the catalog to apply'],
  history: ['办理记录', 'History'],
  at: ['时间', 'Time'],
  actor: ['操作人', 'By'],
  step: ['环节', 'Step'],
  decision: ['结论', 'Decision'],
  reason: ['理由', 'Reason'],
  forbiddenTitle: ['无权访问', 'Not allowed'],
  forbidden: ['当前角色不能打开此页面。', 'Your role may not open this page.'],
  csrfTitle: ['请求被拒绝', 'Request refused'],
  csrf: [
    '该表单请求无法确认来自本控制台（缺少或不匹配的校验码，或来自其他站点）。请从控制台页面重新提交。',
    'This form request could not be confirmed as coming from this console (missing or wrong token, or another site). Submit it again from the console page.',
  ],
  notFoundTitle: ['页面不存在', 'Page not found'],
  errorTitle: ['出错了', 'Something went wrong'],
  signedInAs: ['当前身份', 'Signed in as'],
  navMyGrants: ['我的授权', 'My grants'],
  navMyUsage: ['使用情况', 'My usage'],
  navReviewInbox: ['待审申请', 'Review inbox'],
  navProviderGrants: ['已发授权', 'Grants given'],
  navProviderUsage: ['谁在使用', 'Who uses my data'],
  navConformityInbox: ['合规审查', 'Conformity checks'],
  navAuditSearch: ['访问查询', 'Access search'],
  navAuditDashboard: ['统计图表', 'Dashboards'],
  navOperations: ['运行状态', 'Operations'],
} as const satisfies Record<string, readonly [string, string]>

export type TextKey = keyof typeof TEXTS

/** One area's texts (`[zh-CN, en]` per key): each page module keeps its own table beside it. */
export type TextTable = Readonly<Record<string, readonly [string, string]>>

/** The lookup for one area's table, typed by its keys like `t` is by the shared table's. */
export function textsFor<T extends TextTable>(table: T): (lang: Lang, key: keyof T & string) => string {
  return (lang, key) => {
    const [zh, en] = table[key] as readonly [string, string]
    return lang === 'en' ? en : zh
  }
}

export function t(lang: Lang, key: TextKey): string {
  const [zh, en] = TEXTS[key]
  return lang === 'en' ? en : zh
}

/** A text chosen by a value (`state.<state>`, `sharing.<type>`…); the raw value when the table has none. */
export function tOf(lang: Lang, prefix: string, value: string): string {
  const key = `${prefix}.${value}`
  return key in TEXTS ? t(lang, key as TextKey) : value
}
