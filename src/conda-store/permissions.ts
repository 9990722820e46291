/**
 * conda-store roles and permissions (docs/semantics/conda-store.md §2): the verbatim permission strings, the
 * default role mappings, and role → permission conversion as a bit mask.
 *
 * @module
 */
import { InvalidOptionsError } from '../core/errors.js'
import { CondaRoleError } from './errors.js'

/**
 * Every conda-store permission, verbatim (`Permissions` enum values), sorted by code unit. Note the
 * upstream wire value `environment:create` with a single colon.
 *
 * @example
 * ```ts
 * import { CONDA_STORE_PERMISSIONS } from 'keycloak-permissions/conda-store'
 * CONDA_STORE_PERMISSIONS.length // 17
 * ```
 */
export const CONDA_STORE_PERMISSIONS = [
  'build::cancel',
  'build::delete',
  'environment::delete',
  'environment::read',
  'environment::solve',
  'environment::update',
  'environment:create',
  'namespace-role-mapping::create',
  'namespace-role-mapping::delete',
  'namespace-role-mapping::read',
  'namespace-role-mapping::update',
  'namespace::create',
  'namespace::delete',
  'namespace::read',
  'namespace::update',
  'setting::read',
  'setting::update',
] as const

/**
 * A conda-store permission string.
 *
 * @example
 * ```ts
 * import type { CondaStorePermission } from 'keycloak-permissions/conda-store'
 * const p: CondaStorePermission = 'environment::read'
 * ```
 */
export type CondaStorePermission = (typeof CONDA_STORE_PERMISSIONS)[number]

/**
 * A role that may appear inside a binding.
 *
 * @example
 * ```ts
 * import type { CondaStoreRole } from 'keycloak-permissions/conda-store'
 * const r: CondaStoreRole = 'developer'
 * ```
 */
export type CondaStoreRole = 'viewer' | 'developer' | 'admin'

/**
 * The `roleMappings` option (upstream `role_mappings`): role → permission strings. Keys `viewer`,
 * `admin`, and `editor` or the legacy `developer` (a non-empty `editor` wins).
 *
 * @example
 * ```ts
 * import type { RoleMappings } from 'keycloak-permissions/conda-store'
 * const readOnly: RoleMappings = { viewer: ['environment::read'], editor: ['environment::read'], admin: ['environment::read'] }
 * ```
 */
export type RoleMappings = Readonly<Partial<Record<'viewer' | 'editor' | 'developer' | 'admin', readonly CondaStorePermission[]>>>

const VIEWER: readonly CondaStorePermission[] = ['environment::read', 'namespace::read', 'namespace-role-mapping::read']
const EDITOR: readonly CondaStorePermission[] = [
  ...VIEWER,
  'environment:create',
  'environment::update',
  'environment::solve',
  'build::cancel',
  'setting::read',
]
const ADMIN: readonly CondaStorePermission[] = [
  ...EDITOR,
  'environment::delete',
  'build::delete',
  'namespace::create',
  'namespace::update',
  'namespace::delete',
  'namespace-role-mapping::create',
  'namespace-role-mapping::update',
  'namespace-role-mapping::delete',
  'setting::update',
]

/**
 * conda-store's default role mappings (viewer 3, editor/developer 8, admin 17 permissions).
 *
 * @example
 * ```ts
 * import { DEFAULT_ROLE_MAPPINGS } from 'keycloak-permissions/conda-store'
 * DEFAULT_ROLE_MAPPINGS.admin?.length // 17
 * ```
 */
export const DEFAULT_ROLE_MAPPINGS: RoleMappings = Object.freeze({ viewer: VIEWER, editor: EDITOR, admin: ADMIN })

const BIT = new Map<string, number>(CONDA_STORE_PERMISSIONS.map((p, i) => [p, 1 << i]))

/** @internal Bit of one permission; undefined for a string that is not a permission. */
export function permissionBit(permission: string): number | undefined {
  return BIT.get(permission)
}

