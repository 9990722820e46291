/**
 * keycloak-permissions: exact, typed permissions from what a Keycloak realm says about a user.
 *
 * The root entry holds the core model (principal, decisions, diagnostics, errors, clock, group
 * paths). Sources live in `keycloak-permissions/keycloak`; components in their own subpaths.
 *
 * @module
 */
export {
  KeycloakPermissionsError,
  InvalidOptionsError,
  InvalidInputError,
  RealmExportInvalidError,
  UserNotFoundError,
  ClientNotFoundError,
  SourceUnavailableError,
  InsufficientPermissionsError,
  TokenRejectedError,
  UnknownNameError,
} from './core/errors.js'
export type { TokenRejectionReason, TokenRejectionDetail } from './core/errors.js'
export { systemClock, ManualClock } from './core/clock.js'
export type { Clock } from './core/clock.js'
export { diagnostic, hasErrors } from './core/diagnostics.js'
export type { Diagnostic, DiagnosticSubject, Severity } from './core/diagnostics.js'
export { allow, deny } from './core/decision.js'
export type { Decision, TraceStep } from './core/decision.js'
export { clientRolesOf, hasRole, formatRole, summarizePrincipal } from './core/principal.js'
export type {
  Principal,
  PrincipalSummary,
  PrincipalCompleteness,
  PrincipalOrigin,
  EffectiveRole,
  RoleRef,
  RoleVia,
  RoleAttributes,
  SourceKind,
  TokenInfo,
} from './core/principal.js'
export { splitGroupPath, joinGroupPath, groupBasename, groupWithAncestors } from './core/groups.js'
export { chainKey, chainSubjects, grantPathChains, roleChains, roleChainsIndexed, rolesByKey, uniqueChains, MAX_CHAINS_PER_ROLE } from './core/chain.js'
export type { Chain, ChainStep, ChainStepKind, GrantPathSteps } from './core/chain.js'
