/**
 * jupyterhub/jupyterhub `jupyterhub/tests/test_scopes.py` at 2841153d (6.0.0b2 + typo fix), ported:
 * the same inputs and expectations, run through our public API under JupyterHub 5.x and 6.0.
 * DB/HTTP fixtures are replaced by what they establish (who is in which group, which role scopes a
 * user or service holds); the HTTP status a handler answers comes from `needsScope`/`listAccess`.
 */
import {
  CustomScopeInvalidError,
  checkTokenScopes,
  defineCustomScopes,
  endpointScopes,
  entityScopes,
  expandScopes,
  groupsFromMembership,
  hasScope,
  identifyScopes,
  intersectScopes,
  listAccess,
  needsScope,
  parseScopes,
  scopeNames,
  tokenScopes,
  TokenScopesExceedOwnerError,
  type ExpandedScope,
  type HandlerArgs,
  type ScopeName,
} from '../../../src/jupyterhub/index.js'
import { asUpstreamError, raises } from '../../conformance/adapters/upstream-errors.js'
import { all, eq, sameSet, thrown } from '../expect.js'
import { JH_MODES, JUPYTERHUB_COMMIT, versionOf, type JupyterHubMode, type UpstreamCase } from '../types.js'

const FILE = 'jupyterhub/jupyterhub jupyterhub/tests/test_scopes.py'
type Case = UpstreamCase<JupyterHubMode>
const cases: Case[] = []
const add = (test: string, params: string, run: Case['run'], differs?: string) =>
  cases.push({ file: FILE, test, params, commit: JUPYTERHUB_COMMIT, modes: JH_MODES, run, ...(differs ? { differs } : {}) })
const opts = (mode: JupyterHubMode) => ({ jupyterhubVersion: versionOf(mode) })
const p = (x: unknown) => JSON.stringify(x)

// ---------------------------------------------------------------- parse_scopes / handler.has_scope
add('test_scope_constructor', '', () => {
  const parsed = parseScopes(['users', 'read:users!user=george', 'read:users!user=michael'])
  const read = parsed.get('read:users')
  return all(
    eq('read:users in parsed', parsed.has('read:users'), true),
    eq("parsed['users']", parsed.get('users'), 'ALL'),
    read === 'ALL' || read === undefined ? 'read:users not filtered' : sameSet('user filter', read.get('user') ?? [], ['george', 'michael']),
  )
})
add('test_scope_precendence', '', () => eq("parsed['read:users']", parseScopes(['read:users!user=maeby', 'read:users']).get('read:users'), 'ALL'))
add('test_scope_check_present', '', () => {
  const held = parseScopes(['read:users'])
  return all(eq('read:users', hasScope('read:users', held), true), eq('read:users!user=maeby', hasScope('read:users!user=maeby', held), true))
})
add('test_scope_check_not_present', '', () => {
  const held = parseScopes(['read:users!user=maeby'])
  return all(
    eq('read:users', hasScope('read:users', held), false),
    eq('read:users!user=gob', hasScope('read:users!user=gob', held), false),
    eq('read:users!server=gob/server', hasScope('read:users!server=gob/server', held), false),
  )
})
add('test_scope_filters', '', () => {
  const held = parseScopes(['read:users', 'read:users!group=bluths', 'read:users!user=maeby'])
  return all(eq('!group=bluth', hasScope('read:users!group=bluth', held), true), eq('!user=maeby', hasScope('read:users!user=maeby', held), true))
})
add('test_scope_parse_server_name', '', () => eq('servers!server=maeby/server1', hasScope('servers!server=maeby/server1', parseScopes(['servers!server=maeby/server1', 'read:users!user=maeby'])), true))

