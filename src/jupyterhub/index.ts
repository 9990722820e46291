/**
 * `keycloak-permissions/jupyterhub`: JupyterHub RBAC exactly as upstream (5.x by default, 6.0 with
 * `jupyterhubVersion: 6`), Nebari's JupyterHub roles from Keycloak role attributes, shared
 * directories, JupyterLab profiles, lint, and a collaboration authorizer for shared servers.
 *
 * @module
 */
export {
  BUILTIN_SCOPE_NAMES,
  CustomScopes,
  defineCustomScopes,
  isScope,
  scopeDefinition,
  scopeError,
  scopeNames,
  validateScopes,
} from './scopes.js'
export type {
  BuiltinScopeName,
  CustomScopeDefinition,
  CustomScopeInput,
  CustomScopeName,
  ExpandedScope,
  FilterKind,
  JupyterHubVersion,
  Scope,
  ScopeDefinition,
  ScopeName,
  ScopeOptions,
} from './scopes.js'
export { expandScopes, parseScopes, reduceScopes, scopeSet, unparseScopes } from './expand.js'
export type { ExpansionContext, OAuthClient, ParsedFilters, ParsedScopes, ScopeOwner, ScopeSet } from './expand.js'
export { checkScopeFilter, groupsFromMembership, hasScope, intersectScopes } from './check.js'
export type { GroupsOf, HasScopeOptions, HeldScopes, Intersection, ScopeResource } from './check.js'
export { checkTokenScopes, clientAccessScopes, entityScopes, identifyScopes, tokenScopes } from './tokens.js'
export type { ScopeEntity, TokenInput, TokenScopes } from './tokens.js'
export { defaultAccessScopes, endpointScopes, hubCheckScopes, needsScope, shareDecision } from './http.js'
export type { EndpointDecision, EndpointGuard, EndpointReason, HandlerArgs, HubRoute, ShareDecision, ShareReason } from './http.js'
export { defaultRoles, roleNameError, validateRoleName } from './roles.js'
export type { JupyterHubRoleDefinition } from './roles.js'
export { jupyterhubPrincipal, jupyterhubRoles, scopesFromRoleAttributes } from './nebari.js'
export type { JupyterHubAuthModel, JupyterHubPrincipal, JupyterHubRole, NebariJupyterHubOptions, RoleScopes } from './nebari.js'
export { profileSlugs, sharedDirectories, visibleProfiles } from './shared.js'
export type {
  NebariFlavour,
  ProfileDefinition,
  ProfileOptions,
  SharedDirectories,
  SharedDirectoryOptions,
  SharedMount,
  VisibleProfile,
} from './shared.js'
export {
  CustomScopeInvalidError,
  EmptyFilterValueError,
  JupyterHubUsageError,
  RoleNameInvalidError,
  ScopeNotFoundError,
  TokenScopesExceedOwnerError,
  UnexpandedFilterError,
} from './errors.js'
export { listAccess } from './list.js'
export type { ListAccess, ListEntry, ListKind, ListReason } from './list.js'
export { decideScope, filteredScope, scopeTargetUser, SCOPE_RESOURCE_KINDS } from './decide.js'
export type { DecideScopeOptions, ScopeDecision, ScopeDecisionReason } from './decide.js'
export { lintJupyterHubRoles } from './lint.js'
export type { JupyterHubLintOptions, LintRole } from './lint.js'
export {
  createCollaborationAuthorizer,
  DEFAULT_COLLABORATION_MAPPING,
  DEFAULT_COLLABORATION_SCOPES,
  JUPYTER_SERVER_ACTIONS,
  JUPYTER_SERVER_RESOURCES,
} from './collaboration.js'
export type {
  CollaborationAuthorizer,
  CollaborationMapping,
  CollaborationOptions,
  CollaborationReason,
  Collaborator,
  JupyterServerAction,
  JupyterServerResource,
  PermissionGrant,
} from './collaboration.js'