/** @internal The permissions of a mask, sorted by code unit. */
export function maskToPermissions(mask: number): CondaStorePermission[] {
  const out: CondaStorePermission[] = []
  for (let i = 0; i < CONDA_STORE_PERMISSIONS.length; i++) if (mask & (1 << i)) out.push(CONDA_STORE_PERMISSIONS[i]!)
  return out
}

/** @internal Role → mask, validated once. */
export interface CompiledRoleMappings {
  readonly viewer: number
  readonly developer: number
  readonly admin: number
}

function maskOf(list: readonly string[], option: string): number {
  let mask = 0
  list.forEach((p, i) => {
    const bit = BIT.get(p)
    if (bit === undefined) throw new InvalidOptionsError(`${option}[${i}]`, `${JSON.stringify(p)} is not a conda-store permission`)
    mask |= bit
  })
  return mask
}

/** @internal Validates the `roleMappings` option eagerly. */
export function compileRoleMappings(mappings: RoleMappings | undefined, option = 'roleMappings'): CompiledRoleMappings {
  const m = mappings ?? DEFAULT_ROLE_MAPPINGS
  if (typeof m !== 'object' || m === null) throw new InvalidOptionsError(option, 'must be an object')
  for (const key of Object.keys(m)) {
    if (!['viewer', 'editor', 'developer', 'admin'].includes(key)) {
      throw new InvalidOptionsError(`${option}.${key}`, 'unknown role; keys are viewer, editor (or legacy developer), admin')
    }
    if (!Array.isArray((m as Record<string, unknown>)[key])) throw new InvalidOptionsError(`${option}.${key}`, 'must be an array of permission strings')
  }
  if (m.viewer === undefined) throw new InvalidOptionsError(`${option}.viewer`, 'is required')
  if (m.admin === undefined) throw new InvalidOptionsError(`${option}.admin`, 'is required')
  // Upstream: role_mappings.get("editor") or role_mappings["developer"] — an empty editor set falls back.
  const editor = m.editor !== undefined && m.editor.length > 0 ? m.editor : m.developer
  if (editor === undefined) {
    throw new InvalidOptionsError(`${option}.editor`, 'is required (or a legacy developer key) when editor is missing or empty')
  }
  return {
    viewer: maskOf(m.viewer, `${option}.viewer`),
    developer: maskOf(editor, m.editor !== undefined && m.editor.length > 0 ? `${option}.editor` : `${option}.developer`),
    admin: maskOf(m.admin, `${option}.admin`),
  }
}

/** @internal Role names → mask; throws {@link CondaRoleError} for `editor` or an unknown role. */
export function rolesToMask(roles: Iterable<string>, mappings: CompiledRoleMappings, arn?: string): number {
  let mask = 0
  for (const role of roles) {
    if (role === 'viewer') mask |= mappings.viewer
    else if (role === 'developer') mask |= mappings.developer
    else if (role === 'admin') mask |= mappings.admin
    else throw new CondaRoleError(role, arn)
  }
  return mask
}

const DEFAULT_COMPILED = compileRoleMappings(undefined)

/**
 * The permissions of a set of binding roles (upstream `convert_roles_to_permissions`), sorted by code
 * unit. Throws {@link CondaRoleError} for `editor` or an unknown role; `roleMappings` is validated
 * eagerly ({@link InvalidOptionsError}).
 *
 * @example
 * ```ts
 * import { permissionsForRoles } from 'keycloak-permissions/conda-store'
 * permissionsForRoles(['viewer']) // ['environment::read', 'namespace-role-mapping::read', 'namespace::read']
 * ```
 */
export function permissionsForRoles(roles: Iterable<string>, options: { roleMappings?: RoleMappings } = {}): CondaStorePermission[] {
  const mappings = options.roleMappings === undefined ? DEFAULT_COMPILED : compileRoleMappings(options.roleMappings)
  return maskToPermissions(rolesToMask(roles, mappings))
}

/** @internal The role order used by "highest role wins" (conda-store itself has none). */
export const ROLE_RANK: Readonly<Record<CondaStoreRole, number>> = { viewer: 1, developer: 2, admin: 3 }