// ---------------------------------------------------------------- needs_scope on MockAPIHandler
// The mock handler's scopes are parsed, not expanded (set_scopes); methods and their decorators:
const METHODS: Record<string, { required: ScopeName[]; postFilter?: boolean; args: (a: (string | null)[]) => HandlerArgs; body?: (held: ReturnType<typeof parseScopes>) => boolean }> = {
  user_thing: { required: ['users'], args: ([u]) => ({ user: u! }) },
  server_thing: { required: ['servers'], args: ([u, s]) => ({ user: u!, server: s ?? '' }) },
  group_thing: { required: ['read:groups'], args: ([g]) => ({ group: g! }) },
  service_thing: { required: ['read:services'], args: ([s]) => ({ service: s! }) },
  other_thing: { required: ['users'], args: () => ({}) }, // non_filter_argument is not a resource
  post_filter: { required: ['users'], postFilter: true, args: () => ({}), body: (held) => hasScope('users!user=gob', held) },
}
const METHOD_ACCESS: [string[], string, (string | null)[], boolean][] = [
  [['users'], 'user_thing', ['user'], true],
  [['users'], 'user_thing', ['michael'], true],
  [[''], 'user_thing', ['michael'], false],
  [['read:users'], 'user_thing', ['gob'], false],
  [['read:users'], 'user_thing', ['michael'], false],
  [['users!user=george'], 'user_thing', ['george'], true],
  [['users!user=george'], 'user_thing', ['fake_user'], false],
  [['users!user=george'], 'user_thing', ['oscar'], false],
  [['users!user=george', 'users!user=oscar'], 'user_thing', ['oscar'], true],
  [['servers'], 'server_thing', ['user1', 'server_1'], true],
  [['servers'], 'server_thing', ['user1', ''], true],
  [['servers'], 'server_thing', ['user1', null], true],
  [['servers!server=maeby/bluth'], 'server_thing', ['maeby', 'bluth'], true],
  [['servers!server=maeby/bluth'], 'server_thing', ['gob', 'bluth'], false],
  [['servers!server=maeby/bluth'], 'server_thing', ['maybe', 'bluth2'], false],
  [['read:services'], 'service_thing', ['service1'], true],
  [['users!user=george', 'read:groups!group=bluths'], 'group_thing', ['bluths'], true],
  [['users!user=george', 'read:groups!group=bluths'], 'group_thing', ['george'], false],
  [['groups!group=george', 'read:groups!group=bluths'], 'group_thing', ['george'], false],
  [['users'], 'other_thing', ['gob'], true],
  [['read:users'], 'other_thing', ['gob'], false],
  [['users!user=gob'], 'other_thing', ['gob'], false],
  [['users!user=gob'], 'post_filter', [], true],
  [['users!user=maeby'], 'post_filter', [], false],
]
for (const [scopes, method, args, allowed] of METHOD_ACCESS) {
  add('test_scope_method_access', `scopes=${p(scopes)}, method=${method}, arguments=${p(args)}, is_allowed=${allowed}`, (mode) => {
    const m = METHODS[method]!
    const held = parseScopes(scopes)
    const decision = needsScope(m.required, { ...opts(mode), ...(m.postFilter ? { postFilter: true } : {}) }).check(held, m.args(args))
    const ok = decision.status === 200 && (m.body ? m.body(held) : true)
    return eq('allowed', ok, allowed)
  })
}
// secret_thing is decorated twice: needs_scope('users') and needs_scope('read:services').
const secretThing = (scopes: string[], mode: JupyterHubMode) => {
  const held = parseScopes(scopes)
  return (['users', 'read:services'] as const).every((s) => needsScope([s], opts(mode)).check(held).status === 200)
}
add('test_double_scoped_method_succeeds', "set_scopes('users', 'read:services')", (mode) => eq('allowed', secretThing(['users', 'read:services'], mode), true))
add('test_double_scoped_method_denials', "set_scopes('users', 'read:groups')", (mode) => eq('allowed', secretThing(['users', 'read:groups'], mode), false))

