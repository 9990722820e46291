/**
 * conda-incubator/conda-store at 9177dc66, ported: `tests/server/test_auth.py`,
 * `tests/_internal/server/views/test_api.py` and `tests/test_api.py`, run with `compat: 'conda-store'`
 * and with the default options. The database and HTTP fixtures become what they establish: seeded
 * environments, v1/v2 role-mapping rows, the caller's token (the `authenticate` fixture logs in
 * through DummyAuthentication, which gives user `username` admin on every namespace).
 */
import {
  CondaArnInvalidError,
  CondaStorePermissions,
  compileArn,
  isArnSubset,
  mergeBindings,
  permissionsForRoles,
  upstreamArnSqlLike,
  type CondaStoreOptions,
  type CondaStorePermission,
  type CondaStoreDatabase,
  type RoleBindings,
} from '../../../src/conda-store/index.js'
import { all, eq, sameSet } from '../expect.js'
import { CONDA_STORE_COMMIT, CS_MODES, type CondaStoreMode, type UpstreamCase } from '../types.js'

type Case = UpstreamCase<CondaStoreMode>
const cases: Case[] = []
const AUTH = 'conda-incubator/conda-store conda-store-server/tests/server/test_auth.py'
const VIEWS = 'conda-incubator/conda-store conda-store-server/tests/_internal/server/views/test_api.py'
const API = 'conda-incubator/conda-store conda-store-server/tests/test_api.py'
const add = (file: string, test: string, params: string, run: Case['run'], extra: { modes?: readonly CondaStoreMode[]; differs?: string } = {}) =>
  cases.push({ file, test, params, commit: CONDA_STORE_COMMIT, modes: extra.modes ?? CS_MODES, run, ...(extra.differs ? { differs: extra.differs } : {}) })
const p = (x: unknown) => JSON.stringify(x)
const compat = (mode: CondaStoreMode): CondaStoreOptions => (mode === 'compat' ? { compat: 'conda-store' } : {})

const VIEWER = permissionsForRoles(['viewer'])
const EDITOR = permissionsForRoles(['developer'])
const ADMIN = permissionsForRoles(['admin'])

// ================================================================ test_auth.py
for (const [expression, resource, match] of [['e*/d*', 'example/data', true], ['e*/d*', 'example/eta', false], ['*e*d*/*e', 'deed/rate', true]] as const) {
  add(AUTH, 'test_compile_arn_regex', `expression=${expression}, resource=${resource}, match=${match}`, (mode) => {
    const perms = CondaStorePermissions.create({ primaryNamespace: 'x', roleBindings: { [expression]: ['viewer'] } }, { authenticatedRoleBindings: {}, ...compat(mode) })
    return eq('match', perms.can('environment::read', resource), match)
  })
}
for (const [expression, namespace, name] of [['e*/d*', 'e%', 'd%'], ['*e*d*/*e', '%e%d%', '%e']] as const) {
  // The SQL LIKE rendering exists only as upstream's listing (compat); the default lists with the ARN matcher.
  add(AUTH, 'test_compile_arn_sql_like', `expression=${expression}, namespace=${namespace}, name=${name}`, () => eq('(namespace, name)', upstreamArnSqlLike(expression), [namespace, name]), { modes: ['compat'] })
}

const AUTHORIZATION: [Record<string, string[]>, string, CondaStorePermission, boolean][] = [
  [{ 'example-namespace/example-name': ['developer'] }, 'example-namespace/example-name', 'environment:create', true],
  [{ 'example-namespace/example-name': ['developer', 'viewer'] }, 'example-namespace/example-name', 'environment::delete', false],
  [{ 'example-namespace/example-name': ['developer', 'admin'] }, 'example-namespace/example-name', 'environment::delete', true],
  [{ 'e*/e*am*': ['admin'] }, 'example-namespace/example-name', 'environment:create', true],
  [{ 'e*/e*am*': ['viewer'] }, 'example-namespace/example-name', 'environment:create', false],
]
for (const [bindings, arn, permission, authorized] of AUTHORIZATION) {
  add(AUTH, 'test_authorization', `entity_bindings=${p(bindings)}, arn=${arn}, permissions={${permission}}, authorized=${authorized}`, (mode) =>
    eq('authorize', CondaStorePermissions.create({ primaryNamespace: 'example_namespace', roleBindings: bindings }, compat(mode)).can(permission, arn), authorized),
  )
}

