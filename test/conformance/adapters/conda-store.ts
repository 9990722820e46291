/**
 * Conformance adapters for the conda-store and Nebari kinds of conda-store-nebari.jsonl, through the
 * public API of `keycloak-permissions/conda-store` only.
 */
import type { EffectiveRole, Principal } from '../../../src/core/principal.js'
import {
  CondaStoreClient,
  CondaStorePermissions,
  bindingsRecord,
  condaStorePermissionsFor,
  highestRolePerNamespace,
  isArnSubset,
  mergeBindings,
  nebariJhubAppsRoleBindings,
  nebariLogin,
  parseNebariScopes,
  permissionsForRoles,
  upstreamArnRegex,
  upstreamArnSqlLike,
} from '../../../src/conda-store/index.js'
import type { CondaStoreOptions, CondaStoreDatabase, RoleBindings } from '../../../src/conda-store/index.js'
import { KeycloakPermissionsError } from '../../../src/index.js'
import { checkModes, mismatch, same, sameSorted, sortList } from '../compare.js'
import { UPSTREAM_EXCEPTION, raises } from './upstream-errors.js'
import type { AdapterTable, Vector } from '../types.js'

type Mode = 'default' | 'compat'
const compatOf = (mode: Mode): CondaStoreOptions => (mode === 'compat' ? { compat: 'conda-store' } : {})

/** The typed error code a vector's `error_meaning` names ("… (code CONDA_X)"). */
function expectedCode(v: Vector): string | undefined {
  return /code ([A-Z_]+)/.exec(v.error_meaning ?? '')?.[1]
}
const isError = (x: unknown): x is { error: string } => typeof x === 'object' && x !== null && !Array.isArray(x) && 'error' in x

/** Runs `f`, turning a typed library error into `{ code }`. */
function capture<T>(f: () => T): T | { code: string } {
  try {
    return f()
  } catch (err) {
    if (err instanceof KeycloakPermissionsError) return { code: err.code }
    throw err
  }
}

/**
 * An expected upstream exception is met by a captured typed error whose upstream kind raises it
 * (UPSTREAM_EXCEPTION); when the vector's error_meaning names a code, that code must match too.
 */
function compareValueOrError(v: Vector) {
  return (actual: unknown, expected: unknown): string | undefined => {
    if (isError(expected)) {
      const got = typeof actual === 'object' && actual !== null ? (actual as { code?: string }).code : undefined
      const kind = got === undefined ? undefined : UPSTREAM_EXCEPTION[got]
      if (kind === undefined || !raises(kind, expected.error)) return mismatch('error', actual, expected.error)
      const code = expectedCode(v)
      return code === undefined || got === code ? undefined : mismatch('error code', got, code)
    }
    return same(actual, expected) ? undefined : mismatch('result', actual, expected)
  }
}

const isolated = (arn: string, mode: Mode, extra: CondaStoreOptions = {}) =>
  CondaStorePermissions.create({ primaryNamespace: 'someone', roleBindings: { [arn]: ['viewer'] } }, { authenticatedRoleBindings: {}, ...compatOf(mode), ...extra })

const arnMatch = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const perms = isolated(v.input.arn, mode)
      if (perms.bindingError) return { code: perms.bindingError.code }
      return perms.can('environment::read', v.input.resource)
    },
    compareValueOrError(v),
    { hasCompat: true },
  ),
})

// arn_regex: upstream's regex source is a compat-only rendering (the default builds no regex, D2);
// the default mode has no counterpart to compare, so only compat is checked.
const arnRegex = async (v: Vector) => ({
  failures: await checkModes(v, () => upstreamArnRegex(v.input.arn), (a, e) => (a === e ? undefined : mismatch('regex', a, e)), { hasCompat: false }),
})

const arnSubset = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => isArnSubset(v.input.arn_1, v.input.arn_2, mode === 'compat' ? { compat: 'conda-store' } : {}),
    (a, e) => (a === e ? undefined : mismatch('subset', a, e)),
    { hasCompat: true },
  ),
})