// ---------------------------------------------------------------- GET /users/:name with group-filtered role scopes
for (const [user, inGroup, status] of [['martha', false, 200], ['michael', true, 200], ['gob', true, 200], ['tobias', false, 404], ['ann', false, 404]] as const) {
  add('test_expand_groups', `user_name=${user}, in_group=${inGroup}, status_code=${status}`, (mode) => {
    const groupsOf = groupsFromMembership(inGroup ? { bluth: [user] } : {})
    const role = ['read:users!user=martha', 'read:users!group=bluth', 'read:groups']
    // The user holds only the test role ('user' stripped); its default token inherits that.
    const held = tokenScopes({ owner: { kind: 'user', name: user, roleScopes: [role] }, scopes: ['inherit'], groupsOf }, opts(mode))
    const route = endpointScopes('GET', '/users/:user', opts(mode))
    return eq('status', needsScope(route.required, opts(mode)).check(parseScopes(held.scopes), { user }, { groupsOf }).status, status)
  })
}
const ERR_MESSAGE = 'No access to resources or resources not found'
for (const [test, target] of [['test_request_fake_user', 'annyong'], ['test_request_user_outside_group', 'hello']] as const) {
  add(test, `create_user_with_scopes('read:users!group=stuff'), GET /users/${target}`, (mode) => {
    const held = tokenScopes({ owner: { kind: 'user', name: 'temp_user_1', roleScopes: [['read:users!group=stuff']] }, scopes: ['inherit'], groupsOf: groupsFromMembership({}) }, opts(mode))
    const d = needsScope(endpointScopes('GET', '/users/:user', opts(mode)).required, opts(mode)).check(parseScopes(held.scopes), { user: target }, { groupsOf: groupsFromMembership({}) })
    return all(eq('status', d.status, 404), eq('message', d.message, ERR_MESSAGE))
  })
}

// ---------------------------------------------------------------- token scopes
add('test_refuse_exceeding_token_permissions', "user 'self', token.update_scopes(['admin:users'])", (mode) => {
  const r = thrown(() => checkTokenScopes({ owner: { kind: 'user', name: 'temp_user_1', roleScopes: [['self']] }, scopes: ['admin:users'] }, opts(mode)))
  if ('failure' in r) return r.failure
  return all(eq('typed error', r.error instanceof TokenScopesExceedOwnerError, true), eq('raises ValueError', raises(asUpstreamError(r.error)!.error, 'ValueError'), true))
})
for (const [test, userScopes] of [
  ['test_exceeding_user_permissions', ['list:users', 'read:users:groups']],
  ['test_user_service_separation', ['read:users:groups', 'list:users']],
] as const) {
  add(test, `user scopes ${p(userScopes)}, token scopes + ['list:users', 'read:users']`, (mode) => {
    const t = tokenScopes({ owner: { kind: 'user', name: 'temp_user_1', roleScopes: [[...userScopes]] }, scopes: ['inherit', 'list:users', 'read:users'] }, opts(mode))
    // The user list shows 'groups' (read:users:groups) but not 'last_activity' (read:users:activity).
    return all(eq('read:users:groups held', t.scopes.includes('read:users:groups'), true), eq('read:users:activity held', t.scopes.some((s) => s.startsWith('read:users:activity')), false))
  })
}

// POST /users and POST /groups need an unfiltered admin scope. Upstream parametrizes has_filter with the
// tuples (True,) and (False,), both truthy, so both parametrizations run the filtered scope (→ 403).
for (const [test, scope, route] of [
  ['test_post_users_admin_filter', 'admin:users!user=username', 'POST /users'],
  ['test_post_groups_admin_filter', 'admin:groups!group=groupname', 'POST /groups'],
] as const) {
  for (const hasFilter of ['(True,)', '(False,)']) {
    add(test, `has_filter=${hasFilter} (a non-empty tuple: truthy, so the scope is ${scope})`, (mode) => {
      const required: ScopeName[] = route === 'POST /users' ? ['admin:users'] : ['admin:groups']
      return eq('status', needsScope(required, opts(mode)).check(expandScopes([scope], {}, opts(mode))).status, 403)
    })
  }
}

