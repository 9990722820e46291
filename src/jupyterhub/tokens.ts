/**
 * Scopes of users, services and tokens (docs/semantics/jupyterhub.md §10).
 *
 * @module
 */
import type { Diagnostic } from '../core/diagnostics.js'
import { intersectParsed, type GroupsOf } from './check.js'
import { TokenScopesExceedOwnerError } from './errors.js'
import { expandScopes, parseScopes, scopeSet, type OAuthClient, type ScopeOwner, type ScopeSet } from './expand.js'
import { validateScopes, type ScopeOptions } from './scopes.js'

/**
 * A user or service with the scopes of its roles (`roleScopes`: one list per role), for users also its
 * groups' role scopes, and the share scopes granted directly to it.
 *
 * @example
 * ```ts
 * import type { ScopeEntity } from 'keycloak-permissions/jupyterhub'
 * const alice: ScopeEntity = { kind: 'user', name: 'alice', roleScopes: [['self']], groups: ['/analyst'] }
 * ```
 */
export interface ScopeEntity extends ScopeOwner {
  readonly roleScopes: readonly (readonly string[])[]
  readonly groups?: readonly string[]
  /** Group → scopes of the group's roles. */
  readonly groupRoleScopes?: Readonly<Record<string, readonly string[]>>
  /** Share scopes (`access:servers!server=owner/name`, …) of shares made directly with the entity. */
  readonly shareScopes?: readonly string[]
  /** Share scopes of shares made with the user's groups (not part of token scopes, as upstream). */
  readonly groupShareScopes?: readonly string[]
}

/**
 * `get_scopes_for(user | service)`: the expanded scopes of every role of the entity (and, for users,
 * of its groups), owner-resolved, plus its share scopes.
 *
 * @example
 * ```ts
 * import { entityScopes } from 'keycloak-permissions/jupyterhub'
 * entityScopes({ kind: 'service', name: 'svc', roleScopes: [['read:users', 'access:services!service']] }).scopes
 * // ['access:services!service=svc', 'read:users', 'read:users:activity', 'read:users:groups', 'read:users:name']
 * ```
 */
export function entityScopes(entity: ScopeEntity, options: ScopeOptions = {}): ScopeSet {
  return ownerScopes(entity, options, true)
}

function ownerScopes(entity: ScopeEntity, options: ScopeOptions, withGroupShares: boolean): ScopeSet {
  const raw: string[] = []
  for (const role of entity.roleScopes) raw.push(...role)
  if (entity.kind === 'user') {
    for (const group of entity.groups ?? []) {
      const scopes = entity.groupRoleScopes && Object.hasOwn(entity.groupRoleScopes, group) ? entity.groupRoleScopes[group]! : []
      raw.push(...scopes)
    }
  }
  const expanded = expandScopes(raw, { owner: { kind: entity.kind, name: entity.name } }, options)
  const shares = [...(entity.shareScopes ?? []), ...(withGroupShares ? entity.groupShareScopes ?? [] : [])]
  if (shares.length === 0) return expanded
  const combined = scopeSet([...expanded.scopes, ...shares])
  return Object.freeze({ ...combined, diagnostics: expanded.diagnostics })
}

/**
 * The identify scopes of an owner: `read:users:name!user=u`, `read:users:groups!user=u` (services:
 * `read:services:name!service=s`).
 *
 * @example
 * ```ts
 * import { identifyScopes } from 'keycloak-permissions/jupyterhub'
 * identifyScopes({ kind: 'user', name: 'alice' }) // ['read:users:groups!user=alice', 'read:users:name!user=alice']
 * ```
 */
export function identifyScopes(owner: ScopeOwner): string[] {
  return owner.kind === 'user'
    ? [`read:users:groups!user=${owner.name}`, `read:users:name!user=${owner.name}`]
    : [`read:services:name!service=${owner.name}`]
}

/**
 * The access scopes of an OAuth client: a server's `access:servers!server=u/s` or a service's
 * `access:services!service=s`.
 *
 * @example
 * ```ts
 * import { clientAccessScopes } from 'keycloak-permissions/jupyterhub'
 * clientAccessScopes({ server: 'alice/' }) // ['access:servers!server=alice/']
 * ```
 */
