import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { CONDA_STORE_PERMISSIONS, CondaRoleError, CondaStorePermissions, mergeBindings, permissionsForRoles } from '../../src/conda-store/index.js'

const token = (roleBindings: Record<string, string[]>, primaryNamespace = 'alice') => ({ primaryNamespace, roleBindings })

describe('roles and permissions', () => {
  it('keeps the verbatim strings, sizes and code-unit order', () => {
    expect(permissionsForRoles(['viewer'])).toHaveLength(3)
    expect(permissionsForRoles(['developer'])).toHaveLength(8)
    expect(permissionsForRoles(['admin'])).toHaveLength(17)
    expect(permissionsForRoles(['developer'])).toContain('environment:create')
    const admin = permissionsForRoles(['admin'])
    expect(admin.indexOf('environment::update')).toBeLessThan(admin.indexOf('environment:create'))
  })
  it('rejects editor and unknown roles with typed errors', () => {
    expect(() => permissionsForRoles(['editor'])).toThrow(expect.objectContaining({ code: 'CONDA_ROLE_EDITOR_IN_BINDING', role: 'editor' }))
    expect(() => permissionsForRoles(['Viewer'])).toThrow(CondaRoleError)
  })
  it('validates roleMappings and roleMappingsVersion eagerly', () => {
    expect(() => permissionsForRoles(['viewer'], { roleMappings: { viewer: ['nope' as never], editor: [], admin: [] } })).toThrow(InvalidOptionsError)
    expect(() => permissionsForRoles(['viewer'], { roleMappings: { viewer: [], admin: [] } })).toThrow(/roleMappings.editor/)
    expect(() => CondaStorePermissions.create(null, { roleMappingsVersion: 3 as never })).toThrow(/invalid role mappings version: 3, expected: \(1, 2\)/)
    expect(() => CondaStorePermissions.create(null, { compat: 'upstream' as never })).toThrow(InvalidOptionsError)
  })
})

describe('merge and effective permissions', () => {
  it('database grants replace token bindings per exact key; effective = union over matches', () => {
    const merged = mergeBindings(token({ 'analyst/*': ['developer'], '*/*': ['viewer'] }), { v2: [['analyst', 'alice', 'viewer']] }, { roleMappingsVersion: 2 })
    expect(merged.find((b) => b.arn === 'analyst/*')).toMatchObject({ roles: ['viewer'], source: 'database', replaced: [{ source: 'token', roles: ['developer'] }] })
    const perms = CondaStorePermissions.create(token({ 'analyst/*': ['developer'], 'analyst/pandas': ['admin'] }), { database: { v2: [['analyst', 'alice', 'viewer']] }, roleMappingsVersion: 2 })
    expect(perms.can('environment::update', 'analyst/other')).toBe(false)
    expect(perms.can(['environment::delete', 'environment::read'], 'analyst/pandas')).toBe(true)
  })
  it('one unconvertible binding denies every check with INVALID_BINDINGS, never a partial grant', () => {
    const perms = CondaStorePermissions.create(token({ 'alice/*': ['admin'], 'x/*': ['superuser'] }))
    expect(perms.can('environment::read', 'alice/e')).toBe(false)
    const d = perms.check('environment::read', 'alice/e')
    expect(d).toMatchObject({ allowed: false, reason: 'INVALID_BINDINGS' })
    expect(d.diagnostics?.[0]).toMatchObject({ code: 'CONDA_ROLE_UNKNOWN', details: { arn: 'x/*', role: 'superuser' } })
    expect(() => perms.permissionsOn('alice/e')).toThrow(CondaRoleError)
    expect(perms.filterEnvironments(['alice/e'])).toEqual([])
  })
  it('a bad role stops checks but not listing (upstream lists by SQL LIKE, never converting roles); a bad ARN stops both', () => {
    for (const compat of [{}, { compat: 'conda-store' as const }]) {
      const perms = CondaStorePermissions.create(token({ 'namespace1/name3': ['editor'] }, 'default'), compat)
      const envs = ['default/name1', 'namespace1/name3', 'namespace2/name4']
      expect(perms.filterEnvironments(envs, { visibility: 'listed' })).toEqual(['default/name1', 'namespace1/name3'])
      expect(perms.filterEnvironments(envs)).toEqual([])
      expect(perms.can('environment::read', 'namespace1/name3')).toBe(false)
      expect(perms.isNamespaceVisible('namespace1')).toBe(true)
      const badArn = CondaStorePermissions.create(token({ 'a/b/c': ['viewer'] }), compat)
      expect(badArn.filterEnvironments(envs, { visibility: 'listed' })).toEqual([])
      expect(badArn.isNamespaceVisible('default')).toBe(false)
    }
  })
  it('toPermissionResponse never throws: unusable bindings grant nothing and carry the typed error', () => {
    const r = CondaStorePermissions.create(token({ 'namespace1/name3': ['editor'] })).toPermissionResponse()
    expect(r.entity_permissions).toEqual({})
    expect(r.entity_roles['namespace1/name3']).toEqual(['editor'])
    expect(r.error).toMatchObject({ code: 'CONDA_ROLE_EDITOR_IN_BINDING', upstreamStatus: 500, arn: 'namespace1/name3', role: 'editor' })
    expect(CondaStorePermissions.create(token({ 'a/b/c': ['viewer'] })).toPermissionResponse().error?.code).toBe('CONDA_ARN_INVALID')
    expect(CondaStorePermissions.create(null).toPermissionResponse().error).toBeUndefined()
  })
  it('listed and readable differ for empty role sets (D4)', () => {
    const perms = CondaStorePermissions.create(token({ 'global/*': [] }))
    expect(perms.filterEnvironments(['global/base'])).toEqual([])
    expect(perms.filterEnvironments(['global/base'], { visibility: 'listed' })).toEqual(['global/base'])
    expect(perms.isNamespaceVisible('global')).toBe(true)
    expect(() => perms.filterEnvironments([], { visibility: 'all' as never })).toThrow(InvalidOptionsError)
  })
  it('accepts conda-store environment objects and keeps the input elements', () => {
    const perms = CondaStorePermissions.create(token({ 'ml/*': ['viewer'] }))
    const envs = [
      { id: 1, namespace: { id: 1, name: 'ml', metadata_: {}, role_mappings: [] }, name: 'torch', current_build_id: 1, description: null },
      { id: 2, namespace: { id: 2, name: 'bob', metadata_: {}, role_mappings: [] }, name: 'x', current_build_id: 2, description: null },
    ]
    expect(perms.filterEnvironments(envs)).toEqual([envs[0]])
    expect(perms.can('environment::read', envs[0]!)).toBe(true)
  })
})

