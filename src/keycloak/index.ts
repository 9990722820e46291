/**
 * `keycloak-permissions/keycloak`: the role sources — offline realm exports, the live Admin API, and
 * verified access tokens — each producing the same `Principal` for the same user.
 *
 * @module
 */
export { normalizeUsername } from './source.js'
export type { RoleSource, RoleCatalogue, UserRef, ResolveOptions } from './source.js'
export { RealmExportSource } from './realm-export-source.js'
export type { RealmExportSourceOptions, RoleDefinition } from './realm-export-source.js'
export { validateClaims, principalFromClaims, tokenInfoFromClaims, realmFromIssuer } from './claims.js'
export type { ClaimsValidation, ClaimsValidationOptions, PrincipalFromClaimsOptions } from './claims.js'
export { AdminApiSource } from './admin-api-source.js'
export type { AdminApiSourceOptions, AdminCacheOptions, AdminSelfCheckReport } from './admin-api-source.js'
export type { CatalogueStats } from './admin-catalogue.js'
export { ClientCredentialsTokenProvider } from './token-provider.js'
export type { AccessTokenProvider, ClientCredentialsOptions } from './token-provider.js'
export { TokenSource } from './token-source.js'
export type { TokenSourceOptions, VerifiedToken, CatalogueCacheOptions } from './token-source.js'
export { AdminEventWatcher, classifyAdminEvent } from './admin-events.js'
export type { AdminEvent, AdminEventTarget, AdminEventWatcherOptions, AdminEventPoll, AdminEventWatcherStatus, AdminEventsSelfCheck, InvalidationTarget } from './admin-events.js'
export { MemoryPrincipalCache, invalidationMatches } from './cache.js'
export type { Invalidation, PrincipalCache, CacheAnswer, CacheLookupOptions, CacheTier, TieredOrigin, MemoryPrincipalCacheOptions } from './cache.js'
export { UserDisabledError } from './admin-api-source.js'
export { targetGroups } from './target-groups.js'
export type { TargetGroups } from './target-groups.js'
export { LiveRolesSource } from './live-roles.js'
export type { LiveRolesSourceOptions } from './live-roles.js'
