/**
 * The contract every role source fulfils: given a user, produce a {@link Principal}.
 *
 * @module
 */
import type { Principal, RoleAttributes } from '../core/principal.js'

/**
 * Identifies a user: by username (matched exactly, case-insensitively as Keycloak stores usernames
 * lower-cased) or by id (a token's `sub`). A plain string is a username.
 *
 * @example
 * ```ts
 * import type { UserRef } from 'keycloak-permissions/keycloak'
 * const byName: UserRef = 'alice'
 * const byId: UserRef = { id: '8f0e…' }
 * ```
 */
export type UserRef = string | { readonly username: string; readonly id?: string } | { readonly id: string; readonly username?: string }

/**
 * Per-call options for {@link RoleSource.resolve}.
 *
 * @example
 * ```ts
 * await source.resolve('alice', { signal: AbortSignal.timeout(2_000) })
 * ```
 */
export interface ResolveOptions {
  /** Aborts the resolution (the source then throws the signal's reason). */
  readonly signal?: AbortSignal
}

/**
 * A source of principals: `RealmExportSource` (offline), `AdminApiSource` (live). All sources give
 * the same principal for the same user.
 *
 * @example
 * ```ts
 * import type { RoleSource } from 'keycloak-permissions/keycloak'
 * async function groupsOf(source: RoleSource, user: string) { return (await source.resolve(user)).groups }
 * ```
 */
export interface RoleSource {
  /** The realm this source reads. */
  readonly realm: string
  /** Resolves the user's principal; throws `UserNotFoundError` for an unknown user, `SourceUnavailableError` when the source cannot answer. */
  resolve(user: UserRef, options?: ResolveOptions): Promise<Principal>
}

/**
 * Role definitions with their attributes, by container: what a token lacks (tokens carry role
 * names only). Implemented by `RealmExportSource` and `AdminApiSource`.
 *
 * @example
 * ```ts
 * import type { RoleCatalogue } from 'keycloak-permissions/keycloak'
 * const roles = await catalogue.clientRoles('conda_store')
 * roles.get('ml-team-scopes') // { component: ['conda-store'], scopes: ['admin!namespace=ml,…'] }
 * ```
 */
export interface RoleCatalogue {
  /** Every role of the client, name → attributes; `undefined` when the client does not exist. */
  clientRoles(clientId: string, options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes> | undefined>
  /** Every realm role, name → attributes. */
  realmRoles(options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes>>
}

/**
 * The username form Keycloak stores (lower-case).
 *
 * @example
 * ```ts
 * import { normalizeUsername } from 'keycloak-permissions/keycloak'
 * normalizeUsername('Alice') // 'alice'
 * ```
 */
export function normalizeUsername(username: string): string {
  return username.toLowerCase()
}
