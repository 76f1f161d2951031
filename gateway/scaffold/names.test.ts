import { describe, expect, it } from 'vitest'
import {
  camelCase,
  connectorIdProblems,
  defaultResourceName,
  nextFreePort,
  recordNoPrefix,
  resourceNameProblems,
  scaffoldNames,
  systemProblems,
} from './names.js'

describe('connector id', () => {
  it('accepts lower-case words joined by dashes, at least two', () => {
    for (const id of ['water-drainage', 'hr2-payroll', 'market-qzk-v2', 'a-b'])
      expect(connectorIdProblems(id)).toEqual([])
  })

  it('refuses anything else, and ids too long to keep generated lines within the line width', () => {
    for (const id of [
      'water',
      'Water-drainage',
      'water_drainage',
      'water--drainage',
      'water-',
      '1water-x',
      'water-排水',
    ]) {
      expect(connectorIdProblems(id), id).toHaveLength(1)
    }
    expect(connectorIdProblems(`a-${'b'.repeat(31)}`)[0]).toContain('longer than 32')
  })
})

describe('derived names', () => {
  it('takes the resource name from the id without the department prefix', () => {
    expect(defaultResourceName('water-drainage', 'water')).toBe('drainage-record')
    expect(defaultResourceName('public-security-hukou', 'public-security')).toBe('hukou-record')
    expect(defaultResourceName('hr-payroll', 'finance')).toBe('hr-payroll-record')
    // What is left must start with a letter to make a resource id.
    expect(defaultResourceName('water-2nd-plant', 'water')).toBe('water-2nd-plant-record')
  })

  it('builds identifiers, environment variables and the record number prefix from the id', () => {
    expect(camelCase('water-drainage')).toBe('waterDrainage')
    expect(camelCase('hr2-payroll-v3')).toBe('hr2PayrollV3')
    expect(recordNoPrefix('water-drainage')).toBe('WD')
    expect(recordNoPrefix('a-2b-c-d-e')).toBe('ACDE')
    const n = scaffoldNames({
      id: 'water-drainage',
      department: 'water',
      departmentName: '南京市水务局',
      departmentShortName: '水务',
      resourceCode: '0/00/000/000000/00001',
      port: 9103,
      region: '320100',
      catalogFile: 'catalog.yaml',
    })
    expect(n).toMatchObject({
      camel: 'waterDrainage',
      pascal: 'WaterDrainage',
      envPrefix: 'QIAO_WATER_DRAINAGE',
      system: '水务业务系统',
      resource: 'drainage-record',
      resourceId: 'water.drainage-record',
      resourceName: '水务业务系统业务记录',
      connectorDir: 'connectors/water-drainage',
      schemaDir: 'schemas/resources/water',
      region: '320100',
    })
  })

  it('picks the lowest free simulator port', () => {
    expect(nextFreePort([])).toBe(9101)
    expect(nextFreePort([9101, 9102, 5432, 9104])).toBe(9103)
    expect(nextFreePort(Array.from({ length: 99 }, (_, i) => 9101 + i))).toBeUndefined()
  })
})

describe('checks of free text', () => {
  it('accepts a system name in words and refuses what would need escaping', () => {
    expect(systemProblems('水务 排水许可系统')).toEqual([])
    for (const bad of ['', '  ', "it's", 'a|b', 'a*/b', 'a\nb', '$x', 'x'.repeat(41)]) {
      expect(systemProblems(bad), JSON.stringify(bad)).toHaveLength(1)
    }
  })

  it('accepts resource names in lower-case words', () => {
    expect(resourceNameProblems('drainage-record')).toEqual([])
    expect(resourceNameProblems('record')).toEqual([])
    expect(resourceNameProblems('Drainage')).toHaveLength(1)
    expect(resourceNameProblems('2nd-record')).toHaveLength(1)
  })
})
