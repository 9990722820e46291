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
