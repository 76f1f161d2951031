import { SHARING_TYPE_NAMES, UPDATE_CYCLE_NAMES } from '../catalog/export/national.js'
import type { MaskRuleName, Sensitivity, SharingType, UpdateCycle } from '../catalog/types.js'

/**
 * The words of the OpenAPI document in each language. Only prose changes with `lang`: paths, keys, schemas, tag
 * names and operation ids are the same in both, so a client generated from either is the same client.
 */
export type Lang = 'zh' | 'en'

export interface Texts {
  readonly publicTitle: string
  readonly departmentTitle: (name: string, code: string) => string
  readonly publicIntro: string
  readonly departmentIntro: (name: string) => string
  readonly common: string
  readonly catalogVersion: (version: string) => string
  readonly sensitivity: Readonly<Record<Sensitivity, string>>
  readonly sharing: Readonly<Record<SharingType, string>>
  readonly cycle: Readonly<Record<UpdateCycle, string>>
  readonly maskRule: Readonly<Record<MaskRuleName, string>>
  readonly resourceTag: (summary: string, provider: string, sharing: string, cycle: string) => string
  readonly fieldTable: readonly [key: string, name: string, sensitivity: string, mask: string]
  readonly applyTag: string
  readonly applyEntry: (id: string, name: string, provider: string, sharing: string, mode: string) => string
  readonly grantEnded: (matter: string, day: string) => string
  readonly grantStarts: (matter: string, day: string) => string
  readonly noApply: string
  readonly notSharedTag: string
  readonly notSharedEntry: (id: string, name: string, reason: string) => string
  readonly noneNotShared: string
  readonly querySummary: (name: string) => string
  readonly writeSummary: (name: string) => string
  readonly publicOperation: (scopePattern: string) => string
  readonly grantLine: (matter: string, name: string, scope: string, fields: string, masked: string) => string
  readonly writeGrantLine: (matter: string, name: string, scope: string) => string
  readonly validity: (from: string, to: string) => string
  readonly none: string
  readonly matterHeader: string
  readonly publicMatterHeader: string
  readonly caseHeader: string
  readonly idempotencyHeader: string
  readonly requestBody: string
  readonly writeBody: string
  readonly readOk: (cardinality: 'one' | 'many') => string
  readonly writeOk: string
  readonly auditIdHeader: string
  readonly replayedHeader: string
  readonly problemResponse: (codes: string) => string
  readonly masked: (rule: string, form: string) => string
  readonly maybeMasked: (rule: string, form: string) => string
  readonly publicRecord: string
  readonly exampleSummary: (params: string) => string
  readonly routes: {
    readonly catalog: string
    readonly applicationsList: string
    readonly applicationsCreate: string
    readonly grantsList: string
    readonly usage: string
    readonly subjectAccesses: string
    readonly evidence: (matter: string, items: string) => string
    readonly evidenceTag: string
    readonly problem: string
    readonly openapi: string
    readonly catalogTag: string
    readonly sharingTag: string
    readonly subscriptionsTag: string
    readonly subscriptionsList: string
    readonly subscriptionsCreate: string
    readonly subscriptionGet: string
    readonly subscriptionDelete: string
    readonly subscriptionEvents: string
    readonly problemsTag: string
  }
}