describe('explain and the permission response', () => {
  it('explain names the binding and its source; denials say what is missing', () => {
    const perms = CondaStorePermissions.create(token({ 'analyst/*': ['viewer'] }))
    const d = perms.explain('environment::read', 'analyst/pandas')
    expect(d.allowed).toBe(true)
    expect(d.grant?.map((b) => b.arn)).toEqual(['analyst/*'])
    expect(d.trace.map((s) => s.label)).toEqual(['alice', 'token bindings', 'analyst/*: viewer', 'analyst/pandas'])
    const no = perms.explain('environment::delete', 'analyst/pandas')
    expect(no).toMatchObject({ allowed: false, reason: 'PERMISSION_NOT_GRANTED' })
    expect(no.trace.at(-1)).toEqual({ kind: 'missing', label: 'environment::delete' })
    expect(perms.check('environment::read', 'bob/x').reason).toBe('NO_MATCHING_BINDING')
    // A typo is a usage error with the valid names, never a denial.
    expect(() => perms.check('environment::reed' as never, 'bob/x')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_NAME', given: 'environment::reed' }))
    expect(() => perms.can('environment::reed' as never, 'bob/x')).toThrow(/unknown conda-store permission "environment::reed" \(valid: build::cancel, .*environment::read/)
  })
  it('toPermissionResponse has conda-store shape, with Python isoformat expiry', () => {
    const perms = CondaStorePermissions.create({ ...token({ 'alice/*': ['admin'], 'global/*': [] }), expiresAt: Date.UTC(2026, 0, 2) })
    expect(perms.toPermissionResponse()).toEqual({
      authenticated: true,
      primary_namespace: 'alice',
      entity_permissions: {
        'default/*': permissionsForRoles(['viewer']),
        'filesystem/*': permissionsForRoles(['viewer']),
        'alice/*': permissionsForRoles(['admin']),
        'global/*': [],
      },
      entity_roles: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'alice/*': ['admin'], 'global/*': [] },
      expiration: '2026-01-02T00:00:00',
    })
    expect(CondaStorePermissions.create({ ...token({}), expiresAt: Date.UTC(2026, 0, 2, 0, 0, 0, 5) }).toPermissionResponse().expiration).toBe('2026-01-02T00:00:00.005000')
  })
})

describe('token minting', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1))
  it('allows subsets, refuses supersets and later expiry', () => {
    const caller = CondaStorePermissions.create({ ...token({ 'alice/*': ['admin'] }), expiresAt: Date.UTC(2026, 0, 2) }, { clock })
    expect(caller.canMintToken({ roleBindings: { 'alice/e*': ['viewer'] } }).allowed).toBe(true)
    expect(caller.canMintToken({ roleBindings: { '*/*': ['viewer'] } }).reason).toBe('NOT_A_SUBSET')
    expect(caller.canMintToken({ expiresAt: Date.UTC(2026, 0, 3) }).reason).toBe('EXPIRATION_EXCEEDED')
    expect(caller.canMintToken({}).allowed).toBe(true)
  })
  it('anonymous callers mint only within the defaults and one day from the injected clock', () => {
    const anon = CondaStorePermissions.create(null, { clock })
    expect(anon.canMintToken({ roleBindings: { 'default/*': ['viewer'] } }).allowed).toBe(true)
    expect(anon.canMintToken({ roleBindings: { 'default/*': ['viewer'] }, expiresAt: Date.UTC(2026, 0, 3) }).reason).toBe('EXPIRATION_EXCEEDED')
  })
})

