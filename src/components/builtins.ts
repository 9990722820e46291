/**
 * The built-in components of the registry, and the adapter that puts a `defineComponent()` component
 * behind the same interface. Each one owns its decisions: which request it takes, how it decides,
 * what it lists for a principal and with which chains.
 *
 * @module
 */
import { LRUCache } from 'lru-cache'
import { allow, deny, type Decision, type TraceStep } from '../core/decision.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { InvalidInputError, UnknownNameError } from '../core/errors.js'
import { clientRolesOf, formatRole, principalValueParts, samePrincipalValue, type Principal, type PrincipalValueParts, type RoleRef } from '../core/principal.js'
// The conda-store modules themselves, not its index: the index also carries the REST client, which the
// CLI loads only for a conda-store URL (its response schemas would otherwise be built at every start).
import type { MergedBinding } from '../conda-store/bindings.js'
import { listingBindings } from '../conda-store/listing.js'
import { condaStorePermissionsFor, lintCondaStoreRoles, type NebariOptions } from '../conda-store/nebari.js'
import type { CondaStorePermissions } from '../conda-store/permission-set.js'
import { CONDA_STORE_PERMISSIONS } from '../conda-store/permissions.js'
import {
  decideScope,
  defineCustomScopes,
  filteredScope,
  hasScope,
  jupyterhubPrincipal,
  lintJupyterHubRoles,
  profileSlugs,
  scopeNames,
  scopeTargetUser,
  sharedDirectories,
  ScopeNotFoundError,
  validateScopes,
  type ExpandedScope,
  type NebariJupyterHubOptions,
} from '../jupyterhub/index.js'
import { roleScopeContributions } from '../jupyterhub/contributions.js'
import { explainRoute, normalizeRequestPath, stacPolicy, workspaceApiPolicy, type RouteDecision, type RoutePolicy, type RouteRequest } from '../workspaces/index.js'
import type { Component } from './define.js'
import { compileSegmentGlob, matchSegmentGlob } from './glob.js'
import type { CheckContext, ComponentCheck, GrantPath, LintableRole, RegistryComponent, RegistryRoutes, ResourceContext, ResourceGrant } from './registry.js'

/**
 * The validated settings the built-ins read (the registry's settings after validation).
 *
 * @example
 * ```ts
 * import type { BuiltInSettings } from 'keycloak-permissions/components'
 * const s: BuiltInSettings = { stac: { prefix: '/catalogue' }, jupyterhub: { version: 6 } }
 * ```
 */
export interface BuiltInSettings {
  readonly condaStore?: { grammar?: 'nebari' | 'lenient'; clientId?: string; defaultNamespace?: string; globalNamespace?: string }
  readonly jupyterhub?: {
    version?: 5 | 6
    customScopes?: Record<string, { description?: string; subscopes?: string[] }>
    grammar?: 'nebari' | 'lenient'
    clientId?: string
    allowedGroups?: string[] | null
    adminGroups?: string[]
  }
  readonly workspaces?: { clients?: string[]; platformClient?: string; platformAdminRole?: string; workspaceRoles?: string[]; reservedClientIds?: string[] }
  readonly stac?: { prefix?: string; editorClients?: string[]; editorRole?: string; anchorOnAzp?: boolean; privateCollectionPrefixes?: string[] }
}

/**
 * The HTTP methods a route check may name (RFC 9110 and PATCH). Anything else is a typo, refused as
 * a usage error rather than decided.
 *
 * @example
 * ```ts
 * import { HTTP_METHODS } from 'keycloak-permissions/components'
 * HTTP_METHODS.includes('PATCH') // true
 * ```
 */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const

/** Nebari's defaults (docs/semantics/nebari.md §5), used when the settings name no groups. */
const NEBARI_ADMIN_GROUPS = ['/admin', 'jupyterhub_admin']
const NEBARI_ALLOWED_GROUPS = ['/analyst', '/developer', '/admin', 'jupyterhub_admin', 'jupyterhub_developer']

