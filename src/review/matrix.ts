/**
 * The access matrix: for each user, every effective grant of every component, each with the chains
 * that grant it — computed by the same component functions `resolve` uses.
 *
 * @module
 */
import { chainSubjects, uniqueChains, type Chain } from '../core/chain.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { clientRolesOf, type Principal, type RoleAttributes, type RoleRef } from '../core/principal.js'
import { condaStorePermissionsFor, lintCondaStoreRoles, type EnvironmentLike, type MergedBinding } from '../conda-store/index.js'
import { jupyterhubPrincipal, lintJupyterHubRoles, profileSlugs, sharedDirectories } from '../jupyterhub/index.js'
import { workspaceApiPolicy, type RoutePolicy } from '../workspaces/index.js'
import type { Component } from '../components/index.js'
import { chainLine } from './chain-render.js'
import {
  chainContext,
  componentGrantChains,
  condaStoreBindingChains,
  condaStoreLevel,
  extendChains,
  jupyterhubContributions,
  jupyterhubScopeChains,
  profileChains,
  routeChains,
  sharedDirectoryChains,
} from './chains.js'

/**
 * Why a grant deserves attention: `admin` — JupyterHub admin-level (any `admin:*`, `admin-ui`, `proxy`,
 * `shutdown`, or unfiltered `users` / `servers` / `tokens` / `access:servers`); `unfiltered-share` —
 * sharing without a filter (`shares`, `users:shares`, `groups:shares`: every user's servers).
 *
 * @example
 * ```ts
 * import type { GrantHighlight } from 'keycloak-permissions/review'
 * const h: GrantHighlight = 'unfiltered-share'
 * ```
 */
export type GrantHighlight = 'admin' | 'unfiltered-share'

/**
 * One effective grant of one user: the component, the kind of resource, the resource, the level held,
 * and each chain that grants it (`user → group → role → item → grant → resource`), as data (`chains`)
 * and as one line each (`via`, {@link chainLine}). `groups` and `roles` are everything those chains
 * pass through — what a realm change must touch to change it.
 *
 * @example
 * ```ts
 * import type { AccessGrant } from 'keycloak-permissions/review'
 * const g: AccessGrant = {
 *   component: 'conda-store', kind: 'namespace', resource: 'ml/*', level: 'admin',
 *   chains: [[{ kind: 'user', label: 'bob' }, { kind: 'group', label: '/projects/ml' }, { kind: 'role', label: 'conda_store/ml-team-scopes' },
 *     { kind: 'item', label: 'admin!namespace=ml' }, { kind: 'grant', label: 'ml/*: admin' }]],
 *   via: ['bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin'],
 *   groups: ['/projects/ml'], roles: ['conda_store/ml-team-scopes'],
 * }
 * ```
 */
export interface AccessGrant {
  readonly component: string
  readonly kind: string
  readonly resource: string
  readonly level: string
  /** Each separate path that grants it. */
  readonly chains: readonly Chain[]
  /** The same paths, one line each. */
  readonly via: readonly string[]
  readonly highlight?: GrantHighlight
  readonly groups: readonly string[]
  readonly roles: readonly string[]
}

/**
 * One user's row of the matrix, with the diagnostics found while resolving it.
 *
 * @example
 * ```ts
 * import type { UserAccess } from 'keycloak-permissions/review'
 * const row = (u: UserAccess) => `${u.user}: ${u.grants.length} grants`
 * ```
 */
