import { describe, expect, it } from 'vitest'
import type { Resource } from '../catalog/types.js'
import { ObjectionBoard, objectionMeta } from './objections-board.js'
import { keyText } from './objections-model.js'
import { median, nearestRank, objectionFigures } from './objections-stats.js'

const permits = {
  id: 'housing.construction-permit',
  provider: 'housing',
  fields: [{ key: 'permitNo' }, { key: 'constructionSite' }, { key: 'ownerLeadName' }],
} as unknown as Resource
const open = (id: string, permitNo: string, field: string) => ({
  id,
  resource: permits.id,
  provider: 'housing',
  key: keyText(permitNo),
  field,
  since: '2026-11-26T02:00:00.000Z',
})
const all = { fields: ['permitNo', 'constructionSite', 'ownerLeadName'], masked: ['ownerLeadName'] }
const records = [
  { permitNo: 'P-1', constructionSite: 'a' },
  { permitNo: 'P-2', constructionSite: 'b' },
]

describe('the open objections board', () => {
  it('marks only the records concerned, on fields the answer releases', () => {
    const board = new ObjectionBoard()
    expect(objectionMeta(board, permits, all, records)).toEqual({})
    board.replace([
      open('o1', 'P-2', 'constructionSite'),
      open('o2', 'P-2', 'ownerLeadName'),
      open('o3', 'P-9', 'constructionSite'),
    ])
    expect(board.size).toBe(3)
    expect(board.openByProvider()).toEqual(new Map([['housing', 3]]))
    expect(objectionMeta(board, permits, all, records).objections?.map((m) => [m.recordKey, m.field, m.id])).toEqual([
      [{ permitNo: 'P-2' }, 'constructionSite', 'o1'],
      [{ permitNo: 'P-2' }, 'ownerLeadName', 'o2'],
    ])
    // A consumer granted fewer fields is warned about those it gets only.
    const narrow = { fields: ['permitNo', 'constructionSite'], masked: [] }
    expect(board.markersFor(permits, narrow, records)?.map((m) => m.id)).toEqual(['o1'])
  })

  it('never names a key the answer does not release in clear', () => {
    const board = new ObjectionBoard()
    board.replace([open('o1', 'P-2', 'constructionSite')])
    expect(board.markersFor(permits, { fields: ['constructionSite'], masked: [] }, records)).toBeUndefined()
    expect(
      board.markersFor(permits, { fields: ['permitNo', 'constructionSite'], masked: ['permitNo'] }, records),
    ).toBeUndefined()
    board.replace([])
    expect(board.markersFor(permits, all, records)).toBeUndefined()
  })
})

describe('quality figures', () => {
  it('median and nearest-rank p90 of working days, per provider and per resource', () => {
    expect(median([])).toBeNull()
    expect(median([1, 2, 3])).toBe(2)
    expect(median([1, 2, 3, 10])).toBe(2.5)
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9)
    expect(nearestRank([4], 0.9)).toBe(4)
    const figures = objectionFigures({
      counts: [
        { provider: 'housing', resource: 'housing.construction-permit', state: 'accepted', n: 2 },
        { provider: 'housing', resource: 'housing.completion-filing', state: 'open', n: 1 },
      ],
      resolutions: [
        { provider: 'housing', resource: 'housing.construction-permit', days: 1 },
        { provider: 'housing', resource: 'housing.construction-permit', days: 3 },
      ],
    })
    expect(figures.providers).toEqual([
      {
        provider: 'housing',
        counts: { open: 1, accepted: 2, rejected: 0, withdrawn: 0 },
        resolved: 2,
        medianWorkingDays: 2,
        p90WorkingDays: 3,
      },
    ])
    expect(figures.resources.map((f) => [f.resource, f.resolved, f.medianWorkingDays])).toEqual([
      ['housing.completion-filing', 0, null],
      ['housing.construction-permit', 2, 2],
    ])
  })
})
