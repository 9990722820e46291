/**
 * JupyterHub's default roles (docs/semantics/jupyterhub.md §15) and role-name rule (§16).
 *
 * @module
 */
import { RoleNameInvalidError } from './errors.js'
import { pyRepr } from './pyrepr.js'
import type { Scope } from './scopes.js'

// `^[a-z][a-z0-9\-_~\.]{1,253}[a-z0-9]$` with Python `$` (a single trailing "\n" also matches).
const ROLE_NAME = /^[a-z][a-z0-9\-_~.]{1,253}[a-z0-9]\n?$/

/**
 * JupyterHub's `InvalidNameError` for a role name, or undefined when the name is valid.
 *
 * @example
 * ```ts
 * import { roleNameError } from 'keycloak-permissions/jupyterhub'
 * roleNameError('allow-app-sharing-role') // undefined
 * roleNameError('Team Leads')?.message     // "Invalid role name: 'Team Leads'. Role names must:\n - be 3-255 characters\n…"
 * ```
 */
export function roleNameError(name: string): RoleNameInvalidError | undefined {
  if (ROLE_NAME.test(name)) return undefined
  return new RoleNameInvalidError(
    name,
    `Invalid role name: ${pyRepr(name)}. Role names must:\n` +
      ' - be 3-255 characters\n' +
      " - contain only lowercase ascii letters, numbers, and URL unreserved special characters '-.~_'\n" +
      ' - start with a letter\n' +
      ' - end with letter or number\n',
  )
}

/**
 * Throws {@link RoleNameInvalidError} (JupyterHub's exact message) unless `name` is a valid
 * JupyterHub role name.
 *
 * @example
 * ```ts
 * import { validateRoleName } from 'keycloak-permissions/jupyterhub'
 * validateRoleName('jupyterhub_admin') // ok
 * ```
 */
export function validateRoleName(name: string): void {
  const error = roleNameError(name)
  if (error) throw error
}

/**
 * One JupyterHub role definition.
 *
 * @example
 * ```ts
 * import type { JupyterHubRoleDefinition } from 'keycloak-permissions/jupyterhub'
 * const r: JupyterHubRoleDefinition = { name: 'user', description: 'Standard user privileges', scopes: ['self'] }
 * ```
 */
export interface JupyterHubRoleDefinition {
  readonly name: string
  readonly description: string
  readonly scopes: readonly Scope[]
}

const ADMIN_SCOPES: readonly Scope[] = [
  'admin-ui', 'admin:users', 'admin:servers', 'admin:services', 'tokens', 'admin:groups', 'list:services',
  'read:services', 'read:hub', 'proxy', 'shutdown', 'access:services', 'access:servers', 'read:roles',
  'read:metrics', 'shares',
]

/**
 * `roles.get_default_roles()` (identical in 5.x and 6.0): `user`, `admin`, `server`, `token`.
 * `extraUserScopes` = `c.JupyterHub.extra_user_scopes`.
 *
 * @example
 * ```ts
 * import { defaultRoles } from 'keycloak-permissions/jupyterhub'
 * defaultRoles().find((r) => r.name === 'server')?.scopes // ['users:activity!user', 'access:servers!server']
 * ```
 */
export function defaultRoles(options: { readonly extraUserScopes?: readonly Scope[] } = {}): JupyterHubRoleDefinition[] {
  return [
    { name: 'user', description: 'Standard user privileges', scopes: ['self', ...(options.extraUserScopes ?? [])] },
    { name: 'admin', description: 'Elevated privileges (can do anything)', scopes: [...ADMIN_SCOPES] },
    { name: 'server', description: 'Post activity only', scopes: ['users:activity!user', 'access:servers!server'] },
    { name: 'token', description: 'Token with same permissions as its owner', scopes: ['inherit'] },
  ]
}
