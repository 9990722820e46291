/**
 * Binding sources and their merge (docs/semantics/conda-store.md §5): defaults < token < database, replaced per
 * exact ARN key, exactly as upstream's `get_entity_bindings`.
 *
 * @module
 */
import { InvalidOptionsError } from '../core/errors.js'
import type { RoleRef, RoleVia } from '../core/principal.js'

/**
 * Bindings: ARN → role names, e.g. `{ "analyst/*": ["developer"] }`.
 *
 * @example
 * ```ts
 * import type { RoleBindings } from 'keycloak-permissions/conda-store'
 * const b: RoleBindings = { 'analyst/*': ['developer'], 'alice/*': ['admin'] }
 * ```
 */
export type RoleBindings = Readonly<Record<string, readonly string[]>>

/**
 * Where a binding came from, for `explain()`: a Nebari login rule (with the Keycloak roles that
 * produced its role set), a Keycloak `scopes` attribute item, or something the caller supplied.
 *
 * @example
 * ```ts
 * import type { BindingOrigin } from 'keycloak-permissions/conda-store'
 * const o: BindingOrigin = { kind: 'keycloak-scope', role: { client: 'conda_store', name: 'ml-team-scopes' }, item: 'admin!namespace=ml', via: [] }
 * ```
 */
export type BindingOrigin =
  | {
      readonly kind: 'nebari-login'
      /** Which assignment of Nebari's `authenticate` produced the binding. */
      readonly rule: 'superadmin' | 'user-namespace' | 'default-namespace' | 'global-namespace' | 'group'
      /** The group (full path) for `rule: 'group'`. */
      readonly group?: string
      /** The Keycloak roles that produced the binding's roles, with why the user holds them. */
      readonly roles: readonly { readonly role: RoleRef; readonly via: readonly RoleVia[] }[]
    }
  | {
      readonly kind: 'keycloak-scope'
      readonly role: RoleRef
      /** The `scopes` item, verbatim. */
      readonly item: string
      readonly via: readonly RoleVia[]
    }
  | { readonly kind: 'supplied'; readonly label: string }

/**
 * The caller as conda-store sees it: a token's primary namespace, bindings and expiry.
 *
 * @example
 * ```ts
 * import type { CondaStoreEntity } from 'keycloak-permissions/conda-store'
 * const e: CondaStoreEntity = { primaryNamespace: 'alice', roleBindings: { 'alice/*': ['admin'] }, expiresAt: Date.UTC(2026, 0, 2) }
 * ```
 */
export interface CondaStoreEntity {
  readonly primaryNamespace: string
  readonly roleBindings: RoleBindings
  /** Token expiry (epoch ms or Date). */
  readonly expiresAt?: number | Date
  /** Provenance of token bindings, by ARN (for `explain`). */
  readonly origins?: Readonly<Record<string, readonly BindingOrigin[]>>
}

/**
 * A v2 role-mapping row (`namespace_role_mapping_v2`): grants the principal whose primary namespace
 * is `otherNamespace` the binding `namespace/*: [role]`. Tuple `[namespace, otherNamespace, role]` or
 * an object with an optional origin.
 *
 * @example
 * ```ts
 * import type { V2Row } from 'keycloak-permissions/conda-store'
 * const row: V2Row = ['analyst', 'alice', 'viewer'] // alice gets analyst/*: viewer
 * ```
 */
export type V2Row =
  | readonly [namespace: string, otherNamespace: string, role: string]
  | { readonly namespace: string; readonly otherNamespace: string; readonly role: string; readonly origin?: BindingOrigin }

/**
 * Database grants as conda-store stores them. `v1`: rows `[arn, role]` stored on a namespace (read
 * for entities whose primary namespace it is). `v2`: {@link V2Row}s. Only the table selected by
 * `roleMappingsVersion` is read; `editor` is stored as `developer`.
 *
 * @example
 * ```ts
 * import type { CondaStoreDatabase } from 'keycloak-permissions/conda-store'
 * const db: CondaStoreDatabase = { v2: [['analyst', 'alice', 'viewer']], v1: { alice: [['other/*', 'admin']] } }
 * ```
 */
export interface CondaStoreDatabase {
  readonly v1?: Readonly<Record<string, ReadonlyArray<readonly [arn: string, role: string]>>>
  readonly v2?: readonly V2Row[]
}

