/**
 * `keycloak-permissions/workspaces`: route decisions for EOEPCA-style workspace APIs and STAC
 * transaction APIs — request normalisation, route rules as data, decision values, HTTP helpers for
 * middleware.
 *
 * @module
 */
export { normalizeRequestPath, normalizeRoutingPath } from './normalize.js'
export type { NormalizedPath, AmbiguousPath, AmbiguousPathDetail } from './normalize.js'
export { compileRoutePattern, matchRoutePattern } from './pattern.js'
export type { RoutePattern, PatternSegment } from './pattern.js'
export { routeTable } from './table.js'
export type { RouteRule, RouteRequirement, RoleRequirement, RouteTableOptions } from './table.js'
export { workspaceApiPolicy, stacPolicy, WORKSPACE_ROUTE } from './presets.js'
export type { WorkspaceApiOptions, WorkspaceMethodRule, StacOptions } from './presets.js'
export { decideFromClaims, subjectFromClaims } from './claims.js'
export { explainRoute } from './explain.js'
export type { ClaimsDecoder } from './claims.js'
export { parseAuthorization, authorizeHttpRequest, statusForReason } from './http.js'
export type {
  ParsedAuthorization,
  Authenticator,
  HttpAuthorizationOptions,
  RoutePolicySelector,
  HttpAuthorization,
  HttpRequestLike,
} from './http.js'
export type {
  RouteReason,
  CredentialFailureReason,
  CredentialFailure,
  RouteSubject,
  RouteRequest,
  RouteGrant,
  RouteDecision,
  RoutePolicy,
} from './types.js'