// End-to-end flows: role mappings written through the REST API become database rows (v1: rows on the
// token's namespace; v2: a row granting the token's namespace access to the other namespace).
const FLOW_ROLES: [string, readonly CondaStorePermission[]][] = [['viewer', VIEWER], ['developer', EDITOR], ['editor', EDITOR], ['admin', ADMIN]]
for (const flow of ['v1', 'v2'] as const) {
  for (const [role, permissions] of FLOW_ROLES) {
    for (const version of [1, 2] as const) {
      add(AUTH, `test_end_to_end_auth_flow_${flow}`, `role=${role}, role_mappings_version=${version}`, (mode) => {
        const ns = 'this-ns'
        const other = 'other-ns'
        const authorize = (database: CondaStoreDatabase) =>
          CondaStorePermissions.create({ primaryNamespace: ns, roleBindings: {} }, { roleMappingsVersion: version, database, ...compat(mode) }).can(permissions, `${other}/example-name`)
        const written: CondaStoreDatabase = flow === 'v1' ? { v1: { [ns]: [[`${other}/ex*-name`, role]] } } : { v2: [[other, ns, role]] }
        const applies = (flow === 'v1') === (version === 1)
        return all(eq('no default roles', authorize({}), false), eq('after the role mapping', authorize(written), applies), eq('after deleting it', authorize({}), false))
      })
    }
  }
}

const ARN_SUBSET: [string, string, boolean][] = [
  ['ab/cd', 'a*b/c*d', true],
  ['a1111b/c22222d', 'a*b/c*d', true],
  ['a1/cd', 'a*b/c*d', false],
  ['abc/ed', 'a*b*c/e*d', true],
  ['a111bc/ed', 'a*b*c/e*d', true],
  ['a111b2222c/e3333d', 'a*b*c/e*d', true],
  ['aaabbbcccc/eeddd', 'a*b*c/e*d', true],
  ['aaabbbcccc1/eeddd', 'a*b*c/e*d', false],
  ['aaabbbcccc1c/eeddd', 'a*b*c/e*d', true],
]
for (const [a1, a2, value] of ARN_SUBSET) {
  add(AUTH, 'test_is_arn_subset', `arn_1=${a1}, arn_2=${a2}, value=${value}`, (mode) => eq('is_arn_subset', isArnSubset(a1, a2, compat(mode)), value))
}

const SUBSET_PAIRS: [Record<string, string[]>, Record<string, string[]>, boolean][] = [
  [{ '*/*': ['admin'] }, { '*/*': ['viewer'] }, true],
  [{ '*/*': ['viewer'] }, { '*/*': ['admin'] }, false],
  [{ 'a/b': ['admin'] }, { 'a/b': ['viewer'] }, true],
  [{ 'a/b': ['viewer'] }, { 'a/b': ['admin'] }, false],
  [{ '*/*': ['viewer'] }, { 'default/*': ['viewer'] }, true],
  [{ 'd*/*': ['viewer'] }, { 'efault/*': ['viewer'] }, false],
  [{ 'd*/*': ['viewer'], 'de*/*': ['admin'] }, { 'default/*': ['developer'] }, true],
  [{ 'd*/*': ['viewer'], 'de*/*': ['admin'] }, { 'dcefault/*': ['developer'] }, false],
  [{ 'd*/*': ['viewer'] }, { 'd*/*': ['viewer'], 'dc*/*': ['viewer'] }, true],
  [{ 'd*/*': ['viewer'] }, { 'd*/*': ['viewer'], 'dc*/*': ['developer'] }, false],
]
// Upstream lists each pair twice (a commented-out `authenticated` parameter once distinguished them).
for (const [entity, requested, value] of SUBSET_PAIRS) {
  for (const copy of ['# False', '# True']) {
    add(AUTH, 'test_is_subset_entity_permissions', `entity_bindings=${p(entity)}, new_entity_bindings=${p(requested)}, ${copy}, value=${value}`, (mode) =>
      eq('is_subset', CondaStorePermissions.create({ primaryNamespace: 'default', roleBindings: entity }, compat(mode)).canMintToken({ roleBindings: requested }).allowed, value),
    )
  }
}

// ================================================================ views/test_api.py
const SEED = ['default/name1', 'default/name2', 'namespace1/name3', 'namespace2/name4']
const SEED_NAMESPACES = ['default', 'namespace1', 'namespace2']
const name = (env: string) => env.slice(env.indexOf('/') + 1)
const anonymous = (mode: CondaStoreMode) => CondaStorePermissions.create(null, compat(mode))
const loggedIn = (mode: CondaStoreMode) => CondaStorePermissions.create({ primaryNamespace: 'username', roleBindings: { '*/*': ['admin'] } }, compat(mode))

