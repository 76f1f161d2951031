import { type Lang, textsFor } from './i18n.js'

/** The texts of the 数据局's conformity pages and the provider's review and grant pages (`[zh-CN, en]`). */
export const tr = textsFor({
  conformityTitle: ['合规审查', 'Conformity checks'],
  reviewTitle: ['待审申请', 'Review inbox'],
  waitingCheck: ['待合规审查', 'Awaiting the conformity check'],
  waitingReview: ['待本部门审核', 'Awaiting our review'],
  noticedByUs: ['已一次性告知，待申请部门补正', 'Noticed, awaiting the applicant'],
  oldestDueFirst: ['按办理期限排列，最早到期的在前。', 'Oldest due first.'],
  none: ['暂无。', 'None.'],
  moreNotShown: ['只列出前 200 件。', 'Only the first 200 are listed.'],
  consumer: ['申请部门', 'Applying department'],
  noticedAt: ['告知时间', 'Noticed'],
  overdueBy: ['已超期', 'Overdue by'],
  overdue: ['已超期', 'Overdue'],
  workingDays: ['个工作日', 'working days'],
  leftPrefix: ['剩余', ''],
  leftSuffix: ['个工作日', 'working days left'],
  dueToday: ['今日到期', 'Due today'],
  dueSoon: ['即将到期', 'due soon'],
  escalated: ['已报数据局协调', 'escalated to the authority'],
  request: ['申请内容', 'The request'],
  applicationId: ['申请编号', 'Application'],
  validity: ['使用时限', 'Validity'],
  fromApprovalDay: ['自批准之日起', 'from the approval day'],
  contact: ['联系人', 'Contact'],
  noFields: ['（无：结果回传）', '(none: write-back)'],
  decide: ['办理', 'Decide'],
  notAtThisStep: [
    '该申请当前不在此环节，无需在此办理。',
    'This application is not at this step: there is nothing to decide here.',
  ],
  passTitle: ['通过合规审查', 'Pass the conformity check'],
  passConditional: [
    '有条件共享：通过后转数源部门审核。',
    'Conditional resource: once passed, the provider reviews it.',
  ],
  passUnconditional: [
    '无条件共享：通过即登记授权，按申请的信息项和时限生效。',
    'Unconditional resource: passing registers the grant, as applied for.',
  ],
  passButton: ['通过', 'Pass'],
  noticeTitle: ['一次性告知', 'One-time notice (一次性告知)'],
  noticeHint: [
    '一次性告知：把需要补正的所有问题在这一次告知中列全。申请部门补正一次，以后的告知不能再提同一项；告知期间办理期限暂停。未填写的行不会提交。',
    'All at once: list everything the applicant must correct in this one notice. They answer once, and a later notice may not name the same item again; the deadline stops meanwhile. Blank rows are left out.',
  ],
  noticeItem: ['告知事项', 'Item'],
  noticeWhere: ['需补正的内容', 'Which part'],
  noticeWhat: ['补正要求', 'What to correct'],
  noticeButton: ['发出一次性告知', 'Send the notice'],
  refuseTitle: ['不予通过', 'Refuse'],
  reviewRefuseTitle: ['不予同意', 'Refuse'],
  reason: ['理由（必填）', 'Reason (required)'],
  approveTitle: ['同意共享', 'Approve'],
  approveHint: [
    '取消勾选即不发放该信息项（缩小范围）。明文申请的信息项可勾选“改为脱敏发放”，但须目录有该项的脱敏规则（见“脱敏规则”列）；申请即为脱敏的只能脱敏发放。',
    'Uncheck a field to leave it out (narrowing). A field asked for in clear may be released masked if the catalog has a mask rule for it (see the mask rule column); one asked for masked is released masked only.',
  ],
  releaseField: ['发放', 'Release'],
  appliedAs: ['申请方式', 'Asked for'],
  releaseAs: ['发放方式', 'Released as'],
  noMaskRule: ['明文（目录无脱敏规则）', 'clear (no mask rule in the catalog)'],
  releaseMasked: ['改为脱敏发放', 'release masked'],
  maskedAsApplied: ['按申请脱敏', 'masked, as asked'],
  validFrom: ['起始日期', 'First day'],
  validFromHint: [
    'YYYY-MM-DD；空着即自批准之日起；不得早于申请的起始日期',
    'YYYY-MM-DD; blank: from the approval day; not before the first day asked for',
  ],
  validToLabel: ['截止日期', 'Last day'],
  validToHint: ['YYYY-MM-DD；不得晚于申请的', 'YYYY-MM-DD; not after the day asked for,'],
  quota: ['每日调用上限（可选）', 'Daily call limit (optional)'],
  quotaHint: ['正整数；空着即不设上限', 'A whole number; blank for none'],
  approveButton: ['同意并发放授权', 'Approve and grant'],
  errorSummary: [
    '办理有以下问题，请修改后重新提交：',
    'The decision has these problems; correct them and submit again:',
  ],
  staleTitle: ['申请已被他人办理', 'Someone else acted first'],
  staleText: [
    '您打开此页之后，已有人办理了这一事项（或其状态已变），您的决定没有提交。请重新载入，按当前状态办理。',
    'Since you opened this page someone has acted on it (or its state changed), so your decision was not taken. Reload it and decide on what it now says.',
  ],
  reload: ['重新载入', 'Reload'],
  details: ['说明', 'Details'],
  grantedFields: ['发放信息项', 'fields released'],
  maskedCount: ['其中脱敏', 'masked'],
  grantsTitle: ['已发授权', 'Grants given'],
  grantsIntro: [
    '经申请批准、使用本部门资源的授权。撤销须写明理由，撤销后对方的调用立即被拒绝。',
    'Grants made by approved applications for our resources. A revocation needs a reason; the consumer’s calls are refused at once.',
  ],
  noGrants: ['本部门资源暂无经申请发放的授权。', 'No grant of our resources has been made by an application yet.'],
  validToShort: ['有效期至', 'Valid to'],
  maskedColumn: ['脱敏', 'Masked'],
  daysLeftCalendar: ['剩余天数', 'Days left'],
  expired: ['已到期', 'expired'],
  actions: ['操作', 'Action'],
  revokeReason: ['撤销理由（必填）', 'Reason (required)'],
  revokeButton: ['撤销授权', 'Revoke'],
  revokedOn: ['撤销于', 'Revoked'],
  'grant.active': ['有效', 'active'],
  'grant.revoked': ['已撤销', 'revoked'],
  'grant.superseded': ['已被替代', 'superseded'],
  'transition.apply': ['提交申请', 'Applied'],
  'transition.conformity-pass': ['合规审查通过', 'Conformity check passed'],
  'transition.conformity-notice': ['合规审查一次性告知', 'Notice at the conformity check'],
  'transition.conformity-refuse': ['合规审查不予通过', 'Refused at the conformity check'],
  'transition.review-approve': ['数源部门同意', 'Approved by the provider'],
  'transition.review-refuse': ['数源部门不予同意', 'Refused by the provider'],
  'transition.review-notice': ['数源部门一次性告知', 'Notice at the provider review'],
  'transition.resubmit': ['补正后重新提交', 'Resubmitted'],
  'transition.withdraw': ['撤回', 'Withdrawn'],
  'transition.escalate': ['超期报数据局协调', 'Escalated (overdue)'],
  'transition.grant-revoke': ['撤销授权', 'Grant revoked'],
} as const)

