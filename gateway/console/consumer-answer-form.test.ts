import { describe, expect, it } from 'vitest'
import type { ApplicationRequest, Notice } from '../sharing/model.js'
import { groupsOf, problemsByGroup, resubmissionOf, valuesFromForm, valuesOf } from './consumer-answer-form.js'

const request: ApplicationRequest = {
  resource: 'housing.construction-permit',
  matter: 'XK00377001',
  mode: 'query',
  usage: '数据校核',
  fields: ['permitNo', 'projectCode', 'ownerLeadIdNo'],
  masked: [],
  legalBasis: '《政务数据共享条例》',
  scene: '开工一件事',
  scopeOfUse: '核对施工许可',
  validTo: '2027-06-30',
  contact: { name: '王工', phone: '025-83001234' },
}

const notice: Notice = {
  id: 'n1',
  stage: 'conformity',
  at: '2026-11-26T02:00:00.000Z',
  by: 'data/officer',
  items: [
    { pointer: '/legalBasis', message: '写明条款' },
    { pointer: '/fields/2', message: '改为脱敏' },
    { pointer: '/masked', message: '同上' },
    { pointer: '/contact/phone', message: '留座机' },
  ],
}

describe('answering a notice from the console form', () => {
  const groups = groupsOf(notice)

  it('groups the items by the inputs that answer them, in the notice order', () => {
    expect(groups.map((g) => g.member)).toEqual(['legalBasis', 'fields', 'contact'])
    expect(groups[1]?.items.map((i) => i.pointer)).toEqual(['/fields/2', '/masked'])
  })

  it('sends only what was changed, so an item left as it was stays unaddressed', () => {
    const form = {
      legalBasis: '《城镇排水与污水处理条例》第二十一条',
      fields: ['projectCode', 'permitNo', 'ownerLeadIdNo'],
      contactName: '王工',
      contactPhone: '025-83001234',
      contactEmail: '',
      // Not shown on the page: ignored, the application's value stands.
      scene: 'something else',
    }
    const values = valuesFromForm(form, groups, request)
    expect(resubmissionOf(values, request)).toEqual({
      changes: { legalBasis: '《城镇排水与污水处理条例》第二十一条' },
    })
  })

  it('sends new field lists and the whole contact when they change, and the note', () => {
    const form = {
      legalBasis: request.legalBasis,
      fields: ['permitNo', 'projectCode'],
      masked: 'ownerLeadIdNo',
      contactName: '王工',
      contactPhone: '025-83009999',
      note: '已改为脱敏',
    }
    const values = valuesFromForm(form, groups, request)
    expect(resubmissionOf(values, request)).toEqual({
      changes: {
        fields: ['permitNo', 'projectCode'],
        masked: ['ownerLeadIdNo'],
        contact: { name: '王工', phone: '025-83009999' },
      },
      note: '已改为脱敏',
    })
    expect(resubmissionOf(valuesOf(request), request)).toEqual({ changes: {} })
  })

  it('puts the workflow problems at their group; nothing changed at all is a problem of every group', () => {
    const byGroup = problemsByGroup(
      [
        { pointer: '/changes/fields/2', message: 'is named by the notice and must be changed' },
        { pointer: '/changes/contact/phone', message: 'must match pattern' },
        { pointer: '/changes', message: 'must NOT have fewer than 1 properties' },
        { pointer: '/changes/validTo', message: 'must not be in the past' },
        { pointer: '/note', message: 'must NOT have more than 2000 characters' },
      ],
      groups,
    )
    expect(byGroup.get('fields')?.map((p) => p.pointer)).toEqual(['/changes/fields/2', '/changes'])
    expect(byGroup.get('contact')?.map((p) => p.pointer)).toEqual(['/changes/contact/phone', '/changes'])
    expect(byGroup.get('legalBasis')?.map((p) => p.pointer)).toEqual(['/changes'])
    expect(byGroup.get('')?.map((p) => p.pointer)).toEqual(['/changes/validTo'])
    expect(byGroup.get('note')?.map((p) => p.pointer)).toEqual(['/note'])
  })
})