add(VIEWS, 'test_api_permissions_unauth', '', (mode) => {
  const r = anonymous(mode).toPermissionResponse()
  return all(eq('authenticated', r.authenticated, false), eq('primary_namespace', r.primary_namespace, 'default'), eq('entity_permissions', r.entity_permissions, { 'default/*': [...VIEWER].sort() }))
})
add(VIEWS, 'test_api_permissions_auth', '', (mode) => {
  const r = loggedIn(mode).toPermissionResponse()
  return all(
    eq('authenticated', r.authenticated, true),
    eq('primary_namespace', r.primary_namespace, 'username'),
    eq('entity_permissions', r.entity_permissions, { '*/*': [...ADMIN].sort(), 'default/*': [...VIEWER].sort(), 'filesystem/*': [...VIEWER].sort() }),
  )
})
add(VIEWS, 'test_api_list_namespace_unauth', '', (mode) => sameSet('namespaces', SEED_NAMESPACES.filter((n) => anonymous(mode).isNamespaceVisible(n)), ['default']))
add(VIEWS, 'test_api_list_namespace_auth', '', (mode) => sameSet('namespaces', SEED_NAMESPACES.filter((n) => loggedIn(mode).isNamespaceVisible(n)), SEED_NAMESPACES))
// GET /namespace/{ns}: authorize namespace::read first (403), then look the namespace up (404).
const getNamespace = (perms: CondaStorePermissions, ns: string) => (!perms.can('namespace::read', ns) ? 403 : SEED_NAMESPACES.includes(ns) ? 200 : 404)
for (const [test, who, ns, status] of [
  ['test_api_get_namespace_unauth', 'anonymous', 'default', 200],
  ['test_api_get_namespace_unauth_no_exist', 'anonymous', 'namespace1', 403],
  ['test_api_get_namespace_auth', 'authenticate', 'namespace1', 200],
  ['test_api_get_namespace_auth_no_exist', 'authenticate', 'wrong', 404],
] as const) {
  add(VIEWS, test, `GET api/v1/namespace/${ns} (${who})`, (mode) => eq('status', getNamespace(who === 'anonymous' ? anonymous(mode) : loggedIn(mode), ns), status))
}
for (const version of ['v1', 'v2']) {
  add(VIEWS, 'test_api_list_environments_unauth', `version=${version}`, (mode) => sameSet('listed', anonymous(mode).filterEnvironments(SEED, { visibility: 'listed' }).map(name), ['name1', 'name2']))
  add(VIEWS, 'test_api_list_environments_auth', `version=${version}`, (mode) => sameSet('listed', loggedIn(mode).filterEnvironments(SEED, { visibility: 'listed' }).map(name), ['name1', 'name2', 'name3', 'name4']))
}

const REQUESTERS: [Record<string, string[]>, string[]][] = [
  [{ '*/*': ['viewer'] }, ['name1', 'name2', 'name3', 'name4']],
  [{ '*/*': ['admin'] }, ['name1', 'name2', 'name3', 'name4']],
  [{ 'default/*': ['viewer'] }, ['name1', 'name2']],
  [{ 'namespace1/name3': ['editor'] }, ['name3']],
  [{ 'namespace*/*': ['admin'] }, ['name3', 'name4']],
  [{ 'foo/bar': ['viewer'] }, []],
]
const TARGETS: [Record<string, string[]>, string[]][] = [
  [{ '*/name1': ['viewer'] }, ['name1']],
  [{ 'default/*': ['viewer'], 'e*/e*': ['admin'] }, ['name1', 'name2']],
  [{ 'namespace1/name3': ['viewer'] }, ['name3']],
  [{ 'namespace*/name*': ['viewer'] }, ['name3', 'name4']],
  [{ '*/*': ['viewer'] }, ['name1', 'name2', 'name3', 'name4']],
]
const EDITOR_LISTING =
  "a caller whose token binds 'editor' still lists, as upstream's SQL LIKE listing never converts roles; " +
  'both modes list the same and warn CONDA_ROLE_EDITOR_IN_BINDING, while every permission check for that caller denies (upstream: HTTP 500)'