// ---------------------------------------------------------------- list handlers
add('test_service_filter', "list:services!service=cull_idle over cull_idle, user_service", (mode) => {
  const a = listAccess('services', expandScopes(['list:services!service=cull_idle'], {}, opts(mode)))
  return all(eq('status', a.status, 200), sameSet('services', a.filter([{ name: 'cull_idle' }, { name: 'user_service' }]).map((e) => e.name), ['cull_idle']))
})
add('test_user_filter_with_group', 'list:users!group=sitwell; user1, user2 in sitwell; external_user not', (mode) => {
  const users = [{ name: 'temp_user_1', groups: ['sitwell'] }, { name: 'temp_user_2', groups: ['sitwell'] }, { name: 'temp_user_3', groups: [] }]
  const a = listAccess('users', expandScopes(['list:users!group=sitwell'], {}, opts(mode)))
  return sameSet('users', a.filter(users).map((u) => u.name), ['temp_user_1', 'temp_user_2'])
})
add('test_group_scope_filter', 'list:groups!group=sitwell, list:groups!group=bluth over sitwell, bluth, austero', (mode) => {
  const a = listAccess('groups', expandScopes(['list:groups!group=sitwell', 'list:groups!group=bluth'], {}, opts(mode)))
  return sameSet('groups', a.filter([{ name: 'sitwell' }, { name: 'bluth' }, { name: 'austero' }]).map((g) => g.name), ['sitwell', 'bluth'])
})
const LIST_USERS: [string | string[], string[] | 403][] = [
  ['list:users', ['in-1', 'in-2', 'out-1', 'out-2', 'admin', 'user']],
  ['read:users', 403],
  ['list:users!server=irrelevant', 403],
  ['list:users!user=nosuchuser', []],
  ['list:users!group=nosuchgroup', []],
  ['list:users!user=out-2', ['out-2']],
  ['list:users!group=GROUP', ['in-1', 'in-2']],
  [['list:users!group=GROUP', 'list:users!user=out-2'], ['in-1', 'in-2', 'out-2']],
]
for (const [scopes, expected] of LIST_USERS) {
  add('test_list_users_filter', `scopes=${p(scopes)}, expected=${p(expected)}`, (mode) => {
    const list = (typeof scopes === 'string' ? [scopes] : scopes).map((s) => s.replace('GROUP', 'testgroup'))
    const users = [
      { name: 'admin', groups: [] },
      { name: 'user', groups: [] },
      { name: 'in-1', groups: ['testgroup'] },
      { name: 'in-2', groups: ['testgroup'] },
      { name: 'out-1', groups: [] },
      { name: 'out-2', groups: [] },
    ]
    const a = listAccess('users', expandScopes(list, { owner: { kind: 'service', name: 'temp_service_1' } }, opts(mode)))
    if (expected === 403) return eq('status', a.status, 403)
    return all(eq('status', a.status, 200), sameSet('users', a.filter(users).map((u) => u.name), expected))
  })
}
const LIST_GROUPS: [string | string[], string[] | 403][] = [
  ['list:groups', ['group1', 'group2', 'group3']],
  ['read:groups', 403],
  ['list:groups!user=irrelevant', 403],
  ['list:groups!group=nosuchgroup', []],
  ['list:groups!group=group1', ['group1']],
  [['list:groups!group=group1', 'list:groups!group=group2'], ['group1', 'group2']],
  ['list:groups!group=group', []], // prefix match shouldn't match
]
for (const [scopes, expected] of LIST_GROUPS) {
  add('test_list_groups_filter', `scopes=${p(scopes)}, expected=${p(expected)}`, (mode) => {
    const list = typeof scopes === 'string' ? [scopes] : scopes
    const a = listAccess('groups', expandScopes(list, { owner: { kind: 'service', name: 'temp_service_1' } }, opts(mode)))
    if (expected === 403) return eq('status', a.status, 403)
    return all(eq('status', a.status, 200), sameSet('groups', a.filter([{ name: 'group1' }, { name: 'group2' }, { name: 'group3' }]).map((g) => g.name), expected))
  })
}

