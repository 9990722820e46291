/**
 * The chain builders of the built-in components: for one principal, every separate path by which a
 * grant is held — user → group → parent group → role → composite → item → grant (→ resource) — from
 * the principal's provenance (`EffectiveRole.via`) and the component's own record of what granted
 * (conda-store binding origins, JupyterHub role scopes, route grants, custom component grants). The
 * access matrix, `diff`, and the CLI's `explain`, `envs` and `resolve` all build their chains here.
 *
 * @module
 */
import { roleChainsIndexed, rolesByKey, uniqueChains, type Chain, type ChainStep } from '../core/chain.js'
import type { Decision } from '../core/decision.js'
import { clientRolesOf, type EffectiveRole, type Principal, type RoleRef } from '../core/principal.js'
import type { MergedBinding } from '../conda-store/index.js'
import { roleScopeContributions } from '../jupyterhub/contributions.js'
import { hasScope, jupyterhubPrincipal as jupyterhubPrincipalFor, type ExpandedScope, type GroupsOf, type JupyterHubPrincipal, type ScopeOptions, type ScopeSet, type SharedMount } from '../jupyterhub/index.js'
import type { RouteGrant } from '../workspaces/index.js'
import type { ComponentGrant } from '../components/index.js'

/**
 * One principal prepared for building chains (its roles indexed once).
 *
 * @example
 * ```ts
 * import { chainContext, roleGrantChains } from 'keycloak-permissions/review'
 * const ctx = chainContext(principal)
 * roleGrantChains(ctx, { client: 'conda_store', name: 'conda_store_admin' })
 * ```
 */
export interface ChainContext {
  readonly principal: Principal
  readonly user: string
  readonly roles: ReadonlyMap<string, EffectiveRole>
}

/**
 * Prepares a principal for the chain builders of this module.
 *
 * @example
 * ```ts
 * import { chainContext } from 'keycloak-permissions/review'
 * const ctx = chainContext(await RealmExportSource.example().resolve('dave'))
 * ```
 */
export function chainContext(principal: Principal): ChainContext {
  return { principal, user: principal.username, roles: rolesByKey(principal) }
}

/**
 * Every path by which the principal holds a role (see `roleChains` in the root entry).
 *
 * @example
 * ```ts
 * import { chainContext, roleGrantChains } from 'keycloak-permissions/review'
 * roleGrantChains(chainContext(dave), { client: 'conda_store', name: 'conda_store_viewer' })
 * // [[{ kind: 'user', label: 'dave' }, { kind: 'role', label: 'conda_store/conda_store_viewer' }]]
 * ```
 */
export function roleGrantChains(ctx: ChainContext, role: RoleRef): Chain[] {
  return roleChainsIndexed(ctx.roles, ctx.user, role)
}

/**
 * Each chain with `steps` appended (a new array per chain).
 *
 * @example
 * ```ts
 * import { extendChains } from 'keycloak-permissions/review'
 * extendChains(chains, { kind: 'resource', label: 'ml/torch' })
 * ```
 */
export function extendChains(chains: readonly Chain[], ...steps: ChainStep[]): Chain[] {
  return chains.map((c) => [...c, ...steps])
}

const CONDA_RANK = ['viewer', 'developer', 'editor', 'admin']

/**
 * The highest conda-store role of a binding (`editor` ≡ `developer`, docs/semantics/conda-store.md §2);
 * `listed` when it has none; unknown role names joined as they are.
 *
 * @example
 * ```ts
 * import { condaStoreLevel } from 'keycloak-permissions/review'
 * condaStoreLevel(['viewer', 'developer']) // 'developer'
 * condaStoreLevel([])                      // 'listed'
 * ```
 */
export function condaStoreLevel(roles: readonly string[]): string {
  if (roles.length === 0) return 'listed'
  let best = -1
  for (const r of roles) best = Math.max(best, CONDA_RANK.indexOf(r))
  if (best < 0) return [...roles].sort().join(', ')
  return CONDA_RANK[best] === 'editor' ? 'developer' : CONDA_RANK[best]!
}

/**
 * The chains of one merged conda-store binding, ending with the grant `ARN: level`: per Keycloak
 * `scopes` item, the role's paths then the item; per Nebari login rule, each contributing role's
 * paths (or the group the rule reads) then the rule; bindings from conda-store's defaults, a token or
 * its database start from that source.
 *
 * @example
 * ```ts
 * import { chainContext, condaStoreBindingChains } from 'keycloak-permissions/review'
 * const perms = condaStorePermissionsFor(dave)
 * condaStoreBindingChains(chainContext(dave), perms.bindings.find((b) => b.arn === 'global/*')!)
 * // two chains: dave → /developer → conda_store/conda_store_developer → nebari login: global-namespace → global/*: developer
 * //             dave → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer
 * ```
 */
