import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidOptionsError, KeycloakPermissionsError } from '../../src/index.js'
import {
  BUILTIN_SCOPE_NAMES,
  CustomScopeInvalidError,
  EmptyFilterValueError,
  JupyterHubUsageError,
  RoleNameInvalidError,
  ScopeNotFoundError,
  TokenScopesExceedOwnerError,
  UnexpandedFilterError,
  checkScopeFilter,
  checkTokenScopes,
  defaultAccessScopes,
  defaultRoles,
  defineCustomScopes,
  endpointScopes,
  expandScopes,
  groupsFromMembership,
  hasScope,
  hubCheckScopes,
  intersectScopes,
  isScope,
  needsScope,
  parseScopes,
  reduceScopes,
  scopeDefinition,
  scopeError,
  scopeNames,
  scopeSet,
  tokenScopes,
  validateRoleName,
  validateScopes,
  type ExpandedScope,
} from '../../src/jupyterhub/index.js'

const alice = { owner: { kind: 'user' as const, name: 'alice' } }

describe('scope table and versions (D10)', () => {
  it('has 47 definitions on 5.x and 48 on 6.0 (start:servers)', () => {
    expect(scopeNames()).toHaveLength(47)
    expect(scopeNames({ jupyterhubVersion: 6 })).toHaveLength(48)
    expect(BUILTIN_SCOPE_NAMES).toHaveLength(48)
    expect(scopeNames()).not.toContain('start:servers')
    expect(scopeDefinition('servers', { jupyterhubVersion: 6 })?.subscopes).toContain('start:servers')
  })

  it('expands self to the 14 (5.x) / 15 (6.0) user-level names, each !user=<name>', () => {
    const v5 = expandScopes(['self'], alice).scopes
    const v6 = expandScopes(['self'], alice, { jupyterhubVersion: 6 }).scopes
    expect(v5).toHaveLength(14)
    expect(v6).toHaveLength(15)
    expect(v5.every((s) => s.endsWith('!user=alice'))).toBe(true)
    expect(v6).toContain('start:servers!user=alice')
  })

  it('rejects an unknown version eagerly', () => {
    expect(() => expandScopes(['self'], {}, { jupyterhubVersion: 4 as never })).toThrow(InvalidOptionsError)
  })

  it('a 6.0-only scope fails validation on 5.x with the two-space message', () => {
    expect(scopeError('start:servers')?.message).toBe("Scope 'start:servers'  does not exist")
    expect(scopeError('start:servers', { jupyterhubVersion: 6 })).toBeUndefined()
  })
})

describe('validation messages (§5)', () => {
  it.each([
    ['all', undefined, "Draft scope 'all' is now called 'inherit'"],
    ['read:user', undefined, "Scope 'read:user'  does not exist"],
    ['read:usr', 'role analysts', "Scope 'read:usr' for role analysts does not exist"],
    ['read:users!uzer=bob', undefined, "Scope filter uzer=bob '!uzer=bob' in scope 'read:users!uzer=bob'  does not exist"],
    ['read:users!group', undefined, "Scope filter group '!group' in scope 'read:users!group'  does not exist"],
    [' read:groups:name', undefined, "Scope ' read:groups:name'  does not exist"],
  ])('%s → %s', (scope, whoFor, message) => {
    const err = scopeError(scope, whoFor ? { whoFor } : {})
    expect(err).toBeInstanceOf(ScopeNotFoundError)
    expect(err).toBeInstanceOf(KeycloakPermissionsError)
    expect(err?.code).toBe('JUPYTERHUB_SCOPE_NOT_FOUND')
    expect(err?.message).toBe(message)
    expect(() => validateScopes([scope], whoFor ? { whoFor } : {})).toThrow(message)
  })

  it('accepts the forms upstream accepts', () => {
    for (const s of ['read:users!user=', 'read:users!', 'read:users!user=x!y', 'self', 'inherit', '(no_scope)', 'read:users!server']) {
      expect(isScope(s), s).toBe(true)
    }
  })
})