// ---------------------------------------------------------------- metascopes
for (const [kind, has] of [['users', true], ['services', false]] as const) {
  add('test_metascope_self_expansion', `kind=${kind}, has_user_scopes=${has}`, (mode) => {
    const owner = { kind: kind === 'users' ? ('user' as const) : ('service' as const), name: 'temp_1', roleScopes: [['self']] }
    const own = entityScopes(owner, opts(mode)).scopes
    const token = tokenScopes({ owner, scopes: ['inherit'] }, opts(mode)).scopes
    return all(eq('entity scopes non-empty', own.length > 0, has), eq('token scopes non-empty', token.length > 0, has))
  })
}
add('test_metascope_inherit_expansion', "user 'self', token scopes ['inherit'] then []", (mode) => {
  const owner = { kind: 'user' as const, name: 'temp_user_1', roleScopes: [['self']] }
  const inherit = tokenScopes({ owner, scopes: ['inherit'] }, opts(mode)).scopes
  const none = tokenScopes({ owner, scopes: [] }, opts(mode)).scopes
  const identify = new Set(identifyScopes({ kind: 'user', name: 'temp_user_1' }))
  return all(sameSet('inherit = user scopes', inherit, entityScopes(owner, opts(mode)).scopes), eq('no roles ⊆ identify scopes', none.every((s) => identify.has(s)), true))
})

// ---------------------------------------------------------------- token ∩ owner
const RESOLVE: [string, string[], string[], string[]][] = [
  ['no_filter', ['users:activity'], ['users:activity'], ['users:activity', 'read:users:activity']],
  ['valid_own_filter', ['read:users:activity'], ['read:users:activity!user'], ['read:users:activity!user=temp_user_1']],
  ['valid_other_filter', ['read:users:activity'], ['read:users:activity!user=otheruser'], ['read:users:activity!user=otheruser']],
  ['no_filter_owner_filter', ['read:users:activity!user'], ['read:users:activity'], ['read:users:activity!user=temp_user_1']],
  ['valid_own_filter', ['read:users:activity!user'], ['read:users:activity!user'], ['read:users:activity!user=temp_user_1']],
  ['invalid_filter', ['read:users:activity!user'], ['read:users:activity!user=otheruser'], []],
  ['subscopes_cross_filter', ['users!user=x'], ['read:users:name'], ['read:users:name!user=x']],
  ['multiple_user_filter', ['users!user=x', 'users!user=y'], ['read:users:name!user=x'], ['read:users:name!user=x']],
  ['no_intersection_group_user', ['users!group=y'], ['users!user=x'], []],
  ['no_intersection_user_server', ['servers!user=y'], ['servers!server=x'], []],
  [
    'users_and_groups_both',
    ['users!group=x', 'users!user=y'],
    ['read:users:name!group=x', 'read:users!user=y'],
    ['read:users:name!group=x', 'read:users!user=y', 'read:users:name!user=y', 'read:users:groups!user=y', 'read:users:activity!user=y'],
  ],
  [
    'users_and_groups_user_only',
    ['users!group=x', 'users!user=y'],
    ['read:users:name!group=z', 'read:users!user=y'],
    ['read:users!user=y', 'read:users:name!user=y', 'read:users:groups!user=y', 'read:users:activity!user=y'],
  ],
]
for (const [name, userScopes, tokenRoleScopes, expected] of RESOLVE) {
  add('test_resolve_token_permissions', `name=${name}, user_scopes=${p(userScopes)}, token_scopes=${p(tokenRoleScopes)}`, (mode) => {
    // No group has members in this test (the db holds none): group filters match no user.
    const t = tokenScopes({ owner: { kind: 'user', name: 'temp_user_1', roleScopes: [userScopes] }, scopes: tokenRoleScopes, groupsOf: groupsFromMembership({}) }, opts(mode))
    return sameSet('token scopes', t.scopes, expected)
  })
}

