/**
 * jupyterhub/jupyterhub `jupyterhub/tests/test_roles.py` at 2841153d, ported: role scope expansion,
 * scope existence, role names, token requests and the server role, under JupyterHub 5.x and 6.0.
 */
import {
  checkTokenScopes,
  defaultRoles,
  endpointScopes,
  entityScopes,
  expandScopes,
  needsScope,
  parseScopes,
  roleNameError,
  scopeError,
  scopeNames,
  tokenScopes,
  type HubRoute,
} from '../../../src/jupyterhub/index.js'
import { asUpstreamError, raises } from '../../conformance/adapters/upstream-errors.js'
import { all, eq, sameSet } from '../expect.js'
import { JH_MODES, JUPYTERHUB_COMMIT, versionOf, type JupyterHubMode, type UpstreamCase } from '../types.js'

const FILE = 'jupyterhub/jupyterhub jupyterhub/tests/test_roles.py'
type Case = UpstreamCase<JupyterHubMode>
const cases: Case[] = []
const add = (test: string, params: string, run: Case['run']) => cases.push({ file: FILE, test, params, commit: JUPYTERHUB_COMMIT, modes: JH_MODES, run })
const opts = (mode: JupyterHubMode) => ({ jupyterhubVersion: versionOf(mode) })
const p = (x: unknown) => JSON.stringify(x)

const EXPANDED: [string[], string[]][] = [
  [['admin:users'], ['admin:users', 'admin:auth_state', 'users', 'delete:users', 'list:users', 'read:users', 'users:activity', 'read:users:name', 'read:users:groups', 'read:roles:users', 'read:users:activity']],
  [['users'], ['users', 'list:users', 'read:users', 'users:activity', 'read:users:name', 'read:users:groups', 'read:users:activity']],
  [['read:users'], ['read:users', 'read:users:name', 'read:users:groups', 'read:users:activity']],
  [['read:servers'], ['read:servers', 'read:users:name']],
  [['admin:groups'], ['admin:groups', 'groups', 'delete:groups', 'list:groups', 'read:groups', 'read:roles:groups', 'read:groups:name']],
  [['admin:groups', 'read:servers'], ['admin:groups', 'groups', 'delete:groups', 'list:groups', 'read:groups', 'read:roles:groups', 'read:groups:name', 'read:servers', 'read:users:name']],
  [['tokens!group=hobbits'], ['tokens!group=hobbits', 'read:tokens!group=hobbits']],
  [['admin:services'], ['read:roles:services', 'read:services:name', 'admin:services', 'list:services', 'read:services']],
]
for (const [scopes, expected] of EXPANDED) {
  add('test_get_expanded_scopes', `scopes=${p(scopes)}`, (mode) => sameSet('roles_to_expanded_scopes', expandScopes(scopes, {}, opts(mode)).scopes, expected))
}

const EXISTENCE: [string[], 'existing' | 'KeyError'][] = [
  [['users', 'users!user=charlie', 'admin:groups', 'read:tokens'], 'existing'],
  [['uses'], 'KeyError'],
  [['users:activities'], 'KeyError'],
  [['groups!goup=class-A'], 'KeyError'],
]
EXISTENCE.forEach(([scopes, response], i) => {
  add('test_scope_existence', `role={'name': 'test-scopes-${i + 1}', 'scopes': ${p(scopes)}}, response=${response}`, (mode) => {
    const errors = scopes.map((s) => scopeError(s, opts(mode))).filter((e) => e !== undefined)
    if (response === 'existing') return eq('errors', errors.length, 0)
    const upstream = errors[0] ? asUpstreamError(errors[0]) : undefined
    return upstream && raises(upstream.error, 'KeyError') ? undefined : `expected a typed error raising KeyError, got ${p(errors)}`
  })
})

// POST /users/user/tokens {roles: [...]}: the user holds 'user' (self); 'groups-reader' also puts the user
// in a group holding ['groups']. The token's role scopes must be within the owner's (_check_token_scopes).
const NEW_TOKEN: [string | null, string[] | null, 201 | 400][] = [
  [null, null, 201],
  ['self-reader', ['read:users!user'], 201],
  ['other-reader', ['read:users!user=other'], 400],
  ['other-reader', ['read:users'], 400],
  ['groups-reader', ['read:groups'], 201],
  ['users-creator', ['admin:users'], 400],
]
for (const [rolename, scopes, status] of NEW_TOKEN) {
  add('test_get_new_token_via_api', `headers={}, rolename=${rolename}, scopes=${p(scopes)}, status=${status}`, (mode) => {
    const owner = {
      kind: 'user' as const,
      name: 'user',
      roleScopes: [['self']],
      ...(rolename === 'groups-reader' ? { groups: ['test-group'], groupRoleScopes: { 'test-group': ['groups'] } } : {}),
    }
    const requested = scopes ?? defaultRoles().find((r) => r.name === 'token')!.scopes
    let got: 201 | 400 = 201
    try {
      checkTokenScopes({ owner, scopes: requested }, opts(mode))
    } catch (err) {
      if (!asUpstreamError(err) || !raises(asUpstreamError(err)!.error, 'ValueError')) throw err
      got = 400 // the handler turns the ValueError into HTTP 400
    }
    return eq('status', got, status)
  })
}

