/**
 * The principal: what a Keycloak realm says about one user — identity, groups, effective roles with
 * their attributes and provenance — independent of which source produced it.
 *
 * @module
 */
import type { Diagnostic } from './diagnostics.js'

/**
 * A role, by container and name. `client` is the client's `clientId`; absent for a realm role.
 *
 * @example
 * ```ts
 * import type { RoleRef } from 'keycloak-permissions'
 * const realmRole: RoleRef = { name: 'platform-admin' }
 * const clientRole: RoleRef = { client: 'conda_store', name: 'conda_store_admin' }
 * ```
 */
export interface RoleRef {
  readonly client?: string
  readonly name: string
}

/**
 * One reason a role is effective for a user:
 * - `direct`: mapped to the user;
 * - `default`: the realm's default role (`default-roles-{realm}`), stored as a direct mapping;
 * - `group`: mapped to `group`, which is the user's direct group `member` or one of its ancestors;
 * - `composite`: contained in the effective composite role `parent`.
 *
 * @example
 * ```ts
 * import type { RoleVia } from 'keycloak-permissions'
 * const via: RoleVia = { kind: 'group', group: '/projects', member: '/projects/ml' }
 * ```
 */
export type RoleVia =
  | { readonly kind: 'direct' }
  | { readonly kind: 'default' }
  | { readonly kind: 'group'; readonly group: string; readonly member: string }
  | { readonly kind: 'composite'; readonly parent: RoleRef }

/**
 * Role attributes: every attribute is multi-valued in Keycloak.
 *
 * @example
 * ```ts
 * import type { RoleAttributes } from 'keycloak-permissions'
 * const attributes: RoleAttributes = { component: ['conda-store'], scopes: ['admin!namespace=ml,viewer!namespace=global'] }
 * ```
 */
export type RoleAttributes = Readonly<Record<string, readonly string[]>>

/**
 * An effective role with its attributes and (where the source can see it) why the user holds it.
 *
 * @example
 * ```ts
 * import type { EffectiveRole } from 'keycloak-permissions'
 * const role: EffectiveRole = {
 *   client: 'conda_store', name: 'ml-team-scopes',
 *   attributes: { component: ['conda-store'], scopes: ['admin!namespace=ml,developer!namespace=nebari-git'] },
 *   via: [{ kind: 'group', group: '/projects/ml', member: '/projects/ml' }],
 * }
 * ```
 */
export interface EffectiveRole extends RoleRef {
  readonly attributes: RoleAttributes
  /** Why the role is effective; empty when the source cannot tell (see {@link PrincipalCompleteness}). */
  readonly via: readonly RoleVia[]
}

/**
 * Which kind of source produced a principal (`principal.origin.kind`).
 *
 * @example
 * ```ts
 * import type { Principal, SourceKind } from 'keycloak-permissions'
 * const fromToken = (p: Principal) => p.origin.kind === ('token' satisfies SourceKind)
 * ```
 */
export type SourceKind = 'realm-export' | 'admin-api' | 'token'

/**
 * What a source could and could not see. A field is `false` when the principal is known to lack it
 * (e.g. a token without a groups mapper has no groups; the Admin API's effective-role endpoint has
 * no provenance).
 *
 * @example
 * ```ts
 * import type { PrincipalCompleteness } from 'keycloak-permissions'
 * const c: PrincipalCompleteness = { groups: true, realmRoles: true, attributes: true, provenance: false }
 * ```
 */
export interface PrincipalCompleteness {
  readonly groups: boolean
  readonly realmRoles: boolean
  readonly attributes: boolean
  readonly provenance: boolean
}

/**
 * Where and when a principal came from.
 *
 * @example
 * ```ts
 * import type { PrincipalOrigin } from 'keycloak-permissions'
 * const origin: PrincipalOrigin = { kind: 'admin-api', resolvedAt: Date.now(), cached: false, stale: false }
 * ```
 */
