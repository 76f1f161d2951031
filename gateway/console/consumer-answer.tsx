/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import type { Application, Notice } from '../sharing/model.js'
import { FieldChoice } from './application-form.js'
import {
  type AnswerGroup,
  type AnswerMember,
  type AnswerProblem,
  type AnswerValues,
  problemsByGroup,
} from './consumer-answer-form.js'
import { type Lang, type TextKey, t, textsFor } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'

/** 答复告知: every item of the open notice, with the inputs that answer it, and the workflow's problems at each. */

export const answerText = textsFor({
  title: ['答复一次性告知', 'Answer the notice'],
  intro: [
    '审查方一次性告知了以下需要补正的内容。请逐项修改后提交；提交后办理期限从暂停处继续计算。',
    'The reviewer listed everything to correct in one notice. Change each item and submit; the deadline then resumes where it stopped.',
  ],
  noticeBy: ['告知方', 'Notice by'],
  stage: ['环节', 'Stage'],
  'stage.conformity': ['合规审查（数据局）', 'Conformity check (data authority)'],
  'stage.review': ['数源部门审核', 'Provider review'],
  item: ['告知内容', 'To correct'],
  validFrom: ['使用时限（起始日期）', 'Valid from (first day)'],
  contact: ['联系人信息', 'Contact'],
  note: ['答复说明（可选）', 'Note to the reviewer (optional)'],
  submit: ['提交答复', 'Submit the answer'],
  back: ['返回申请', 'Back to the application'],
  summary: ['答复有以下问题，请修改后重新提交：', 'The answer has these problems; correct them and submit again:'],
  unaddressed: ['告知中列出的此项尚未修改', 'is named by the notice and has not been changed'],
  noOpenNotice: ['此申请当前没有待答复的告知。', 'This application has no notice waiting for an answer.'],
  noOpenNoticeTitle: ['无需答复', 'Nothing to answer'],
  stale: [
    '此申请已在别处更新（例如已答复或已撤回）。请重新打开申请查看最新状态。',
    'The application changed meanwhile (answered or withdrawn elsewhere). Open it again to see where it stands.',
  ],
  staleTitle: ['申请已更新', 'The application changed'],
})

/** `dept/sub` as the department's name (the officer's id is the history's to show). */
const departmentOf = (catalog: Catalog, by: string) => {
  const dept = by.split('/')[0] ?? by
  return catalog.departments.get(dept)?.name ?? dept
}

/** An ISO instant as Beijing time, `YYYY-MM-DD HH:mm`. */
const beijingTime = (iso: string) =>
  new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ')

const USAGES = ['行政依据', '业务协同', '数据校核', '工作参考'] as const

/** The label of a group's first input (the one the summary links to) and its id. */
const GROUP_INPUT: Readonly<Record<AnswerMember, readonly [id: string, label: TextKey | 'validFrom' | 'contact']>> = {
  usage: ['usage', 'usage'],
  fields: ['fields', 'fieldsWanted'],
  legalBasis: ['legalBasis', 'legalBasis'],
  scene: ['scene', 'scene'],
  scopeOfUse: ['scopeOfUse', 'scopeOfUse'],
  validFrom: ['validFrom', 'validFrom'],
  validTo: ['validTo', 'validTo'],
  contact: ['contactName', 'contact'],
}

function groupLabel(lang: Lang, member: AnswerMember): string {
  const label = GROUP_INPUT[member][1]
  return label === 'validFrom' || label === 'contact' ? answerText(lang, label) : t(lang, label)
}

/** The workflow's English messages that have a Chinese text here; others are shown as they come. */
function messageText(lang: Lang, message: string, pointer: string): string {
  if (message === 'is named by the notice and must be changed' || pointer === '/changes') {
    return answerText(lang, 'unaddressed')
  }
  if (message === 'is required') return t(lang, 'required')
  return message
}

interface GroupProps {
  view: View
  group: AnswerGroup
  values: AnswerValues
  catalog: Catalog
  app: Application
  problems: readonly AnswerProblem[]
}

function invalid(problems: readonly AnswerProblem[], errorId: string): Record<string, string> {
  return problems.length === 0 ? {} : { 'aria-invalid': 'true', 'aria-describedby': errorId }
}

function TextInputs(props: GroupProps & { errorId: string }) {
  const { view, group, values, problems, errorId } = props
  const { lang } = view
  const member = group.member
  if (member === 'contact') {
    const inputs = [
      ['contactName', values.contactName, 'text'],
      ['contactPhone', values.contactPhone, 'tel'],
      ['contactEmail', values.contactEmail, 'email'],
    ] as const
    return (
      <>
        {inputs.map(([id, value, type]) => (
          <>
            <label for={id}>{t(lang, id)}</label>
            <input type={type} id={id} name={id} value={value} {...invalid(problems, errorId)} />
          </>
        ))}
      </>
    )
  }
  if (member === 'fields') return null
  const value = values.text[member]
  const attrs = { id: member, name: member, ...invalid(problems, errorId) }
  return (
    <>
      <label for={member}>{groupLabel(lang, member)}</label>
      {member === 'usage' ? (
        <select {...attrs}>
          {USAGES.map((u) => (
            <option value={u} selected={u === value}>
              {u}
            </option>
          ))}
        </select>
      ) : member === 'legalBasis' || member === 'scopeOfUse' ? (
        <textarea {...attrs}>{value}</textarea>
      ) : (
        <input type="text" value={value} {...attrs} />
      )}
      {(member === 'validFrom' || member === 'validTo') && <p class="muted">YYYY-MM-DD</p>}
    </>
  )
}