// arn_like: the SQL LIKE patterns and per-dialect listings exist only in compat (upstream lists through
// SQL); the default has one matcher for listing and authorization (D2, D14), checked via filterEnvironments.
const arnLike = async (v: Vector) => {
  const envs: string[] = v.input.environments
  const failures: string[] = []
  const e = v.expected
  const likePatterns = upstreamArnSqlLike(v.input.arn)
  if (!same(likePatterns, e.sql_like_patterns)) failures.push(mismatch('compat sql_like_patterns', likePatterns, e.sql_like_patterns))
  const sqlite = isolated(v.input.arn, 'compat', { likeDialect: 'sqlite' }).filterEnvironments(envs, { visibility: 'listed' })
  const postgres = isolated(v.input.arn, 'compat', { likeDialect: 'postgresql' }).filterEnvironments(envs, { visibility: 'listed' })
  const authorized = isolated(v.input.arn, 'compat').filterEnvironments(envs)
  if (!sameSorted(sqlite, e.listed_sqlite)) failures.push(mismatch('compat listed_sqlite', sortList(sqlite), e.listed_sqlite))
  if (!sameSorted(postgres, e.listed_postgres_emulated)) failures.push(mismatch('compat listed_postgres', sortList(postgres), e.listed_postgres_emulated))
  if (!sameSorted(authorized, e.authorized_regex)) failures.push(mismatch('compat authorized_regex', sortList(authorized), e.authorized_regex))
  const ours = v.ours ?? { listed: e.authorized_regex, authorized: e.authorized_regex }
  const def = isolated(v.input.arn, 'default')
  const listed = def.filterEnvironments(envs, { visibility: 'listed' })
  const readable = def.filterEnvironments(envs)
  if (!sameSorted(listed, ours.listed)) failures.push(mismatch('default listed', sortList(listed), ours.listed))
  if (!sameSorted(readable, ours.authorized)) failures.push(mismatch('default authorized', sortList(readable), ours.authorized))
  return { failures }
}

const rolePermissions = async (v: Vector) => ({
  failures: await checkModes(
    v,
    () => capture(() => permissionsForRoles(v.input.roles, v.input.role_mappings ? { roleMappings: v.input.role_mappings } : {})),
    compareValueOrError(v),
    { hasCompat: false },
  ),
})

function databaseOf(input: Record<string, unknown>): CondaStoreDatabase {
  const v1: Record<string, [string, string][]> = {}
  for (const [key, rows] of Object.entries(input)) {
    if (key.startsWith('db_v1_rows_on_namespace_')) v1[key.slice('db_v1_rows_on_namespace_'.length)] = rows as [string, string][]
  }
  // `db: "no namespace row for primary_namespace"`: upstream's v2 lookup fails and is swallowed; with no
  // rows for that namespace the merge gives the same (nothing from the database).
  return { v1, v2: (input['db_v2_rows'] as [string, string, string][] | undefined) ?? [] }
}

const entityBindings = async (v: Vector) => ({
  failures: await checkModes(
    v,
    () => {
      const i = v.input
      const entity = i.authenticated ? { primaryNamespace: i.primary_namespace ?? 'default', roleBindings: (i.token_role_bindings ?? {}) as RoleBindings } : null
      return bindingsRecord(
        mergeBindings(entity, databaseOf(i), {
          roleMappingsVersion: i.version ?? 1,
          ...(i.authenticated_role_bindings !== undefined ? { authenticatedRoleBindings: i.authenticated_role_bindings } : {}),
        }),
      )
    },
    (a, e) => (same(a, e) ? undefined : mismatch('bindings', a, e)),
    { hasCompat: false },
  ),
})

const entityPermissions = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) =>
      capture(() =>
        CondaStorePermissions.create({ primaryNamespace: v.input.primary_namespace, roleBindings: v.input.token_role_bindings }, { roleMappingsVersion: 2, ...compatOf(mode) }).permissionsOn(v.input.arn),
      ),
    compareValueOrError(v),
    { hasCompat: true },
  ),
})