// ---------------------------------------------------------------- _intersect_expanded_scopes
// Upstream loops over both directions but calls the function with (left, right) each time; we run both
// directions for real (a stronger check of the same symmetry claim).
const INTERSECT: [string[], string[], string[], boolean][] = [
  [[], [], [], false],
  [[], ['users'], [], false],
  [['users!user=x', 'users!group=y'], [], [], false],
  [['users!user=x', 'users!user=y', 'users!group=y'], ['users!user=x'], ['users!user=x'], false],
  [['users!user=x', 'users!group=y'], ['users!user=x', 'users!group=y', 'users!user=z'], ['users!user=x', 'users!group=y'], false],
  [['users!group=y', 'users!user=z'], ['users!user=x'], [], true],
  [['users!group=y', 'users!user=z'], ['users!server=x/y'], [], true],
  [['users!group=y', 'users!user=x'], ['users!server=x/y'], ['users!server=x/y'], true],
  [['read:servers!user=abc'], ['read:servers!server=abc/xyz'], ['read:servers!server=abc/xyz'], false],
  [['read:servers!user=abc'], ['read:servers!server=abcd/xyz'], [], false],
]
for (const [left, right, expected, shouldWarn] of INTERSECT) {
  add('test_intersect_expanded_scopes', `left=${p(left)}, right=${p(right)}, expected=${p(expected)}, should_warn=${shouldWarn}`, () => {
    const ab = intersectScopes(left, right)
    const ba = intersectScopes(right, left)
    const warned = ab.diagnostics.filter((d) => d.code === 'JUPYTERHUB_INTERSECTION_NEEDS_GROUPS').length
    return all(sameSet('left ∩ right', ab.scopes, expected), sameSet('right ∩ left', ba.scopes, expected), eq('warnings', warned, shouldWarn ? 1 : 0))
  })
}
const INTERSECT_GROUPS: [string[], string[], string[], Record<string, string[]>][] = [
  [['users!group=gx'], ['users!user=ux'], ['users!user=ux'], { gx: ['ux'] }],
  [['read:users!group=gx'], ['read:users!user=nosuchuser'], [], {}],
  [['read:users!group=gx'], ['read:users!server=nosuchuser/server'], [], {}],
  [['read:users!group=gx'], ['read:users!server=ux/server'], ['read:users!server=ux/server'], { gx: ['ux'] }],
  [['read:users!group=gx'], ['read:users!server=ux/server', 'read:users!user=uy'], ['read:users!server=ux/server'], { gx: ['ux'], gy: ['uy'] }],
  [['read:users!group=gy'], ['read:users!server=ux/server', 'read:users!user=uy'], ['read:users!user=uy'], { gx: ['ux'], gy: ['uy'] }],
  [['read:servers!server=ux/server', 'read:servers!group=gy'], ['read:servers!server=uy/server', 'read:servers!user=ux'], ['read:servers!server=ux/server', 'read:servers!server=uy/server'], { gx: ['ux'], gy: ['uy'] }],
  [['read:servers!user=ux', 'read:servers!group=gy'], ['read:servers!user=uy', 'read:servers!group=gx'], ['read:servers!user=ux', 'read:servers!user=uy'], { gx: ['ux'], gy: ['uy'] }],
]
for (const [left, right, expected, groups] of INTERSECT_GROUPS) {
  add('test_intersect_groups', `left=${p(left)}, right=${p(right)}, expected=${p(expected)}, groups=${p(groups)}`, () => {
    const groupsOf = groupsFromMembership(groups)
    return all(sameSet('left ∩ right', intersectScopes(left, right, { groupsOf }).scopes, expected), sameSet('right ∩ left', intersectScopes(right, left, { groupsOf }).scopes, expected))
  })
}