export interface PrincipalOrigin {
  readonly kind: SourceKind
  /** Epoch ms at which the source answered (not when the cache served it). */
  readonly resolvedAt: number
  /** True when served from a cache rather than fetched for this call. */
  readonly cached: boolean
  /** True when served past its TTL because the source was unavailable (bounded serve-stale). */
  readonly stale: boolean
  /**
   * Which tier answered: this process (`memory`), a shared tier such as Redis (`shared`), or a fresh
   * fetch (`source`). Absent for uncached sources (realm exports, tokens).
   */
  readonly tier?: 'memory' | 'shared' | 'source'
}

/**
 * What the token said, for callers that need it (e.g. `azp` anchoring). Only on token principals.
 *
 * @example
 * ```ts
 * import type { TokenInfo } from 'keycloak-permissions'
 * const t: TokenInfo = { issuer: 'http://127.0.0.1:8180/realms/example', audience: ['conda_store'], azp: 'jupyterhub', scope: ['openid'], expiresAt: 1767225840 }
 * ```
 */
export interface TokenInfo {
  readonly issuer: string
  readonly audience: readonly string[]
  readonly azp?: string
  readonly scope: readonly string[]
  /** `exp` in seconds since the epoch. */
  readonly expiresAt: number
  readonly claims?: Readonly<Record<string, unknown>>
}

/**
 * A user's effective identity and rights in a realm. Role lists are sorted by name; `groups` are the
 * user's direct memberships as Keycloak full paths, sorted.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * const principal = await RealmExportSource.example().resolve('bob')
 * principal.groups // ['/projects/ml']
 * principal.clientRoles['ws-alpha']?.map((r) => r.name) // ['ws_access']
 * ```
 */
export interface Principal {
  readonly realm: string
  /** The user id (= a token's `sub`); undefined when the source cannot know it. */
  readonly userId: string | undefined
  /** Lower-case username. */
  readonly username: string
  /**
   * `false` when the source knows the account is disabled in Keycloak (realm export `"enabled": false`,
   * Admin API `enabled: false`). Absent when the account is enabled or the source cannot tell (a token:
   * Keycloak issues none to a disabled account). Components deny a disabled principal with
   * `USER_DISABLED` unless the caller opts out explicitly.
   */
  readonly enabled?: boolean
  readonly groups: readonly string[]
  readonly realmRoles: readonly EffectiveRole[]
  /** Per `clientId`, the effective client roles (clients with no effective role are absent). */
  readonly clientRoles: Readonly<Record<string, readonly EffectiveRole[]>>
  readonly complete: PrincipalCompleteness
  readonly origin: PrincipalOrigin
  readonly token?: TokenInfo
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * The effective roles of `principal` on `client` (empty when none).
 *
 * @example
 * ```ts
 * import { clientRolesOf } from 'keycloak-permissions'
 * clientRolesOf(principal, 'conda_store').map((r) => r.name)
 * ```
 */
export function clientRolesOf(principal: Principal, client: string): readonly EffectiveRole[] {
  return Object.hasOwn(principal.clientRoles, client) ? principal.clientRoles[client]! : []
}

/**
 * Whether the principal effectively holds a role (realm role when `role.client` is absent).
 *
 * @example
 * ```ts
 * import { hasRole } from 'keycloak-permissions'
 * hasRole(principal, { client: 'workspace-api', name: 'admin' })
 * ```
 */
export function hasRole(principal: Principal, role: RoleRef): boolean {
  const roles = role.client === undefined ? principal.realmRoles : clientRolesOf(principal, role.client)
  return roles.some((r) => r.name === role.name)
}

/**
 * A role written as `client/name` (or `name` for a realm role), as in diagnostics and traces.
 *
 * @example
 * ```ts
 * import { formatRole } from 'keycloak-permissions'
 * formatRole({ client: 'conda_store', name: 'ml-team-scopes' }) // 'conda_store/ml-team-scopes'
 * ```
 */
export function formatRole(role: RoleRef): string {
  return role.client === undefined ? role.name : `${role.client}/${role.name}`
}

/**
 * The comparable essence of a principal: realm, username, `enabled: false` for a disabled account
 * (absent otherwise, so enabled users compare as before), groups, realm and client roles with
 * attributes — without provenance, origin, token and diagnostics. Two sources agree on a user when
 * their summaries are deeply equal.
 *
 * @example
 * ```ts
 * import { summarizePrincipal } from 'keycloak-permissions'
 * expect(summarizePrincipal(live)).toEqual(summarizePrincipal(offline))
 * ```
 */
export function summarizePrincipal(principal: Principal): PrincipalSummary {
  const roles = (list: readonly EffectiveRole[]) =>
    Object.fromEntries(list.map((r) => [r.name, sortAttributes(r.attributes)] as const))
  const clients: Record<string, Record<string, Record<string, string[]>>> = {}
  for (const client of Object.keys(principal.clientRoles).sort()) {
    const list = principal.clientRoles[client]!
    if (list.length > 0) clients[client] = roles(list)
  }
  return {
    realm: principal.realm,
    username: principal.username,
    ...(principal.enabled === false && { enabled: false as const }),
    groups: [...principal.groups].sort(),
    realmRoles: roles(principal.realmRoles),
    clientRoles: clients,
  }
}

/**
 * The shape returned by {@link summarizePrincipal}: role name → attributes (sorted keys).
 *
 * @example
 * ```ts
 * import type { PrincipalSummary } from 'keycloak-permissions'
 * const s: PrincipalSummary = { realm: 'example', username: 'erin', groups: ['/admin'], realmRoles: {}, clientRoles: {} }
 * ```
 */
export interface PrincipalSummary {
  realm: string
  username: string
  /** Present (false) only for a disabled account. */
  enabled?: false
  groups: string[]
  realmRoles: Record<string, Record<string, string[]>>
  clientRoles: Record<string, Record<string, Record<string, string[]>>>
}

function sortAttributes(attributes: RoleAttributes): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const key of Object.keys(attributes).sort()) out[key] = [...attributes[key]!]
  return out
}

