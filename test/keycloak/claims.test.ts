import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InvalidInputError, InvalidOptionsError } from '../../src/core/errors.js'
import type { RoleAttributes, RoleRef } from '../../src/core/principal.js'
import { principalFromClaims, realmFromIssuer, tokenInfoFromClaims, validateClaims } from '../../src/keycloak/index.js'

const ISS = 'http://127.0.0.1:8180/realms/example'
const NOW = 1767225600 // 2026-01-01T00:00:00Z, the workspace vectors' clock
const clock = new ManualClock(NOW * 1000)

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISS,
    aud: ['workspace-api', 'eoapi'],
    azp: 'workspace-api',
    typ: 'Bearer',
    sub: 'u-alice',
    iat: NOW - 60,
    exp: NOW + 240,
    preferred_username: 'Alice',
    resource_access: { 'ws-alice': { roles: ['ws_access'] } },
    groups: ['/ws-alice'],
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k]
    else base[k] = v
  }
  return base
}

const opts = { issuers: [ISS], audience: 'workspace-api', clock }

describe('validateClaims', () => {
  it('accepts valid claims', () => {
    expect(validateClaims(claims(), opts)).toEqual({ ok: true })
  })

  it('exp: expired beyond the tolerance, within the tolerance, missing, malformed', () => {
    expect(validateClaims(claims({ exp: NOW - 30 }), opts)).toMatchObject({ ok: false, reason: 'TOKEN_EXPIRED', detail: 'EXPIRED' })
    expect(validateClaims(claims({ exp: NOW - 29 }), opts)).toEqual({ ok: true })
    expect(validateClaims(claims({ exp: NOW - 1 }), { ...opts, clockToleranceSec: 0 })).toMatchObject({ reason: 'TOKEN_EXPIRED' })
    expect(validateClaims(claims({ exp: NOW + 1 }), { ...opts, clockToleranceSec: 0 })).toEqual({ ok: true })
    expect(validateClaims(claims({ exp: undefined }), opts)).toMatchObject({ reason: 'TOKEN_EXPIRED', detail: 'MISSING_CLAIM' })
    expect(validateClaims(claims({ exp: String(NOW + 100) }), opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
  })

  it('"now" follows the injected clock (floor of ms / 1000)', () => {
    const c = new ManualClock(NOW * 1000)
    const o = { ...opts, clock: c, clockToleranceSec: 0 }
    const token = claims({ exp: NOW + 10 })
    expect(validateClaims(token, o).ok).toBe(true)
    c.advance(9_999)
    expect(validateClaims(token, o).ok).toBe(true)
    c.advance(1)
    expect(validateClaims(token, o)).toMatchObject({ reason: 'TOKEN_EXPIRED' })
  })

  it('nbf: in the future beyond the tolerance, within it, malformed', () => {
    expect(validateClaims(claims({ nbf: NOW + 31 }), opts)).toMatchObject({ reason: 'TOKEN_NOT_YET_VALID', detail: 'NOT_YET_VALID' })
    expect(validateClaims(claims({ nbf: NOW + 30 }), opts)).toEqual({ ok: true })
    expect(validateClaims(claims({ nbf: 'later' }), opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
  })

  it('iss: must be one of the configured issuers, exactly', () => {
    expect(validateClaims(claims({ iss: 'http://127.0.0.1:8180/realms/other' }), opts)).toMatchObject({ reason: 'ISSUER_MISMATCH', detail: 'WRONG_ISSUER' })
    expect(validateClaims(claims({ iss: 'http://localhost:8180/realms/example' }), opts)).toMatchObject({ reason: 'ISSUER_MISMATCH' })
    expect(validateClaims(claims({ iss: `${ISS}/` }), opts)).toMatchObject({ reason: 'ISSUER_MISMATCH' })
    expect(validateClaims(claims({ iss: 'http://localhost:8180/realms/example' }), { ...opts, issuers: [ISS, 'http://localhost:8180/realms/example'] })).toEqual({ ok: true })
    expect(validateClaims(claims({ iss: undefined }), opts)).toMatchObject({ reason: 'ISSUER_MISMATCH', detail: 'MISSING_CLAIM' })
    expect(validateClaims(claims({ iss: 7 }), opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
  })

  it('aud: string or array; any-of configured audiences; azp fallback only when configured', () => {
    expect(validateClaims(claims({ aud: 'workspace-api' }), opts)).toEqual({ ok: true })
    expect(validateClaims(claims({ aud: 'account' }), opts)).toMatchObject({ reason: 'AUDIENCE_MISMATCH', detail: 'WRONG_AUDIENCE' })
    expect(validateClaims(claims({ aud: ['account', 'eoapi'] }), opts)).toMatchObject({ reason: 'AUDIENCE_MISMATCH' })
    expect(validateClaims(claims({ aud: ['account', 'eoapi'] }), { ...opts, audience: ['x', 'eoapi'] })).toEqual({ ok: true })
    expect(validateClaims(claims({ aud: undefined, azp: undefined }), opts)).toMatchObject({ reason: 'AUDIENCE_MISMATCH', detail: 'MISSING_CLAIM' })
    expect(validateClaims(claims({ aud: 42 }), opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
    expect(validateClaims(claims({ aud: ['workspace-api', 1] }), opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
    // Substring or prefix matches are not matches.
    expect(validateClaims(claims({ aud: 'workspace-api-x' }), opts)).toMatchObject({ reason: 'AUDIENCE_MISMATCH' })
    // azp policy
    const azpOpts = { ...opts, allowAzp: ['workspace-api'] }
    expect(validateClaims(claims({ aud: 'account' }), azpOpts)).toEqual({ ok: true })
    expect(validateClaims(claims({ aud: 'account', azp: 'jupyterhub' }), azpOpts)).toMatchObject({ reason: 'AUDIENCE_MISMATCH' })
    expect(validateClaims(claims({ aud: undefined, azp: 'workspace-api' }), azpOpts)).toEqual({ ok: true })
    expect(validateClaims(claims({ aud: 'account' }), { issuers: [ISS], clock, allowAzp: ['workspace-api'] })).toEqual({ ok: true })
    expect(validateClaims(claims({ azp: 'jupyterhub' }), { issuers: [ISS], clock, allowAzp: ['workspace-api'] })).toMatchObject({ reason: 'AUDIENCE_MISMATCH' })
    // Without an audience policy, aud is not checked.
    expect(validateClaims(claims({ aud: 'anything' }), { issuers: [ISS], clock })).toEqual({ ok: true })
  })

  it('typ: Bearer (default), absent allowed unless allowMissingType is false, ID/Refresh rejected', () => {
    expect(validateClaims(claims({ typ: 'ID' }), opts)).toMatchObject({ reason: 'TOKEN_TYPE_NOT_ALLOWED', detail: 'WRONG_TYPE' })
    expect(validateClaims(claims({ typ: 'Refresh' }), opts)).toMatchObject({ reason: 'TOKEN_TYPE_NOT_ALLOWED' })
    expect(validateClaims(claims({ typ: 'bearer' }), opts)).toMatchObject({ reason: 'TOKEN_TYPE_NOT_ALLOWED' })
    expect(validateClaims(claims({ typ: undefined }), opts)).toEqual({ ok: true })
    expect(validateClaims(claims({ typ: undefined }), { ...opts, allowMissingType: false })).toMatchObject({ reason: 'TOKEN_TYPE_NOT_ALLOWED', detail: 'MISSING_CLAIM' })
    expect(validateClaims(claims({ typ: 'ID' }), { ...opts, allowedTypes: ['Bearer', 'ID'] })).toEqual({ ok: true })
  })

  it('requiredClaims are checked first', () => {
    const o = { ...opts, requiredClaims: ['exp', 'iat'] }
    expect(validateClaims(claims(), o)).toEqual({ ok: true })
    expect(validateClaims(claims({ iat: undefined, exp: NOW - 3600 }), o)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MISSING_CLAIM' })
    expect(validateClaims(claims({ exp: undefined }), o)).toMatchObject({ reason: 'TOKEN_EXPIRED', detail: 'MISSING_CLAIM' })
  })

  it('reports the first failure in the order exp → nbf → iss → aud → typ', () => {
    const all = { exp: NOW - 3600, nbf: NOW + 3600, iss: 'http://x/realms/y', aud: 'account', typ: 'ID' }
    const order = ['TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'ISSUER_MISMATCH', 'AUDIENCE_MISMATCH', 'TOKEN_TYPE_NOT_ALLOWED']
    const fixes: Record<string, unknown>[] = [{ exp: NOW + 60 }, { nbf: undefined }, { iss: ISS }, { aud: 'workspace-api' }, { typ: 'Bearer' }]
    let current: Record<string, unknown> = { ...all }
    for (let i = 0; i < order.length; i++) {
      expect(validateClaims(claims(current), opts)).toMatchObject({ ok: false, reason: order[i] })
      current = { ...current, ...fixes[i] }
    }
    expect(validateClaims(claims(current), opts)).toEqual({ ok: true })
  })

  it('time checks match the §4 formulas for any exp, nbf, tolerance and clock (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: -400, max: 400 }),
        fc.option(fc.integer({ min: -400, max: 400 }), { nil: undefined }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 999 }),
        (nowSec, expOffset, nbfOffset, tolerance, subMs) => {
          const exp = nowSec + expOffset
          const nbf = nbfOffset === undefined ? undefined : nowSec + nbfOffset
          const result = validateClaims(claims({ exp, nbf }), { ...opts, clock: new ManualClock(nowSec * 1000 + subMs), clockToleranceSec: tolerance })
          const expected = !(exp > nowSec - tolerance) ? 'TOKEN_EXPIRED' : nbf !== undefined && nbf > nowSec + tolerance ? 'TOKEN_NOT_YET_VALID' : undefined
          expect(result.ok ? undefined : result.reason).toBe(expected)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('a non-object claims set is TOKEN_INVALID / MALFORMED', () => {
    expect(validateClaims(null as unknown as Record<string, unknown>, opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
    expect(validateClaims([] as unknown as Record<string, unknown>, opts)).toMatchObject({ reason: 'TOKEN_INVALID', detail: 'MALFORMED' })
  })

  it('validates options eagerly', () => {
    const bad = (o: unknown, option: string) => {
      try {
        validateClaims(claims(), o as never)
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError)
        expect((err as InvalidOptionsError).option).toBe(option)
      }
    }
    bad({ issuers: [] }, 'issuers')
    bad({ issuers: [ISS, ''] }, 'issuers.1')
    bad({ issuers: ISS }, 'issuers')
    bad({ issuers: [ISS], audience: [] }, 'audience')
    bad({ issuers: [ISS], clockToleranceSec: -1 }, 'clockToleranceSec')
    bad({ issuers: [ISS], clockToleranceSec: Number.NaN }, 'clockToleranceSec')
    bad({ issuers: [ISS], allowedTypes: [] }, 'allowedTypes')
    bad({ issuers: [ISS], clock: {} }, 'clock')
    bad({ issuers: [ISS], clock: { now: () => Number.NaN } }, 'clock')
  })

  it('agrees with every workspace vector that expects a token rejection', () => {
    const lines = readFileSync(new URL('../fixtures/reference-vectors/workspaces.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean)
    const tokenReasons = new Set(['TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID', 'ISSUER_MISMATCH', 'AUDIENCE_MISMATCH', 'TOKEN_TYPE_NOT_ALLOWED'])
    let checked = 0
    for (const line of lines) {
      const v = JSON.parse(line) as { id: string; input: { claims?: Record<string, unknown>; path?: string }; expected: { reason?: string } }
      if (v.input.claims === undefined || !v.input.path?.startsWith('/workspaces')) continue
      const result = validateClaims(v.input.claims, opts)
      if (tokenReasons.has(v.expected.reason ?? '')) {
        expect(result, v.id).toMatchObject({ ok: false, reason: v.expected.reason })
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4)
  })
})

describe('principalFromClaims', () => {
  const keycloakClaims = {
    exp: 1796113973,
    iat: 1796113673,
    iss: ISS,
    aud: ['jupyterhub', 'conda_store', 'account'],
    sub: '891c7b16-fd5c-41cd-810c-abeb8bdbc12b',
    typ: 'Bearer',
    azp: 'jupyterhub',
    realm_access: { roles: ['offline_access', 'default-roles-example', 'uma_authorization'] },
    resource_access: {
      jupyterhub: { roles: ['allow-read-access-to-services-role', 'jupyterhub_developer', 'allow-group-directory-creation-role', 'allow-app-sharing-role'] },
      conda_store: { roles: ['conda_store_developer', 'analyst-global-viewer'] },
      account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] },
    },
    scope: 'openid email  profile',
    groups: ['/analyst'],
    preferred_username: 'Alice',
  }

  const catalogue = new Map<string, RoleAttributes>([
    ['conda_store/analyst-global-viewer', { component: ['conda-store'], scopes: ['viewer!namespace=global'] }],
    ['conda_store/conda_store_developer', {}],
    ['jupyterhub/allow-read-access-to-services-role', { scopes: ['read:services'] }],
    ['jupyterhub/jupyterhub_developer', {}],
    ['jupyterhub/allow-group-directory-creation-role', {}],
    ['jupyterhub/allow-app-sharing-role', {}],
    ['account/manage-account', {}],
    ['account/manage-account-links', {}],
    ['account/view-profile', {}],
    ['/offline_access', {}],
    ['/default-roles-example', {}],
    ['/uma_authorization', {}],
  ])
  const lookup = (r: RoleRef) => catalogue.get(`${r.client ?? ''}/${r.name}`)

  it('maps a Keycloak access token to a principal', () => {
    const p = principalFromClaims(keycloakClaims, { attributes: lookup, clock: new ManualClock(42) })
    expect(p.realm).toBe('example')
    expect(p.userId).toBe('891c7b16-fd5c-41cd-810c-abeb8bdbc12b')
    expect(p.username).toBe('alice')
    expect(p.groups).toEqual(['/analyst'])
    expect(p.realmRoles.map((r) => r.name)).toEqual(['default-roles-example', 'offline_access', 'uma_authorization'])
    expect(Object.keys(p.clientRoles).sort()).toEqual(['account', 'conda_store', 'jupyterhub'])
    expect(p.clientRoles['conda_store']).toEqual([
      { client: 'conda_store', name: 'analyst-global-viewer', attributes: { component: ['conda-store'], scopes: ['viewer!namespace=global'] }, via: [] },
      { client: 'conda_store', name: 'conda_store_developer', attributes: {}, via: [] },
    ])
    expect(p.clientRoles['jupyterhub']!.map((r) => r.name)).toEqual([
      'allow-app-sharing-role',
      'allow-group-directory-creation-role',
      'allow-read-access-to-services-role',
      'jupyterhub_developer',
    ])
    expect(p.realmRoles[0]).toEqual({ name: 'default-roles-example', attributes: {}, via: [] })
    expect(p.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: false })
    expect(p.origin).toEqual({ kind: 'token', resolvedAt: 42, cached: false, stale: false })
    expect(p.token).toMatchObject({ issuer: ISS, audience: ['jupyterhub', 'conda_store', 'account'], azp: 'jupyterhub', scope: ['openid', 'email', 'profile'], expiresAt: 1796113973 })
    expect(p.diagnostics).toEqual([])
  })

  it('without a lookup: empty attributes, attributes incomplete, no diagnostic', () => {
    const p = principalFromClaims(keycloakClaims)
    expect(p.complete.attributes).toBe(false)
    expect(p.clientRoles['conda_store']![0]!.attributes).toEqual({})
    expect(p.diagnostics).toEqual([])
  })

  it('a role missing from the lookup: {} attributes, a diagnostic naming it, attributes incomplete', () => {
    const p = principalFromClaims(keycloakClaims, { attributes: (r) => (r.name === 'analyst-global-viewer' ? undefined : lookup(r)) })
    expect(p.complete.attributes).toBe(false)
    expect(p.clientRoles['conda_store']![0]).toMatchObject({ name: 'analyst-global-viewer', attributes: {} })
    expect(p.diagnostics).toHaveLength(1)
    expect(p.diagnostics[0]).toMatchObject({ code: 'KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE', subject: { role: { client: 'conda_store', name: 'analyst-global-viewer' }, user: 'alice' } })
  })

  it('restricts client roles to the configured clients', () => {
    const p = principalFromClaims(
      { ...keycloakClaims, resource_access: { ...keycloakClaims.resource_access, other: { roles: 'not-a-list' } } },
      { clients: ['conda_store'] },
    )
    expect(Object.keys(p.clientRoles)).toEqual(['conda_store'])
  })

  it('drops empty client entries and duplicate role names', () => {
    const p = principalFromClaims({ ...keycloakClaims, resource_access: { a: { roles: [] }, b: { roles: ['x', 'x', 'w'] } } })
    expect(Object.keys(p.clientRoles)).toEqual(['b'])
    expect(p.clientRoles['b']!.map((r) => r.name)).toEqual(['w', 'x'])
  })

  it('a lightweight token (no roles claims, no sub, no username): principal with diagnostics', () => {
    const light = { azp: 'jupyterhub', exp: 1796113973, iat: 1796113673, iss: ISS, jti: 'x', scope: 'openid', sid: 's', typ: 'Bearer' }
    const p = principalFromClaims(light)
    expect(p.userId).toBeUndefined()
    expect(p.username).toBe('')
    expect(p.realmRoles).toEqual([])
    expect(p.clientRoles).toEqual({})
    expect(p.complete).toEqual({ groups: false, realmRoles: false, attributes: false, provenance: false })
    expect(p.diagnostics.map((d) => d.code).sort()).toEqual(['KEYCLOAK_TOKEN_HAS_NO_GROUPS', 'KEYCLOAK_TOKEN_HAS_NO_ROLES', 'KEYCLOAK_TOKEN_HAS_NO_USERNAME'])
    expect(p.token?.audience).toEqual([])
  })

  it('only resource_access (Keycloak omits realm_access for a user without realm roles): realm roles complete', () => {
    const { realm_access: _, ...rest } = keycloakClaims
    const p = principalFromClaims(rest)
    expect(p.realmRoles).toEqual([])
    expect(p.complete.realmRoles).toBe(true)
    expect(p.diagnostics).toEqual([])
  })

  it('groups: absent → incomplete + diagnostic; groupsClaim false → ignored; bare names dropped with a diagnostic', () => {
    const { groups: _, ...noGroups } = keycloakClaims
    const a = principalFromClaims(noGroups)
    expect(a.groups).toEqual([])
    expect(a.complete.groups).toBe(false)
    expect(a.diagnostics.map((d) => [d.code, d.severity])).toEqual([['KEYCLOAK_TOKEN_HAS_NO_GROUPS', 'info']])

    // Keycloak's group-membership mapper omits the claim for a user without groups.
    const declared = principalFromClaims(noGroups, { groupsMapperConfigured: true })
    expect(declared.groups).toEqual([])
    expect(declared.complete.groups).toBe(true)
    expect(declared.diagnostics).toEqual([])

    const b = principalFromClaims(keycloakClaims, { groupsClaim: false })
    expect(b.groups).toEqual([])
    expect(b.complete.groups).toBe(false)
    expect(b.diagnostics).toEqual([])

    const c = principalFromClaims({ ...keycloakClaims, groups: ['/projects/ml', 'analyst', '/a/b~/c', 3, '/projects/ml'] })
    expect(c.groups).toEqual(['/a/b~/c', '/projects/ml'])
    expect(c.complete.groups).toBe(false)
    expect(c.diagnostics.map((d) => [d.code, d.subject.group])).toEqual([
      ['KEYCLOAK_TOKEN_GROUPS_MALFORMED', 'analyst'],
      ['KEYCLOAK_TOKEN_GROUPS_MALFORMED', undefined],
    ])

    const d = principalFromClaims({ ...keycloakClaims, groups: '/analyst' })
    expect(d.groups).toEqual([])
    expect(d.diagnostics.map((x) => x.code)).toEqual(['KEYCLOAK_TOKEN_GROUPS_MALFORMED'])
  })

  it('malformed role claims throw InvalidInputError naming the claim path', () => {
    const path = (c: Record<string, unknown>) => {
      try {
        principalFromClaims({ ...keycloakClaims, ...c })
        return 'no error'
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidInputError)
        return (err as InvalidInputError).path
      }
    }
    expect(path({ realm_access: ['x'] })).toBe('realm_access')
    expect(path({ realm_access: { roles: 'x' } })).toBe('realm_access.roles')
    expect(path({ realm_access: { roles: ['a', 1] } })).toBe('realm_access.roles.1')
    expect(path({ resource_access: 'x' })).toBe('resource_access')
    expect(path({ resource_access: { conda_store: { roles: ['a', 'b', null] } } })).toBe('resource_access.conda_store.roles.2')
    expect(path({ resource_access: { conda_store: null } })).toBe('resource_access.conda_store')
    expect(path({ sub: 1 })).toBe('sub')
    expect(path({ preferred_username: ['alice'] })).toBe('preferred_username')
    expect(path({ aud: 1 })).toBe('aud')
    expect(path({ scope: ['openid'] })).toBe('scope')
    expect(path({ iss: undefined })).toBe('iss')
    expect(path({ exp: '1' })).toBe('exp')
    expect(path({ iss: 'http://127.0.0.1:8180/' })).toBe('iss')
  })

  it('realm: derived from iss (with /auth), or from the option', () => {
    expect(principalFromClaims({ ...keycloakClaims, iss: 'https://nebari.example.org/auth/realms/nebari' }).realm).toBe('nebari')
    expect(principalFromClaims({ ...keycloakClaims, iss: 'https://idp.example.org/' }, { realm: 'custom' }).realm).toBe('custom')
    expect(realmFromIssuer('http://h/realms/my%20realm')).toBe('my realm')
    expect(realmFromIssuer('http://h/realms/')).toBeUndefined()
    expect(realmFromIssuer('http://h/realms/a/b')).toBeUndefined()
  })

  it('validates options eagerly', () => {
    expect(() => principalFromClaims(keycloakClaims, { realm: '' })).toThrow(InvalidOptionsError)
    expect(() => principalFromClaims(keycloakClaims, { groupsClaim: 'roles' as never })).toThrow(InvalidOptionsError)
    expect(() => principalFromClaims(keycloakClaims, { attributes: {} as never })).toThrow(InvalidOptionsError)
    expect(() => principalFromClaims(keycloakClaims, { clients: [1] as never })).toThrow(InvalidOptionsError)
    expect(() => principalFromClaims(keycloakClaims, { groupsMapperConfigured: 'yes' as never })).toThrow(InvalidOptionsError)
  })

  it('tokenInfoFromClaims: string aud becomes an array; azp only when present', () => {
    const info = tokenInfoFromClaims({ iss: ISS, aud: 'account', exp: 5 })
    expect(info.audience).toEqual(['account'])
    expect(info.scope).toEqual([])
    expect('azp' in info).toBe(false)
  })
})

describe('hostile client ids in resource_access', () => {
  it('keeps a client named __proto__ as an entry, never as the prototype', () => {
    const claims = JSON.parse('{"iss":"http://127.0.0.1:8180/realms/example","sub":"s","preferred_username":"u","exp":1767225840,"iat":1767225540,"resource_access":{"__proto__":{"roles":["x"]}}}')
    const p = principalFromClaims(claims)
    expect(Object.getPrototypeOf(p.clientRoles)).toBe(Object.prototype)
    expect(Object.keys(p.clientRoles)).toEqual(['__proto__'])
  })
})

describe('principalFromClaims: role objects are shared between principals', () => {
  it('one frozen object per (role, attribute map), never mixing attribute maps', () => {
    const claims = (user: string) => ({
      iss: 'http://kc/realms/r',
      sub: `s-${user}`,
      exp: 1767225900,
      iat: 1767225600,
      preferred_username: user,
      realm_access: { roles: ['offline_access'] },
      resource_access: { 'ws-a': { roles: ['ws_access'] } },
    })
    const a = principalFromClaims(claims('a'))
    const b = principalFromClaims(claims('b'))
    expect(b.clientRoles['ws-a']![0]).toBe(a.clientRoles['ws-a']![0])
    expect(b.realmRoles[0]).toBe(a.realmRoles[0])
    expect(Object.isFrozen(a.realmRoles[0])).toBe(true)
    expect(a.clientRoles['ws-a']).toEqual([{ client: 'ws-a', name: 'ws_access', attributes: {}, via: [] }])
    const withAttributes: RoleAttributes = { workspace: ['ws-a'] }
    const c = principalFromClaims(claims('c'), { attributes: () => withAttributes })
    expect(c.clientRoles['ws-a']![0]).not.toBe(a.clientRoles['ws-a']![0])
    expect(c.clientRoles['ws-a']![0]!.attributes).toBe(withAttributes)
    // A realm role and a client role of the same name never share an object.
    const d = principalFromClaims({ ...claims('d'), realm_access: { roles: ['ws_access'] } })
    expect(d.realmRoles[0]).not.toBe(d.clientRoles['ws-a']![0])
    expect(d.realmRoles[0]!.client).toBeUndefined()
  })
})

describe('principalFromClaims: lists, records and token lists are shared between principals too', () => {
  const claims = (user: string, extra: Record<string, unknown> = {}) => ({
    iss: 'http://kc/realms/r',
    sub: `s-${user}`,
    exp: 1767225900,
    iat: 1767225600,
    aud: ['workspace-api', 'account'],
    scope: 'openid profile email',
    preferred_username: user,
    groups: ['/projects/ml', '/developer'],
    realm_access: { roles: ['offline_access', 'default-roles-r'] },
    resource_access: { 'ws-a': { roles: ['ws_access'] }, conda_store: { roles: ['viewer', 'developer'] } },
    ...extra,
  })

  it('gives two users with the same claims one frozen object for each list and record, and the same values as before', () => {
    const a = principalFromClaims(claims('a'), { groupsMapperConfigured: true })
    const b = principalFromClaims(claims('b'), { groupsMapperConfigured: true })
    expect(b.realmRoles).toBe(a.realmRoles)
    expect(b.clientRoles).toBe(a.clientRoles)
    expect(b.groups).toBe(a.groups)
    expect(b.complete).toBe(a.complete)
    expect(b.token!.scope).toBe(a.token!.scope)
    expect(b.token!.audience).toBe(a.token!.audience)
    for (const value of [a.realmRoles, a.clientRoles, ...Object.values(a.clientRoles), a.groups, a.complete, a.diagnostics, a.token!.scope, a.token!.audience]) {
      expect(Object.isFrozen(value)).toBe(true)
    }
    // Values unchanged: sorted, deduplicated, no provenance.
    expect(a.groups).toEqual(['/developer', '/projects/ml'])
    expect(a.realmRoles.map((r) => r.name)).toEqual(['default-roles-r', 'offline_access'])
    expect(Object.keys(a.clientRoles)).toEqual(['conda_store', 'ws-a'])
    expect(a.clientRoles['conda_store']).toEqual([
      { client: 'conda_store', name: 'developer', attributes: {}, via: [] },
      { client: 'conda_store', name: 'viewer', attributes: {}, via: [] },
    ])
    expect(a.token).toEqual({ issuer: 'http://kc/realms/r', audience: ['workspace-api', 'account'], scope: ['openid', 'profile', 'email'], expiresAt: 1767225900, claims: claims('a') })
    expect(a.complete).toEqual({ groups: true, realmRoles: true, attributes: false, provenance: false })
    expect(a.diagnostics).toEqual([])
    // The principal keeps the caller's claims object itself.
    const own = claims('c')
    expect(principalFromClaims(own).token!.claims).toBe(own)
  })

  it('keeps users with different roles apart', () => {
    const a = principalFromClaims(claims('a'))
    const b = principalFromClaims(claims('b', { resource_access: { 'ws-b': { roles: ['ws_access'] } }, groups: ['/other'], scope: 'openid' }))
    expect(Object.keys(b.clientRoles)).toEqual(['ws-b'])
    expect(b.clientRoles).not.toBe(a.clientRoles)
    expect(b.groups).toEqual(['/other'])
    expect(b.token!.scope).toEqual(['openid'])
    expect(a.token!.scope).toEqual(['openid', 'profile', 'email'])
  })
})