/** A decision's chain on one line: `alice → /analyst → … → resource (allowed: REASON)`. */
function chainOf(decision: Decision): string {
  return `${decision.trace.map((s) => s.label).join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
}

function requireResource(component: string, request: ComponentCheck, shape: string): string {
  if (typeof request.resource !== 'string' || request.resource === '') {
    throw new InvalidInputError('check request', 'resource', `a ${component} check needs a resource (${shape})`)
  }
  return request.resource
}

function refusePolicy(component: string, request: ComponentCheck): void {
  if (request.policy !== undefined) throw new InvalidInputError('check request', 'policy', `policy applies to workspaces checks, not ${component}`)
}

const CONDA_RANK = ['viewer', 'developer', 'editor', 'admin']

/** The highest conda-store role of a binding (`editor` ≡ `developer`, D5); `listed` when it has none. */
function condaLevel(roles: readonly string[]): string {
  if (roles.length === 0) return 'listed'
  let best = -1
  for (const r of roles) best = Math.max(best, CONDA_RANK.indexOf(r))
  if (best < 0) return [...roles].sort().join(', ')
  return CONDA_RANK[best] === 'editor' ? 'developer' : CONDA_RANK[best]!
}

const ADMIN_BASES = new Set(['admin-ui', 'proxy', 'shutdown'])
const ADMIN_IF_UNFILTERED = new Set(['users', 'servers', 'tokens', 'access:servers', 'delete:users', 'delete:servers'])
const SHARE_IF_UNFILTERED = new Set(['shares', 'users:shares', 'groups:shares'])

/**
 * Whether a JupyterHub scope is admin-level (any `admin:*`, `admin-ui`, `proxy`, `shutdown`, or
 * unfiltered `users` / `servers` / `tokens` / `access:servers` / `delete:*`) or unfiltered sharing
 * (`shares`, `users:shares`, `groups:shares`: every user's servers).
 *
 * @example
 * ```ts
 * import { scopeHighlight } from 'keycloak-permissions/components'
 * scopeHighlight('admin:users')     // 'admin'
 * scopeHighlight('shares')          // 'unfiltered-share'
 * scopeHighlight('shares!user=bob') // undefined
 * ```
 */
export function scopeHighlight(scope: string): 'admin' | 'unfiltered-share' | undefined {
  const bang = scope.indexOf('!')
  const base = bang < 0 ? scope : scope.slice(0, bang)
  const filtered = bang >= 0
  if (base.startsWith('admin:') || ADMIN_BASES.has(base)) return 'admin'
  if (!filtered && ADMIN_IF_UNFILTERED.has(base)) return 'admin'
  if (!filtered && SHARE_IF_UNFILTERED.has(base)) return 'unfiltered-share'
  return undefined
}

/**
 * The reason of a route decision on a client that the settings' `workspaces.clients` globs do not
 * name: it is not a workspace, whatever roles the user holds on it.
 *
 * @example
 * ```ts
 * import { NOT_A_WORKSPACE, createRegistry } from 'keycloak-permissions/components'
 * const registry = createRegistry({ workspaces: { clients: ['ws-*'] } })
 * const { decision } = await registry.check(principal, { component: 'workspaces', action: 'GET', resource: '/workspaces/jupyterhub' })
 * decision.reason === NOT_A_WORKSPACE // true when the user holds a workspace role on client jupyterhub
 * ```
 */
export const NOT_A_WORKSPACE = 'NOT_A_WORKSPACE'

/** Whether a client id is a workspace under the settings (`workspaces.clients` segment globs; none: every client). */
function workspaceClientTest(settings: Pick<BuiltInSettings, 'workspaces'>): ((client: string) => boolean) | undefined {
  const patterns = settings.workspaces?.clients
  if (patterns === undefined) return undefined
  const globs = patterns.map(compileSegmentGlob)
  return (client) => globs.some((g) => matchSegmentGlob(g, client))
}

/**
 * A rule set that keeps its decisions except one allowing a workspace role on a client that is not
 * a workspace (`NOT_A_WORKSPACE`). A platform admin keeps every path, as the rule says.
 */
function restrictToWorkspaces(policy: RoutePolicy, isWorkspace: (client: string) => boolean, patterns: readonly string[]): RoutePolicy {
  const check = (request: RouteRequest, subject: Parameters<RoutePolicy['check']>[1]): RouteDecision => {
    const decision = policy.check(request, subject)
    const client = decision.grant?.client
    if (!decision.allowed || decision.reason !== 'WORKSPACE_ROLE' || client === undefined || isWorkspace(client)) return decision
    const trace = [...decision.trace, { kind: 'rule', label: `${client} is not a workspace client (workspaces.clients: ${patterns.join(', ')})` }]
    return deny(NOT_A_WORKSPACE, trace) as unknown as RouteDecision
  }
  return Object.freeze({
    name: policy.name,
    check,
    filter: <T>(items: Iterable<T>, subject: Parameters<RoutePolicy['check']>[1], toRequest: (item: T) => RouteRequest): T[] =>
      [...items].filter((item) => check(toRequest(item), subject).allowed),
  })
}

/**
 * The route rule sets of the settings: the workspace API rule and the STAC rules (both restricted to
 * the `workspaces.clients` globs when given), and `policyFor(path)`: the STAC rules under the
 * configured STAC prefix (whole segments, on the normalised path), the workspace API rule elsewhere.
 * A path that does not normalise goes to the workspace rule, which refuses it (`AMBIGUOUS_PATH`).
 *
 * @example
 * ```ts
 * import { routePoliciesFor } from 'keycloak-permissions/components'
 * const routes = routePoliciesFor({ stac: { prefix: '/catalogue' }, workspaces: { clients: ['ws-*'] } })
 * routes.policyFor('/catalogue/collections/c1').name // 'stac'
 * routes.workspaces.check({ method: 'GET', path: '/workspaces/jupyterhub' }, principal).reason // 'NOT_A_WORKSPACE' (or a denial)
 * ```
 */
export function routePoliciesFor(
  settings: Pick<BuiltInSettings, 'workspaces' | 'stac'> = {},
  workspacePolicy?: RoutePolicy,
): RegistryRoutes {
  const { clients: _clients, ...workspaceOptions } = settings.workspaces ?? {}
  let workspaces = workspacePolicy ?? workspaceApiPolicy(workspaceOptions)
  let stac = stacPolicy(settings.stac ?? {})
  const isWorkspace = workspaceClientTest(settings)
  if (isWorkspace !== undefined) {
    workspaces = restrictToWorkspaces(workspaces, isWorkspace, settings.workspaces!.clients!)
    stac = restrictToWorkspaces(stac, isWorkspace, settings.workspaces!.clients!)
  }
  const prefix = normalizeRequestPath(settings.stac?.prefix ?? '/stac')
  const prefixSegments = prefix.ok ? prefix.segments : []
  const policyFor = (path: string): RoutePolicy => {
    const normalized = normalizeRequestPath(path)
    if (!normalized.ok) return workspaces
    for (let i = 0; i < prefixSegments.length; i++) if (normalized.segments[i] !== prefixSegments[i]) return workspaces
    return stac
  }
  return { workspaces, stac, policyFor }
}

/**
 * The rule set of a route: the STAC rules under the configured STAC prefix (whole segments, on the
 * normalised path), the workspace API rule elsewhere (see {@link routePoliciesFor}).
 *
 * @example
 * ```ts
 * import { routePolicyFor } from 'keycloak-permissions/components'
 * const route = routePolicyFor({ stac: { prefix: '/catalogue' } })
 * route('/catalogue/collections/c1').name // 'stac'
 * route('/stac/collections/c1').name      // 'workspace-api'
 * ```
 */
export function routePolicyFor(
  settings: Pick<BuiltInSettings, 'workspaces' | 'stac'> = {},
  workspacePolicy?: RoutePolicy,
): (path: string) => RoutePolicy {
  return routePoliciesFor(settings, workspacePolicy).policyFor
}

/**
 * A component result cached with the principal it derives from: keyed by the principal object (a
 * value that never changes), so a source that replaces the principal invalidates it, and the entry
 * goes when the principal does (a WeakMap holds no principal alive).
 *
 * Sources hand out a new principal object for the same user on every call (a realm export stamps
 * `origin.resolvedAt`, the Admin API source marks `origin.cached`), but share the user's frozen parts
 * between those objects. So a second, bounded cache is keyed on the user (realm and username) and holds
 * the principal value a result was derived from (`principalValueParts`: every part but the origin) by
 * identity: it answers only for a principal with the very same frozen parts, which derive the same
 * result (the derivations read nothing else). Without it, each request rebuilt the conda-store
 * permission set and the JupyterHub view.
 */
function derivedFrom<T>(derive: (principal: Principal) => T): (principal: Principal) => T {
  const byObject = new WeakMap<Principal, T>()
  const byUser = new LRUCache<string, { readonly parts: PrincipalValueParts; readonly value: T & {} }>({ max: DERIVED_PER_USER_MAX })
  return (principal) => {
    let value = byObject.get(principal)
    if (value !== undefined) return value
    const parts = principalValueParts(principal)
    const key = parts === undefined ? undefined : `${principal.realm}\u0000${principal.username}`
    const hit = key === undefined ? undefined : byUser.get(key)
    if (hit !== undefined && samePrincipalValue(hit.parts, parts!)) {
      value = hit.value
    } else {
      value = derive(principal)
      if (key !== undefined && value !== undefined && value !== null) byUser.set(key, { parts: parts!, value })
    }
    byObject.set(principal, value)
    return value
  }
}

/** Users whose derived results are kept by parts, per component (most recently used first). */
const DERIVED_PER_USER_MAX = 1_000

function condaStoreComponent(settings: BuiltInSettings): RegistryComponent & { permissions(principal: Principal): CondaStorePermissions } {
  const c = settings.condaStore ?? {}
  const nebari: NebariOptions = {
    ...(c.grammar !== undefined ? { grammar: c.grammar } : {}),
    ...(c.clientId !== undefined ? { condaStoreClientId: c.clientId } : {}),
    ...(c.defaultNamespace !== undefined ? { defaultNamespace: c.defaultNamespace } : {}),
    ...(c.globalNamespace !== undefined ? { globalNamespace: c.globalNamespace } : {}),
  }
  const permissions = derivedFrom((principal: Principal) => condaStorePermissionsFor(principal, nebari))
  return {
    name: 'conda-store',
    resourceKind: 'namespace',
    actions: CONDA_STORE_PERMISSIONS,
    permissions,
    validate(request) {
      refusePolicy('conda-store', request)
      if (!(CONDA_STORE_PERMISSIONS as readonly string[]).includes(request.action)) {
        throw new UnknownNameError('conda-store permission', request.action, CONDA_STORE_PERMISSIONS)
      }
      requireResource('conda-store', request, 'NAMESPACE/NAME or NAMESPACE')
      return { request, targets: [] }
    },
    resolve(principal) {
      const perms = permissions(principal)
      return {
        view: { permissions: perms.toPermissionResponse(), readablePatterns: listingBindings(perms).map((b) => b.arn) },
        diagnostics: perms.diagnostics,
      }
    },
    check(principal, request) {
      return permissions(principal).explain(request.action as (typeof CONDA_STORE_PERMISSIONS)[number], request.resource!)
    },
    explain: chainOf,
    lint: (roles) => lintCondaStoreRoles(roles, { ...(nebari.condaStoreClientId ? { condaStoreClientId: nebari.condaStoreClientId } : {}), ...(nebari.grammar ? { grammar: nebari.grammar } : {}) }),
    resources(principal, context) {
      const perms = permissions(principal)
      const grants: ResourceGrant[] = []
      const pathsOf = new Map<string, GrantPath[]>()
      const bindingPaths = (binding: MergedBinding): GrantPath[] => {
        const known = pathsOf.get(binding.arn)
        if (known) return known
        const end: TraceStep = { kind: 'grant', label: `${binding.arn}: ${condaLevel(binding.roles)}` }
        const paths: GrantPath[] = []
        for (const origin of binding.origins) {
          if (origin.kind === 'keycloak-scope') paths.push({ role: origin.role, tail: [{ kind: 'item', label: origin.item }, end] })
          else if (origin.kind === 'nebari-login') {
            const rule: TraceStep = { kind: 'rule', label: `nebari login: ${origin.rule}` }
            if (origin.roles.length === 0) paths.push({ lead: origin.group !== undefined ? [{ kind: 'group', label: origin.group }] : [], tail: [rule, end] })
            // A group rule reads the roles held through that group.
            for (const r of origin.roles) paths.push({ role: r.role, ...(origin.group !== undefined ? { through: origin.group } : {}), tail: [rule, end] })
          } else paths.push({ tail: [{ kind: 'source', label: origin.label }, end] })
        }
        if (paths.length === 0) {
          const label = binding.source === 'default' ? 'conda-store default bindings' : binding.source === 'token' ? 'token bindings' : 'database grants'
          paths.push({ tail: [{ kind: 'source', label }, end] })
        }
        pathsOf.set(binding.arn, paths)
        return paths
      }
      for (const binding of perms.bindings) grants.push({ kind: 'namespace', resource: binding.arn, level: condaLevel(binding.roles), paths: bindingPaths(binding) })
      if (context.environments !== undefined) {
        for (const access of perms.explainEnvironments(context.environments)) {
          const resource = `${access.namespace}/${access.name}`
          const roles = access.bindings.flatMap((b) => b.roles)
          const paths = access.bindings.flatMap((b) => bindingPaths(b).map((p) => ({ ...p, tail: [...p.tail, { kind: 'resource', label: resource }] })))
          grants.push({ column: 'conda-store-environments', kind: 'environment', resource, level: condaLevel(roles), paths })
        }
      }
      return { grants, diagnostics: perms.diagnostics }
    },
  }
}

/** The Nebari JupyterHub options of the settings: version, custom scopes, grammar, client, allowed and admin groups. */
export function jupyterhubOptions(settings: BuiltInSettings): NebariJupyterHubOptions & { readonly adminGroups: readonly string[]; readonly allowedGroups: readonly string[] } {
  // `allowedGroups: null`: every user may log in (JupyterHub's `allowed` decided once for everyone).
  const j = settings.jupyterhub ?? {}
  const base = j.version !== undefined ? { jupyterhubVersion: j.version } : {}
  const customScopes = j.customScopes !== undefined ? defineCustomScopes(j.customScopes as never, base) : undefined
  return {
    ...base,
    ...(customScopes ? { customScopes } : {}),
    ...(j.grammar !== undefined ? { grammar: j.grammar } : {}),
    ...(j.clientId !== undefined ? { clientId: j.clientId } : {}),
    adminGroups: j.adminGroups ?? NEBARI_ADMIN_GROUPS,
    allowedGroups: j.allowedGroups === null ? [] : (j.allowedGroups ?? NEBARI_ALLOWED_GROUPS),
    ...(j.allowedGroups === null ? { allowed: true } : {}),
  }
}

function jupyterhubComponent(settings: BuiltInSettings): RegistryComponent {
  const options = jupyterhubOptions(settings)
  const hubOf = derivedFrom((principal: Principal) => jupyterhubPrincipal(principal, options))
  const { adminGroups, allowedGroups } = options

  /** Why JupyterHub's default `admin` / `user` role applies: the configured groups and roles the user holds. */
  function defaultRoleEvidence(principal: Principal, role: string): GrantPath[] {
    const names = new Set(role === 'admin' ? adminGroups : [...allowedGroups, ...adminGroups])
    const paths: GrantPath[] = []
    for (const group of principal.groups) if (names.has(group)) paths.push({ lead: [{ kind: 'group', label: group }], tail: [] })
    for (const r of principal.realmRoles) if (names.has(r.name)) paths.push({ role: { name: r.name }, tail: [] })
    for (const [client, roles] of Object.entries(principal.clientRoles)) {
      for (const r of roles) if (names.has(r.name)) paths.push({ role: { client, name: r.name }, tail: [] })
    }
    if (paths.length > 0) return paths
    return [{ tail: role === 'user' && options.allowed === true ? [{ kind: 'rule', label: 'every user may log in (allowedGroups: null)' }] : [] }]
  }

  return {
    name: 'jupyterhub',
    resourceKind: 'scope',
    actions: scopeNames(options),
    validate(request) {
      refusePolicy('jupyterhub', request)
      const scope = filteredScope(request.action, request.resource)
      try {
        validateScopes([scope], options)
      } catch (err) {
        if (err instanceof ScopeNotFoundError) throw new UnknownNameError('JupyterHub scope', scope, scopeNames(options), { cause: err, detail: err.message.trim() })
        throw err
      }
      const target = scopeTargetUser(scope)
      return { request: { action: scope }, targets: target === undefined ? [] : [target] }
    },
    resolve(principal) {
      const hub = hubOf(principal)
      return {
        view: {
          loginRejected: hub.loginRejected,
          roles: Object.fromEntries(Object.entries(hub.roleScopes).map(([name, scopes]) => [name, [...scopes]])),
          scopes: [...hub.scopes.scopes].sort(),
        },
        diagnostics: hub.diagnostics,
      }
    },
    check(principal, request, context: CheckContext) {
      return decideScope(principal, request.action, { ...options, ...(context.groupsOf ? { groupsOf: context.groupsOf } : {}) })
    },
    explain: chainOf,
    lint: (roles) => lintJupyterHubRoles(roles, options),
    resources(principal) {
      const hub = hubOf(principal)
      const grants: ResourceGrant[] = []
      if (hub.scopes.scopes.length === 0) return { grants, diagnostics: hub.diagnostics }
      const contributions = roleScopeContributions(hub, principal.username, options).map(({ role, scopes, set }) => {
        const item: TraceStep =
          role.source === 'default' ? { kind: 'rule', label: `JupyterHub role ${role.name}` } : { kind: 'item', label: `scopes=${scopes.join(',')}` }
        const paths: GrantPath[] =
          role.source === 'default'
            ? defaultRoleEvidence(principal, role.name).map((p) => ({ ...p, tail: [...p.tail, item] }))
            : role.role
              ? [{ role: role.role, tail: [item] }]
              : [{ tail: [{ kind: 'role', label: role.name }, item] }]
        return { paths, set }
      })
      for (const scope of hub.scopes.scopes) {
        const holding = contributions.filter((c) => c.set.scopes.includes(scope) || hasScope(scope as ExpandedScope, c.set))
        const from = holding.length > 0 ? holding : contributions
        const end: TraceStep = { kind: 'grant', label: scope }
        const highlight = scopeHighlight(scope)
        grants.push({
          kind: 'scope',
          resource: scope,
          level: highlight === 'admin' ? 'admin' : 'granted',
          paths: from.flatMap((c) => c.paths.map((p) => ({ ...p, tail: [...p.tail, end] }))),
          ...(highlight ? { highlight } : {}),
        })
      }
      return { grants, diagnostics: hub.diagnostics }
    },
  }
}

function sharedDirectoryComponent(settings: BuiltInSettings): RegistryComponent {
  const clientId = settings.jupyterhub?.clientId ?? 'jupyterhub'
  const mountsOf = (principal: Principal) => sharedDirectories(principal, { clientId })
  return {
    name: 'shared-directory',
    resourceKind: 'directory',
    actions: ['write'],
    validate(request) {
      refusePolicy('shared-directory', request)
      if (request.action !== 'write') throw new UnknownNameError('action of component shared-directory', request.action, ['write'])
      requireResource('shared-directory', request, 'a mount path such as /shared/ml')
      return { request, targets: [] }
    },
    resolve(principal) {
      const shared = mountsOf(principal)
      return { view: { mounts: shared.mounts.map((m) => m.mountPath) }, diagnostics: shared.diagnostics }
    },
    check(principal, request) {
      const shared = mountsOf(principal)
      const trace: TraceStep[] = [{ kind: 'user', label: principal.username }]
      const mount = shared.mounts.find((m) => m.mountPath === request.resource)
      if (!mount) {
        trace.push({ kind: 'resource', label: request.resource!, data: { mounts: shared.mounts.map((m) => m.mountPath) } })
        return deny('NO_SHARED_MOUNT', trace)
      }
      trace.push({ kind: 'group', label: mount.group }, { kind: 'item', label: 'write:shared-mount' }, { kind: 'resource', label: mount.mountPath })
      return allow('SHARED_MOUNT', trace, { grant: { group: mount.group } })
    },
    explain: chainOf,
    lint: () => [],
    resources(principal) {
      const shared = mountsOf(principal)
      const hubRoles = clientRolesOf(principal, clientId)
      const item: TraceStep = { kind: 'item', label: 'write:shared-mount' }
      const grants: ResourceGrant[] = shared.mounts.map((mount) => {
        // Each role granting `write:shared-mount`, read through the mount's group.
        const end: TraceStep = { kind: 'grant', label: mount.mountPath }
        const granting = hubRoles.filter((r) => (r.attributes['scopes'] ?? []).includes('write:shared-mount'))
        const paths: GrantPath[] =
          granting.length > 0
            ? granting.map((r) => ({ role: { client: clientId, name: r.name }, through: mount.group, tail: [item, end] }))
            : [{ lead: [{ kind: 'group', label: mount.group }], tail: [item, end] }]
        return { kind: 'directory', resource: mount.mountPath, level: 'write', paths }
      })
      return { grants, diagnostics: shared.diagnostics }
    },
  }
}

function profilesComponent(settings: BuiltInSettings): RegistryComponent {
  const clientId = settings.jupyterhub?.clientId ?? 'jupyterhub'
  const slugsOf = (principal: Principal) => profileSlugs(principal, { clientId })
  const role: RoleRef = { client: clientId, name: 'jupyterlab-profiles' }
  return {
    name: 'jupyterlab-profiles',
    resourceKind: 'profile',
    actions: ['select'],
    validate(request) {
      refusePolicy('jupyterlab-profiles', request)
      if (request.action !== 'select') throw new UnknownNameError('action of component jupyterlab-profiles', request.action, ['select'])
      requireResource('jupyterlab-profiles', request, 'a profile slug')
      return { request, targets: [] }
    },
    resolve: (principal) => ({ view: { profiles: slugsOf(principal) }, diagnostics: [] }),
    check(principal, request) {
      const trace: TraceStep[] = [{ kind: 'user', label: principal.username }]
      if (!slugsOf(principal).includes(request.resource!)) {
        trace.push({ kind: 'resource', label: request.resource! })
        return deny('PROFILE_NOT_GRANTED', trace)
      }
      trace.push({ kind: 'role', label: formatRole(role) }, { kind: 'item', label: `profiles=${request.resource}` }, { kind: 'resource', label: request.resource! })
      return allow('PROFILE_GRANTED', trace, { rule: formatRole(role) })
    },
    explain: chainOf,
    lint: () => [],
    resources: (principal) => ({
      grants: slugsOf(principal).map((slug) => ({ kind: 'profile', resource: slug, level: 'select', paths: [{ role, tail: [{ kind: 'item', label: `profiles=${slug}` }] }] })),
      diagnostics: [],
    }),
  }
}

function workspacesComponent(settings: BuiltInSettings, routes: RegistryRoutes): RegistryComponent {
  const { workspaces, stac, policyFor: route } = routes
  // The candidates a principal's workspace list is drawn from: its clients that are workspaces.
  const isWorkspace = workspaceClientTest(settings) ?? (() => true)
  const candidates = (principal: Principal) => Object.keys(principal.clientRoles).filter(isWorkspace)
  const listRequest = (client: string): RouteRequest => ({ method: 'GET', path: `/workspaces/${encodeURIComponent(client)}` })
  return {
    name: 'workspaces',
    resourceKind: 'workspace',
    actions: HTTP_METHODS,
    validate(request) {
      const method = request.action.toUpperCase()
      if (!(HTTP_METHODS as readonly string[]).includes(method)) throw new UnknownNameError('HTTP method', request.action, HTTP_METHODS)
      const path = requireResource('workspaces', request, 'a request path such as /workspaces/ws-alpha/files')
      if (request.policy !== undefined && request.policy !== 'workspaces' && request.policy !== 'stac') {
        throw new UnknownNameError('route policy', String(request.policy), ['workspaces', 'stac'])
      }
      return { request: { action: method, resource: path, ...(request.policy ? { policy: request.policy } : {}) }, targets: [] }
    },
    resolve: (principal) => ({ view: { workspaces: workspaces.filter(candidates(principal), principal, listRequest) }, diagnostics: [] }),
    check(principal, request) {
      const policy = request.policy === 'stac' ? stac : request.policy === 'workspaces' ? workspaces : route(request.resource!)
      return policy.check({ method: request.action, path: request.resource! }, principal)
    },
    explain: (decision) => explainRoute(decision as Parameters<typeof explainRoute>[0]),
    lint: () => [],
    resources(principal) {
      const grants: ResourceGrant[] = []
      // The same candidates and request as `resolve` (its filter is this check, per item).
      for (const client of candidates(principal)) {
        const decision = workspaces.check(listRequest(client), principal)
        if (!decision.allowed) continue
        const grant = decision.grant
        const rule: TraceStep = { kind: 'rule', label: decision.rule ?? decision.reason }
        // The decision names the first role that matched; a review shows every role held on the workspace client.
        const admin = decision.reason === 'PLATFORM_ADMIN'
        const names = admin ? grant?.roles ?? [] : [...new Set([...(grant?.roles ?? []), ...clientRolesOf(principal, client).map((r) => r.name)])].sort()
        const paths: GrantPath[] = names.map((name) => ({ role: admin && grant?.client === undefined ? { name } : { client: admin ? grant?.client ?? client : client, name }, tail: [rule] }))
        const level = admin ? 'platform-admin' : names.length > 0 ? names.join(', ') : decision.reason
        grants.push({ kind: 'workspace', resource: client, level, paths: paths.length > 0 ? paths : [{ tail: [rule] }] })
      }
      return { grants, diagnostics: [] }
    },
  }
}

/** The built-in components, in display order, under the validated settings. */
export function builtInComponents(settings: BuiltInSettings, workspacePolicy?: RoutePolicy, routes = routePoliciesFor(settings, workspacePolicy)) {
  return [
    condaStoreComponent(settings),
    jupyterhubComponent(settings),
    sharedDirectoryComponent(settings),
    profilesComponent(settings),
    workspacesComponent(settings, routes),
  ] as const
}

/** A `defineComponent()` component behind the registry interface. */
export function customComponent(component: Component): RegistryComponent {
  return {
    name: component.name,
    resourceKind: component.resourceKind,
    actions: component.actions,
    validate(request) {
      refusePolicy(component.name, request)
      if (!component.actions.includes(request.action)) throw new UnknownNameError(`action of component ${component.name}`, request.action, component.actions)
      requireResource(component.name, request, `a ${component.resourceKind}`)
      return { request, targets: [] }
    },
    resolve(principal) {
      const { grants, diagnostics } = component.grants(principal)
      return { view: { grants: grants.map((g) => ({ action: g.action, pattern: g.pattern, role: formatRole(g.role), item: g.item })) }, diagnostics }
    },
    check: (principal, request) => component.check(principal, request.action, request.resource!),
    explain: (decision) => component.explain(decision as Parameters<Component['explain']>[0]),
    lint: (roles: readonly LintableRole[]) => component.lint(roles),
    resources(principal, _context: ResourceContext) {
      const { grants, diagnostics } = component.grants(principal)
      const byPattern = new Map<string, { actions: Set<string>; paths: GrantPath[] }>()
      for (const g of grants) {
        const entry = byPattern.get(g.pattern) ?? { actions: new Set<string>(), paths: [] }
        byPattern.set(g.pattern, entry)
        entry.actions.add(g.action)
        entry.paths.push({ role: g.role, tail: [{ kind: 'item', label: g.item }, { kind: 'grant', label: `${g.action} ${g.pattern}` }] })
      }
      const out: ResourceGrant[] = [...byPattern].map(([pattern, entry]) => ({
        kind: component.resourceKind,
        resource: pattern,
        level: [...entry.actions].sort().join(', '),
        paths: entry.paths,
      }))
      return { grants: out, diagnostics: diagnostics as Diagnostic[] }
    },
  }
}
