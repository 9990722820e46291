import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { EffectiveRole, Principal } from '../../src/core/principal.js'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { condaStorePermissionsFor, highestRolePerNamespace, nebariJhubAppsRoleBindings, nebariLogin, parseNebariScopes } from '../../src/conda-store/index.js'

function principal(username: string, groups: string[], roles: { name: string; attributes?: Record<string, string[]>; client?: string; via?: EffectiveRole['via'] }[]): Principal {
  const clientRoles: Record<string, EffectiveRole[]> = {}
  for (const r of roles) {
    const client = r.client ?? 'conda_store'
    ;(clientRoles[client] ??= []).push({ client, name: r.name, attributes: r.attributes ?? {}, via: r.via ?? [{ kind: 'direct' }] })
  }
  return {
    realm: 'test',
    userId: undefined,
    username,
    groups,
    realmRoles: [],
    clientRoles,
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}
const scopes = (name: string, value: string | string[]) => ({ name, attributes: { component: ['conda-store'], scopes: Array.isArray(value) ? value : [value] } })
const codes = (l: { diagnostics: readonly { code: string }[] }) => l.diagnostics.map((d) => d.code)

describe('scopes grammar (D6)', () => {
  it('classifies every rejected item', () => {
    expect(parseNebariScopes('admin!namespace=a,, developer!namespace=b,editor!namespace=c,Admin!namespace=d,x!y,').rejected).toEqual([
      { item: '', reason: 'empty' },
      { item: ' developer!namespace=b', reason: 'whitespace' },
      { item: 'editor!namespace=c', reason: 'editor' },
      { item: 'Admin!namespace=d', reason: 'role' },
      { item: 'x!y', reason: 'syntax' },
      { item: '', reason: 'empty' },
    ])
  })
  it("a role token is Python's \\w+: the ASCII shortcut and the Unicode class agree on every token", () => {
    // The Unicode class is the reference; parseNebariScopes tests ASCII tokens without it.
    const reference = /^[\p{L}\p{M}\p{N}\p{Pc}]+$/u
    const syntaxOnly = (role: string) => parseNebariScopes(`${role}!namespace=a`).rejected.some((r) => r.reason === 'syntax')
    const agrees = (role: string) => expect(syntaxOnly(role), JSON.stringify(role)).toBe(!reference.test(role))
    // Every ASCII character alone, and inside a word (whitespace first is its own reason, `!` and `,` split items).
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c)
      if (ch === '!' || ch === ',' || /\s/u.test(ch)) continue
      agrees(ch)
      agrees(`ad${ch}min`)
    }
    // Non-ASCII word characters (letters, marks, digits, connector punctuation) and non-word ones.
    for (const role of ['é', 'ß', 'adminé', 'e\u0301', '٣', '‿', 'a‿b', '€', 'a€', '—', 'x\u00a0y', '日本', '𝒜', '\ud835'])
      agrees(role)
    fc.assert(fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 8 }), (role) => {
      fc.pre(role !== '' && !/[!,]/.test(role) && !/^\s/u.test(role))
      return syntaxOnly(role) === !reference.test(role)
    }))
  })
  it('lenient trims, skips empty items, reads editor as developer and drops only bad items', () => {
    const p = parseNebariScopes(' admin!namespace= a ,,editor!namespace=b,bad', { grammar: 'lenient' })
    expect(p.grants.map((g) => [g.role, g.namespace])).toEqual([
      ['admin', 'a'],
      ['developer', 'b'],
    ])
    expect(p.rejected).toEqual([{ item: 'bad', reason: 'syntax' }])
    expect(() => parseNebariScopes('x', { grammar: 'loose' as never })).toThrow(InvalidOptionsError)
  })
  it('highest role per namespace is independent of order (D7)', () => {
    const item = fc.record({ role: fc.constantFrom('viewer' as const, 'developer' as const, 'admin' as const), namespace: fc.constantFrom('a', 'b', 'c') })
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), fc.nat(), (items, seed) => {
        const shuffled = [...items].sort((x, y) => ((x.namespace + x.role + seed).length % 3) - ((y.namespace + y.role).length % 3))
        const norm = (l: typeof items) => Object.fromEntries(highestRolePerNamespace(l).grants.map((g) => [g.namespace, g.role]))
        expect(norm(shuffled)).toEqual(norm([...items].reverse()))
        const rank = { viewer: 1, developer: 2, admin: 3 }
        for (const g of highestRolePerNamespace(items).grants) {
          expect(Math.max(...items.filter((i) => i.namespace === g.namespace).map((i) => rank[i.role]))).toBe(rank[g.role])
        }
      }),
    )
  })
})

