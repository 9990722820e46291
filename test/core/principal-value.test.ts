import { describe, expect, it } from 'vitest'
import { principalValueParts, samePrincipalValue, type Principal } from '../../src/core/principal.js'
import { RealmExportSource } from '../../src/keycloak/index.js'

// The identity the derived-result caches (components' derivedFrom, the engine's kept answers) rely on.

const bob = RealmExportSource.example().resolveSync('bob')
const withToken: Principal = { ...bob, token: Object.freeze({ claims: Object.freeze({}) }) as never }

describe('principalValueParts / samePrincipalValue', () => {
  it('a realm export principal is a frozen value; two resolutions of one user are the same value', () => {
    const again = RealmExportSource.example().resolveSync('bob')
    const source = RealmExportSource.example()
    const a = principalValueParts(source.resolveSync('bob'))!
    const b = principalValueParts(source.resolveSync('bob'))!
    expect(a).toBeDefined()
    expect(samePrincipalValue(a, b)).toBe(true)
    // Another source object builds its own parts: equal, not the same objects.
    expect(samePrincipalValue(a, principalValueParts(again)!)).toBe(false)
  })

  it('is undefined when any object part is not frozen', () => {
    const thawed: Array<[string, Partial<Principal>]> = [
      ['groups', { groups: [...bob.groups] }],
      ['realmRoles', { realmRoles: [...bob.realmRoles] }],
      ['clientRoles', { clientRoles: { ...bob.clientRoles } }],
      ['a client role list', { clientRoles: Object.freeze({ ...bob.clientRoles, extra: [] }) }],
      ['complete', { complete: { ...bob.complete } }],
      ['diagnostics', { diagnostics: [...bob.diagnostics] }],
      ['token', { token: { claims: {} } as never }],
    ]
    expect(principalValueParts(withToken)).toBeDefined()
    for (const [part, change] of thawed) expect(principalValueParts({ ...withToken, ...change }), part).toBeUndefined()
  })

  it('differs when any part but the origin differs', () => {
    const base = principalValueParts(withToken)!
    expect(samePrincipalValue(base, principalValueParts({ ...withToken, origin: { ...bob.origin, resolvedAt: 1, cached: true } })!)).toBe(true)
    const changes: Array<[string, Partial<Principal>]> = [
      ['realm', { realm: 'other' }],
      ['userId', { userId: 'other' }],
      ['username', { username: 'other' }],
      ['enabled', { enabled: false }],
      ['groups', { groups: Object.freeze([...bob.groups]) }],
      ['realmRoles', { realmRoles: Object.freeze([...bob.realmRoles]) }],
      ['clientRoles', { clientRoles: Object.freeze({ ...bob.clientRoles }) }],
      ['complete', { complete: Object.freeze({ ...bob.complete }) }],
      ['diagnostics', { diagnostics: Object.freeze([...bob.diagnostics]) }],
      ['token', { token: Object.freeze({ claims: Object.freeze({}) }) as never }],
    ]
    for (const [part, change] of changes) expect(samePrincipalValue(base, principalValueParts({ ...withToken, ...change })!), part).toBe(false)
  })
})
