import { describe, expect, it } from 'vitest'
import { SharedClaims } from './shared-claims.js'

describe('claim values shared by cached principals', () => {
  it('keeps one copy of each value and one scope set per scope claim', () => {
    const shared = new SharedClaims()
    const a = shared.scopes('QT00301001:housing.construction-permit:read  audit:read')
    expect([...a]).toEqual(['QT00301001:housing.construction-permit:read', 'audit:read'])
    expect(shared.scopes('QT00301001:housing.construction-permit:read  audit:read')).toBe(a)
    expect(shared.scopes(undefined).size).toBe(0)
    const dept = ['d', 'r', 'c'].join('')
    expect(shared.string(dept)).toBe('drc')
    expect(shared.string(undefined)).toBeUndefined()
  })

  it('lets no one change a shared scope set', () => {
    const scopes = new SharedClaims().scopes('audit:read') as Set<string>
    expect(() => scopes.add('ops:read')).toThrow(TypeError)
    expect(() => scopes.delete('audit:read')).toThrow(TypeError)
    expect(() => scopes.clear()).toThrow(TypeError)
    expect([...scopes]).toEqual(['audit:read'])
    expect(scopes.has('audit:read')).toBe(true)
  })

  it('stops sharing new values once full, and still answers them', () => {
    const shared = new SharedClaims(2)
    shared.scopes('a')
    shared.scopes('b')
    const c = shared.scopes('c')
    expect([...c]).toEqual(['c'])
    expect(shared.scopes('c')).not.toBe(c)
    expect(shared.scopes('a')).toBe(shared.scopes('a'))
  })
})
