/**
 * JupyterHub's list endpoints (`GET /users`, `GET /groups`, `GET /services`): which entries a holder
 * of `list:*` scopes sees, and the 403 upstream answers for a filter of the wrong kind
 * (`list:users!server=…`, `list:groups!user=…`). Filtering is one predicate per entry, so a list can
 * never include what the predicate refuses. See docs/semantics/upstream-parity.md.
 *
 * @module
 */
import { allow, deny, type Decision } from '../core/decision.js'
import { InvalidOptionsError } from '../core/errors.js'
import type { HeldScopes } from './check.js'
import type { ParsedScopes } from './expand.js'

/**
 * The list endpoints: `users` (`list:users`), `groups` (`list:groups`), `services` (`list:services`).
 *
 * @example
 * ```ts
 * import type { ListKind } from 'keycloak-permissions/jupyterhub'
 * const kind: ListKind = 'users'
 * ```
 */
export type ListKind = 'users' | 'groups' | 'services'

/**
 * One entry of a list: its name and, for users, its groups (JupyterHub group names).
 *
 * @example
 * ```ts
 * import type { ListEntry } from 'keycloak-permissions/jupyterhub'
 * const alice: ListEntry = { name: 'alice', groups: ['/analyst'] }
 * ```
 */
export interface ListEntry {
  readonly name: string
  readonly groups?: readonly string[]
}

/**
 * Reasons of a {@link ListAccess}: everything, a filtered subset, the scope is missing (403 with
 * `needs_scope`'s message) or a filter of a kind the endpoint cannot apply (403 `Forbidden`).
 *
 * @example
 * ```ts
 * import type { ListReason } from 'keycloak-permissions/jupyterhub'
 * const r: ListReason = 'INVALID_LIST_FILTER'
 * ```
 */
export type ListReason = 'LIST_ALL' | 'LIST_FILTERED' | 'SCOPE_MISSING' | 'INVALID_LIST_FILTER'

/**
 * The answer of a list endpoint: the HTTP status upstream gives (200 or 403), its message for a 403,
 * and `includes()` — the one predicate every listed entry passed (always false on a 403).
 *
 * @example
 * ```ts
 * import { expandScopes, listAccess } from 'keycloak-permissions/jupyterhub'
 * const access = listAccess('users', expandScopes(['list:users!group=/analyst']))
 * access.includes({ name: 'alice', groups: ['/analyst'] }) // true
 * ```
 */
export type ListAccess = Decision<ListReason> & {
  readonly status: 200 | 403
  readonly message?: string
  /** Whether the entry is in the list (false for every entry on a 403). */
  includes(entry: ListEntry): boolean
  /** The entries of `entries` that are in the list, in input order. */
  filter<T extends ListEntry>(entries: Iterable<T>): T[]
}

const SCOPE: Record<ListKind, string> = { users: 'list:users', groups: 'list:groups', services: 'list:services' }
/** Filter kinds each handler applies; any other kind makes upstream's users and groups handlers answer 403. */
const VALID_FILTERS: Record<ListKind, ReadonlySet<string> | undefined> = {
  users: new Set(['user', 'group']),
  groups: new Set(['group']),
  // The services handler checks no filter kind: entries outside `!service=` are simply not listed.
  services: undefined,
}

function access(allowed: boolean, reason: ListReason, status: 200 | 403, message: string | undefined, includes: (e: ListEntry) => boolean): ListAccess {
  const trace = [{ kind: 'scope', label: reason }]
  const base = allowed ? allow(reason, trace) : deny(reason, trace)
  const filter = <T extends ListEntry>(entries: Iterable<T>): T[] => {
    const out: T[] = []
    for (const e of entries) if (includes(e)) out.push(e)
    return out
  }
  return Object.freeze({ ...base, status, ...(message === undefined ? {} : { message }), includes, filter })
}

/**
 * What JupyterHub's list handler for `kind` answers to a holder of `held` (`UserListAPIHandler`,
 * `GroupListAPIHandler`, `ServiceListAPIHandler`): without any `list:*` holding, 403 `Action is not
 * authorized with current scopes; requires any of [list:users]`; an unfiltered holding lists
 * everything; a filtered one lists the named entries (users also by group membership). A filter
 * kind the handler cannot apply (`list:users!server=…`, `list:groups!user=…`) is a 403 `Forbidden`,
 * as upstream, rather than an empty list.
 *
 * @example
 * ```ts
 * import { expandScopes, listAccess } from 'keycloak-permissions/jupyterhub'
 * listAccess('groups', expandScopes(['list:groups!user=alice'])).status // 403
 * listAccess('groups', expandScopes(['list:groups!group=ml'])).filter([{ name: 'ml' }, { name: 'hr' }]) // [{ name: 'ml' }]
 * ```
 */
export function listAccess(kind: ListKind, held: HeldScopes): ListAccess {
  if (!Object.hasOwn(SCOPE, kind)) throw new InvalidOptionsError('kind', "must be 'users', 'groups' or 'services'")
  const parsed: ParsedScopes = 'parsed' in held ? held.parsed : held
  const scope = SCOPE[kind]
  const entry = parsed.get(scope)
  if (entry === undefined) {
    return access(false, 'SCOPE_MISSING', 403, `Action is not authorized with current scopes; requires any of [${scope}]`, () => false)
  }
  if (entry === 'ALL') return access(true, 'LIST_ALL', 200, undefined, () => true)
  const valid = VALID_FILTERS[kind]
  if (valid && [...entry.keys()].some((k) => !valid.has(k))) {
    // Upstream logs "Invalid filter on list:…" and raises HTTPError(403) without a message.
    return access(false, 'INVALID_LIST_FILTER', 403, 'Forbidden', () => false)
  }
  const names = entry.get(kind === 'users' ? 'user' : kind === 'groups' ? 'group' : 'service')
  const groups = kind === 'users' ? entry.get('group') : undefined
  return access(true, 'LIST_FILTERED', 200, undefined, (e) => {
    if (names?.has(e.name)) return true
    if (groups) for (const g of e.groups ?? []) if (groups.has(g)) return true
    return false
  })
}