export function clientAccessScopes(client: OAuthClient): string[] {
  return 'service' in client ? [`access:services!service=${client.service}`] : [`access:servers!server=${client.server}`]
}

/**
 * A token: its owner, its raw scopes and the OAuth client that issued it (none = a hub API token).
 *
 * @example
 * ```ts
 * import type { TokenInput } from 'keycloak-permissions/jupyterhub'
 * const t: TokenInput = { owner: { kind: 'user', name: 'alice', roleScopes: [['self']] }, scopes: ['read:users!user'] }
 * ```
 */
export interface TokenInput {
  readonly owner: ScopeEntity
  readonly scopes: readonly string[]
  readonly oauthClient?: OAuthClient
  readonly groupsOf?: GroupsOf
}

/**
 * The result of {@link tokenScopes}: the effective scopes and any diagnostics.
 *
 * @example
 * ```ts
 * import { tokenScopes } from 'keycloak-permissions/jupyterhub'
 * const { scopes } = tokenScopes({ owner: { kind: 'user', name: 'alice', roleScopes: [['self']] }, scopes: [] })
 * ```
 */
export interface TokenScopes {
  readonly scopes: readonly string[]
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * `get_scopes_for(token)`: the token's scopes (plus the client's access and the owner's identify
 * scopes) intersected with the owner's; `inherit` = the owner's scopes. Extra token scopes are
 * silently discarded, as upstream does. Shares with the owner's groups are not included (upstream).
 *
 * @example
 * ```ts
 * import { tokenScopes } from 'keycloak-permissions/jupyterhub'
 * tokenScopes({ owner: { kind: 'user', name: 'alice', roleScopes: [['self']] }, scopes: ['read:users'] }).scopes
 * // ['read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']
 * ```
 */
export function tokenScopes(token: TokenInput, options: ScopeOptions = {}): TokenScopes {
  const owner = ownerScopes(token.owner, options, false)
  if (token.scopes.includes('inherit')) return { scopes: owner.scopes, diagnostics: owner.diagnostics }
  const ownerRef: ScopeOwner = { kind: token.owner.kind, name: token.owner.name }
  const context = token.oauthClient ? { owner: ownerRef, oauthClient: token.oauthClient } : { owner: ownerRef }
  const expanded = expandScopes(token.scopes, context, options)
  const all: string[] = [...expanded.scopes]
  if (token.oauthClient) all.push(...clientAccessScopes(token.oauthClient))
  all.push(...identifyScopes(ownerRef))
  const intersection = intersectParsed(parseScopes(all), owner.parsed, token.groupsOf)
  return { scopes: intersection.scopes, diagnostics: [...expanded.diagnostics, ...intersection.diagnostics] }
}

/**
 * The token-creation check `_check_token_scopes` (docs/semantics/jupyterhub.md §10): validates the requested scopes
 * (`who_for = "token"`) and throws {@link TokenScopesExceedOwnerError} listing the requested expanded
 * scopes the owner lacks. `inherit` alone is always allowed.
 *
 * @example
 * ```ts
 * import { checkTokenScopes } from 'keycloak-permissions/jupyterhub'
 * checkTokenScopes({ owner: { kind: 'user', name: 'alice', roleScopes: [['self']] }, scopes: ['read:users!user'] })
 * ```
 */
export function checkTokenScopes(token: TokenInput, options: ScopeOptions = {}): void {
  validateScopes(token.scopes, { ...options, whoFor: 'token' })
  const requested = new Set(token.scopes)
  requested.delete('inherit')
  if (requested.size === 0) return
  const ownerRef: ScopeOwner = { kind: token.owner.kind, name: token.owner.name }
  const context = token.oauthClient ? { owner: ownerRef, oauthClient: token.oauthClient } : { owner: ownerRef }
  const expanded = expandScopes(requested, context, options)
  if (expanded.scopes.length === 0) return
  const owner = entityScopes(token.owner, options)
  const intersection = new Set<string>(intersectParsed(expanded.parsed, owner.parsed, token.groupsOf).scopes)
  const excess = expanded.scopes.filter((s) => !intersection.has(s))
  if (excess.length > 0) throw new TokenScopesExceedOwnerError(excess, ownerRef)
}