const subset = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const caller = CondaStorePermissions.create({ primaryNamespace: 'default', roleBindings: v.input.entity_role_bindings }, compatOf(mode))
      const d = caller.canMintToken({ roleBindings: v.input.new_entity_role_bindings })
      if (d.reason === 'INVALID_BINDINGS') return { code: d.diagnostics?.[0]?.code ?? 'INVALID_BINDINGS' }
      return d.allowed
    },
    compareValueOrError(v),
    { hasCompat: true },
  ),
})

const permissionApi = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const entity = v.input.authenticated ? { primaryNamespace: v.input.primary_namespace ?? 'default', roleBindings: v.input.token_role_bindings ?? {} } : null
      return CondaStorePermissions.create(entity, { defaultNamespace: v.input['CondaStore.default_namespace'], ...compatOf(mode) }).toPermissionResponse()
    },
    (a, e) => (same(a, e) ? undefined : mismatch('data', a, e)),
    { hasCompat: true },
  ),
})

const ENV_SEED = ['alice/e1', 'bob/e2', 'analyst/e3', 'ml/e4', 'global/e5', 'nebari-git/e6', 'default/e7', 'filesystem/e8']

const envListing = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const i = v.input
      const shared: CondaStoreOptions = {
        roleMappingsVersion: 2,
        ...compatOf(mode),
        ...(i.authenticated_role_bindings !== undefined ? { authenticatedRoleBindings: i.authenticated_role_bindings } : {}),
      }
      const database = { v2: i.db_v2_rows ?? [] }
      const requester = CondaStorePermissions.create({ primaryNamespace: 'default', roleBindings: i.requester }, { ...shared, database })
      const target = CondaStorePermissions.create({ primaryNamespace: i.jwt_target_primary_namespace ?? 'default', roleBindings: i.jwt_target }, { ...shared, database })
      return requester.filterEnvironmentsFor(target, ENV_SEED).environments
    },
    (a, e) => (sameSorted(a, e as unknown[]) ? undefined : mismatch('listing', sortList(a), e)),
    { hasCompat: true },
  ),
})

const parseScope = async (v: Vector) => ({
  failures: await checkModes(
    v,
    () => parseNebariScopes(v.input.scopes).grants.map((g) => ({ role: g.role, namespace: g.namespace })),
    (a, e) => (same(a, e) ? undefined : mismatch('grants', a, e)),
    { hasCompat: false },
  ),
})

function principalOf(input: { username: string; groups: readonly string[]; condaStoreRoles: readonly { name: string; attributes: Record<string, string[]> }[]; otherRoleNames?: readonly string[] }): Principal {
  const conda: EffectiveRole[] = input.condaStoreRoles.map((r) => ({ client: 'conda_store', name: r.name, attributes: r.attributes, via: [] }))
  const known = new Set(conda.map((r) => r.name))
  const other: EffectiveRole[] = (input.otherRoleNames ?? []).filter((n) => !known.has(n)).map((name) => ({ client: 'other-client', name, attributes: {}, via: [] }))
  return {
    realm: 'vectors',
    userId: undefined,
    username: input.username,
    groups: input.groups,
    realmRoles: [],
    clientRoles: { conda_store: conda, ...(other.length > 0 ? { 'other-client': other } : {}) },
    complete: { groups: true, realmRoles: true, attributes: true, provenance: false },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}

// nebari_dedup in compat: upstream's filter output for a lower-then-higher pair is a bare role string,
// which our API deliberately does not expose; its meaning — the role sync crashes and no grant applies —
// is checked through nebariLogin({ compat: 'nebari' }). Other compat outputs are the login's grants.
const CRASH = 'role sync aborted'
const nebariDedup = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const items: { role: 'viewer' | 'developer' | 'admin'; namespace: string }[] = v.input.namespace_roles_in_order
      if (mode === 'default') return highestRolePerNamespace(items).grants.map((g) => ({ role: g.role, namespace: g.namespace }))
      const principal = principalOf({
        username: 'dedup-user',
        groups: [],
        condaStoreRoles: [{ name: 'items', attributes: { scopes: [items.map((i) => `${i.role}!namespace=${i.namespace}`).join(',')] } }],
      })
      const login = nebariLogin(principal, { compat: 'nebari' })
      const crashed = login.diagnostics.some((d) => d.code === 'NEBARI_DUPLICATE_NAMESPACE' && String(d.details?.['upstream'] ?? '').includes('aborted'))
      return crashed && login.grants.length === 0 ? CRASH : login.grants.map(([namespace, , role]) => ({ role, namespace }))
    },
    (a, e) => {
      const expectsCrash = Array.isArray(e) && e.some((x) => typeof x === 'string')
      if (expectsCrash) return a === CRASH ? undefined : mismatch('upstream crash', a, e)
      return same(a, e) ? undefined : mismatch('grants', a, e)
    },
    { hasCompat: true },
  ),
})