export function condaStoreBindingChains(ctx: ChainContext, binding: MergedBinding): Chain[] {
  const userStep: ChainStep = { kind: 'user', label: ctx.user }
  const end: ChainStep = { kind: 'grant', label: `${binding.arn}: ${condaStoreLevel(binding.roles)}` }
  const chains: Chain[] = []
  for (const origin of binding.origins) {
    if (origin.kind === 'keycloak-scope') {
      chains.push(...extendChains(roleGrantChains(ctx, origin.role), { kind: 'item', label: origin.item }, end))
    } else if (origin.kind === 'nebari-login') {
      const rule: ChainStep = { kind: 'rule', label: `nebari login: ${origin.rule}` }
      if (origin.roles.length === 0) {
        chains.push([userStep, ...(origin.group !== undefined ? [{ kind: 'group', label: origin.group } as const] : []), rule, end])
      }
      for (const r of origin.roles) {
        let paths = roleGrantChains(ctx, r.role)
        // A group rule reads the roles held through that group: keep those paths when there are any.
        if (origin.group !== undefined) {
          const through = paths.filter((c) => c.some((s) => (s.kind === 'group' || s.kind === 'parent-group') && s.label === origin.group))
          paths = through.length > 0 ? through : paths.map((c) => [userStep, { kind: 'group', label: origin.group! }, ...c.slice(1)])
        }
        chains.push(...extendChains(paths, rule, end))
      }
    } else chains.push([userStep, { kind: 'source', label: origin.label }, end])
  }
  if (chains.length === 0) {
    const label = binding.source === 'default' ? 'conda-store default bindings' : binding.source === 'token' ? 'token bindings' : 'database grants'
    chains.push([userStep, { kind: 'source', label }, end])
  }
  return uniqueChains(chains)
}

/**
 * The scopes one JupyterHub role contributes, expanded, with the chains that make the user hold it.
 *
 * @example
 * ```ts
 * import type { JupyterHubContribution } from 'keycloak-permissions/review'
 * const sources = (c: JupyterHubContribution) => c.chains.length
 * ```
 */
export interface JupyterHubContribution {
  readonly role: string
  readonly chains: readonly Chain[]
  readonly set: ScopeSet
}

/**
 * Options of {@link jupyterhubContributions}: JupyterHub scope semantics, and the groups (or role
 * names) that make a user JupyterHub `admin` / allowed (Nebari's defaults).
 *
 * @example
 * ```ts
 * import type { JupyterHubChainOptions } from 'keycloak-permissions/review'
 * const o: JupyterHubChainOptions = { adminGroups: ['/admin'], allowedGroups: ['/analyst', '/admin'] }
 * ```
 */
export interface JupyterHubChainOptions extends ScopeOptions {
  readonly adminGroups?: readonly string[]
  readonly allowedGroups?: readonly string[]
}

const NEBARI_ADMIN = ['/admin', 'jupyterhub_admin']
const NEBARI_ALLOWED = ['/analyst', '/developer', '/admin', 'jupyterhub_admin', 'jupyterhub_developer']

/**
 * Every JupyterHub role of the principal that contributes scopes, with its expanded scope set and its
 * chains: a Keycloak role's paths then its `scopes` item; the default `admin` / `user` role from the
 * groups and roles that make the user admin / allowed, then the rule.
 *
 * @example
 * ```ts
 * import { chainContext, jupyterhubContributions } from 'keycloak-permissions/review'
 * const hub = jupyterhubPrincipal(alice)
 * jupyterhubContributions(chainContext(alice), hub).map((c) => c.role) // ['allow-app-sharing-role', 'user']
 * ```
 */
export function jupyterhubContributions(ctx: ChainContext, hub: JupyterHubPrincipal, options: JupyterHubChainOptions = {}): JupyterHubContribution[] {
  const { adminGroups, allowedGroups, ...scopeOptions } = options
  return roleScopeContributions(hub, ctx.user, scopeOptions).map(({ role, scopes, set }) => {
    let chains: Chain[]
    if (role.source === 'default') {
      const names = role.name === 'admin' ? adminGroups ?? NEBARI_ADMIN : [...(allowedGroups ?? NEBARI_ALLOWED), ...(adminGroups ?? NEBARI_ADMIN)]
      chains = extendChains(membershipChains(ctx, names), { kind: 'rule', label: `JupyterHub role ${role.name}` })
    } else {
      const paths = role.role ? roleGrantChains(ctx, role.role) : [[{ kind: 'user', label: ctx.user }, { kind: 'role', label: role.name }] as Chain]
      chains = extendChains(paths, { kind: 'item', label: `scopes=${scopes.join(',')}` })
    }
    return { role: role.name, chains, set }
  })
}

