import { describe, expect, it } from 'vitest'
import type { Grant, Resource } from '../catalog/types.js'
import { releasedFields } from '../projection/project.js'
import { compileReleaseRenderer } from '../projection/render.js'
import { ObjectionBoard } from '../sharing/objections-board.js'
import { keyText } from '../sharing/objections-model.js'
import { renderSuccess } from './80-respond.js'
import type { Released } from './exchange.js'

const permits = {
  id: 'housing.construction-permit',
  provider: 'housing',
  fields: [
    { key: 'permitNo', name: '施工许可证编号', sensitivity: 'public' },
    { key: 'constructionSite', name: '建设地址', sensitivity: 'public' },
    { key: 'ownerLeadName', name: '建设单位项目负责人', sensitivity: 'personal', mask: { rule: 'name' } },
  ],
} as unknown as Resource

const grant: Grant = {
  source: 'catalog',
  matter: 'QT00301001',
  consumer: 'drc',
  resource: permits.id,
  action: 'read',
  usage: '业务协同',
  fields: ['permitNo', 'constructionSite'],
  masked: ['ownerLeadName'],
}

function released(board: ObjectionBoard | undefined, caseId: string): Released {
  return {
    auditId: '019ade7f-1234-7abc-8def-0123456789ab',
    snapshot: { objections: board },
    resource: permits,
    purpose: { matter: 'QT00301001', caseId },
    grant: {
      ...releasedFields(permits, grant),
      render: compileReleaseRenderer(permits, releasedFields(permits, grant)),
    },
    released: [{ permitNo: 'P-2', constructionSite: '南京市鼓楼区****', ownerLeadName: '张*' }],
  } as unknown as Released
}

/** The meta object the answer held before it was written from compiled members: same members, same order. */
function metaAsObject(call: Released, retrievedAt: number, objections?: unknown) {
  return {
    resource: call.resource.id,
    provider: call.resource.provider,
    matter: call.purpose.matter,
    case: call.purpose.caseId,
    auditId: call.auditId,
    fields: call.grant.fields,
    masked: call.grant.masked,
    count: call.released.length,
    retrievedAt: new Date(retrievedAt).toISOString(),
    ...(objections === undefined ? {} : { objections }),
  }
}

describe('renderSuccess', () => {
  const at = Date.parse('2026-12-02T06:07:08.009Z')

  it('writes meta byte for byte as JSON.stringify wrote the meta object, escapes included', () => {
    const call = released(undefined, 'NJ-"2026"\\000123')
    const body = renderSuccess(call, at, '[]').body
    expect(body).toBe(`{"data":[],"meta":${JSON.stringify(metaAsObject(call, at))}}`)
    expect(JSON.parse(body).meta.case).toBe('NJ-"2026"\\000123')
  })

  it('adds the open objections on the released records after the other members', () => {
    const board = new ObjectionBoard()
    board.replace([
      {
        id: 'o1',
        resource: permits.id,
        provider: 'housing',
        key: keyText('P-2'),
        field: 'constructionSite',
        since: '2026-11-26T02:00:00.000Z',
      },
    ])
    const call = released(board, 'NJ-2026-000123')
    const objections = [
      { recordKey: { permitNo: 'P-2' }, field: 'constructionSite', since: '2026-11-26T02:00:00.000Z', id: 'o1' },
    ]
    const body = renderSuccess(call, at, '[]').body
    expect(body).toBe(`{"data":[],"meta":${JSON.stringify(metaAsObject(call, at, objections))}}`)
  })
})