// ---------------------------------------------------------------- custom scopes
const CUSTOM_OK: Record<string, Record<string, unknown>>[] = [
  { 'custom:okay': { description: 'simple custom scope' } },
  { 'custom:parent': { description: 'parent', subscopes: ['custom:child'] }, 'custom:child': { description: 'child' } },
  { 'custom:extra': { description: 'I have extra info', extra: 'warn about me' } },
]
for (const defs of CUSTOM_OK) {
  add('test_custom_scopes', `custom_scopes=${p(defs)}`, (mode) => {
    const custom = defineCustomScopes(defs, opts(mode))
    const extra = Object.values(defs).some((d) => 'extra' in d)
    return all(
      ...Object.entries(defs).map(([name, def]) => eq(`scope_definitions[${name}]`, custom.definition(name), def)),
      eq('names defined', scopeNames({ ...opts(mode), customScopes: custom }).filter((n) => n in defs).length, Object.keys(defs).length),
      // upstream warns about the extra key (warnings.warn); we report it as a diagnostic
      eq('extra-key warning', custom.diagnostics.some((d) => d.code === 'JUPYTERHUB_CUSTOM_SCOPE_EXTRA_KEYS'), extra),
    )
  })
}
const CUSTOM_BAD: Record<string, unknown>[] = [
  { 'read:users': { description: "Can't override" } },
  { 'custom:empty': {} },
  { 'notcustom:prefix': { descroption: 'bad prefix' } },
  { 'custom:!illegal': { descroption: 'bad character' } },
  { 'custom:badsubscope': { description: 'non-custom subscope not allowed', subscopes: ['read:users'] } },
  { 'custom:nosubscope': { description: 'subscope not defined', subscopes: ['custom:undefined'] } },
  { 'custom:badsubscope': { description: 'subscope not a list', subscopes: 'custom:notalist' }, 'custom:notalist': { description: 'the subscope' } },
]
for (const defs of CUSTOM_BAD) {
  add('test_custom_scopes_bad', `custom_scopes=${p(defs)}`, (mode) => {
    const before = scopeNames(opts(mode))
    const r = thrown(() => defineCustomScopes(defs as never, opts(mode)))
    if ('failure' in r) return r.failure
    return all(
      eq('CustomScopeInvalidError', r.error instanceof CustomScopeInvalidError, true),
      eq('raises ValueError', raises(asUpstreamError(r.error)!.error, 'ValueError'), true),
      eq('scope_definitions unchanged', scopeNames(opts(mode)), before),
    )
  })
}

// ---------------------------------------------------------------- expansion
/** `_expand_self_scope(name)`: these raw scopes' expansions, each filtered to the user. */
const SELF_RAW = ['read:users', 'users:shares', 'read:shares', 'users:activity', 'servers', 'tokens', 'access:servers']
const selfScopes = (user: string, mode: JupyterHubMode) => expandScopes(SELF_RAW, {}, opts(mode)).scopes.map((s) => `${s}!user=${user}`)

add('test_user_filter_expansion', "tokens from _expand_self_scope('ignored') with '!user' vs the default token", (mode) => {
  const owner = { kind: 'user' as const, name: 'temp_user_1', roleScopes: [['self']] }
  const manual = selfScopes('ignored', mode).map((s) => s.split('=')[0]!)
  return sameSet('manual == auto', tokenScopes({ owner, scopes: manual }, opts(mode)).scopes, tokenScopes({ owner, scopes: ['inherit'] }, opts(mode)).scopes)
})
const EXPAND: [string[], string[]][] = [
  [['read:users:name!user'], ['read:users:name!user={user}']],
  [['users:activity!user'], ['read:users:activity!user={user}', 'users:activity!user={user}']],
  [['self'], ['*']],
  [['access:services', 'access:services!service=x'], ['access:services']],
  [['access:services!service'], ['access:services!service={service}']],
  [['access:servers!server'], ['access:servers!server={server}']],
]
for (const [scopes, expected] of EXPAND) {
  add('test_expand_scopes', `scopes=${p(scopes)}, expected=${p(expected)}`, (mode) => {
    const user = 'user1'
    const service = 'mockservice-external'
    const server = `${user}/salmon`
    // 'server' in the scopes: the OAuth client is the user's spawner 'salmon'; else the service's.
    const oauthClient = JSON.stringify(scopes).includes('server') ? { server } : { service }
    const fmt = (s: string) => s.replaceAll('{user}', user).replaceAll('{service}', service).replaceAll('{server}', server)
    let want = expected.map(fmt)
    if (want.includes('*')) want = [...want.filter((s) => s !== '*'), ...selfScopes(user, mode)]
    return sameSet('expanded', expandScopes(scopes.map(fmt), { owner: { kind: 'user', name: user }, oauthClient }, opts(mode)).scopes, want)
  })
}