/** Nebari log lines → the diagnostic our preset emits for them (error_meaning of the vectors). */
function codesForLog(lines: readonly string[], username: string): string[] {
  const codes: string[] = []
  for (const line of lines) {
    const notFound = /^ValueError: Namespace='(.*)' not found$/.exec(line)
    if (notFound) codes.push(notFound[1] === username ? 'NEBARI_FIRST_LOGIN_GAP' : 'NEBARI_NAMESPACE_NOT_FOUND')
    else if (line.startsWith('IndexError')) codes.push('NEBARI_SCOPES_EMPTY')
    else if (line.startsWith('AttributeError')) codes.push('NEBARI_DUPLICATE_NAMESPACE')
  }
  return codes
}

// nebari_login: upstream's log lines (`errors_logged`) are compared by meaning — each must surface as the
// diagnostic its error_meaning names; `namespaces_after` (a database side effect) and `http_calls`
// (Nebari's Keycloak traffic) describe upstream machinery our preset does not have and are not compared.
const nebariLoginKind = async (v: Vector) => {
  const i = v.input
  const username: string = i.userinfo.preferred_username
  const principal = principalOf({ username, groups: i.userinfo.groups ?? [], condaStoreRoles: i.conda_store_client_roles, otherRoleNames: i.userinfo.roles ?? [] })
  const run = (mode: Mode) => {
    const options = { existingNamespaces: i.db_namespaces_before as string[], ...(mode === 'compat' ? { compat: 'nebari' as const } : {}) }
    const login = nebariLogin(principal, options)
    return {
      token_primary_namespace: login.primaryNamespace,
      token_role_bindings: login.loginBindings,
      db_v2_rows_after: login.grants,
      permission_api_entity_roles: condaStorePermissionsFor(principal, options).toPermissionResponse().entity_roles,
      codes: login.diagnostics.map((d) => d.code),
    }
  }
  const compare = (a: ReturnType<typeof run>, e: any): string | undefined => {
    const out: string[] = []
    if (a.token_primary_namespace !== e.token_primary_namespace) out.push(mismatch('token_primary_namespace', a.token_primary_namespace, e.token_primary_namespace))
    if (!same(a.token_role_bindings, e.token_role_bindings)) out.push(mismatch('token_role_bindings', a.token_role_bindings, e.token_role_bindings))
    if (!sameSorted(a.db_v2_rows_after, e.db_v2_rows_after)) out.push(mismatch('db_v2_rows_after', a.db_v2_rows_after, e.db_v2_rows_after))
    if (!same(a.permission_api_entity_roles, e.permission_api_entity_roles)) out.push(mismatch('entity_roles', a.permission_api_entity_roles, e.permission_api_entity_roles))
    // Upstream log lines must surface as our diagnostics; `ours` carries no log, its error_meaning names the code.
    const wanted = e.errors_logged ? codesForLog(e.errors_logged, username) : (v.error_meaning?.match(/NEBARI_[A-Z_]+/g) ?? []).filter((c) => c !== 'NEBARI_FIRST_LOGIN_GAP' || v.mode !== 'compat')
    for (const code of wanted) if (!a.codes.includes(code)) out.push(`missing diagnostic ${code} (have ${a.codes.join(', ') || 'none'})`)
    return out.length > 0 ? out.join('; ') : undefined
  }
  return { failures: await checkModes(v, run, compare, { hasCompat: true }) }
}