export interface UserAccess {
  readonly user: string
  readonly grants: readonly AccessGrant[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * The whole access review: every user's grants, and every lint diagnostic of the role catalogue.
 *
 * @example
 * ```ts
 * import { accessMatrix } from 'keycloak-permissions/review'
 * const matrix = accessMatrix({ principals, roles })
 * matrix.users.find((u) => u.user === 'bob')?.grants.filter((g) => g.component === 'workspaces')
 * ```
 */
export interface AccessMatrix {
  readonly users: readonly UserAccess[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * A role of the realm's catalogue: its reference, attributes and (optionally) direct composites —
 * `RealmExportSource.roles()` returns exactly this shape.
 *
 * @example
 * ```ts
 * import type { ReviewRole } from 'keycloak-permissions/review'
 * const r: ReviewRole = { client: 'conda_store', name: 'ml-team-scopes', attributes: { scopes: ['admin!namespace=ml'] }, composites: [] }
 * ```
 */
export interface ReviewRole extends RoleRef {
  readonly attributes: RoleAttributes
  readonly composites?: readonly RoleRef[]
}

/**
 * What a review reads: the principals of the users to review and, for lint (and for the composites and
 * attributes a diff compares), the realm's role catalogue.
 *
 * @example
 * ```ts
 * import type { ReviewInput } from 'keycloak-permissions/review'
 * const source = RealmExportSource.example()
 * const input: ReviewInput = { principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() }
 * ```
 */
export interface ReviewInput {
  readonly principals: readonly Principal[]
  readonly roles?: readonly ReviewRole[]
}

/**
 * Options of {@link accessMatrix} and {@link userAccess}.
 *
 * @example
 * ```ts
 * import type { AccessMatrixOptions } from 'keycloak-permissions/review'
 * const o: AccessMatrixOptions = { environments: [{ namespace: 'ml', name: 'torch' }], components: [binderhub] }
 * ```
 */
export interface AccessMatrixOptions {
  /** Custom components (`defineComponent()`), reviewed after the built-ins. */
  readonly components?: readonly Component[]
  /** conda-store environments: each user's readable ones are listed too (`conda-store-environments`). */
  readonly environments?: readonly EnvironmentLike[]
  /** The workspace rule set (default `workspaceApiPolicy()`, as `resolve`). */
  readonly workspacePolicy?: RoutePolicy
}

/**
 * The built-in components of a review, in display order, with their resource kinds.
 *
 * @example
 * ```ts
 * import { BUILT_IN_COMPONENTS } from 'keycloak-permissions/review'
 * BUILT_IN_COMPONENTS.map(([name]) => name) // ['conda-store', 'conda-store-environments', 'jupyterhub', …]
 * ```
 */
export const BUILT_IN_COMPONENTS = [
  ['conda-store', 'namespace'],
  ['conda-store-environments', 'environment'],
  ['jupyterhub', 'scope'],
  ['shared-directory', 'directory'],
  ['jupyterlab-profiles', 'profile'],
  ['workspaces', 'workspace'],
] as const

const ADMIN_BASES = new Set(['admin-ui', 'proxy', 'shutdown'])
const ADMIN_IF_UNFILTERED = new Set(['users', 'servers', 'tokens', 'access:servers', 'delete:users', 'delete:servers'])
const SHARE_IF_UNFILTERED = new Set(['shares', 'users:shares', 'groups:shares'])

/**
 * Whether a JupyterHub scope is admin-level or unfiltered sharing (see {@link GrantHighlight}).
 *
 * @example
 * ```ts
 * import { scopeHighlight } from 'keycloak-permissions/review'
 * scopeHighlight('admin:users')     // 'admin'
 * scopeHighlight('shares')          // 'unfiltered-share'
 * scopeHighlight('shares!user=bob') // undefined
 * ```
 */
export function scopeHighlight(scope: string): GrantHighlight | undefined {
  const bang = scope.indexOf('!')
  const base = bang < 0 ? scope : scope.slice(0, bang)
  const filtered = bang >= 0
  if (base.startsWith('admin:') || ADMIN_BASES.has(base)) return 'admin'
  if (!filtered && ADMIN_IF_UNFILTERED.has(base)) return 'admin'
  if (!filtered && SHARE_IF_UNFILTERED.has(base)) return 'unfiltered-share'
  return undefined
}

function validateOptions(options: AccessMatrixOptions): void {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object')
  if (options.components !== undefined) {
    if (!Array.isArray(options.components)) throw new InvalidOptionsError('components', 'must be an array of defineComponent() results')
    const names = new Set<string>(BUILT_IN_COMPONENTS.map(([n]) => n))
    options.components.forEach((c, i) => {
      if (c === null || typeof c !== 'object' || typeof c.grants !== 'function' || typeof c.name !== 'string') {
        throw new InvalidOptionsError(`components.${i}`, 'must be a defineComponent() result')
      }
      if (names.has(c.name)) throw new InvalidOptionsError(`components.${i}.name`, `duplicate component name ${JSON.stringify(c.name)}`)
      names.add(c.name)
    })
  }
  if (options.environments !== undefined && !Array.isArray(options.environments)) {
    throw new InvalidOptionsError('environments', 'must be an array of { namespace, name }')
  }
  if (options.workspacePolicy !== undefined && typeof options.workspacePolicy?.check !== 'function') {
    throw new InvalidOptionsError('workspacePolicy', 'must be a RoutePolicy (workspaceApiPolicy(), routeTable())')
  }
}

class GrantBuilder {
  readonly #out: AccessGrant[] = []

  add(component: string, kind: string, resource: string, level: string, found: readonly Chain[], highlight?: GrantHighlight): void {
    const chains = uniqueChains(found)
    const { groups, roles } = chainSubjects(chains)
    this.#out.push({ component, kind, resource, level, chains, via: chains.map(chainLine), ...(highlight ? { highlight } : {}), groups, roles })
  }

  get grants(): AccessGrant[] {
    return this.#out
  }
}

/**
 * One user's grants across the built-in components and any custom ones, each with its chains: the
 * conda-store namespace bindings (`GET /api/v1/permission/`'s `entity_roles`, level = the highest
 * role; `listed` for a role-less binding), readable environments when a list is given, JupyterHub's
 * expanded scopes, shared directories, profile slugs, workspaces (`GET /workspaces/<client>` allowed)
 * and each custom component's grants by pattern (level = the actions).
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { userAccess } from 'keycloak-permissions/review'
 * const bob = userAccess(RealmExportSource.example().resolveSync('bob'))
 * bob.grants.find((g) => g.resource === 'ml/*')?.level // 'admin'
 * ```
 */
export function userAccess(principal: Principal, options: AccessMatrixOptions = {}): UserAccess {
  validateOptions(options)
  return computeUserAccess(principal, options, options.workspacePolicy ?? workspaceApiPolicy())
}

function computeUserAccess(principal: Principal, options: AccessMatrixOptions, policy: RoutePolicy): UserAccess {
  const user = principal.username
  const ctx = chainContext(principal)
  const out = new GrantBuilder()
  const diagnostics: Diagnostic[] = [...principal.diagnostics]

  // conda-store: namespace bindings, then readable environments.
  const conda = condaStorePermissionsFor(principal)
  diagnostics.push(...conda.diagnostics)
  const bindingChains = new Map<string, Chain[]>()
  const chainsOfBinding = (binding: MergedBinding): Chain[] => {
    const known = bindingChains.get(binding.arn)
    if (known) return known
    const chains = condaStoreBindingChains(ctx, binding)
    bindingChains.set(binding.arn, chains)
    return chains
  }
  for (const binding of conda.bindings) {
    out.add('conda-store', 'namespace', binding.arn, condaStoreLevel(binding.roles), chainsOfBinding(binding))
  }
  if (options.environments !== undefined) {
    for (const access of conda.explainEnvironments(options.environments)) {
      const resource = `${access.namespace}/${access.name}`
      const roles = access.bindings.flatMap((b) => b.roles)
      const chains = access.bindings.flatMap((b) => extendChains(chainsOfBinding(b), { kind: 'resource', label: resource }))
      out.add('conda-store-environments', 'environment', resource, condaStoreLevel(roles), chains)
    }
  }

  // JupyterHub: the expanded scopes, each attributed to the roles whose own expansion holds it.
  const hub = jupyterhubPrincipal(principal)
  diagnostics.push(...hub.diagnostics)
  if (hub.scopes.scopes.length > 0) {
    const contributions = jupyterhubContributions(ctx, hub)
    for (const scope of hub.scopes.scopes) {
      const highlight = scopeHighlight(scope)
      out.add('jupyterhub', 'scope', scope, highlight === 'admin' ? 'admin' : 'granted', jupyterhubScopeChains(contributions, scope), highlight)
    }
  }

  const shared = sharedDirectories(principal)
  diagnostics.push(...shared.diagnostics)
  for (const mount of shared.mounts) out.add('shared-directory', 'directory', mount.mountPath, 'write', sharedDirectoryChains(ctx, mount))

  for (const slug of profileSlugs(principal)) out.add('jupyterlab-profiles', 'profile', slug, 'select', profileChains(ctx, slug))

  // Workspaces: the same candidates and request as `resolve` (its filter is this check, per item).
  for (const client of Object.keys(principal.clientRoles)) {
    const decision = policy.check({ method: 'GET', path: `/workspaces/${encodeURIComponent(client)}` }, principal)
    if (!decision.allowed) continue
    const grant = decision.grant
    // The decision names the first role that matched; a review shows every role held on the workspace client.
    const admin = decision.reason === 'PLATFORM_ADMIN'
    const names = admin ? grant?.roles ?? [] : [...new Set([...(grant?.roles ?? []), ...clientRolesOf(principal, client).map((r) => r.name)])].sort()
    const refs = names.map((name) => (admin && grant?.client === undefined ? { name } : { client: admin ? grant?.client ?? client : client, name }))
    const level = admin ? 'platform-admin' : names.length > 0 ? names.join(', ') : decision.reason
    out.add('workspaces', 'workspace', client, level, routeChains(ctx, decision, refs))
  }

  for (const component of options.components ?? []) {
    const { grants, diagnostics: found } = component.grants(principal)
    diagnostics.push(...found)
    const byPattern = new Map<string, { actions: Set<string>; chains: Chain[] }>()
    for (const g of grants) {
      const entry = byPattern.get(g.pattern) ?? { actions: new Set<string>(), chains: [] }
      byPattern.set(g.pattern, entry)
      entry.actions.add(g.action)
      entry.chains.push(...componentGrantChains(ctx, g))
    }
    for (const [pattern, entry] of byPattern) out.add(component.name, component.resourceKind, pattern, [...entry.actions].sort().join(', '), entry.chains)
  }

  return { user, grants: out.grants, diagnostics }
}

/**
 * The lint diagnostics of a role catalogue: conda-store and JupyterHub attributes and every custom
 * component — what `lint` prints.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { lintRoles } from 'keycloak-permissions/review'
 * lintRoles(RealmExportSource.example().roles()).map((d) => d.code) // ['NEBARI_SCOPE_ROLE_REJECTED']
 * ```
 */
export function lintRoles(roles: readonly ReviewRole[], components: readonly Component[] = []): Diagnostic[] {
  const withAttributes = roles.filter((r) => Object.keys(r.attributes).length > 0)
  const out: Diagnostic[] = [...lintCondaStoreRoles(withAttributes), ...lintJupyterHubRoles(withAttributes)]
  for (const component of components) out.push(...component.lint(withAttributes))
  return out
}

/**
 * The access matrix of every given principal (in input order), plus the catalogue's lint
 * diagnostics when `roles` is given. Options are validated once, eagerly.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { accessMatrix } from 'keycloak-permissions/review'
 * const realm = RealmExportSource.example()
 * const matrix = accessMatrix({ principals: realm.usernames().map((u) => realm.resolveSync(u)), roles: realm.roles() })
 * matrix.users.map((u) => u.user) // ['alice', 'bob', 'carol', 'dave', 'erin', 'service-account-permission-resolver']
 * ```
 */
export function accessMatrix(input: ReviewInput, options: AccessMatrixOptions = {}): AccessMatrix {
  if (input === null || typeof input !== 'object' || !Array.isArray(input.principals)) {
    throw new InvalidOptionsError('input.principals', 'must be an array of principals')
  }
  validateOptions(options)
  const policy = options.workspacePolicy ?? workspaceApiPolicy()
  const users = input.principals.map((p) => computeUserAccess(p, options, policy))
  const diagnostics = input.roles ? lintRoles(input.roles, options.components ?? []) : []
  return { users, diagnostics }
}