for (const [target, targetEnvs] of TARGETS) {
  for (const [requester, requesterEnvs] of REQUESTERS) {
    const editor = Object.values(requester).some((roles) => roles.includes('editor'))
    add(
      VIEWS,
      'test_api_list_environments_jwt',
      `target_role_bindings=${p(target)}, requester_role_bindings=${p(requester)}`,
      (mode) => {
        // Both tokens are authenticated: the default bindings (default/*, filesystem/*) add name1, name2.
        const caller = CondaStorePermissions.create({ primaryNamespace: 'default', roleBindings: requester }, compat(mode))
        const jwt = CondaStorePermissions.create({ primaryNamespace: 'default', roleBindings: target }, compat(mode))
        const { environments, diagnostics } = caller.filterEnvironmentsFor(jwt, SEED)
        const expected = [...targetEnvs, 'name1', 'name2'].filter((n) => [...requesterEnvs, 'name1', 'name2'].includes(n))
        return all(
          sameSet('listed', environments.map(name), expected),
          editor ? eq('editor warning', diagnostics.some((d) => d.code === 'CONDA_ROLE_EDITOR_IN_BINDING'), true) : undefined,
          // Listing and checking stay consistent: the caller with 'editor' may read nothing.
          editor ? eq('readable by the caller', caller.filterEnvironments(SEED), []) : undefined,
          editor ? eq('toPermissionResponse error', caller.toPermissionResponse().error?.code, 'CONDA_ROLE_EDITOR_IN_BINDING') : undefined,
        )
      },
      editor ? { differs: `same listing as upstream; ${EDITOR_LISTING}` } : {},
    )
  }
}
// GET /environment/{ns}/{name}: environment::read first (403), then the lookup (404).
const getEnvironment = (perms: CondaStorePermissions, env: string) => (!perms.can('environment::read', env) ? 403 : SEED.includes(env) ? 200 : 404)
for (const [test, who, env, status] of [
  ['test_api_get_environment_unauth', 'anonymous', 'namespace1/name3', 403],
  ['test_api_get_environment_auth_existing', 'authenticate', 'namespace1/name3', 200],
  ['test_api_get_environment_auth_not_existing', 'authenticate', 'namespace1/wrong', 404],
] as const) {
  add(VIEWS, test, `GET api/v1/environment/${env} (${who})`, (mode) => eq('status', getEnvironment(who === 'anonymous' ? anonymous(mode) : loggedIn(mode), env), status))
}

// ================================================================ test_api.py
const POPULATED = ['pytest1/env1', 'pytest2/env2', 'pytest3/env3', 'pytest3/foo']
const LIST_BINDINGS: [Record<string, string[]>, string[]][] = [
  [{ '*/env1': ['viewer'] }, ['env1']],
  [{ 'pytest2/*': ['viewer'], 'e*/e*': ['admin'] }, ['env2']],
  [{ 'pytest3/env3': ['viewer'] }, ['env3']],
  [{ 'pytest*/env*': ['viewer'] }, ['env1', 'env2', 'env3']],
  [{ '*/*': ['viewer'] }, ['env1', 'env2', 'env3', 'foo']],
]
for (const [bindings, expected] of LIST_BINDINGS) {
  add(API, 'test_list_environments_role_bindings', `role_bindings=${p(bindings)}, expected_envs=${p(expected)}`, (mode) => {
    // api.list_environments(role_bindings=…) filters by these bindings alone (no default bindings).
    const perms = CondaStorePermissions.create({ primaryNamespace: 'x', roleBindings: bindings as RoleBindings }, { authenticatedRoleBindings: {}, ...compat(mode) })
    return sameSet('listed', perms.filterEnvironments(POPULATED, { visibility: 'listed' }).map(name), expected)
  })
}
add(API, 'test_namespace_role_mapping', "entities 'org/*', '*/team', 'org/team', '*/*' valid; 'invalid_entity_name' raises", (mode) => {
  const valid = ['org/*', '*/team', 'org/team', '*/*'].map((arn) => {
    try {
      compileArn(arn, compat(mode))
      return true
    } catch {
      return false
    }
  })
  let invalid: unknown
  try {
    compileArn('invalid_entity_name', compat(mode))
  } catch (err) {
    invalid = err
  }
  return all(eq('valid entities', valid, [true, true, true, true]), eq('invalid entity raises', invalid instanceof CondaArnInvalidError, true))
})
for (const editorRole of ['editor', 'developer']) {
  add(API, 'test_namespace_role_mapping_v2', `editor_role=${editorRole}`, (mode) => {
    // The v2 rows after the test's updates; the ORM stores 'editor' as 'developer'.
    const database: CondaStoreDatabase = { v2: [['pytest-other-namespace1', 'pytest-namespace', 'admin'], ['pytest-other-namespace2', 'pytest-namespace', editorRole], ['pytest-other-namespace3', 'pytest-namespace', 'viewer']] }
    const merged = mergeBindings({ primaryNamespace: 'pytest-namespace', roleBindings: {} }, database, { roleMappingsVersion: 2, authenticatedRoleBindings: {} })
    const perms = CondaStorePermissions.create({ primaryNamespace: 'pytest-namespace', roleBindings: {} }, { roleMappingsVersion: 2, database, authenticatedRoleBindings: {}, ...compat(mode) })
    return all(
      eq('roles', Object.fromEntries(merged.map((b) => [b.arn, [...b.roles]])), { 'pytest-other-namespace1/*': ['admin'], 'pytest-other-namespace2/*': ['developer'], 'pytest-other-namespace3/*': ['viewer'] }),
      eq('bindings usable', perms.bindingError, undefined),
    )
  })
}

export const condaStoreCases: readonly Case[] = cases