describe('expansion (§3)', () => {
  it('copies the filter onto subscopes, except read:user* under a server filter', () => {
    expect(expandScopes(['read:servers!server=a/x']).scopes).toEqual(['read:servers!server=a/x'])
    expect(expandScopes(['read:users!server=bob/lab']).scopes).toEqual([])
    expect(expandScopes(['shares!server=a/']).scopes).not.toContain('read:users:shares!server=a/')
    expect(expandScopes(['read:servers!group=/g']).scopes).toContain('read:users:name!group=/g')
  })

  it('drops bare filters without a target, with one diagnostic per dropped scope', () => {
    const r = expandScopes(['access:servers!server'], alice)
    expect(r.scopes).toEqual([])
    expect(r.diagnostics.map((d) => d.code)).toEqual(['JUPYTERHUB_FILTER_WITHOUT_TARGET'])
    expect(expandScopes(['users:activity!user', 'access:servers!server'], { ...alice, oauthClient: { server: 'alice/' } }).scopes).toEqual([
      'access:servers!server=alice/',
      'read:users:activity!user=alice',
      'users:activity!user=alice',
    ])
  })

  it('reports self for a non-user owner on every call (memoised or not)', () => {
    for (let i = 0; i < 2; i++) {
      const r = expandScopes(['self'], { owner: { kind: 'service', name: 'svc' } })
      expect(r.diagnostics.map((d) => d.message)).toEqual(["Not expanding 'self' scope for owner <Service svc> which is not a User"])
    }
  })

  it('refuses one string where a list is expected (a string is iterable)', () => {
    expect(() => expandScopes('self' as unknown as string[])).toThrow(InvalidOptionsError)
    expect(() => validateScopes('read:users' as unknown as string[])).toThrow(InvalidOptionsError)
  })

  it('raises the typed error when the result cannot be parsed', () => {
    expect(() => expandScopes(['read:users!user='])).toThrow(EmptyFilterValueError)
    expect(() => expandScopes(['nope'])).toThrow(ScopeNotFoundError)
  })

  it('memoises on the whole input: same input → same object; owner, version and custom scopes matter', () => {
    const a = expandScopes(['self', 'shares!user'], alice)
    expect(expandScopes(['shares!user', 'self', 'self'], alice)).toBe(a)
    const bob = expandScopes(['self', 'shares!user'], { owner: { kind: 'user', name: 'bob' } })
    expect(bob).not.toBe(a)
    expect(bob.scopes.every((s) => !s.includes('alice'))).toBe(true)
    const v6 = expandScopes(['self', 'shares!user'], alice, { jupyterhubVersion: 6 })
    expect(v6.scopes).toContain('start:servers!user=alice')
    expect(a.scopes).not.toContain('start:servers!user=alice')
    const asService = expandScopes(['access:services!service'], { owner: { kind: 'service', name: 'alice' } })
    expect(asService.scopes).toEqual(['access:services!service=alice'])
    expect(expandScopes(['self', 'shares!user'], { ...alice, memoize: false })).not.toBe(a)
    expect(expandScopes(['self', 'shares!user'], { ...alice, memoize: false }).scopes).toEqual(a.scopes)
  })

  it('the memo is bounded (4096 entries): old inputs are evicted and recomputed, equal', () => {
    const first = expandScopes(['self'], { owner: { kind: 'user', name: 'evict-0' } })
    for (let i = 1; i <= 4200; i++) expandScopes(['self'], { owner: { kind: 'user', name: `evict-${i}` } })
    const again = expandScopes(['self'], { owner: { kind: 'user', name: 'evict-0' } })
    expect(again).not.toBe(first)
    expect(again.scopes).toEqual(first.scopes)
  })

  it('a frozen input is remembered by identity; a mutable one is keyed by content', () => {
    const frozen = Object.freeze(['read:users!user=a'])
    expect(expandScopes(frozen)).toBe(expandScopes(frozen))
    const mutable = ['read:users!user=a']
    const before = expandScopes(mutable)
    mutable[0] = 'read:users!user=b'
    expect(expandScopes(mutable).scopes).toContain('read:users!user=b')
    expect(before.scopes).toContain('read:users!user=a')
  })

  it('every subscope of a held scope is granted, filtered or not (property over the table)', () => {
    for (const version of [5, 6] as const) {
      fc.assert(
        fc.property(fc.constantFrom(...scopeNames({ jupyterhubVersion: version }).filter((n) => n !== 'self')), fc.constantFrom('', '!user=alice', '!group=/g'), (name, filter) => {
          const held = expandScopes([`${name}${filter}`], {}, { jupyterhubVersion: version })
          for (const sub of held.scopes) {
            const base = sub.split('!')[0]!
            expect(hasScope(filter ? (`${base}${filter}` as ExpandedScope) : (base as ExpandedScope), held)).toBe(true)
          }
        }),
      )
    }
  })

  it('custom scopes expand through their custom subscopes and are keyed per definition set', () => {
    const custom = defineCustomScopes({ 'custom:a:read': { description: 'r' }, 'custom:a:write': { description: 'w', subscopes: ['custom:a:read'] } })
    expect(expandScopes(['custom:a:write!user=x'], {}, { customScopes: custom }).scopes).toEqual(['custom:a:read!user=x', 'custom:a:write!user=x'])
    expect(() => expandScopes(['custom:a:write'])).toThrow(ScopeNotFoundError)
  })
})