/** The paths by which the user holds any of `names` (group paths or role names), e.g. Nebari's admin groups. */
function membershipChains(ctx: ChainContext, names: readonly string[]): Chain[] {
  const wanted = new Set(names)
  const chains: Chain[] = []
  for (const group of ctx.principal.groups) if (wanted.has(group)) chains.push([{ kind: 'user', label: ctx.user }, { kind: 'group', label: group }])
  for (const [key, role] of ctx.roles) {
    if (!wanted.has(role.name)) continue
    chains.push(...roleGrantChains(ctx, role.client === undefined ? { name: key } : { client: role.client, name: role.name }))
  }
  return chains.length > 0 ? uniqueChains(chains) : [[{ kind: 'user', label: ctx.user }]]
}

/**
 * The chains of one JupyterHub scope (filtered or not), ending with the grant `scope`: the
 * contributions whose own expansion holds it (all of them when none does alone, e.g. a scope that
 * only the union implies).
 *
 * @example
 * ```ts
 * import { chainContext, jupyterhubContributions, jupyterhubScopeChains } from 'keycloak-permissions/review'
 * const contributions = jupyterhubContributions(chainContext(alice), jupyterhubPrincipal(alice))
 * jupyterhubScopeChains(contributions, 'access:servers!server=alice/')
 * ```
 */
export function jupyterhubScopeChains(contributions: readonly JupyterHubContribution[], scope: string, options: { readonly groupsOf?: GroupsOf } = {}): Chain[] {
  const holding = contributions.filter((c) => c.set.scopes.includes(scope as ExpandedScope) || hasScope(scope as ExpandedScope, c.set, options.groupsOf ? { groupsOf: options.groupsOf } : {}))
  const from = holding.length > 0 ? holding : contributions
  return uniqueChains(from.flatMap((c) => extendChains(c.chains, { kind: 'grant', label: scope })))
}

/**
 * The chains of one shared-directory mount: each path through the mount's group to a role that
 * grants `write:shared-mount`, then the item and the directory.
 *
 * @example
 * ```ts
 * import { chainContext, sharedDirectoryChains } from 'keycloak-permissions/review'
 * sharedDirectoryChains(chainContext(dave), sharedDirectories(dave).mounts[0]!)
 * ```
 */
export function sharedDirectoryChains(ctx: ChainContext, mount: SharedMount, clientId = 'jupyterhub'): Chain[] {
  const item: ChainStep = { kind: 'item', label: 'write:shared-mount' }
  const end: ChainStep = { kind: 'grant', label: mount.mountPath }
  const chains: Chain[] = []
  for (const role of clientRolesOf(ctx.principal, clientId)) {
    if (!(role.attributes['scopes'] ?? []).includes('write:shared-mount')) continue
    const through = roleGrantChains(ctx, { client: clientId, name: role.name }).filter((c) => c.some((s) => s.kind === 'group' && s.label === mount.group))
    chains.push(...extendChains(through, item, end))
  }
  return chains.length > 0 ? uniqueChains(chains) : [[{ kind: 'user', label: ctx.user }, { kind: 'group', label: mount.group }, item, end]]
}

/**
 * The chains of one JupyterLab profile slug: the paths to the profiles role, then the item.
 *
 * @example
 * ```ts
 * import { chainContext, profileChains } from 'keycloak-permissions/review'
 * profileChains(chainContext(dave), 'gpu') // dave → /developer → jupyterhub/jupyterlab-profiles → profiles=gpu
 * ```
 */
export function profileChains(ctx: ChainContext, slug: string, role: RoleRef = { client: 'jupyterhub', name: 'jupyterlab-profiles' }): Chain[] {
  return extendChains(roleGrantChains(ctx, role), { kind: 'item', label: `profiles=${slug}` })
}

/**
 * The chains of an allowed route decision (workspace API, STAC): each granting role's paths, then the
 * rule. `roles` overrides the decision's roles (a review shows every role held on the workspace).
 *
 * @example
 * ```ts
 * import { chainContext, routeChains } from 'keycloak-permissions/review'
 * const d = workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-alpha' }, bob)
 * routeChains(chainContext(bob), d) // bob → /projects/ml → /projects → ws-alpha/ws_access → /workspaces/{workspace}/**
 * ```
 */
