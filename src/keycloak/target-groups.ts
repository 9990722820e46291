/**
 * The groups of *other* users, for checks whose answer depends on them (a JupyterHub `!group=`
 * filter on a `user=` or `server=` resource: is the target user in the group?). Looked up through
 * the same source — and, for `AdminApiSource`, the same cache — as principals, so a live answer
 * equals the realm-export answer.
 *
 * @module
 */
import { UserNotFoundError } from '../core/errors.js'
import { normalizeUsername, type ResolveOptions, type RoleSource } from './source.js'

/**
 * A synchronous group lookup over users fetched beforehand (the shape of `GroupsOf` in
 * `keycloak-permissions/jupyterhub`): a user that was not fetched, or does not exist, has no groups.
 *
 * @example
 * ```ts
 * import type { TargetGroups } from 'keycloak-permissions/keycloak'
 * const groupsOf: TargetGroups = (user) => (user === 'carol' ? ['/analyst'] : [])
 * ```
 */
export type TargetGroups = (username: string) => readonly string[]

/**
 * Resolves the groups of `usernames` through `source` (cached by `AdminApiSource`; in memory for a
 * realm export) and returns a synchronous lookup for a check such as JupyterHub's `hasScope(…, {
 * groupsOf })`. An unknown user has no groups (a `!group=` filter then does not match: default deny);
 * any other failure (Keycloak unreachable, missing rights) is thrown, never turned into "no groups".
 *
 * @throws `SourceUnavailableError` / `InsufficientPermissionsError` from the source
 * @example
 * ```ts
 * import { hasScope } from 'keycloak-permissions/jupyterhub'
 * import { targetGroups } from 'keycloak-permissions/keycloak'
 * const groupsOf = await targetGroups(source, ['carol'])     // the user the resource names
 * hasScope('read:users!user=carol', held, { groupsOf })      // held: 'read:users!group=/analyst'
 * ```
 */
export async function targetGroups(source: RoleSource, usernames: Iterable<string>, options?: ResolveOptions): Promise<TargetGroups> {
  const groups = new Map<string, readonly string[]>()
  await Promise.all(
    [...new Set([...usernames].map(normalizeUsername))].map(async (username) => {
      try {
        groups.set(username, (await source.resolve(username, options)).groups)
      } catch (err) {
        if (!(err instanceof UserNotFoundError)) throw err
      }
    }),
  )
  return (username) => groups.get(normalizeUsername(username)) ?? []
}