describe('Nebari login preset (D8, D9)', () => {
  it('every dropped role or item is a diagnostic naming the role, the item and the reason', () => {
    const p = principal('nebari', ['/analyst', '/a/b~/c'], [
      { name: 'conda_store_developer' },
      scopes('broken', 'admin!namespace=analyst, developer!namespace=x'),
      scopes('empty', []),
      scopes('multi', ['viewer!namespace=ml', 'admin!namespace=ignored']),
      scopes('odd', 'admin!namespace=*,viewer!namespace=Nebari,viewer!namespace=missing'),
      { name: 'jh', attributes: { component: ['jupyterhub'], scopes: ['viewer!namespace=ml'] } },
    ])
    const login = nebariLogin(p, { existingNamespaces: ['analyst', 'ml'] })
    const byCode = Object.fromEntries(login.diagnostics.map((d) => [d.code, d]))
    expect(byCode['NEBARI_SCOPE_ROLE_REJECTED']).toMatchObject({ severity: 'error', subject: { role: { client: 'conda_store', name: 'broken' }, item: ' developer!namespace=x' }, details: { rejectedItems: [{ item: ' developer!namespace=x', reason: 'whitespace' }] } })
    expect(byCode['NEBARI_SCOPES_EMPTY']).toMatchObject({ severity: 'error', subject: { role: { name: 'empty' } } })
    expect(byCode['NEBARI_SCOPE_EXTRA_VALUES_IGNORED']).toMatchObject({ subject: { role: { name: 'multi' } }, details: { ignored: ['admin!namespace=ignored'] } })
    expect(login.diagnostics.find((d) => d.code === 'NEBARI_NAMESPACE_INVALID')?.subject).toMatchObject({ group: '/a/b~/c' })
    expect(login.diagnostics.filter((d) => d.code === 'NEBARI_NAMESPACE_INVALID').map((d) => d.details?.['namespace'])).toEqual(['b/c', '*'])
    expect(byCode['NEBARI_OWN_NAMESPACE_SKIPPED']).toMatchObject({ subject: { item: 'viewer!namespace=Nebari' } })
    expect(byCode['NEBARI_NAMESPACE_NOT_FOUND']).toMatchObject({ subject: { item: 'viewer!namespace=missing' } })
    expect(byCode['NEBARI_COMPONENT_MISMATCH']).toMatchObject({ subject: { role: { name: 'jh' } } })
    expect(byCode['NEBARI_DUPLICATE_NAMESPACE']).toMatchObject({ details: { namespace: 'ml', kept: 'viewer' } })
    expect(byCode['NEBARI_FIRST_LOGIN_GAP']).toBeDefined()
    // Never turn namespace=* into */*; the user's own namespace always counts as existing (D8).
    expect(login.grants).toEqual([['ml', 'nebari', 'viewer']])
    expect(Object.keys(login.loginBindings)).not.toContain('*/*')
  })
  it('reproduces overwrites and basename collisions with diagnostics', () => {
    const login = nebariLogin(principal('analyst', ['/analyst', '/team/global', '/x/ml', '/y/ml'], [{ name: 'conda_store_viewer', client: 'other' }]))
    expect(login.loginBindings).toEqual({ 'analyst/*': ['viewer'], 'nebari-git/*': ['viewer'], 'global/*': ['viewer'], 'ml/*': ['viewer'] })
    expect(codes(login)).toEqual(['NEBARI_BINDING_OVERWRITTEN', 'NEBARI_BINDING_OVERWRITTEN', 'NEBARI_GROUP_BASENAME_COLLISION'])
  })
  it('superadmin short-circuits the login bindings but not the grants', () => {
    const login = nebariLogin(principal('root', ['/admin'], [{ name: 'conda_store_superadmin' }, scopes('g', 'viewer!namespace=ml')]))
    expect(login.loginBindings).toEqual({ '*/*': ['admin'] })
    expect(login.grants).toEqual([['ml', 'root', 'viewer']])
  })
  it('compat: a group basename outside the grammar makes upstream login fail', () => {
    const p = principal('u', ['/bad name'], [{ name: 'conda_store_viewer' }])
    expect(nebariLogin(p)).toMatchObject({ loginFailed: false, loginBindings: { 'u/*': ['admin'] } })
    const compat = nebariLogin(p, { compat: 'nebari' })
    expect(compat).toMatchObject({ loginFailed: true, loginBindings: {} })
    expect(codes(compat)).toEqual(['NEBARI_LOGIN_FAILED'])
    expect(condaStorePermissionsFor(p, { compat: 'nebari' }).authenticated).toBe(false)
  })
  it('explain renders user → group → role → item → binding → resource', () => {
    const p = principal('bob', ['/projects/ml'], [{ ...scopes('ml-team-scopes', 'admin!namespace=ml'), via: [{ kind: 'group', group: '/projects/ml', member: '/projects/ml' }] }])
    const d = condaStorePermissionsFor(p).explain('environment::read', 'ml/torch')
    expect(d.allowed).toBe(true)
    expect(d.trace.map((s) => s.label)).toEqual(['bob', '/projects/ml', 'conda_store/ml-team-scopes', 'admin!namespace=ml', 'ml/*: admin', 'ml/torch'])
  })
  it('validates options eagerly', () => {
    const p = principal('u', [], [])
    expect(() => nebariLogin(p, { defaultNamespace: '' })).toThrow(InvalidOptionsError)
    expect(() => nebariLogin(p, { existingNamespaces: 'ns' as never })).toThrow(/existingNamespaces/)
    expect(() => nebariLogin(p, { compat: 'conda-store' as never })).toThrow(/compat/)
  })
  it('jhub-apps bindings: basenames by default, slashes removed in compat', () => {
    const user = { name: 'alice', groups: ['/projects/ml'], admin: false }
    expect(Object.keys(nebariJhubAppsRoleBindings(user))).toContain('ml/*')
    expect(Object.keys(nebariJhubAppsRoleBindings(user, { compat: 'nebari' }))).toContain('projectsml/*')
  })
})