/**
 * One merged binding: its ARN, its roles (sorted), which source won the key, and what it replaced.
 *
 * @example
 * ```ts
 * import type { MergedBinding } from 'keycloak-permissions/conda-store'
 * const b: MergedBinding = { arn: 'analyst/*', roles: ['viewer'], source: 'database', origins: [], replaced: [{ source: 'token', roles: ['developer'] }] }
 * ```
 */
export interface MergedBinding {
  readonly arn: string
  readonly roles: readonly string[]
  readonly source: 'default' | 'token' | 'database'
  readonly origins: readonly BindingOrigin[]
  /** Earlier sources' roles for the same key, replaced (not unioned) by this one. */
  readonly replaced: readonly { readonly source: 'default' | 'token' | 'database'; readonly roles: readonly string[] }[]
}

/**
 * Options shared by the merge and the permission set (upstream trait names in parentheses).
 *
 * @example
 * ```ts
 * import { mergeBindings, type BindingOptions } from 'keycloak-permissions/conda-store'
 * const options: BindingOptions = { authenticatedRoleBindings: { 'default/*': ['viewer'] }, roleMappingsVersion: 2 }
 * mergeBindings({ primaryNamespace: 'alice', roleBindings: {} }, undefined, options)
 * ```
 */
export interface BindingOptions {
  /** (`authenticated_role_bindings`) default `{"default/*": ["viewer"], "filesystem/*": ["viewer"]}`. */
  readonly authenticatedRoleBindings?: RoleBindings
  /** (`unauthenticated_role_bindings`) default `{"default/*": ["viewer"]}`. */
  readonly unauthenticatedRoleBindings?: RoleBindings
  /** (`role_mappings_version`) which database table is read; default 1. */
  readonly roleMappingsVersion?: 1 | 2
}

/**
 * conda-store's default `authenticated_role_bindings`.
 *
 * @example
 * ```ts
 * import { DEFAULT_AUTHENTICATED_ROLE_BINDINGS } from 'keycloak-permissions/conda-store'
 * Object.keys(DEFAULT_AUTHENTICATED_ROLE_BINDINGS) // ['default/*', 'filesystem/*']
 * ```
 */
export const DEFAULT_AUTHENTICATED_ROLE_BINDINGS: RoleBindings = Object.freeze({ 'default/*': ['viewer'], 'filesystem/*': ['viewer'] })

/**
 * conda-store's default `unauthenticated_role_bindings`.
 *
 * @example
 * ```ts
 * import { DEFAULT_UNAUTHENTICATED_ROLE_BINDINGS } from 'keycloak-permissions/conda-store'
 * DEFAULT_UNAUTHENTICATED_ROLE_BINDINGS['default/*'] // ['viewer']
 * ```
 */
export const DEFAULT_UNAUTHENTICATED_ROLE_BINDINGS: RoleBindings = Object.freeze({ 'default/*': ['viewer'] })

/** @internal Validates a bindings-shaped option. */
export function validateBindings(value: unknown, option: string): RoleBindings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionsError(option, 'must be an object of ARN → role list')
  for (const [arn, roles] of Object.entries(value)) {
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw new InvalidOptionsError(`${option}[${JSON.stringify(arn)}]`, 'must be an array of role names')
    }
  }
  return value as RoleBindings
}

/** @internal Validated merge options. */
export interface ResolvedBindingOptions {
  readonly authenticatedRoleBindings: RoleBindings
  readonly unauthenticatedRoleBindings: RoleBindings
  readonly roleMappingsVersion: 1 | 2
}

/** @internal */
export function resolveBindingOptions(options: BindingOptions): ResolvedBindingOptions {
  const version = options.roleMappingsVersion ?? 1
  if (version !== 1 && version !== 2) {
    throw new InvalidOptionsError('roleMappingsVersion', `invalid role mappings version: ${String(version)}, expected: (1, 2)`)
  }
  return {
    authenticatedRoleBindings:
      options.authenticatedRoleBindings === undefined
        ? DEFAULT_AUTHENTICATED_ROLE_BINDINGS
        : validateBindings(options.authenticatedRoleBindings, 'authenticatedRoleBindings'),
    unauthenticatedRoleBindings:
      options.unauthenticatedRoleBindings === undefined
        ? DEFAULT_UNAUTHENTICATED_ROLE_BINDINGS
        : validateBindings(options.unauthenticatedRoleBindings, 'unauthenticatedRoleBindings'),
    roleMappingsVersion: version,
  }
}

const storedRole = (role: string) => (role === 'editor' ? 'developer' : role)