describe('parse / reduce (§6)', () => {
  it('unfiltered wins regardless of order; unknown kinds are kept', () => {
    expect(parseScopes(['read:users!user=m', 'read:users']).get('read:users')).toBe('ALL')
    const f = parseScopes(['read:users!foo=bar']).get('read:users')
    expect(f !== 'ALL' && [...(f?.get('foo') ?? [])]).toEqual(['bar'])
    expect(reduceScopes(['access:services', 'access:services!service=x'])).toEqual(['access:services'])
  })

  it('reduce is idempotent and order-independent (property)', () => {
    const scope = fc.constantFrom('read:users', 'read:users!user=a', 'read:users!group=/g', 'shares!server=a/', 'shares', 'tokens!user=b')
    fc.assert(
      fc.property(fc.array(scope), (list) => {
        const once = reduceScopes(list)
        expect(reduceScopes(once)).toEqual(once)
        expect(reduceScopes([...list].reverse())).toEqual(once)
      }),
    )
  })
})

describe('hasScope (§7)', () => {
  const groupsOf = groupsFromMembership({ '/analyst': ['alice', 'carol'] })

  it('user ⇒ their servers; server does not imply user; default server is user/', () => {
    const held = expandScopes(['access:servers!user=alice'])
    expect(hasScope('access:servers!server=alice/lab', held)).toBe(true)
    expect(hasScope('access:servers!server=alice2/lab', held)).toBe(false)
    const server = expandScopes(['access:servers!server=alice/lab'])
    expect(hasScope('access:servers!user=alice', server)).toBe(false)
    expect(hasScope('access:servers!server=alice/', expandScopes(['access:servers!server=alice']))).toBe(false)
  })

  it('group filters need the group lookup; services match exactly', () => {
    const held = expandScopes(['access:servers!group=/analyst', 'access:services!service=grades'])
    expect(hasScope('access:servers!server=carol/', held, { groupsOf })).toBe(true)
    expect(hasScope('access:servers!server=carol/', held)).toBe(false)
    expect(hasScope('access:servers!server=bob/', held, { groupsOf })).toBe(false)
    expect(hasScope('access:services!service=grades', held)).toBe(true)
    expect(hasScope('access:services!service=other', held, { groupsOf })).toBe(false)
    expect(hasScope('access:servers!group=/analyst', held)).toBe(true)
    expect(hasScope('access:servers!group=/other', held, { groupsOf })).toBe(false)
  })

  it('bare filters and post_filter misuse are typed errors', () => {
    const held = expandScopes(['read:users'])
    expect(() => hasScope('read:users!user' as ExpandedScope, held)).toThrow(UnexpandedFilterError)
    expect(() => hasScope('read:users!user=a', expandScopes(['read:users!user=b']), { postFilter: true })).toThrow(JupyterHubUsageError)
    expect(hasScope('read:users', expandScopes(['read:users!user=b']), { postFilter: true })).toBe(true)
  })

  it('an unfiltered holding grants every filtered request (property)', () => {
    const held = expandScopes(['admin:users', 'admin:servers', 'shares'])
    fc.assert(
      fc.property(fc.constantFrom('read:users', 'servers', 'access:servers', 'read:users:shares'), fc.constantFrom('user', 'group', 'server'), fc.string({ minLength: 1 }), (base, kind, value) => {
        expect(hasScope(`${base}!${kind}=${value}` as ExpandedScope, held)).toBe(true)
      }),
    )
  })
})

