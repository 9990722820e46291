/**
 * `keycloak-permissions/conda-store`: conda-store's permission model (roles → permissions, ARNs,
 * binding merge, effective permissions, listing, `/api/v1/permission/`, token minting), Nebari's
 * Keycloak layer (the `scopes` grammar and the login preset), a typed permission set with `can`,
 * `filterEnvironments` and `explain`, and a small REST client — so that "which environments can this
 * user use?" has an exact answer with a reason for each environment.
 *
 * @module
 */
export { CONDA_STORE_PERMISSIONS, DEFAULT_ROLE_MAPPINGS, permissionsForRoles } from './permissions.js'
export type { CondaStorePermission, CondaStoreRole, RoleMappings } from './permissions.js'
export { compileArn, isArnSubset, lintArn, upstreamArnRegex, upstreamArnSqlLike } from './arn.js'
export type { CompiledArn, LikeDialect } from './arn.js'
export { DEFAULT_AUTHENTICATED_ROLE_BINDINGS, DEFAULT_UNAUTHENTICATED_ROLE_BINDINGS, bindingsRecord, mergeBindings } from './bindings.js'
export type { BindingOptions, BindingOrigin, CondaStoreDatabase, CondaStoreEntity, MergedBinding, RoleBindings, V2Row } from './bindings.js'
export { CondaStorePermissions } from './permission-set.js'
export type {
  CondaStoreDecision,
  CondaStoreOptions,
  CondaStoreReason,
  CondaStoreResource,
  EffectiveBinding,
  EnvironmentAccess,
  EnvironmentLike,
  FilterOptions,
  PermissionResponse,
  TokenRequest,
} from './permission-set.js'
export { condaStorePermissionsFor, highestRolePerNamespace, lintCondaStoreRoles, nebariJhubAppsRoleBindings, nebariLogin, parseNebariScopes } from './nebari.js'
export type { NebariLogin, NebariOptions, NebariScopeGrant, NebariScopeItemProblem, ParsedNebariScopes } from './nebari.js'
export { CondaStoreClient, environmentsForUser } from './client.js'
export { listingBindings, parseEnvironmentPage } from './listing.js'
export type { ListedEnvironment } from './listing.js'
export type { CondaStoreClientOptions, CondaStoreEnvironment, EnvironmentQuery, UserEnvironments } from './client.js'
export { CondaArnInvalidError, CondaRoleError, CondaStoreResponseError } from './errors.js'
