import { describe, expect, it } from 'vitest'
import type { Field, Grant, Resource } from '../catalog/types.js'
import { compileProjector, releasedFields } from './project.js'

/** Only what the projector reads of a resource: its id and fields, in catalog order. */
function resource(fields: Field[]): Resource {
  return { id: 'test.permit', fields } as unknown as Resource
}

function grant(fields: string[], masked: string[]): Grant {
  return {
    source: 'catalog',
    matter: 'QT00301001',
    consumer: 'drc',
    resource: 'test.permit',
    action: 'read',
    usage: '业务协同',
    fields,
    masked,
  }
}

const permit = resource([
  { key: 'permitNo', name: '施工许可证编号', sensitivity: 'public' },
  { key: 'projectName', name: '项目名称', sensitivity: 'public' },
  { key: 'ownerLeadName', name: '建设单位项目负责人', sensitivity: 'personal', mask: { rule: 'name' } },
  { key: 'ownerLeadPhone', name: '负责人联系电话', sensitivity: 'personal', mask: { rule: 'phone' } },
  { key: 'ownerLeadIdNo', name: '负责人身份证件号码', sensitivity: 'sensitive-personal', mask: { rule: 'idcard' } },
  { key: 'totalFloorAreaM2', name: '总建筑面积', sensitivity: 'public' },
])

describe('compileProjector', () => {
  it('copies granted fields in clear and masked fields through their mask rule', () => {
    const project = compileProjector(
      permit,
      grant(['permitNo', 'totalFloorAreaM2'], ['ownerLeadName', 'ownerLeadPhone']),
    )
    expect(
      project({
        permitNo: '320100202611260101',
        totalFloorAreaM2: 12_500.5,
        ownerLeadName: '李小龙',
        ownerLeadPhone: '13812341234',
      }),
    ).toEqual({
      permitNo: '320100202611260101',
      totalFloorAreaM2: 12_500.5,
      ownerLeadName: '李**',
      ownerLeadPhone: '138****1234',
    })
  })

  it('replaces a non-string value of a masked field wholesale, whatever its type', () => {
    const project = compileProjector(permit, grant([], ['ownerLeadPhone', 'ownerLeadIdNo', 'ownerLeadName']))
    expect(project({ ownerLeadPhone: 13_812_341_234, ownerLeadIdNo: true, ownerLeadName: { given: '小龙' } })).toEqual({
      ownerLeadPhone: '****',
      ownerLeadIdNo: '****',
      ownerLeadName: '****',
    })
    expect(project({ ownerLeadPhone: ['13812341234'] })).toEqual({ ownerLeadPhone: '****' })
  })

  it('keeps null as null, in clear and masked fields alike, and leaves absent fields absent', () => {
    const project = compileProjector(permit, grant(['permitNo', 'projectName'], ['ownerLeadPhone', 'ownerLeadName']))
    const out = project({ permitNo: null, ownerLeadPhone: null })
    expect(out).toEqual({ permitNo: null, ownerLeadPhone: null })
    expect(Object.keys(out)).toEqual(['permitNo', 'ownerLeadPhone'])
  })

  it('drops every key not granted: other catalog fields, unknown keys, and keys differing only in case', () => {
    const project = compileProjector(permit, grant(['permitNo'], ['ownerLeadPhone']))
    const out = project({
      permitNo: 'P-1',
      projectName: '不在授权内', // a catalog field this grant does not release
      ownerLeadName: '李小龙',
      ownerLeadPhone: '13812341234',
      secretNote: 'x', // not in the catalog at all
      PermitNo: 'P-2', // another case of a granted key
      OWNERLEADPHONE: '13812341234',
      ownerleadphone: '13812341234',
    })
    expect(out).toEqual({ permitNo: 'P-1', ownerLeadPhone: '138****1234' })
  })

  it('orders the output by the catalog, not by the record or the grant', () => {
    const project = compileProjector(permit, grant(['totalFloorAreaM2', 'permitNo'], ['ownerLeadName']))
    const out = project({ totalFloorAreaM2: 1, ownerLeadName: '张三', permitNo: 'P-1' })
    expect(Object.keys(out)).toEqual(['permitNo', 'ownerLeadName', 'totalFloorAreaM2'])
  })

  it('a field both granted in clear and masked is released masked', () => {
    const project = compileProjector(permit, grant(['ownerLeadName'], ['ownerLeadName']))
    expect(project({ ownerLeadName: '张三' })).toEqual({ ownerLeadName: '张*' })
  })

  it('refuses at compile time a masked grant of a field with no mask rule', () => {
    expect(() => compileProjector(permit, grant([], ['permitNo']))).toThrow(/permitNo of test\.permit .* no mask rule/)
  })

  it('releasedFields lists clear and masked keys in catalog order, and the masked ones apart', () => {
    expect(releasedFields(permit, grant(['totalFloorAreaM2', 'permitNo', 'unknown'], ['ownerLeadPhone']))).toEqual({
      fields: ['permitNo', 'ownerLeadPhone', 'totalFloorAreaM2'],
      masked: ['ownerLeadPhone'],
    })
  })
})
