/**
 * Typed errors of the conda-store component. Each carries a stable `code` (docs/semantics/conda-store.md §12) and
 * the offending value as a field.
 *
 * @module
 */
import { KeycloakPermissionsError } from '../core/errors.js'

/**
 * A binding pattern breaks the ARN grammar (`NAMESPACE/NAME`, one `/`, both parts non-empty, only
 * `A-Za-z0-9-+_@$&?^~.=` and `*`).
 *
 * @example
 * ```ts
 * import { CondaArnInvalidError, compileArn } from 'keycloak-permissions/conda-store'
 * try { compileArn('a/b/c') } catch (err) {
 *   if (err instanceof CondaArnInvalidError) console.error(err.code, err.arn) // CONDA_ARN_INVALID a/b/c
 * }
 * ```
 */
export class CondaArnInvalidError extends KeycloakPermissionsError {
  static override code = 'CONDA_ARN_INVALID'
  override readonly code = CondaArnInvalidError.code
  /** The rejected pattern. */
  readonly arn: string

  constructor(arn: string) {
    super(`invalid arn=${arn}`)
    this.arn = arn
  }
}

/**
 * A role inside a binding cannot be converted to permissions: `editor`
 * (`CONDA_ROLE_EDITOR_IN_BINDING`) or a name missing from the role mappings (`CONDA_ROLE_UNKNOWN`).
 *
 * @example
 * ```ts
 * import { CondaRoleError, permissionsForRoles } from 'keycloak-permissions/conda-store'
 * try { permissionsForRoles(['superuser']) } catch (err) {
 *   if (err instanceof CondaRoleError) console.error(err.code, err.role) // CONDA_ROLE_UNKNOWN superuser
 * }
 * ```
 */
export class CondaRoleError extends KeycloakPermissionsError {
  static override code = 'CONDA_ROLE_UNKNOWN'
  override readonly code: 'CONDA_ROLE_UNKNOWN' | 'CONDA_ROLE_EDITOR_IN_BINDING'
  /** The rejected role name. */
  readonly role: string
  /** The binding (ARN) holding the role, when known. */
  readonly arn: string | undefined

  constructor(role: string, arn?: string) {
    const editor = role === 'editor'
    super(
      editor
        ? `role must never be 'editor' in a binding${arn === undefined ? '' : ` (binding ${arn})`}; use 'developer'`
        : `unknown conda-store role ${JSON.stringify(role)}${arn === undefined ? '' : ` in binding ${arn}`}; expected viewer, developer or admin`,
    )
    this.code = editor ? 'CONDA_ROLE_EDITOR_IN_BINDING' : 'CONDA_ROLE_UNKNOWN'
    this.role = role
    this.arn = arn
  }
}

/**
 * A conda-store server answered with something that is not a conda-store response (wrong shape, not
 * JSON, an HTML login page), or with a conda-store error (`{"status": "error", "message": …}`).
 * `status` is the HTTP status; `url` the request URL; `serverMessage` conda-store's own message.
 *
 * @example
 * ```ts
 * import { CondaStoreResponseError } from 'keycloak-permissions/conda-store'
 * try { await client.listEnvironments() } catch (err) {
 *   if (err instanceof CondaStoreResponseError) console.error(err.status, err.url, err.serverMessage)
 * }
 * ```
 */
export class CondaStoreResponseError extends KeycloakPermissionsError {
  static override code = 'CONDA_STORE_BAD_RESPONSE'
  override readonly code: 'CONDA_STORE_BAD_RESPONSE' | 'CONDA_STORE_ERROR_RESPONSE'
  readonly url: string
  readonly status: number
  /** conda-store's `message` for an error response; undefined for a non-conda-store response. */
  readonly serverMessage: string | undefined

  constructor(url: string, status: number, problem: string, serverMessage?: string, options?: { cause?: unknown }) {
    super(`conda-store ${url} (HTTP ${status}): ${problem}`, options)
    this.code = serverMessage === undefined ? 'CONDA_STORE_BAD_RESPONSE' : 'CONDA_STORE_ERROR_RESPONSE'
    this.url = url
    this.status = status
    this.serverMessage = serverMessage
  }
}