/** @internal The database bindings of one primary namespace, with origins. */
export function databaseBindings(
  primaryNamespace: string,
  database: CondaStoreDatabase | undefined,
  version: 1 | 2,
): Map<string, { roles: Set<string>; origins: BindingOrigin[] }> {
  const out = new Map<string, { roles: Set<string>; origins: BindingOrigin[] }>()
  const put = (arn: string, role: string, origin: BindingOrigin | undefined) => {
    let entry = out.get(arn)
    if (!entry) out.set(arn, (entry = { roles: new Set(), origins: [] }))
    entry.roles.add(storedRole(role))
    if (origin) entry.origins.push(origin)
  }
  if (database === undefined || primaryNamespace === '') return out
  if (version === 1) {
    const rows = database.v1 !== undefined && Object.hasOwn(database.v1, primaryNamespace) ? database.v1[primaryNamespace]! : []
    for (const [arn, role] of rows) put(arn, role, undefined)
  } else {
    for (const row of database.v2 ?? []) {
      const [namespace, other, role, origin] = Array.isArray(row)
        ? [row[0], row[1], row[2], undefined]
        : [(row as { namespace: string }).namespace, (row as { otherNamespace: string }).otherNamespace, (row as { role: string }).role, (row as { origin?: BindingOrigin }).origin]
      if (other === primaryNamespace) put(`${namespace}/*`, role, origin)
    }
  }
  return out
}

/**
 * Merges an entity's binding sources exactly as conda-store's `get_entity_bindings`: authenticated
 * defaults, then the token's bindings, then the database grants of its primary namespace, a later
 * source replacing an earlier one per exact ARN key; anonymous (`null`) gets the unauthenticated
 * defaults only. Roles are returned sorted; key order is first insertion.
 *
 * @example
 * ```ts
 * import { mergeBindings } from 'keycloak-permissions/conda-store'
 * const merged = mergeBindings({ primaryNamespace: 'alice', roleBindings: { 'analyst/*': ['developer'] } },
 *   { v2: [['analyst', 'alice', 'viewer']] }, { roleMappingsVersion: 2 })
 * merged.find((b) => b.arn === 'analyst/*')?.roles // ['viewer']
 * ```
 */
export function mergeBindings(entity: CondaStoreEntity | null, database?: CondaStoreDatabase, options: BindingOptions = {}): MergedBinding[] {
  return mergeResolved(entity, database, resolveBindingOptions(options))
}

/** @internal */
export function mergeResolved(entity: CondaStoreEntity | null, database: CondaStoreDatabase | undefined, options: ResolvedBindingOptions): MergedBinding[] {
  type Mutable = { arn: string; roles: readonly string[]; source: MergedBinding['source']; origins: readonly BindingOrigin[]; replaced: MergedBinding['replaced'][number][] }
  const out = new Map<string, Mutable>()
  const put = (arn: string, roles: Iterable<string>, source: MergedBinding['source'], origins: readonly BindingOrigin[]) => {
    const sorted = [...new Set(roles)].sort()
    const prev = out.get(arn)
    if (prev) {
      prev.replaced.push({ source: prev.source, roles: prev.roles })
      prev.roles = sorted
      prev.source = source
      prev.origins = origins
    } else out.set(arn, { arn, roles: sorted, source, origins, replaced: [] })
  }
  if (entity === null) {
    for (const [arn, roles] of Object.entries(options.unauthenticatedRoleBindings)) put(arn, roles, 'default', [])
    return [...out.values()]
  }
  for (const [arn, roles] of Object.entries(options.authenticatedRoleBindings)) put(arn, roles, 'default', [])
  for (const [arn, roles] of Object.entries(entity.roleBindings)) {
    const origins = entity.origins !== undefined && Object.hasOwn(entity.origins, arn) ? entity.origins[arn]! : []
    put(arn, roles, 'token', origins)
  }
  for (const [arn, { roles, origins }] of databaseBindings(entity.primaryNamespace, database, options.roleMappingsVersion)) {
    put(arn, roles, 'database', origins)
  }
  return [...out.values()]
}

/**
 * Merged bindings as a plain `{ arn: roles }` record (the shape of `entity_roles`).
 *
 * @example
 * ```ts
 * import { bindingsRecord, mergeBindings } from 'keycloak-permissions/conda-store'
 * bindingsRecord(mergeBindings(null)) // { 'default/*': ['viewer'] }
 * ```
 */
export function bindingsRecord(bindings: readonly MergedBinding[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const b of bindings) out[b.arn] = [...b.roles]
  return out
}
