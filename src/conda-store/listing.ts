/**
 * Environment listings: reading a conda-store `GET /api/v1/environment/` page (a saved file or a
 * response body), and which namespace bindings let a user read environments (docs/semantics/conda-store.md §7).
 *
 * @module
 */
import * as z from 'zod'
import { InvalidInputError } from '../core/errors.js'
import type { CondaStorePermissions, EffectiveBinding } from './permission-set.js'

// Only what a listing needs is required: saved pages are often trimmed by hand; other fields are kept.
const listedEnvironmentSchema = z.looseObject({ name: z.string(), namespace: z.looseObject({ name: z.string() }) })
const listedPageSchema = z.looseObject({ data: z.array(listedEnvironmentSchema) })

/**
 * One environment of a listing page: its name and its namespace object, with every other field the
 * page had (`id`, `current_build_id`, …) kept as is.
 *
 * @example
 * ```ts
 * import type { ListedEnvironment } from 'keycloak-permissions/conda-store'
 * const label = (e: ListedEnvironment) => `${e.namespace.name}/${e.name}`
 * ```
 */
export interface ListedEnvironment {
  readonly name: string
  readonly namespace: { readonly name: string; readonly [key: string]: unknown }
  readonly [key: string]: unknown
}

/**
 * Reads the environments of a conda-store `GET /api/v1/environment/` page (`{ status, data, page,
 * size, count }`; only `data[].name` and `data[].namespace.name` are required). Throws
 * {@link InvalidInputError} naming the first offending path.
 *
 * @example
 * ```ts
 * import { parseEnvironmentPage } from 'keycloak-permissions/conda-store'
 * const page = JSON.parse(readFileSync('environments.json', 'utf8'))
 * parseEnvironmentPage(page).map((e) => `${e.namespace.name}/${e.name}`) // ['default/python-3.12', …]
 * ```
 */
export function parseEnvironmentPage(page: unknown): ListedEnvironment[] {
  const parsed = listedPageSchema.safeParse(page)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new InvalidInputError('environment list (a conda-store GET /api/v1/environment/ page)', issue.path.join('.'), issue.message)
  }
  return parsed.data.data as ListedEnvironment[]
}

/**
 * The namespace bindings behind a listing answer (D4): `readable` (default) — the bindings whose roles
 * give `environment::read`, i.e. the namespace patterns whose environments the user can use;
 * `listed` — every binding (conda-store lists an environment under any binding, whatever its roles).
 *
 * @example
 * ```ts
 * import { condaStorePermissionsFor, listingBindings } from 'keycloak-permissions/conda-store'
 * const perms = condaStorePermissionsFor(principal)
 * listingBindings(perms).map((b) => b.arn)                          // ['alice/*', 'analyst/*', 'global/*', …]
 * listingBindings(perms, { visibility: 'listed' }).length >= listingBindings(perms).length // true
 * ```
 */
export function listingBindings(permissions: CondaStorePermissions, options: { readonly visibility?: 'readable' | 'listed' } = {}): EffectiveBinding[] {
  if (options.visibility === 'listed') return [...permissions.bindings]
  // The binding's own permissions: they follow the set's role mappings, not the defaults.
  return permissions.bindings.filter((b) => b.permissions.includes('environment::read'))
}