describe('first-login gap, re-derived from upstream (compat)', () => {
  // Nebari applies grants before creating the user's namespace; conda-store's delete/create_namespace_role
  // look up the grant's namespace first, then the user's (docs/semantics/upstream-parity.md).
  const user = (roles: Parameters<typeof principal>[2], name = 'newbie') => principal(name, [], [{ name: 'conda_store_developer' }, ...roles])
  const gap = (l: ReturnType<typeof nebariLogin>) => l.diagnostics.find((d) => d.code === 'NEBARI_FIRST_LOGIN_GAP')
  it('user namespace missing: every grant on an existing namespace fails, a missing target is reported as such', () => {
    const login = nebariLogin(user([scopes('g', 'admin!namespace=analyst,viewer!namespace=missing')]), { existingNamespaces: ['analyst', 'global'], compat: 'nebari' })
    expect(login.grants).toEqual([])
    expect(gap(login)?.details).toEqual({ namespaces: ['analyst'] })
    expect(login.diagnostics.find((d) => d.code === 'NEBARI_NAMESPACE_NOT_FOUND')?.details).toEqual({ namespace: 'missing' })
  })
  it('a first login whose namespace already exists (created earlier, e.g. as a group namespace) applies the grants', () => {
    const login = nebariLogin(user([scopes('g', 'admin!namespace=analyst')]), { existingNamespaces: ['analyst', 'newbie'], compat: 'nebari' })
    expect(login.grants).toEqual([['analyst', 'newbie', 'admin']])
    expect(gap(login)).toBeUndefined()
  })
  it('no gap is reported when no grant would have applied (own namespace only, or only missing targets)', () => {
    expect(gap(nebariLogin(user([scopes('g', 'viewer!namespace=Newbie')]), { existingNamespaces: ['analyst'], compat: 'nebari' }))).toBeUndefined()
    expect(gap(nebariLogin(user([scopes('g', 'viewer!namespace=missing')]), { existingNamespaces: ['analyst'], compat: 'nebari' }))).toBeUndefined()
  })
  it('a superadmin keeps the gap on every login (its login creates no namespace)', () => {
    const p = principal('root', [], [{ name: 'conda_store_superadmin' }, scopes('g', 'viewer!namespace=ml')])
    const login = nebariLogin(p, { existingNamespaces: ['ml'], compat: 'nebari' })
    expect(login.grants).toEqual([])
    expect(gap(login)).toBeDefined()
  })
  it('an authenticated binding other than default/* and filesystem/* aborts the sync when its namespace (or the user\'s) is missing', () => {
    const p = user([scopes('g', 'admin!namespace=analyst')], 'old')
    const authenticatedRoleBindings = { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'shared/*': ['viewer'] }
    const aborted = nebariLogin(p, { existingNamespaces: ['analyst', 'old'], authenticatedRoleBindings, compat: 'nebari' })
    expect(aborted.grants).toEqual([])
    expect(aborted.diagnostics.find((d) => d.code === 'NEBARI_ROLE_SYNC_FAILED')?.details).toMatchObject({ arn: 'shared/*', namespace: 'shared' })
    expect(nebariLogin(p, { existingNamespaces: ['analyst', 'old', 'shared'], authenticatedRoleBindings, compat: 'nebari' }).grants).toEqual([['analyst', 'old', 'admin']])
    // the removal runs before the scopes are read: it is reported even when a role's scopes would crash too
    const both = nebariLogin(user([scopes('g', 'admin!namespace=analyst'), scopes('empty', [])], 'old'), { existingNamespaces: ['analyst', 'old'], authenticatedRoleBindings, compat: 'nebari' })
    expect(codes(both)).toContain('NEBARI_ROLE_SYNC_FAILED')
    expect(both.grants).toEqual([])
    // the default applies the grant either way (D8)
    expect(nebariLogin(p, { existingNamespaces: ['analyst', 'old'], authenticatedRoleBindings }).grants).toEqual([['analyst', 'old', 'admin']])
  })
  it('default: grants apply from the first resolution, with the gap as an info diagnostic (D8)', () => {
    const login = nebariLogin(user([scopes('g', 'admin!namespace=analyst')]), { existingNamespaces: ['analyst'] })
    expect(login.grants).toEqual([['analyst', 'newbie', 'admin']])
    expect(gap(login)?.severity).toBe('info')
  })
})