// ------------------------------------------------------------------------------------ properties

const seg = fc.constantFrom('a', 'b', 'ab', 'a.b', 'x-y', '*', 'a*', '*b', 'a*b', 'global', 'ml')
const arn = fc.tuple(seg, seg).map(([n, e]) => `${n}/${e}`)
const roles = fc.subarray(['viewer', 'developer', 'admin'])
const bindings = fc.dictionary(arn, roles, { maxKeys: 8 })
const name = fc.constantFrom('a', 'b', 'ab', 'a.b', 'axb', 'x-y', 'global', 'ml', 'aab', '', 'a b')
const env = fc.oneof(
  fc.tuple(name, name).map(([n, e]) => `${n}/${e}`),
  name,
  fc.tuple(name, name).map(([n, e]) => ({ namespace: { name: n }, name: e })),
)

describe('properties', () => {
  for (const compat of [false, true]) {
    it(`filterEnvironments(xs) equals xs.filter(can('environment::read')) (${compat ? 'compat' : 'default'})`, () => {
      fc.assert(
        fc.property(bindings, fc.array(env, { maxLength: 30 }), fc.option(fc.array(fc.tuple(fc.constantFrom('a', 'ml', 'global'), fc.constant('alice'), fc.constantFrom('viewer', 'admin'))), { nil: undefined }), (b, xs, v2) => {
          const perms = CondaStorePermissions.create(token(b), { roleMappingsVersion: 2, ...(v2 ? { database: { v2 } } : {}), ...(compat ? { compat: 'conda-store' as const } : {}) })
          expect(perms.filterEnvironments(xs)).toEqual(xs.filter((e) => perms.can('environment::read', e)))
          expect(perms.explainEnvironments(xs).map((a) => a.environment)).toEqual(perms.filterEnvironments(xs))
        }),
        { numRuns: 500 },
      )
    })
  }
  it('explainEnvironments decides each environment as explain() does, whatever the namespace cache holds', () => {
    const nameless = fc.dictionary(fc.tuple(seg, fc.constantFrom('*', 'a', 'a*')).map(([n, e]) => `${n}/${e}`), roles, { maxKeys: 8 })
    fc.assert(
      fc.property(fc.oneof(bindings, nameless), fc.array(env, { maxLength: 30 }), (b, xs) => {
        const create = () => CondaStorePermissions.create(token(b), { username: 'alice' })
        const warm = create()
        warm.filterEnvironments(xs) // the namespace cache filled by another call first
        for (const perms of [create(), warm]) {
          for (const a of perms.explainEnvironments(xs)) {
            const fresh = create().explain('environment::read', `${a.namespace}/${a.name}`)
            // The decision and its trace are made when read: the values read, and the JSON (field order included), are explain()'s.
            const { allowed, reason, trace, rule, grant } = a.decision
            expect({ allowed, reason, trace, rule, grant }).toEqual({ allowed: fresh.allowed, reason: fresh.reason, trace: fresh.trace, rule: fresh.rule, grant: fresh.grant })
            expect(a.decision.diagnostics).toEqual(fresh.diagnostics)
            expect(JSON.stringify(a.decision)).toBe(JSON.stringify(fresh))
            expect(a.bindings).toEqual(fresh.grant)
            const eager = { environment: a.environment, namespace: a.namespace, name: a.name, bindings: fresh.grant, decision: fresh }
            expect(JSON.stringify(a)).toBe(JSON.stringify(eager))
            // Read again: the same objects, not rebuilt.
            expect(a.decision).toBe(a.decision)
            expect(a.decision.trace).toBe(a.decision.trace)
          }
        }
      }),
      { numRuns: 400 },
    )
  })
  it('on a generated deployment (exact, wildcard, per-environment and name-only bindings), filter and explain decide each environment as can() and explain() do', () => {
    // The shapes of a large Nebari deployment at unit-test size: namespaces decided by their verdict alone
    // (exact `ns/*`), by name (`ns/env-k`, `*/shared-k`), by wildcard namespace (`proj-k-*/*`, `user-k*/*`),
    // with empty role sets, and environments in namespaces no binding names, in the cache's order and reversed.
    const roles = ['viewer', 'developer', 'admin']
    const b: Record<string, string[]> = {}
    for (let i = 0; i < 70; i++) b[`team-${i * 3}/*`] = [roles[i % 3]!]
    for (let i = 0; i < 10; i++) b[`team-${i * 7 + 1}/env-${i}`] = ['admin']
    for (let i = 0; i < 10; i++) b[`proj-${i}-*/*`] = [roles[(i + 1) % 3]!]
    for (let i = 0; i < 5; i++) b[`*/shared-${i}`] = ['viewer']
    for (let i = 0; i < 8; i++) b[`user-${i}*/*`] = i % 5 === 0 ? [] : ['developer']
    const envs: string[] = []
    for (let i = 0; i < 3000; i++) {
      const k = i % 500
      const ns = k < 300 ? `team-${k}` : k < 400 ? `proj-${k % 15}-x${k}` : `user-${k % 10}${k}`
      envs.push(`${ns}/${i % 13 === 0 ? `shared-${i % 6}` : `env-${i % 40}`}`)
    }
    for (const username of [undefined, 'alice']) {
      const perms = CondaStorePermissions.create(token(b), username === undefined ? {} : { username })
      for (const xs of [envs, [...envs].reverse()]) {
        const kept = perms.filterEnvironments(xs)
        expect(kept).toEqual(xs.filter((e) => perms.can('environment::read', e)))
        expect(kept.length).toBeGreaterThan(0)
        expect(kept.length).toBeLessThan(xs.length)
        const explained = perms.explainEnvironments(xs)
        expect(explained.map((a) => a.environment)).toEqual(kept)
        const reference = CondaStorePermissions.create(token(b), username === undefined ? {} : { username })
        for (const a of explained) {
          const fresh = reference.explain('environment::read', a.environment)
          expect(a.bindings).toEqual(fresh.grant)
          expect(JSON.stringify(a.decision)).toBe(JSON.stringify(fresh))
        }
      }
    }
  })
  it('explainEnvironments shares one frozen binding list among the environments of a namespace', () => {
    const perms = CondaStorePermissions.create(token({ 'ml/*': ['developer'] }))
    const [a, b] = perms.explainEnvironments(['ml/torch', 'ml/jax'])
    expect(a!.bindings).toBe(b!.bindings)
    expect(Object.isFrozen(a!.bindings)).toBe(true)
    expect(() => (a!.bindings as unknown[]).push(a!.bindings[0])).toThrow(TypeError)
    expect(b!.decision.trace.at(-1)).toEqual({ kind: 'resource', label: 'ml/jax', data: { permissions: ['environment::read'] } })
  })
  it('default listed ⊇ readable, and the default never grants a permission compat does not', () => {
    fc.assert(
      fc.property(bindings, fc.array(fc.tuple(name, name).map(([n, e]) => `${n}/${e}`), { maxLength: 20 }), fc.constantFrom(...CONDA_STORE_PERMISSIONS), (b, xs, p) => {
        const ours = CondaStorePermissions.create(token(b))
        const upstream = CondaStorePermissions.create(token(b), { compat: 'conda-store' })
        const listed = new Set(ours.filterEnvironments(xs, { visibility: 'listed' }))
        for (const x of ours.filterEnvironments(xs)) expect(listed.has(x)).toBe(true)
        for (const x of xs) if (ours.can(p, x)) expect(upstream.can(p, x)).toBe(true)
        for (const ns of ['a', 'ml', '']) if (ours.can(p, ns)) expect(upstream.can(p, ns)).toBe(true)
      }),
      { numRuns: 500 },
    )
  })
})