const zh: Texts = {
  publicTitle: 'Qiao 数据共享交换网关（公开目录视图）',
  departmentTitle: (name, code) => `Qiao 数据共享交换网关：${name}（${code}）可调用的接口`,
  publicIntro:
    '共享目录中每个可共享资源的接口、参数和信息项（含敏感级别与脱敏规则）。未带令牌请求时返回本视图；带本部门令牌请求 ' +
    '`GET /v1/openapi.json` 得到本部门按授权裁剪的视图（只含已授权的接口和信息项）。',
  departmentIntro: (name) =>
    `${name}持有授权的接口：每个接口的响应只含授权放行的信息项，脱敏项标注 \`x-qiao-masked\`。` +
    '尚未授权的可共享资源列在标签“可申请 / Can apply for”下，通过 `POST /v1/applications` 申请。',
  common:
    '每次交换调用须带 `Authorization: Bearer <令牌>`（scope 为 `<事项编码>:<资源>:<read|write>`）、`Qiao-Matter`（办理事项编码）' +
    '和 `Qiao-Case`（办件编号）；写入另须 `Idempotency-Key`。错误按 RFC 9457 返回 `application/problem+json`，`code` 为稳定的问题代码，' +
    '含义见 `GET /problems/{code}`。',
  catalogVersion: (version) => `目录版本 ${version}。`,
  sensitivity: { public: '公开', internal: '内部', personal: '个人信息', 'sensitive-personal': '敏感个人信息' },
  // The catalog exports' Chinese names (编制指南), so both publications say the same.
  sharing: SHARING_TYPE_NAMES,
  cycle: UPDATE_CYCLE_NAMES,
  maskRule: {
    idcard: '身份证件号码',
    phone: '手机号码',
    landline: '固定电话',
    name: '姓名',
    address: '地址',
    bankcard: '银行卡号',
    email: '电子邮箱',
    keep: '保留首尾',
    redact: '整体隐去',
  },
  resourceTag: (summary, provider, sharing, cycle) =>
    `${summary}\n\n提供部门：${provider}；共享类型：${sharing}；更新周期：${cycle}。`,
  fieldTable: ['键', '信息项', '敏感级别', '脱敏规则'],
  applyTag:
    '本部门可以申请、尚未获得授权的可共享资源。申请：`POST /v1/applications`（scope `sharing:apply`），见 `x-qiao-apply`。',
  applyEntry: (id, name, provider, sharing, mode) =>
    `\`${id}\` ${name}（${provider}，${sharing}，申请方式 \`${mode}\`）`,
  grantEnded: (matter, day) => `事项 ${matter} 下的授权已于 ${day} 到期，须续期或重新申请`,
  grantStarts: (matter, day) => `事项 ${matter} 下的授权自 ${day} 起生效`,
  noApply: '（无）',
  notSharedTag: '列入目录但不予共享的资源：没有可调用的接口，也不能申请。',
  notSharedEntry: (id, name, reason) => `\`${id}\` ${name}：${reason}`,
  noneNotShared: '（无）',
  querySummary: (name) => `查询${name}`,
  writeSummary: (name) => `${name}（写入）`,
  publicOperation: (scopePattern) =>
    `须持有授权本部门该操作的办理事项，令牌 scope 为 \`${scopePattern}\`；响应只含授权放行的信息项。`,
  grantLine: (matter, name, scope, fields, masked) =>
    `- 事项 \`${matter}\` ${name}：scope \`${scope}\`；明文信息项：${fields}；脱敏信息项：${masked}`,
  writeGrantLine: (matter, name, scope) => `- 事项 \`${matter}\` ${name}：scope \`${scope}\``,
  validity: (from, to) => `（授权有效期 ${from} 至 ${to}）`,
  none: '无',
  matterHeader: '办理事项编码：授权本部门此操作的事项之一。',
  publicMatterHeader: '办理事项编码：授权调用部门此操作的事项。',
  caseHeader:
    '办件编号：1–64 个字母、数字或 `._-()[]（）〔〕【】`。请求头只能是 ASCII，中文按 UTF-8 百分号编码发送，' +
    "如 `UTF-8''%E5%AE%81%E5%BB%BA-2026-001`（宁建-2026-001）。",
  idempotencyHeader:
    '幂等键：1–128 个可见 ASCII 字符。同一键重试得到首次的应答，不会重复投递；同一键换了请求体为 409。',
  requestBody: '查询参数（JSON 对象），按资源的请求 JSON Schema 校验。',
  writeBody: '要投递的记录（JSON 对象），按资源的写入 JSON Schema 校验。',
  readOk: (cardinality) =>
    cardinality === 'one'
      ? '找到的记录（`data` 为只含一条记录的数组）及其说明（`meta`）；无记录为 404 record-not-found。'
      : '找到的记录（`data` 为记录数组，可能为空）及其说明（`meta`）。',
  writeOk:
    '已投递：提供方的回执（`data`）及其说明（`meta`）。重试（同一 `Idempotency-Key`）得到首次的应答，带 `Idempotent-Replayed: true`。',
  auditIdHeader: '本次调用的审计记录编号。',
  replayedHeader: '为 `true` 时，这是首次请求的应答（幂等重放）。',
  problemResponse: (codes) => `问题代码：${codes}。`,
  masked: (rule, form) =>
    `脱敏放行（${rule}规则，形如 \`${form}\`）：值不再符合原格式；非字符串值整体替换为 \`****\`。`,
  maybeMasked: (rule, form) => `按授权明文放行，或脱敏放行（${rule}规则，形如 \`${form}\`）。`,
  publicRecord: '一条记录。实际应答只含调用所依授权放行的信息项。',
  exampleSummary: (params) => `按 ${params} 查询`,
  routes: {
    catalog: '共享目录：部门、资源、事项及授权；`access` 列出本部门可做的操作及令牌是否带有相应 scope。',
    applicationsList: '本部门可见的共享申请，按时间倒序分页。',
    applicationsCreate: '申请共享一个资源（scope `sharing:apply`）。',
    grantsList: '现行授权（目录授权与申请批准的授权）。',
    usage:
      '本部门的共享使用情况，按北京时间逐日统计（from、to 均含，最长 92 天）：`view=consumer`（scope `sharing:apply`）为本部门的调用，' +
      '`view=provider`（scope `sharing:review`）为其他部门对本部门资源的调用；只有次数，不含经办人和数据主体。',
    subjectAccesses:
      '谁使用了我的数据：一家企业或一个人（`subject`：统一社会信用代码、公民身份号码或组织机构代码）的数据被哪个部门、为哪个事项、' +
      '从哪个资源读取或写入，按时间倒序分页；仅限受信任的门户（scope `usage:subject` 且 `client_id` 在 QIAO_SUBJECT_PORTAL_CLIENTS 中）。' +
      '不含经办人、办件编号和令牌；延迟公开的事项到期后才列出。',
    evidence: (matter, items) =>
      `一件事一次办：一次调用取得事项 ${matter} 一个办件所需的全部材料（${items}）。各项并行、各按本部门对该资源的授权放行和脱敏，` +
      '各有自己的时限和熔断；每项或给出数据，或给出自己的问题（无授权、提供方不可用、无记录）。全部有数据为 200，部分失败为 207，' +
      '从不因一个提供方失败而答 5xx。每项一条审计记录，另有一条记录关联全部各项。',
    evidenceTag: '一件事一次办：事项声明的材料，一次调用取得（README“一件事: evidence bundles”）。',
    problem: '问题代码的含义。',
    openapi: '本文档。未带令牌为公开视图；带令牌为本部门视图（无效令牌为 401）。',
    catalogTag: '共享目录与本文档。',
    sharingTag: '共享申请与授权（详见 README“Sharing workflow”）。',
    subscriptionsTag:
      '订阅资源的变更：按本部门授权投影、脱敏并审计后，以签名 webhook 推送或由拉取接口按游标读取（README“Subscriptions”）。',
    subscriptionsList: '本部门的订阅。',
    subscriptionsCreate:
      '订阅一个有变更源（`changes:`）的资源：需令牌带有 `<事项>:<资源>:read` 且本部门对该事项和资源有现行授权；' +
      '可按行政区划代码前缀（`filter.regions`）或业务编码（`filter.keys`，至多 1000 个）过滤。webhook 的签名密钥仅在本应答中出现一次。',
    subscriptionGet: '一个订阅的状态：是否暂停（及原因）、死信数、最近一个事件。',
    subscriptionDelete: '取消订阅，并丢弃其尚未读取的事件。',
    subscriptionEvents:
      '拉取接口：游标 `after` 之后保留的事件（不给则从最早的开始），`meta.next` 为下一次的 `after`；可从任一保留的游标重放。' +
      '授权被撤销或到期后答 409 `subscription-suspended`。',
    problemsTag: '问题代码（RFC 9457 `type`）。',
  },
}