describe('checkScopeFilter (§8)', () => {
  it('compares server filters as user/name by default; compat reproduces the bare-name quirk', () => {
    const held = expandScopes(['access:servers!server=lab'])
    expect(checkScopeFilter(held, 'access:servers', { kind: 'server', name: 'bob/lab' })).toBe(false)
    expect(checkScopeFilter(held, 'access:servers', { kind: 'server', name: 'bob/lab' }, { compat: true })).toBe(true)
    expect(checkScopeFilter(expandScopes(['access:servers!group=/g']), 'access:servers', { kind: 'server', name: 'bob/x', ownerGroups: ['/g'] })).toBe(true)
    expect(() => checkScopeFilter(held, 'access:servers', { kind: 'server', name: 'lab' })).toThrow(JupyterHubUsageError)
  })
})

describe('intersection (§9) and tokens (§10)', () => {
  it('warns when user/group overlaps cannot be resolved without group data', () => {
    const r = intersectScopes(['users!group=y', 'users!user=z'], ['users!user=x'])
    expect(r.scopes).toEqual([])
    expect(r.diagnostics.map((d) => d.code)).toEqual(['JUPYTERHUB_INTERSECTION_NEEDS_GROUPS'])
    expect(intersectScopes(['users!group=gx'], ['users!user=ux'], { groupsOf: groupsFromMembership({ gx: ['ux'] }) }).scopes).toEqual(['users!user=ux'])
  })

  it('does not treat alice2/lab as a server of alice', () => {
    expect(intersectScopes(['access:servers!server=alice2/lab'], ['access:servers!user=alice']).scopes).toEqual([])
  })

  it('token scopes never exceed the owner; extra scopes are discarded', () => {
    const owner = { kind: 'user' as const, name: 'alice', roleScopes: [['self']] }
    expect(tokenScopes({ owner, scopes: ['admin:users'] }).scopes).not.toContain('admin:users')
    expect(tokenScopes({ owner, scopes: ['inherit'] }).scopes).toEqual(expandScopes(['self'], alice).scopes)
  })

  it('token creation raises the typed error with the excess list', () => {
    const owner = { kind: 'user' as const, name: 'alice', roleScopes: [['self']] }
    try {
      checkTokenScopes({ owner, scopes: ['read:users'] })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(TokenScopesExceedOwnerError)
      const e = err as TokenScopesExceedOwnerError
      expect(e.code).toBe('JUPYTERHUB_TOKEN_SCOPES_EXCEED_OWNER')
      expect(e.excess).toEqual(['read:users', 'read:users:activity', 'read:users:groups', 'read:users:name'])
      expect(e.message).toBe('Not assigning requested scopes read:users,read:users:activity,read:users:groups,read:users:name not held by User alice')
    }
    expect(() => checkTokenScopes({ owner, scopes: ['read:usr'] })).toThrow("Scope 'read:usr' for token does not exist")
    expect(() => checkTokenScopes({ owner, scopes: ['inherit'] })).not.toThrow()
  })
})

