/**
 * Typed errors of the `jupyterhub` component. Each has a stable `code`; where JupyterHub's own
 * message is the contract (validation, custom scopes, role names — docs/semantics/jupyterhub.md §5, §14, §16) the
 * `message` is JupyterHub's text exactly.
 *
 * @module
 */
import { KeycloakPermissionsError } from '../core/errors.js'

/**
 * A scope (or its filter) is not defined: JupyterHub's `ScopeNotFound`. `message` is JupyterHub's
 * text, e.g. `Scope 'read:user'  does not exist` (two spaces when no `whoFor` is given).
 *
 * @example
 * ```ts
 * import { validateScopes, ScopeNotFoundError } from 'keycloak-permissions/jupyterhub'
 * try { validateScopes(['read:user']) } catch (err) {
 *   if (err instanceof ScopeNotFoundError) console.error(err.scope, err.message)
 * }
 * ```
 */
export class ScopeNotFoundError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_SCOPE_NOT_FOUND'
  override readonly code = ScopeNotFoundError.code
  /** The offending scope string, verbatim. */
  readonly scope: string

  constructor(scope: string, message: string) {
    super(message)
    this.scope = scope
  }
}

/**
 * A filter has no value (`read:users!user=`) or is a bare, unexpanded `!user`/`!service`/`!server`
 * reaching parsing: `Empty string is not a valid filter: {scope}`.
 *
 * @example
 * ```ts
 * import { parseScopes, EmptyFilterValueError } from 'keycloak-permissions/jupyterhub'
 * try { parseScopes(['read:users!user=']) } catch (err) {
 *   if (err instanceof EmptyFilterValueError) console.error(err.scope)
 * }
 * ```
 */
export class EmptyFilterValueError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_EMPTY_FILTER_VALUE'
  override readonly code = EmptyFilterValueError.code
  readonly scope: string

  constructor(scope: string) {
    super(`Empty string is not a valid filter: ${scope}`)
    this.scope = scope
  }
}

/**
 * A check was asked with a bare filter (`read:users!user`): checks need expanded scopes.
 *
 * @example
 * ```ts
 * import { UnexpandedFilterError } from 'keycloak-permissions/jupyterhub'
 * new UnexpandedFilterError('read:users!user').message
 * // 'Unexpanded scope filter read:users!user not allowed. Use expanded scopes.'
 * ```
 */
export class UnexpandedFilterError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_UNEXPANDED_FILTER'
  override readonly code = UnexpandedFilterError.code
  readonly scope: string

  constructor(scope: string) {
    super(`Unexpanded scope filter ${scope} not allowed. Use expanded scopes.`)
    this.scope = scope
  }
}

/**
 * A token requested scopes its owner does not hold (JupyterHub's token-creation check).
 * `excess` lists them, sorted; the message joins them with `,`.
 *
 * @example
 * ```ts
 * import { TokenScopesExceedOwnerError } from 'keycloak-permissions/jupyterhub'
 * const err = new TokenScopesExceedOwnerError(['admin:users'], { kind: 'user', name: 'alice' })
 * err.message // 'Not assigning requested scopes admin:users not held by User alice'
 * ```
 */
export class TokenScopesExceedOwnerError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_TOKEN_SCOPES_EXCEED_OWNER'
  override readonly code = TokenScopesExceedOwnerError.code
  readonly excess: readonly string[]
  readonly owner: { readonly kind: 'user' | 'service'; readonly name: string }

  constructor(excess: readonly string[], owner: { readonly kind: 'user' | 'service'; readonly name: string }) {
    const sorted = [...excess].sort()
    super(`Not assigning requested scopes ${sorted.join(',')} not held by ${owner.kind === 'user' ? 'User' : 'Service'} ${owner.name}`)
    this.excess = sorted
    this.owner = { kind: owner.kind, name: owner.name }
  }
}

/**
 * A custom-scope definition is invalid (`define_custom_scopes`); `message` is JupyterHub's text.
 *
 * @example
 * ```ts
 * import { defineCustomScopes, CustomScopeInvalidError } from 'keycloak-permissions/jupyterhub'
 * try { defineCustomScopes({ 'custom:Grades': { description: 'x' } }) } catch (err) {
 *   if (err instanceof CustomScopeInvalidError) console.error(err.scope)
 * }
 * ```
 */
export class CustomScopeInvalidError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_CUSTOM_SCOPE_INVALID'
  override readonly code = CustomScopeInvalidError.code
  readonly scope: string

  constructor(scope: string, message: string) {
    super(message)
    this.scope = scope
  }
}

/**
 * A role name breaks JupyterHub's rule (`InvalidNameError`); `message` is JupyterHub's text
 * (ending with a newline).
 *
 * @example
 * ```ts
 * import { validateRoleName, RoleNameInvalidError } from 'keycloak-permissions/jupyterhub'
 * try { validateRoleName('Team Leads') } catch (err) {
 *   if (err instanceof RoleNameInvalidError) console.error(err.roleName)
 * }
 * ```
 */
export class RoleNameInvalidError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_ROLE_NAME_INVALID'
  override readonly code = RoleNameInvalidError.code
  readonly roleName: string

  constructor(roleName: string, message: string) {
    super(message)
    this.roleName = roleName
  }
}

/**
 * A JupyterHub check was called with arguments JupyterHub itself refuses (e.g. two resources on one
 * endpoint, `postFilter` with a filtered scope, a server not written `user/name`).
 *
 * @example
 * ```ts
 * import { JupyterHubUsageError } from 'keycloak-permissions/jupyterhub'
 * new JupyterHubUsageError('post_filter=True only allowed for unfiltered scopes').code // 'JUPYTERHUB_USAGE'
 * ```
 */
export class JupyterHubUsageError extends KeycloakPermissionsError {
  static override code = 'JUPYTERHUB_USAGE'
  override readonly code = JupyterHubUsageError.code
}