const SERVICE_URL = 'http://conda-store-svc:5000/conda-store'

/** Captures the request the client sends and answers like conda-store's token endpoint. */
function capturingClient(): { client: CondaStoreClient; requests: { method: string; url: string; body: unknown }[] } {
  const requests: { method: string; url: string; body: unknown }[] = []
  const fake = async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ method: init?.method ?? 'GET', url: String(url), body: init?.body ? JSON.parse(String(init.body)) : undefined })
    return new Response(JSON.stringify({ status: 'ok', data: { token: 'minted' } }), { status: 200, headers: { 'content-type': 'application/json' } })
  }
  return { client: new CondaStoreClient({ baseUrl: SERVICE_URL, fetch: fake as typeof fetch }), requests }
}

// nebari_scoped_token: the request is what our REST client sends for jhub-apps' bindings; the
// in-cluster service URL is Nebari's deployment value, supplied here as the client's baseUrl.
const scopedToken = async (v: Vector) => ({
  failures: await checkModes(
    v,
    async (mode) => {
      const { client, requests } = capturingClient()
      await client.mintToken({ roleBindings: nebariJhubAppsRoleBindings(v.input, mode === 'compat' ? { compat: 'nebari' } : {}) })
      return requests[0]
    },
    (a, e) => (same(a, e) ? undefined : mismatch('request', a, e)),
    { hasCompat: true },
  ),
})

// nebari_conda_envs: jhub-apps' `{ns}-{name}` strings are an upstream output format our API does not
// produce (it returns environments); the adapter joins the compat result the way jhub-apps does.
const condaEnvs = async (v: Vector) => ({
  failures: await checkModes(
    v,
    (mode) => {
      const i = v.input
      const envs: string[] = i.conda_store_environments
      const database = { v2: i.db_v2_rows ?? [] }
      if (mode === 'compat') {
        const options: CondaStoreOptions = { compat: 'conda-store', roleMappingsVersion: 2 }
        const service = CondaStorePermissions.create({ primaryNamespace: '', roleBindings: { '*/*': ['viewer'] } }, { ...options, database })
        const roleBindings = nebariJhubAppsRoleBindings(i.user_info, { compat: 'nebari' })
        const accepted = service.canMintToken({ roleBindings }).allowed
        // The minted token keeps the service token's primary namespace "" (no v2 grants).
        const minted = CondaStorePermissions.create({ primaryNamespace: '', roleBindings }, { ...options, database })
        const returned = minted.filterEnvironments(envs, { visibility: 'listed' }).map((e) => e.replace('/', '-'))
        return { token_request_accepted: accepted, returned: returned.sort() }
      }
      const user = CondaStorePermissions.create({ primaryNamespace: i.user_info.name, roleBindings: nebariJhubAppsRoleBindings(i.user_info) }, { roleMappingsVersion: 2, database })
      return user.filterEnvironments(envs).sort()
    },
    (a, e) => (same(a, e) ? undefined : mismatch('environments', a, e)),
    { hasCompat: true },
  ),
})

export const condaStoreAdapters: AdapterTable = {
  arn_match: arnMatch,
  arn_regex: arnRegex,
  arn_subset: arnSubset,
  arn_like: arnLike,
  role_permissions: rolePermissions,
  entity_bindings: entityBindings,
  entity_permissions: entityPermissions,
  subset,
  permission_api: permissionApi,
  env_listing: envListing,
  nebari_parse_scope: parseScope,
  nebari_dedup: nebariDedup,
  nebari_login: nebariLoginKind,
  nebari_scoped_token: scopedToken,
  nebari_conda_envs: condaEnvs,
}