function FieldTable(props: GroupProps & { errorId: string }) {
  const { view, values, catalog, app, problems, errorId } = props
  const { lang } = view
  const resource = catalog.resources.get(app.request.resource)
  if (resource === undefined) return null
  return (
    <fieldset id="fields" tabindex={-1} {...invalid(problems, errorId)}>
      <legend>{t(lang, 'fieldsWanted')}</legend>
      <table>
        <tbody>
          {resource.fields.map((f) => (
            <tr>
              <th scope="row">
                {f.name} <span class="muted">{f.key}</span>
              </th>
              <FieldChoice lang={lang} field={f} fields={values.fields} masked={values.masked} />
            </tr>
          ))}
        </tbody>
      </table>
    </fieldset>
  )
}

function NoticeGroup(props: GroupProps) {
  const { view, group, problems } = props
  const { lang } = view
  const errorId = `${GROUP_INPUT[group.member][0]}-error`
  return (
    <section class="card notice-item" aria-labelledby={`group-${group.member}`} data-member={group.member}>
      <h2 id={`group-${group.member}`}>{groupLabel(lang, group.member)}</h2>
      <p class="muted">{answerText(lang, 'item')}</p>
      <ul>
        {group.items.map((item) => (
          <li>
            <code>{item.pointer}</code> {item.message}
          </li>
        ))}
      </ul>
      {problems.length > 0 && (
        <p id={errorId} class="error">
          {problems.map((p) => messageText(lang, p.message, p.pointer)).join('；')}
        </p>
      )}
      {group.member === 'fields' ? (
        <FieldTable {...props} errorId={errorId} />
      ) : (
        <TextInputs {...props} errorId={errorId} />
      )}
    </section>
  )
}

export function AnswerPage(props: {
  view: View
  catalog: Catalog
  app: Application
  notice: Notice
  groups: readonly AnswerGroup[]
  values: AnswerValues
  problems: readonly AnswerProblem[]
}) {
  const { view, catalog, app, notice, groups, values, problems } = props
  const { lang } = view
  const byGroup = problemsByGroup(problems, groups)
  const resourceName = catalog.resources.get(app.request.resource)?.name ?? app.request.resource
  const noteProblems = byGroup.get('note') ?? []
  return (
    <Page view={view} title={`${answerText(lang, 'title')}：${resourceName}`}>
      {problems.length > 0 && (
        <div class="summary" role="alert" tabindex={-1} data-focus="" aria-labelledby="summary-title">
          <h2 id="summary-title">{answerText(lang, 'summary')}</h2>
          <ul>
            {problems.map((p) => {
              const group = groups.find((g) => (byGroup.get(g.member) ?? []).includes(p))
              const target = group === undefined ? 'main' : GROUP_INPUT[group.member][0]
              const label = group === undefined ? p.pointer || '/' : groupLabel(lang, group.member)
              return (
                <li>
                  <a href={`#${target}`}>{`${label}：${messageText(lang, p.message, p.pointer)}`}</a>
                </li>
              )
            })}
          </ul>
        </div>
      )}
      <p>{answerText(lang, 'intro')}</p>
      <dl>
        <dt>{answerText(lang, 'stage')}</dt>
        <dd>{answerText(lang, `stage.${notice.stage}`)}</dd>
        <dt>{answerText(lang, 'noticeBy')}</dt>
        <dd>{`${departmentOf(catalog, notice.by)} · ${beijingTime(notice.at)}`}</dd>
      </dl>
      <form method="post" action={`/console/applications/${app.id}/answer`} novalidate>
        <CsrfField view={view} />
        <input type="hidden" name="version" value={String(app.version)} />
        {groups.map((group) => (
          <NoticeGroup
            view={view}
            group={group}
            values={values}
            catalog={catalog}
            app={app}
            problems={byGroup.get(group.member) ?? []}
          />
        ))}
        <label for="note">{answerText(lang, 'note')}</label>
        <textarea id="note" name="note" {...invalid(noteProblems, 'note-error')}>
          {values.note}
        </textarea>
        {noteProblems.length > 0 && (
          <p id="note-error" class="error">
            {noteProblems.map((p) => p.message).join('；')}
          </p>
        )}
        <p>
          <button type="submit">{answerText(lang, 'submit')}</button>{' '}
          <a href={`/console/applications/${app.id}`}>{answerText(lang, 'back')}</a>
        </p>
      </form>
    </Page>
  )
}