/**
 * Everything a principal's answers derive from: all of it but `origin` (when and how it was
 * resolved). Internal: the derived-result caches of the components and the CLI compare these by
 * identity.
 */
export interface PrincipalValueParts {
  readonly realm: string
  readonly userId: string | undefined
  readonly username: string
  readonly enabled: boolean | undefined
  readonly groups: Principal['groups']
  readonly realmRoles: Principal['realmRoles']
  readonly clientRoles: Principal['clientRoles']
  readonly complete: Principal['complete']
  readonly token: Principal['token']
  readonly diagnostics: Principal['diagnostics']
}

/**
 * The principal's value parts when every object among them is frozen, else undefined. Sources hand out
 * a new principal object per call but share a user's frozen parts between them, so two principals with
 * the {@link samePrincipalValue same parts} derive the same results: a cache of derived results may
 * answer for a principal only through this check (a part that is not frozen could change under it).
 * Internal (not exported from the package).
 *
 * @example
 * ```ts
 * const parts = principalValueParts(principal)
 * if (parts !== undefined && kept !== undefined && samePrincipalValue(kept.parts, parts)) return kept.value
 * ```
 */
export function principalValueParts(principal: Principal): PrincipalValueParts | undefined {
  const { realm, userId, username, enabled, groups, realmRoles, clientRoles, complete, token, diagnostics } = principal
  if (!Object.isFrozen(groups) || !Object.isFrozen(realmRoles) || !Object.isFrozen(clientRoles) || !Object.isFrozen(complete) || !Object.isFrozen(diagnostics)) return undefined
  if (token !== undefined && !Object.isFrozen(token)) return undefined
  for (const roles of Object.values(clientRoles)) if (!Object.isFrozen(roles)) return undefined
  return { realm, userId, username, enabled, groups, realmRoles, clientRoles, complete, token, diagnostics }
}

/**
 * Whether two principals' value parts are the same values: each part the very same object (or equal
 * primitive). Internal.
 *
 * @example
 * ```ts
 * samePrincipalValue(principalValueParts(a)!, principalValueParts(b)!) // true for two resolutions of one unchanged user
 * ```
 */
export function samePrincipalValue(a: PrincipalValueParts, b: PrincipalValueParts): boolean {
  return (
    a.username === b.username &&
    a.realm === b.realm &&
    a.userId === b.userId &&
    a.enabled === b.enabled &&
    a.clientRoles === b.clientRoles &&
    a.realmRoles === b.realmRoles &&
    a.groups === b.groups &&
    a.complete === b.complete &&
    a.token === b.token &&
    a.diagnostics === b.diagnostics
  )
}