describe('needs_scope (§11) and HubAuth (§13)', () => {
  it('validates required scopes at construction', () => {
    expect(() => needsScope(['read:usr' as never])).toThrow('Scope read:usr is not a valid scope')
    expect(() => needsScope(['start:servers'])).toThrow(ScopeNotFoundError)
    expect(() => needsScope(['start:servers'], { jupyterhubVersion: 6 })).not.toThrow()
  })

  it('answers 200 / 403 / 404 with upstream messages as decisions', () => {
    const guard = needsScope(['users'])
    const held = expandScopes(['users!user=george'])
    const ok = guard.check(held, { user: 'george' })
    expect(ok).toMatchObject({ status: 200, allowed: true, reason: 'SCOPE_HELD', grant: 'users' })
    expect(guard.check(held, { user: 'oscar' })).toMatchObject({ status: 404, allowed: false, message: 'No access to resources or resources not found' })
    expect(guard.check(held, {})).toMatchObject({ status: 403, message: 'Action is not authorized with current scopes; requires any of [users]' })
    expect(guard.check(undefined)).toMatchObject({ status: 403, message: 'Missing or invalid credentials.' })
    expect(() => guard.check(held, { user: 'a', group: 'g' })).toThrow(JupyterHubUsageError)
    const server = needsScope(['servers']).check(expandScopes(['servers!user=maeby']), { user: 'maeby', server: '' })
    expect(server.status).toBe(200)
  })

  it('knows the version-dependent endpoint scopes', () => {
    expect(endpointScopes('POST', '/users/:user/servers/:server').required).toEqual(['servers'])
    expect(endpointScopes('post', '/users/:user/servers/:server', { jupyterhubVersion: 6 }).required).toEqual(['start:servers'])
    expect(endpointScopes('GET', '/users')).toEqual({ required: ['list:users'], postFilter: true })
  })

  it('HubAuth.check_scopes: any required scope surviving unchanged; no group data', () => {
    expect(hubCheckScopes(defaultAccessScopes({ server: 'alice/' }), ['access:servers!user=alice']).allowed).toBe(true)
    expect(hubCheckScopes(defaultAccessScopes({ server: 'alice/' }), ['access:servers!group=g']).allowed).toBe(false)
    expect(hubCheckScopes(['access:services'], ['access:services!service=x'])).toMatchObject({ allowed: false, reason: 'NO_ACCESS_SCOPE', matched: [] })
    expect(scopeSet(['access:servers!user=bob']).scopes).toEqual(['access:servers!user=bob'])
  })
})

describe('custom scopes (§14), default roles (§15), role names (§16)', () => {
  it('raises JupyterHub messages', () => {
    expect(() => defineCustomScopes({ 'custom:x:y': { description: 'd', subscopes: ['read:users'] } })).toThrow(
      "non-custom subscope read:users in custom:x:y={'description': 'd', 'subscopes': ['read:users']} is not allowed. Custom scopes may only have custom subscopes. Roles should be used to assign multiple scopes together.",
    )
    expect(() => defineCustomScopes({ 'custom:x:y': { description: 'd', subscopes: ['custom:nope'] } })).toThrow(
      "subscope custom:nope in custom:x:y={'description': 'd', 'subscopes': ['custom:nope']} not found. All scopes must be defined.",
    )
    expect(() => defineCustomScopes({ 'custom:x:y': { description: 'd', subscopes: 'custom:z' } })).toThrow(
      "subscopes must be a list of scope strings, got 'custom:z'",
    )
    expect(() => defineCustomScopes({ 'custom:Grades': { description: 'd' } })).toThrow(CustomScopeInvalidError)
    const custom = defineCustomScopes({ 'custom:x:y': { description: 'd', extra: 1 } })
    expect(custom.diagnostics.map((d) => d.code)).toEqual(['JUPYTERHUB_CUSTOM_SCOPE_EXTRA_KEYS'])
    expect(() => expandScopes(['x'], {}, { customScopes: {} as never })).toThrow(InvalidOptionsError)
  })

  it('default roles as upstream', () => {
    const roles = defaultRoles({ extraUserScopes: ['read:groups'] })
    expect(roles.map((r) => r.name)).toEqual(['user', 'admin', 'server', 'token'])
    expect(roles[0]!.scopes).toEqual(['self', 'read:groups'])
    expect(roles[1]!.scopes).toHaveLength(16)
  })

  it('role names', () => {
    expect(() => validateRoleName('jupyterhub_admin')).not.toThrow()
    expect(() => validateRoleName('Team Leads')).toThrow(RoleNameInvalidError)
    expect(() => validateRoleName('a'.repeat(256))).toThrow(RoleNameInvalidError)
    expect(() => validateRoleName('a'.repeat(255))).not.toThrow()
  })
})