const en: Texts = {
  publicTitle: 'Qiao data-sharing exchange (public catalog view)',
  departmentTitle: (name, code) => `Qiao data-sharing exchange: what ${name} (${code}) may call`,
  publicIntro:
    'The operations, parameters and fields (with sensitivity and mask rules) of every shareable resource of the ' +
    'catalog. Requested without a token you get this view; with a token of your department, `GET /v1/openapi.json` ' +
    'answers your department’s view, cut to its grants (only the operations and fields it is granted).',
  departmentIntro: (name) =>
    `The operations ${name} holds a grant for: each response holds only the fields its grant releases, masked ` +
    'ones marked `x-qiao-masked`. Shareable resources without a grant yet are listed under the tag ' +
    '"可申请 / Can apply for"; apply with `POST /v1/applications`.',
  common:
    'Every exchange call sends `Authorization: Bearer <token>` (scope `<matter>:<resource>:<read|write>`), ' +
    '`Qiao-Matter` (the matter code) and `Qiao-Case` (the case id); writes also `Idempotency-Key`. Problems are RFC ' +
    '9457 `application/problem+json` whose `code` is stable; `GET /problems/{code}` says what it means.',
  catalogVersion: (version) => `Catalog version ${version}.`,
  sensitivity: {
    public: 'public',
    internal: 'internal',
    personal: 'personal',
    'sensitive-personal': 'sensitive personal',
  },
  sharing: { unconditional: 'unconditional', conditional: 'conditional', none: 'not shared (不予共享)' },
  cycle: {
    realtime: 'real time',
    daily: 'daily',
    weekly: 'weekly',
    monthly: 'monthly',
    quarterly: 'quarterly',
    'half-yearly': 'half-yearly',
    yearly: 'yearly',
    irregular: 'irregular',
  },
  maskRule: {
    idcard: 'resident id',
    phone: 'mobile number',
    landline: 'landline',
    name: 'name',
    address: 'address',
    bankcard: 'bank card',
    email: 'e-mail',
    keep: 'keep ends',
    redact: 'redact',
  },
  resourceTag: (summary, provider, sharing, cycle) =>
    `${summary}\n\nProvider: ${provider}; sharing: ${sharing}; updated: ${cycle}.`,
  fieldTable: ['Key', 'Field', 'Sensitivity', 'Mask rule'],
  applyTag:
    'Shareable resources your department may apply for and holds no grant for yet. Apply with `POST /v1/applications` ' +
    '(scope `sharing:apply`); see `x-qiao-apply`.',
  applyEntry: (id, name, provider, sharing, mode) => `\`${id}\` ${name} (${provider}, ${sharing}, mode \`${mode}\`)`,
  grantEnded: (matter, day) => `the grant under matter ${matter} ended on ${day}: renew it or apply again`,
  grantStarts: (matter, day) => `the grant under matter ${matter} starts on ${day}`,
  noApply: '(none)',
  notSharedTag:
    'Resources listed in the catalog but not shared (不予共享): no operation calls them and none can be applied for.',
  notSharedEntry: (id, name, reason) => `\`${id}\` ${name}: ${reason}`,
  noneNotShared: '(none)',
  querySummary: (name) => `Query ${name}`,
  writeSummary: (name) => `${name} (write)`,
  publicOperation: (scopePattern) =>
    `Needs a matter that grants the calling department this action, and a token with scope \`${scopePattern}\`; ` +
    'the answer holds only the fields the grant releases.',
  grantLine: (matter, name, scope, fields, masked) =>
    `- matter \`${matter}\` ${name}: scope \`${scope}\`; in clear: ${fields}; masked: ${masked}`,
  writeGrantLine: (matter, name, scope) => `- matter \`${matter}\` ${name}: scope \`${scope}\``,
  validity: (from, to) => ` (grant valid ${from} to ${to})`,
  none: 'none',
  matterHeader: 'Matter code: one of the matters that grant your department this action.',
  publicMatterHeader: 'Matter code: a matter that grants the calling department this action.',
  caseHeader:
    'Case id: 1–64 letters, digits or `._-()[]（）〔〕【】`. Header values are ASCII: send Chinese characters ' +
    "percent-encoded as UTF-8, e.g. `UTF-8''%E5%AE%81%E5%BB%BA-2026-001` (宁建-2026-001).",
  idempotencyHeader:
    'Idempotency key: 1–128 visible ASCII characters. A retry with the same key gets the first answer without a ' +
    'second delivery; another body with that key is 409.',
  requestBody: 'The parameters (a JSON object), validated against the resource request JSON Schema.',
  writeBody: 'The record to deliver (a JSON object), validated against the resource write JSON Schema.',
  readOk: (cardinality) =>
    cardinality === 'one'
      ? 'The record found (`data` is an array of exactly one record) and what to account for it (`meta`); none is ' +
        '404 record-not-found.'
      : 'The records found (`data` is an array of records, possibly empty) and what to account for them (`meta`).',
  writeOk:
    'Delivered: the provider’s receipt (`data`) and `meta`. A retry with the same `Idempotency-Key` gets the first ' +
    'answer, with `Idempotent-Replayed: true`.',
  auditIdHeader: 'The audit record id of this call.',
  replayedHeader: '`true` when this is the first request’s answer (an idempotent replay).',
  problemResponse: (codes) => `Problem codes: ${codes}.`,
  masked: (rule, form) =>
    `Released masked (${rule} rule, in the form \`${form}\`): the value no longer has its original format; a ` +
    'non-string value is replaced by `****`.',
  maybeMasked: (rule, form) =>
    `Released in clear or masked, as the grant says (${rule} rule, in the form \`${form}\`).`,
  publicRecord: 'One record. An answer holds only the fields the grant of the call releases.',
  exampleSummary: (params) => `By ${params}`,
  routes: {
    catalog:
      'The catalog: departments, resources, matters and grants; `access` lists what your department may do and ' +
      'whether the token carries the scope for it.',
    applicationsList: 'The sharing applications your department may see, newest first, paged.',
    applicationsCreate: 'Apply for a resource (scope `sharing:apply`).',
    grantsList: 'The grants in force (catalog grants and those made by approved applications).',
    usage:
      'The department’s use of the exchange, counted per day in Beijing time (from and to included, 92 days at ' +
      'most): `view=consumer` (scope `sharing:apply`) its own calls, `view=provider` (scope `sharing:review`) the ' +
      'calls to its resources; counts only, no officers and no data subjects.',
    subjectAccesses:
      'Who used my data: the calls that read or wrote data about one company or person (`subject`: USCC, resident ' +
      'id or organisation code) — when, which department, for which matter, from which resource — newest first, ' +
      'paged; for trusted portals only (scope `usage:subject` and a `client_id` of QIAO_SUBJECT_PORTAL_CLIENTS). ' +
      'No officers, case numbers or tokens; accesses under a matter with delayed disclosure appear once it is due.',
    evidence: (matter, items) =>
      `One call for all the evidence one case of matter ${matter} needs (${items}). The items run in parallel, each ` +
      'released and masked under your department’s grant for its resource, each with its own deadline and breaker; ' +
      'each answers data or its own problem (no grant, provider down, no record). 200 when every item has data, 207 ' +
      'when some failed, never a 5xx for one provider’s failure. One audit record per item, and one linking them.',
    evidenceTag: 'Evidence bundles: a matter’s declared evidence in one call (README “一件事: evidence bundles”).',
    problem: 'What a problem code means.',
    openapi: 'This document. Without a token the public view; with one your department’s view (a bad token is 401).',
    catalogTag: 'The catalog and this document.',
    sharingTag: 'Sharing applications and grants (README "Sharing workflow").',
    subscriptionsTag:
      'Subscriptions to a resource’s changes: projected, masked and audited under your department’s grant, pushed as ' +
      'signed webhooks or read by cursor from the pull API (README "Subscriptions").',
    subscriptionsList: 'Your department’s subscriptions.',
    subscriptionsCreate:
      'Subscribe to a resource with a change feed (`changes:`): the token needs `<matter>:<resource>:read` and your ' +
      'department a grant in force for that matter and resource; optionally filtered by admin-division code prefix ' +
      '(`filter.regions`) or business keys (`filter.keys`, at most 1,000). A webhook’s signing secret is shown in ' +
      'this answer only.',
    subscriptionGet: 'One subscription’s status: suspended or not (and why), dead letters, the newest event.',
    subscriptionDelete: 'Cancels the subscription and drops its events not yet read.',
    subscriptionEvents:
      'The pull API: the retained events after the cursor `after` (from the oldest without it); `meta.next` is the ' +
      'next `after`. Replay from any retained cursor. 409 `subscription-suspended` once the grant is revoked or expired.',
    problemsTag: 'Problem codes (the RFC 9457 `type`).',
  },
}

export const TEXTS: Readonly<Record<Lang, Texts>> = { zh, en }