export function routeChains(ctx: ChainContext, decision: Decision<string, RouteGrant>, roles?: readonly RoleRef[]): Chain[] {
  const rule: ChainStep = { kind: 'rule', label: decision.rule ?? decision.reason }
  const grant = decision.grant
  const refs = roles ?? (grant?.roles ?? []).map((name) => (grant?.client === undefined ? { name } : { client: grant.client, name }))
  const chains = refs.flatMap((ref) => extendChains(roleGrantChains(ctx, ref), rule))
  return chains.length > 0 ? uniqueChains(chains) : [[{ kind: 'user', label: ctx.user }, rule]]
}

/**
 * The chains of one custom component grant: the role's paths, its attribute item, then `action pattern`.
 *
 * @example
 * ```ts
 * import { chainContext, componentGrantChains } from 'keycloak-permissions/review'
 * for (const g of binderhub.grants(carol).grants) componentGrantChains(chainContext(carol), g)
 * ```
 */
export function componentGrantChains(ctx: ChainContext, grant: ComponentGrant): Chain[] {
  return extendChains(roleGrantChains(ctx, grant.role), { kind: 'item', label: grant.item }, { kind: 'grant', label: `${grant.action} ${grant.pattern}` })
}

/**
 * What {@link decisionChains} needs to know about the check: the built-in component (or a custom one,
 * `component`), the resource as the check named it, and for JupyterHub the scope checked and the
 * group lookup of `!group=` filters.
 *
 * @example
 * ```ts
 * import type { CheckedRequest } from 'keycloak-permissions/review'
 * const r: CheckedRequest = { component: 'jupyterhub', resource: 'access:servers!server=alice/' }
 * ```
 */
export interface CheckedRequest {
  /** `conda-store`, `jupyterhub`, `shared-directory`, `jupyterlab-profiles`, `workspaces`, `stac`, or a custom component's name. */
  readonly component: string
  /** The resource (conda-store ARN, filtered JupyterHub scope, mount path, profile slug, `METHOD path`, custom resource). */
  readonly resource: string
  /** JupyterHub: the scope semantics and the group lookup of the check. */
  readonly jupyterhub?: JupyterHubChainOptions & { readonly groupsOf?: GroupsOf }
}

/**
 * The chains of an allowed decision: every separate path by which the principal holds what allowed it,
 * each ending with the resource checked; none for a denial (its `trace` says what was tried). The one
 * function `explain`, `check --json` and `POST /v1/check` draw chains with.
 *
 * @example
 * ```ts
 * import { decisionChains, renderChainsText } from 'keycloak-permissions/review'
 * const d = condaStorePermissionsFor(dave).explain('environment::update', 'global/r-base')
 * renderChainsText(decisionChains(dave, d, { component: 'conda-store', resource: 'global/r-base' }))
 * ```
 */
export function decisionChains(principal: Principal, decision: Decision, request: CheckedRequest): Chain[] {
  if (!decision.allowed) return []
  const ctx = chainContext(principal)
  const resource: ChainStep = { kind: 'resource', label: request.resource }
  const grant = decision.grant as unknown
  let chains: Chain[]
  switch (request.component) {
    case 'conda-store':
      chains = (Array.isArray(grant) ? (grant as MergedBinding[]) : []).flatMap((b) => condaStoreBindingChains(ctx, b))
      break
    case 'jupyterhub': {
      const { groupsOf, ...options } = request.jupyterhub ?? {}
      const hub = jupyterhubPrincipalFor(principal, options)
      chains = jupyterhubScopeChains(jupyterhubContributions(ctx, hub, options), request.resource, groupsOf ? { groupsOf } : {})
      return uniqueChains(chains)
    }
    case 'shared-directory': {
      const group = (grant as { group?: string } | undefined)?.group
      chains = group === undefined ? [] : sharedDirectoryChains(ctx, { group, mountPath: request.resource } as SharedMount)
      return uniqueChains(chains)
    }
    case 'jupyterlab-profiles':
      chains = profileChains(ctx, request.resource)
      break
    case 'workspaces':
    case 'stac':
      chains = routeChains(ctx, decision as Decision<string, RouteGrant>)
      break
    default: {
      const g = grant as ComponentGrant | undefined
      chains = g && typeof g === 'object' && 'role' in g ? componentGrantChains(ctx, g) : []
    }
  }
  if (chains.length === 0) chains = [[{ kind: 'user', label: ctx.user }, { kind: 'rule', label: decision.rule ?? decision.reason }]]
  return uniqueChains(extendChains(chains, resource))
}
