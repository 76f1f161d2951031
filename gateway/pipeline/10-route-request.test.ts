import { describe, expect, it } from 'vitest'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import { beginExchange, rawPathOf, requestIdFrom, routeExchange } from './10-route-request.js'

describe('routing an exchange request', () => {
  it('takes the path as sent, without query or fragment, whichever comes first', () => {
    expect(rawPathOf('http://h:1/v1/resources/a%2Fb/query?x=1#f')).toBe('/v1/resources/a%2Fb/query')
    expect(rawPathOf('http://h:1/v1/resources/a/query#f?x=1')).toBe('/v1/resources/a/query')
    expect(rawPathOf('http://h:1/v1/resources/a/records')).toBe('/v1/resources/a/records')
    expect(rawPathOf('http://h:1')).toBe('/')
  })

  it('names the resource and the action, or the refusal', () => {
    expect(routeExchange('POST', '/v1/resources/housing.construction-permit/query')).toEqual({
      resourceId: 'housing.construction-permit',
      action: 'read',
    })
    expect(routeExchange('POST', '/v1/resources/drc.permit-feedback/records/')).toEqual({
      resourceId: 'drc.permit-feedback',
      action: 'write',
    })
    expect(routeExchange('GET', '/v1/resources/a/query').error?.code).toBe('method-not-allowed')
    expect(routeExchange('POST', '/v1/resources/%E0%A4%A/query').error?.code).toBe('path-malformed')
    expect(routeExchange('POST', '/v1/other').error?.code).toBe('route-not-found')
  })

  it('keeps a safe request id and makes one otherwise', () => {
    expect(requestIdFrom('abc-123', 0)).toBe('abc-123')
    expect(requestIdFrom('bad id\n', 0)).not.toBe('bad id\n')
  })

  it('begins the call with every fact a stage may record already declared: one shape for the whole call', () => {
    const snapshot = {} as CatalogSnapshot
    const call = beginExchange(snapshot, 'r-1', 1_764_680_000_000, { resourceId: 'a', action: 'read' }, undefined)
    expect(call).toMatchObject({ requestId: 'r-1', startedAt: 1_764_680_000_000, snapshot, resourceId: 'a' })
    expect(Object.keys(call).sort()).toEqual(
      [
        'action',
        'answer',
        'auditId',
        'binding',
        'claim',
        'grant',
        'idempotencyKey',
        'params',
        'principal',
        'purpose',
        'quota',
        'receipt',
        'records',
        'released',
        'releaseDigest',
        'replay',
        'requestDigest',
        'requestId',
        'resource',
        'resourceId',
        'snapshot',
        'startedAt',
        'traceId',
        'upstreamCode',
        'upstreamMs',
      ].sort(),
    )
  })
})
