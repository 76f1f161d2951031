import { describe, expect, it } from 'vitest'
import { CONNECTOR_OWNED_HEADERS, httpStatusError, propagatedHeaders, safeUpstreamMessage } from './upstream-http.js'

describe('propagatedHeaders', () => {
  it('passes trace context on, lower-cased, but never a header the connector owns', () => {
    const propagation = { Traceparent: '00-abc-def-01', 'Content-Type': 'text/evil', SOAPAction: 'x' }
    expect(propagatedHeaders(propagation)).toStrictEqual({ traceparent: '00-abc-def-01', soapaction: 'x' })
    expect(propagatedHeaders(propagation, new Set([...CONNECTOR_OWNED_HEADERS, 'soapaction']))).toStrictEqual({
      traceparent: '00-abc-def-01',
    })
    expect(propagatedHeaders(undefined)).toStrictEqual({})
  })
})

describe('httpStatusError', () => {
  it('makes 5xx unavailable and anything else rejected, with the status', () => {
    expect(httpStatusError(503)).toMatchObject({ kind: 'unavailable', upstreamStatus: 503 })
    expect(httpStatusError(404)).toMatchObject({ kind: 'rejected', message: 'upstream answered HTTP 404' })
  })
})

describe('safeUpstreamMessage', () => {
  it('repeats short messages that cannot carry a value', () => {
    expect(safeUpstreamMessage(' 签名验证失败\n', ['secret'])).toBe('签名验证失败')
    expect(safeUpstreamMessage('a'.repeat(50), [])).toBe('a'.repeat(40))
    expect(safeUpstreamMessage('𠮷'.repeat(3), [], 2)).toBe('𠮷𠮷')
  })

  it('drops messages that echo what was sent or hold a run of digits', () => {
    expect(safeUpstreamMessage('项目 2403-320115 不存在', [])).toBeUndefined()
    expect(safeUpstreamMessage('token demo-token 无效', ['demo-token'])).toBeUndefined()
    expect(safeUpstreamMessage('  ', [])).toBeUndefined()
    expect(safeUpstreamMessage('ok', [''])).toBe('ok')
  })
})
