import { describe, expect, it } from 'vitest'
import {
  KeycloakPermissionsError, InvalidOptionsError, InvalidInputError, RealmExportInvalidError, UserNotFoundError,
  ClientNotFoundError, SourceUnavailableError, InsufficientPermissionsError, TokenRejectedError,
  ManualClock, systemClock, diagnostic, hasErrors, allow, deny, clientRolesOf, hasRole, formatRole, summarizePrincipal,
  splitGroupPath, joinGroupPath, groupBasename, groupWithAncestors, type Principal,
} from '../../src/index.js'

describe('errors', () => {
  const cases: Array<[KeycloakPermissionsError, string]> = [
    [new KeycloakPermissionsError('x'), 'ERR_KEYCLOAK_PERMISSIONS'],
    [new InvalidOptionsError('cache.max', 'must be positive'), 'ERR_INVALID_OPTIONS'],
    [new InvalidInputError('vector', 'a.b', 'bad'), 'ERR_INVALID_INPUT'],
    [new RealmExportInvalidError('users.0', 'bad'), 'KEYCLOAK_REALM_EXPORT_INVALID'],
    [new UserNotFoundError('example', 'mallory'), 'KEYCLOAK_USER_NOT_FOUND'],
    [new ClientNotFoundError('example', 'nope'), 'KEYCLOAK_CLIENT_NOT_FOUND'],
    [new SourceUnavailableError('admin-api', 'connection refused'), 'KEYCLOAK_SOURCE_UNAVAILABLE'],
    [new InsufficientPermissionsError(['view-users']), 'KEYCLOAK_INSUFFICIENT_PERMISSIONS'],
    [new TokenRejectedError('TOKEN_EXPIRED', 'EXPIRED', 'expired'), 'KEYCLOAK_TOKEN_REJECTED'],
  ]
  it.each(cases)('%s has a stable code, its class name and the base class', (err, code) => {
    expect(err.code).toBe(code)
    expect((err.constructor as typeof KeycloakPermissionsError).code).toBe(code)
    expect(err).toBeInstanceOf(KeycloakPermissionsError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe(err.constructor.name)
  })
  it('carries machine-readable fields', () => {
    expect(new InvalidOptionsError('cache.max', 'must be positive')).toMatchObject({ option: 'cache.max', message: 'Invalid option cache.max: must be positive' })
    expect(new RealmExportInvalidError('users.0.groups', 'expected array')).toMatchObject({ path: 'users.0.groups', what: 'realm export' })
    expect(new SourceUnavailableError('admin-api', 'boom', { status: 503 })).toMatchObject({ status: 503, retryable: true, source: 'admin-api' })
    expect(new InsufficientPermissionsError(['view-users', 'view-clients']).missing).toEqual(['view-users', 'view-clients'])
    expect(new TokenRejectedError('TOKEN_INVALID', 'BAD_SIGNATURE', 'sig')).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'BAD_SIGNATURE' })
    const cause = new Error('root')
    expect(new SourceUnavailableError('x', 'y', { cause }).cause).toBe(cause)
  })
})

describe('clock', () => {
  it('ManualClock moves only when told', () => {
    const c = new ManualClock(10)
    c.advance(5)
    expect(c.now()).toBe(15)
    c.set(3)
    expect(c.now()).toBe(3)
  })
  it('systemClock reads Date.now()', () => {
    const before = Date.now()
    const now = systemClock.now()
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
  })
})

describe('diagnostics and decisions', () => {
  it('drops undefined optional fields', () => {
    expect(diagnostic('warning', 'X', 'm')).toEqual({ severity: 'warning', code: 'X', message: 'm', subject: {} })
    expect(diagnostic('error', 'X', 'm', { item: 'i' }, { fix: 'f' })).toEqual({ severity: 'error', code: 'X', message: 'm', subject: { item: 'i' }, fix: 'f' })
  })
  it('hasErrors looks for error severity only', () => {
    expect(hasErrors([diagnostic('warning', 'A', ''), diagnostic('info', 'B', '')])).toBe(false)
    expect(hasErrors([diagnostic('warning', 'A', ''), diagnostic('error', 'B', '')])).toBe(true)
  })
  it('allow and deny build values', () => {
    expect(allow('OK', [{ kind: 'rule', label: 'r' }], { rule: 'r', grant: { role: 'x' } })).toEqual({ allowed: true, reason: 'OK', trace: [{ kind: 'rule', label: 'r' }], rule: 'r', grant: { role: 'x' } })
    expect(deny('NOPE')).toEqual({ allowed: false, reason: 'NOPE', trace: [] })
    expect(deny('NOPE', [], { diagnostics: [] })).not.toHaveProperty('diagnostics')
  })
})

describe('principal helpers', () => {
  const principal: Principal = {
    realm: 'r', userId: 'u1', username: 'u', groups: ['/b', '/a'],
    realmRoles: [{ name: 'rr', attributes: {}, via: [{ kind: 'direct' }] }],
    clientRoles: { c: [{ client: 'c', name: 'x', attributes: { z: ['1'], a: ['2'] }, via: [] }], empty: [] },
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
  it('reads roles', () => {
    expect(clientRolesOf(principal, 'c').map((r) => r.name)).toEqual(['x'])
    expect(clientRolesOf(principal, 'toString')).toEqual([])
    expect(hasRole(principal, { client: 'c', name: 'x' })).toBe(true)
    expect(hasRole(principal, { name: 'x' })).toBe(false)
    expect(hasRole(principal, { name: 'rr' })).toBe(true)
    expect(formatRole({ client: 'c', name: 'x' })).toBe('c/x')
    expect(formatRole({ name: 'rr' })).toBe('rr')
  })
  it('summarises without provenance, origin and empty clients', () => {
    expect(summarizePrincipal(principal)).toEqual({
      realm: 'r', username: 'u', groups: ['/a', '/b'], realmRoles: { rr: {} }, clientRoles: { c: { x: { a: ['2'], z: ['1'] } } },
    })
    // A disabled account is part of the comparable essence; enabled (or unknown) adds nothing.
    expect(summarizePrincipal({ ...principal, enabled: false })).toMatchObject({ username: 'u', enabled: false })
    expect(summarizePrincipal({ ...principal, enabled: true })).not.toHaveProperty('enabled')
  })
})

describe('group paths (D12)', () => {
  it('splits with ~/ escapes', () => {
    expect(splitGroupPath('/projects/ml')).toEqual(['projects', 'ml'])
    expect(splitGroupPath('/a/b~/c')).toEqual(['a', 'b/c'])
    expect(splitGroupPath('ml')).toEqual([])
  })
  it('round-trips', () => {
    for (const p of ['/a', '/a/b', '/a/b~/c', '/x~/y/z']) expect(joinGroupPath(splitGroupPath(p))).toBe(p)
  })
  it('derives basenames and ancestors', () => {
    expect(groupBasename('/projects/ml')).toBe('ml')
    expect(groupBasename('/a/b~/c')).toBe('b/c')
    expect(groupWithAncestors('/projects/ml')).toEqual(['/projects', '/projects/ml'])
    expect(groupWithAncestors('/a~/b/c')).toEqual(['/a~/b', '/a~/b/c'])
  })
})
