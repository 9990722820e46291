/**
 * The access matrix: for each user, every effective grant of every component, each with the chains
 * that grant it — the resources each component of the registry lists (the registry `resolve` and
 * `check` use), each grant path expanded into chains from the principal's provenance.
 *
 * @module
 */
import { chainSubjects, grantPathChains, uniqueChains, type Chain } from '../core/chain.js'
import type { Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import type { Principal, RoleAttributes, RoleRef } from '../core/principal.js'
import type { EnvironmentLike } from '../conda-store/index.js'
import type { RoutePolicy } from '../workspaces/index.js'
import { createRegistry, type Component, type ComponentRegistry, type GrantPath } from '../components/index.js'
import { chainLine } from './chain-render.js'
import { chainContext, type ChainContext } from './chains.js'

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
  /** `true` when the account is disabled in Keycloak: it holds nothing (unless the registry lets disabled accounts through). */
  readonly disabled?: boolean
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
 * const configured: AccessMatrixOptions = { registry: createRegistry({ jupyterhub: { version: 6 } }, { components: [binderhub] }) }
 * ```
 */
export interface AccessMatrixOptions {
  /** The component registry to review (default: `createRegistry({}, { components, workspacePolicy })`). */
  readonly registry?: ComponentRegistry
  /** Custom components (`defineComponent()`), reviewed after the built-ins (without `registry` only). */
  readonly components?: readonly Component[]
  /** conda-store environments: each user's readable ones are listed too (`conda-store-environments`). */
  readonly environments?: readonly EnvironmentLike[]
  /** The workspace rule set (default `workspaceApiPolicy()`, as `resolve`; without `registry` only). */
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

export { scopeHighlight } from '../components/index.js'

/** Validates the options once and returns the registry they describe. */
function registryOf(options: AccessMatrixOptions): ComponentRegistry {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object')
  if (options.environments !== undefined && !Array.isArray(options.environments)) {
    throw new InvalidOptionsError('environments', 'must be an array of { namespace, name }')
  }
  if (options.registry !== undefined) {
    if (options.components !== undefined || options.workspacePolicy !== undefined) {
      throw new InvalidOptionsError('registry', 'give components and workspacePolicy to the registry, not next to it')
    }
    if (typeof options.registry?.resources !== 'function') throw new InvalidOptionsError('registry', 'must be a createRegistry() result')
    return options.registry
  }
  try {
    return createRegistry({}, {
      ...(options.components !== undefined ? { components: options.components } : {}),
      ...(options.workspacePolicy !== undefined ? { workspacePolicy: options.workspacePolicy } : {}),
    })
  } catch (err) {
    // Keep the option paths of this function's options: `components.0`, `workspacePolicy`.
    if (err instanceof InvalidOptionsError && err.option.startsWith('extensions.')) {
      throw new InvalidOptionsError(err.option.slice('extensions.'.length), err.message.replace(/^Invalid option \S+: /, ''), { cause: err })
    }
    throw err
  }
}

/**
 * The chains of one grant path: each way the principal holds its role, between the path's lead and
 * tail. A path `through` a group keeps the chains passing through that group (a Nebari group rule reads
 * the roles held through it); when none does, the group leads.
 */
function pathChains(ctx: ChainContext, path: GrantPath): Chain[] {
  if (path.through === undefined) return grantPathChains(ctx.roles, ctx.user, path)
  const through = path.through
  const chains = grantPathChains(ctx.roles, ctx.user, path).filter((c) => c.some((s) => (s.kind === 'group' || s.kind === 'parent-group') && s.label === through))
  return chains.length > 0 ? chains : grantPathChains(ctx.roles, ctx.user, { ...path, lead: [{ kind: 'group', label: through }, ...(path.lead ?? [])] })
}

class GrantBuilder {
  readonly #out: AccessGrant[] = []

  add(component: string, kind: string, resource: string, level: string, found: readonly Chain[], highlight?: GrantHighlight): void {
    const chains = found.length > 1 ? uniqueChains(found) : found
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
  return computeUserAccess(principal, options, registryOf(options))
}

function computeUserAccess(principal: Principal, options: AccessMatrixOptions, registry: ComponentRegistry): UserAccess {
  const ctx = chainContext(principal)
  const out = new GrantBuilder()
  const listed = registry.resources(principal, options.environments !== undefined ? { environments: options.environments } : {})
  for (const grant of listed.grants) {
    out.add(grant.component, grant.kind, grant.resource, grant.level, grant.paths.flatMap((path) => pathChains(ctx, path)), grant.highlight)
  }
  return { user: principal.username, grants: out.grants, diagnostics: listed.diagnostics, ...(principal.enabled === false ? { disabled: true } : {}) }
}

/**
 * The lint diagnostics of a role catalogue over every component of a registry (or of the built-ins
 * and the given custom components) — what `lint` prints.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { lintRoles } from 'keycloak-permissions/review'
 * lintRoles(RealmExportSource.example().roles()).map((d) => d.code) // ['NEBARI_SCOPE_ROLE_REJECTED']
 * ```
 */
export function lintRoles(roles: readonly ReviewRole[], components: readonly Component[] | ComponentRegistry = []): Diagnostic[] {
  const registry = Array.isArray(components) ? createRegistry({}, { components: components as readonly Component[] }) : (components as ComponentRegistry)
  return registry.lint(roles)
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
  const registry = registryOf(options)
  const users = input.principals.map((p) => computeUserAccess(p, options, registry))
  const diagnostics = input.roles ? registry.lint(input.roles) : []
  return { users, diagnostics }
}
