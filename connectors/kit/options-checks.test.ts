import { describe, expect, it } from 'vitest'
import { joinEndpoint, optionChecks } from './options-checks.js'

describe('optionChecks', () => {
  const check = optionChecks('water-drainage')

  it('accepts an http(s) base URL and joins it with the path', () => {
    const url = check.httpBaseUrl('https://10.0.0.1:8443/gw/', 'use appKey')
    expect(joinEndpoint(url, check.path('/api/v1/'))).toBe('https://10.0.0.1:8443/gw/api/v1')
    expect(check.nonEmptyString('appKey', 'k')).toBe('k')
    expect(check.matching('schema', 'qiao_x', '^[a-z_]+$')).toBe('qiao_x')
    expect(check.integerInRange('poolMax', 5, 1, 50)).toBe(5)
  })

  it('names the connector, the option and what was expected, never the value', () => {
    expect(() => check.object(null)).toThrow('water-drainage: options must be an object')
    expect(() => check.httpBaseUrl(1, 'x')).toThrow('water-drainage: options.baseUrl must be a string URL')
    expect(() => check.httpBaseUrl('nope', 'x')).toThrow('options.baseUrl must be an absolute http(s) URL')
    expect(() => check.httpBaseUrl('ftp://h', 'x')).toThrow('options.baseUrl must use http or https (got ftp:)')
    expect(() => check.httpBaseUrl('http://u:secret@h', 'use appKey')).toThrow(
      'water-drainage: options.baseUrl must not carry credentials; use appKey',
    )
    expect(() => check.httpBaseUrl('http://h/?q=1', 'x')).toThrow('options.baseUrl must not have a query or fragment')
    expect(() => check.nonEmptyString('appSecret', '')).toThrow('options.appSecret must be a non-empty string')
    expect(() => check.path('api')).toThrow('options.path must be a string starting with "/"')
    expect(() => check.matching('table', 'A-B', '^[A-Z]+$')).toThrow('options.table must match ^[A-Z]+$')
    expect(() => check.integerInRange('poolMax', 0.5, 1, 50)).toThrow('options.poolMax must be an integer from 1 to 50')
  })
})