for (const [kind, has] of [['users', true], ['services', false]] as const) {
  add('test_self_expansion', `kind=${kind}, has_user_scopes=${has}`, (mode) => {
    const name = `test_${kind}`
    const owner = { kind: kind === 'users' ? ('user' as const) : ('service' as const), name, roleScopes: [['self']] }
    const scopes = entityScopes(owner, opts(mode)).scopes
    const names = new Set<string>(scopeNames(opts(mode)))
    return all(
      eq('entity scopes non-empty', scopes.length > 0, has),
      kind === 'users' ? eq('every scope is !user=name of a defined scope', scopes.every((s) => s.endsWith(`!user=${name}`) && names.has(s.split('!')[0]!)), true) : undefined,
      eq('token scopes non-empty', tokenScopes({ owner, scopes: ['inherit'] }, opts(mode)).scopes.length > 0, has),
    )
  })
}

const USER_FILTER: [string[], boolean][] = [
  [['users:activity!user'], false],
  [['users:activity!user', 'read:users'], false],
  [['users:activity!user=otheruser', 'read:users'], false],
  [['users:activity!user'], true],
  [['users:activity!user=otheruser', 'groups'], true],
]
for (const [scopeList, forToken] of USER_FILTER) {
  add('test_user_filter_expansion', `scope_list=${p(scopeList)}, kind=users, test_for_token=${forToken}`, (mode) => {
    const owner = { kind: 'user' as const, name: 'test_users', roleScopes: [scopeList] }
    const expanded = forToken ? tokenScopes({ owner, scopes: scopeList }, opts(mode)).scopes : entityScopes(owner, opts(mode)).scopes
    const failures: (string | undefined)[] = []
    for (const scope of scopeList) {
      const filter = scope.includes('!') ? scope.slice(scope.indexOf('!') + 1) : ''
      for (const ex of expanded) {
        const exFilter = ex.includes('!') ? ex.slice(ex.indexOf('!') + 1) : ''
        if (ex.includes(scope) && filter === 'user') failures.push(eq(`${ex} filter`, exFilter, 'user=test_users'))
        else if (ex.includes(scope) && filter.includes('=')) failures.push(eq(`${ex} filter`, exFilter, filter))
      }
    }
    return all(...failures)
  })
}

const NAMES: [string, boolean][] = [
  ['abc', true],
  ['group', true],
  ['a-pretty-long-name-with-123', true],
  ['0-abc', false],
  ['role-', false],
  ['has-Uppercase', false],
  ['a'.repeat(256), false],
  ['has space', false],
]
for (const [name, valid] of NAMES) {
  add('test_valid_names', `name=${name.length > 40 ? `'a' * ${name.length}` : name}, valid=${valid}`, () => {
    const error = roleNameError(name)
    if (valid) return eq('error', error, undefined)
    const upstream = error ? asUpstreamError(error) : undefined
    return upstream && raises(upstream.error, 'ValueError') ? undefined : 'expected a typed error raising ValueError'
  })
}

// Token with one of the default roles; the user holds 'user' (self).
const SERVER_ROLE: ['server' | 'token' | 'no_role', 'post' | 'get', 'activity' | 'users', 'same_user' | 'other_user', 200 | 403 | 404][] = [
  ['server', 'post', 'activity', 'same_user', 200],
  ['server', 'post', 'activity', 'other_user', 404],
  ['server', 'get', 'users', 'same_user', 403],
  ['token', 'post', 'activity', 'same_user', 200],
  ['no_role', 'post', 'activity', 'same_user', 403],
]
for (const [tokenRole, method, endpoint, forUser, response] of SERVER_ROLE) {
  add('test_server_role_api_calls', `token_role=${tokenRole}, api_method=${method}, api_endpoint=${endpoint}, for_user=${forUser}, response=${response}`, (mode) => {
    const owner = { kind: 'user' as const, name: 'test_user', roleScopes: [['self']] }
    const roleScopes = tokenRole === 'no_role' ? [] : [...defaultRoles().find((r) => r.name === tokenRole)!.scopes]
    const held = parseScopes(tokenScopes({ owner, scopes: roleScopes }, opts(mode)).scopes)
    const route: HubRoute = endpoint === 'activity' ? '/users/:user/activity' : '/users'
    const e = endpointScopes(method.toUpperCase(), route, opts(mode))
    const args = endpoint === 'activity' ? { user: forUser === 'same_user' ? 'test_user' : 'otheruser' } : {}
    return eq('status', needsScope(e.required, { ...opts(mode), ...(e.postFilter ? { postFilter: true } : {}) }).check(held, args).status, response)
  })
}

export const jupyterhubRolesCases: readonly Case[] = cases
