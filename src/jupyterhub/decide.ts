/**
 * One JupyterHub check as a decision value: is a scope held by a principal under Nebari's rules, and
 * by which of its JupyterHub roles (docs/semantics/jupyterhub.md §7, docs/semantics/nebari.md §5).
 *
 * @module
 */
import { allow, deny, type Decision, type TraceStep } from '../core/decision.js'
import type { Principal } from '../core/principal.js'
import { hasScope, type GroupsOf } from './check.js'
import { EmptyFilterValueError, JupyterHubUsageError } from './errors.js'
import { expandScopes } from './expand.js'
import { jupyterhubPrincipal, type JupyterHubPrincipal, type NebariJupyterHubOptions } from './nebari.js'
import { validateScopes, type ExpandedScope } from './scopes.js'

/**
 * The reasons of {@link decideScope}: `SCOPE_HELD` or `SCOPE_NOT_HELD`.
 *
 * @example
 * ```ts
 * import type { ScopeDecisionReason } from 'keycloak-permissions/jupyterhub'
 * const r: ScopeDecisionReason = 'SCOPE_HELD'
 * ```
 */
export type ScopeDecisionReason = 'SCOPE_HELD' | 'SCOPE_NOT_HELD'

/**
 * A JupyterHub scope decision; `grant.roles` names the JupyterHub roles whose own scopes hold it.
 *
 * @example
 * ```ts
 * import type { ScopeDecision } from 'keycloak-permissions/jupyterhub'
 * const roles = (d: ScopeDecision) => d.grant?.roles ?? []
 * ```
 */
export type ScopeDecision = Decision<ScopeDecisionReason, { readonly roles: readonly string[] }>

/**
 * The resource kinds a scope can be filtered to: `user`, `server`, `group`, `service`.
 *
 * @example
 * ```ts
 * import { SCOPE_RESOURCE_KINDS } from 'keycloak-permissions/jupyterhub'
 * SCOPE_RESOURCE_KINDS.includes('server') // true
 * ```
 */
export const SCOPE_RESOURCE_KINDS = ['user', 'server', 'group', 'service'] as const

/**
 * Joins a scope and a resource into the filtered scope JupyterHub checks: `shares` + `server=alice/`
 * → `shares!server=alice/`. Throws {@link JupyterHubUsageError} for an unknown resource kind, a
 * resource without `KIND=VALUE`, or a scope that is already filtered.
 *
 * @example
 * ```ts
 * import { filteredScope } from 'keycloak-permissions/jupyterhub'
 * filteredScope('shares', 'server=alice/') // 'shares!server=alice/'
 * filteredScope('read:users')              // 'read:users'
 * ```
 */
export function filteredScope(scope: string, resource?: string): string {
  if (resource === undefined) return scope
  const eq = resource.indexOf('=')
  if (eq <= 0 || eq === resource.length - 1) throw new JupyterHubUsageError(`a scope resource is KIND=VALUE, e.g. server=bob/ or user=bob (got ${JSON.stringify(resource)})`)
  const kind = resource.slice(0, eq)
  if (!(SCOPE_RESOURCE_KINDS as readonly string[]).includes(kind)) {
    throw new JupyterHubUsageError(`a scope resource kind is one of ${SCOPE_RESOURCE_KINDS.join(', ')} (got ${JSON.stringify(kind)})`)
  }
  if (scope.includes('!')) throw new JupyterHubUsageError('give either a filtered scope or a resource, not both')
  return `${scope}!${resource}`
}

/**
 * The user whose groups a check of `scope` needs: the `user=` value or the owner of a `server=`
 * value (a held `!group=` filter grants that user's groups). `undefined` for other filters.
 *
 * @example
 * ```ts
 * import { scopeTargetUser } from 'keycloak-permissions/jupyterhub'
 * scopeTargetUser('access:servers!server=bob/lab') // 'bob'
 * scopeTargetUser('read:groups!group=/analyst')    // undefined
 * ```
 */
export function scopeTargetUser(scope: string): string | undefined {
  const bang = scope.indexOf('!')
  if (bang < 0) return undefined
  const filter = scope.slice(bang + 1)
  if (filter.startsWith('user=')) return filter.slice(5) || undefined
  if (filter.startsWith('server=')) {
    const value = filter.slice(7)
    const slash = value.indexOf('/')
    return (slash < 0 ? value : value.slice(0, slash)) || undefined
  }
  return undefined
}

/**
 * Options of {@link decideScope}: the Nebari preset's options (version, custom scopes, allowed and
 * admin groups…), the target users' groups, and an already resolved {@link JupyterHubPrincipal}.
 *
 * @example
 * ```ts
 * import type { DecideScopeOptions } from 'keycloak-permissions/jupyterhub'
 * const o: DecideScopeOptions = { jupyterhubVersion: 5, groupsOf: (user) => (user === 'carol' ? ['/analyst'] : []) }
 * ```
 */
export interface DecideScopeOptions extends NebariJupyterHubOptions {
  /** Groups of the users a `!group=` filter is checked against (JupyterHub's database). */
  readonly groupsOf?: GroupsOf
  /** The principal's JupyterHub view, when the caller already computed it with the same options. */
  readonly hub?: JupyterHubPrincipal
}

/**
 * Whether the principal holds `scope` in JupyterHub under Nebari's rules (`has_scope` on its expanded
 * scopes), as a decision whose trace names each JupyterHub role that holds it on its own (the roles
 * `explain` prints) and whose `grant.roles` lists them. A scope JupyterHub does not define throws
 * `ScopeNotFoundError` with JupyterHub's message — a usage error, not a denial.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { decideScope } from 'keycloak-permissions/jupyterhub'
 * const alice = RealmExportSource.example().resolveSync('alice')
 * const d = decideScope(alice, 'shares!server=alice/')
 * d.reason       // 'SCOPE_HELD'
 * d.grant?.roles // ['allow-app-sharing-role']
 * ```
 */
export function decideScope(principal: Principal, scope: string, options: DecideScopeOptions = {}): ScopeDecision {
  const { groupsOf, hub: given, ...hubOptions } = options
  validateScopes([scope], hubOptions)
  const hub = given ?? jupyterhubPrincipal(principal, hubOptions)
  const check = { ...(groupsOf ? { groupsOf } : {}) }
  const held = hasScope(scope as ExpandedScope, hub.scopes, check)
  const trace: TraceStep[] = [{ kind: 'user', label: principal.username }]
  if (hub.loginRejected) trace.push({ kind: 'note', label: 'JupyterHub login rejected under Nebari rules: no scopes' })
  const owner = { owner: { kind: 'user' as const, name: principal.username } }
  const holdsAlone = (scopes: readonly string[]): boolean => {
    try {
      return hasScope(scope as ExpandedScope, expandScopes([...scopes], owner, hubOptions), check)
    } catch (err) {
      // A role whose own scopes cannot expand (an empty filter value) holds nothing; jupyterhubPrincipal reported it.
      if (err instanceof EmptyFilterValueError) return false
      throw err
    }
  }
  const granting = hub.loginRejected ? [] : Object.entries(hub.roleScopes).filter(([, scopes]) => scopes.length > 0 && holdsAlone(scopes)).map(([name]) => name)
  for (const name of granting) trace.push({ kind: 'role', label: name, data: { scopes: hub.roleScopes[name] } })
  trace.push({ kind: 'resource', label: scope })
  return held ? allow('SCOPE_HELD', trace, { grant: { roles: granting } }) : deny('SCOPE_NOT_HELD', trace)
}