/** The workflow's problem messages an officer meets most, in Chinese; any other is shown as the workflow gave it. */
const PROBLEM_TEXTS: Readonly<Record<string, string>> = {
  'is required': '此项必填',
  'is required for a refusal': '不予通过（不予同意）须写明理由',
  'is required for a revocation': '撤销授权须写明理由',
  'is required for a notice': '一次性告知至少要有一项',
  'must NOT have fewer than 1 items': '一次性告知至少要有一项',
  'must NOT have fewer than 1 characters': '请填写此项',
  'does not match the required pattern': '格式不符合要求',
  'the grant would release no field': '至少要发放一个信息项',
  'must be integer': '须为正整数',
  'must be >= 1': '须为正整数',
  'must be a valid date': '须为有效日期（YYYY-MM-DD）',
  'must not be after validTo': '起始日期不得晚于截止日期',
  'the validity would end before today': '使用时限不得在今天之前结束',
  'was already named by an earlier notice of this application': '此前的告知已提过此项（一次性告知不能重复提出）',
}

/** A notice item's pointer fails its pattern only when no part of the request was chosen. */
const ITEM_POINTER = /^\/items\/\d+\/pointer$/

export function problemText(lang: Lang, problem: { readonly pointer: string; readonly message: string }): string {
  const { pointer, message } = problem
  if (lang === 'en') return message
  if (ITEM_POINTER.test(pointer) && message === 'does not match the required pattern') return '请选择需补正的内容'
  const known = PROBLEM_TEXTS[message]
  if (known !== undefined) return known
  const before = /^must not be before the first day applied for \((.+)\)$/.exec(message)
  if (before) return `不得早于申请的起始日期（${before[1]}）`
  const after = /^must not be after the last day applied for \((.+)\)$/.exec(message)
  if (after) return `不得晚于申请的截止日期（${after[1]}）`
  return message
}