// ---------------------------------------------------------------- has_scope
const HAS_SCOPE: [string, string, boolean][] = [
  ['read:users', 'read:users', true],
  ['read:users!user=USER', 'read:users!user=USER', true],
  ['read:servers!server=USER/x', 'read:servers!server=USER/x', true],
  ['read:groups!group=GROUP', 'read:groups!group=GROUP', true],
  ['read:users:name', 'read:users', true],
  ['read:users:name!user=USER', 'read:users!user=USER', true],
  ['read:users!user=USER', 'read:users!group=GROUP', true],
  ['read:users!user=USER', 'read:users', true],
  ['read:servers!server=USER/x', 'read:servers', true],
  ['read:servers!server=USER/x', 'servers!server=USER/x', true],
  ['read:servers!server=USER/x', 'servers!user=USER', true],
  ['read:servers!server=USER/x', 'servers!group=GROUP', true],
  ['read:users', 'read:users!user=USER', false],
  ['read:users', 'read:users!user=USER', false],
  ['read:users!user=USER', 'read:users!user=other', false],
  ['read:users!user=USER', 'read:users!group=other', false],
  ['read:servers!server=USER/x', 'servers!server=other/x', false],
  ['read:servers!server=USER/x', 'servers!user=other', false],
  ['read:servers!server=USER/x', 'servers!group=other', false],
  ['servers!server=USER/x', 'read:servers!server=USER/x', false],
]
for (const [scope, have, ok] of HAS_SCOPE) {
  add('test_has_scope', `scope=${scope}, have_scopes=${have}, ok=${ok}`, (mode) => {
    const sub = (s: string) => s.replaceAll('GROUP', 'group1').replaceAll('USER', 'user1')
    const held = expandScopes(have.split(',').map(sub), {}, opts(mode))
    return eq('has_scope', hasScope(sub(scope) as ExpandedScope, held, { groupsOf: groupsFromMembership({ group1: ['user1'] }) }), ok)
  })
}
const POST_FILTER: [string, string, boolean | 'ValueError'][] = [
  ['read:users', 'read:users', true],
  ['read:users', 'read:users!user=x', true],
  ['read:users', 'read:groups!user=x', false],
  ['read:users!user=x', 'read:users!group=y', 'ValueError'],
]
for (const [scope, have, ok] of POST_FILTER) {
  add('test_has_scope_post_filter', `scope=${scope}, have_scopes=${have}, ok=${ok}`, () => {
    const held = parseScopes(have.split(','))
    if (ok !== 'ValueError') return eq('has_scope', hasScope(scope as ExpandedScope, held, { postFilter: true }), ok)
    const r = thrown(() => hasScope(scope as ExpandedScope, held, { postFilter: true }))
    if ('failure' in r) return r.failure
    const upstream = asUpstreamError(r.error)
    return upstream && raises(upstream.error, 'ValueError') ? undefined : `expected a typed error raising ValueError, got ${String(r.error)}`
  })
}

export const jupyterhubScopesCases: readonly Case[] = cases