describe('lintCondaStoreRoles', () => {
  it('reports every scopes finding of conda_store roles, with the item and a fix', async () => {
    const { lintCondaStoreRoles } = await import('../../src/conda-store/index.js')
    const found = lintCondaStoreRoles([
      { client: 'conda_store', name: 'broken-scopes', attributes: { component: ['conda-store'], scopes: ['developer!namespace=ml, viewer!namespace=global'] } },
      { client: 'conda_store', name: 'dotted', attributes: { component: ['conda-store'], scopes: ['viewer!namespace=t.x,admin!namespace=a/b'] } },
      { client: 'conda_store', name: 'fine', attributes: { component: ['conda-store'], scopes: ['admin!namespace=ml'] } },
      { client: 'jupyterhub', name: 'other-client', attributes: { scopes: ['not conda-store syntax'] } },
    ])
    expect(found.map((d) => [d.severity, d.code, d.subject.role?.name, d.subject.item])).toEqual([
      ['error', 'NEBARI_SCOPE_ROLE_REJECTED', 'broken-scopes', ' viewer!namespace=global'],
      ['warning', 'CONDA_ARN_METACHARACTER', 'dotted', 'viewer!namespace=t.x'],
      ['warning', 'NEBARI_NAMESPACE_INVALID', 'dotted', 'admin!namespace=a/b'],
    ])
    expect(found[0]?.fix).toMatch(/without spaces/)
  })
})
