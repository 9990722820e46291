/**
 * Access checks on expanded scopes: `has_scope` (docs/semantics/jupyterhub.md §7), the resource-object check
 * `check_scope_filter` (§8) and intersection (§9).
 *
 * @module
 */
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { JupyterHubUsageError, UnexpandedFilterError } from './errors.js'
import { parseScopes, unparseScopes, type ParsedFilters, type ParsedScopes, type ScopeSet } from './expand.js'
import type { ExpandedScope } from './scopes.js'
import { pyRepr } from './pyrepr.js'

/**
 * The current groups of a user (JupyterHub group names: Keycloak full paths under Nebari). This plays
 * JupyterHub's database in group-filter checks; answers depending on it are never cached.
 *
 * @example
 * ```ts
 * import type { GroupsOf } from 'keycloak-permissions/jupyterhub'
 * const groupsOf: GroupsOf = (user) => (user === 'alice' ? ['/analyst'] : [])
 * ```
 */
export type GroupsOf = (username: string) => Iterable<string>

/**
 * Builds a {@link GroupsOf} from a group → members table.
 *
 * @example
 * ```ts
 * import { groupsFromMembership } from 'keycloak-permissions/jupyterhub'
 * const groupsOf = groupsFromMembership({ '/analyst': ['alice', 'carol'] })
 * [...groupsOf('alice')] // ['/analyst']
 * ```
 */
export function groupsFromMembership(membership: Readonly<Record<string, readonly string[]>>): GroupsOf {
  const byUser = new Map<string, string[]>()
  for (const [group, members] of Object.entries(membership)) {
    for (const member of members) {
      let list = byUser.get(member)
      if (!list) byUser.set(member, (list = []))
      list.push(group)
    }
  }
  return (user) => byUser.get(user) ?? []
}

/**
 * Held scopes: an expanded {@link ScopeSet} or its parsed form.
 *
 * @example
 * ```ts
 * import { expandScopes, type HeldScopes } from 'keycloak-permissions/jupyterhub'
 * const held: HeldScopes = expandScopes(['read:users!group=/analyst'])
 * ```
 */
export type HeldScopes = ScopeSet | ParsedScopes

function parsedOf(held: HeldScopes): ParsedScopes {
  return 'parsed' in held ? held.parsed : held
}

function partition(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep)
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)]
}

function anyIn(values: Iterable<string>, set: ReadonlySet<string> | undefined): boolean {
  if (!set) return false
  for (const v of values) if (set.has(v)) return true
  return false
}

/**
 * Options of {@link hasScope}.
 *
 * @example
 * ```ts
 * import type { HasScopeOptions } from 'keycloak-permissions/jupyterhub'
 * const o: HasScopeOptions = { groupsOf: () => ['/analyst'] }
 * ```
 */
export interface HasScopeOptions {
  /** "Some access" for an unfiltered request: the caller filters results itself. */
  readonly postFilter?: boolean
  /** Group lookup for `!group=` holdings; without it group filters grant nothing to users/servers. */
  readonly groupsOf?: GroupsOf
}

/**
 * JupyterHub's core predicate `has_scope`: may the holder act with `scope` (an expanded scope,
 * optionally filtered to one resource)? `!user=U` held grants `!server=U/…`; `!group=G` held grants
 * G's current members and their servers (needs `groupsOf`); services match exactly. Throws
 * {@link UnexpandedFilterError} for a bare filter in `scope`.
 *
 * @example
 * ```ts
 * import { expandScopes, hasScope } from 'keycloak-permissions/jupyterhub'
 * const held = expandScopes(['access:servers!group=/analyst'])
 * hasScope('access:servers!server=alice/', held, { groupsOf: () => ['/analyst'] }) // true
 * hasScope('access:servers!server=alice/', held)                                   // false
 * ```
 */
export function hasScope(scope: ExpandedScope, held: HeldScopes, options: HasScopeOptions = {}): boolean {
  const [base, filter] = partition(scope, '!')
  const [kind, value] = partition(filter, '=')
  if (kind && !value) throw new UnexpandedFilterError(scope)
  const entry = parsedOf(held).get(base)
  if (entry === undefined) return false
  if (entry === 'ALL') return true
  if (!kind) return options.postFilter === true
  if (options.postFilter) throw new JupyterHubUsageError('post_filter=True only allowed for unfiltered scopes')
  if (entry.get(kind)?.has(value)) return true
  let user = value
  if (kind === 'server') {
    user = partition(value, '/')[0]
    if (entry.get('user')?.has(user)) return true
  }
  if (options.groupsOf && (kind === 'user' || kind === 'server') && entry.has('group')) {
    return anyIn(options.groupsOf(user), entry.get('group'))
  }
  return false
}

/**
 * A resource for {@link checkScopeFilter}: a user (with its groups), a server `user/name` (with its
 * owner's groups), a group or a service.
 *
 * @example
 * ```ts
 * import type { ScopeResource } from 'keycloak-permissions/jupyterhub'
 * const lab: ScopeResource = { kind: 'server', name: 'bob/lab', ownerGroups: ['/projects/ml'] }
 * ```
 */
export type ScopeResource =
  | { readonly kind: 'user'; readonly name: string; readonly groups?: readonly string[] }
  | { readonly kind: 'server'; readonly name: string; readonly ownerGroups?: readonly string[] }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'service'; readonly name: string }

/**
 * JupyterHub's resource-object check `check_scope_filter` (docs/semantics/jupyterhub.md §8): does the holding of
 * scope name `base` apply to `resource`? By default a `!server=` value is compared as `user/name`
 * only; `compat: true` reproduces upstream's bare-name comparison (`!server=lab` matching every
 * user's `lab`).
 *
 * @example
 * ```ts
 * import { expandScopes, checkScopeFilter } from 'keycloak-permissions/jupyterhub'
 * const held = expandScopes(['access:servers!user=alice'])
 * checkScopeFilter(held, 'access:servers', { kind: 'server', name: 'alice/lab' }) // true
 * ```
 */
export function checkScopeFilter(held: HeldScopes, base: string, resource: ScopeResource, options: { readonly compat?: boolean } = {}): boolean {
  const entry = parsedOf(held).get(base)
  if (entry === undefined) return false
  if (entry === 'ALL') return true
  if (resource.kind === 'server') {
    const slash = resource.name.indexOf('/')
    if (slash < 0) throw new JupyterHubUsageError(`A server is written user/name, got ${JSON.stringify(resource.name)}`)
    const owner = resource.name.slice(0, slash)
    const servers = entry.get('server')
    if (options.compat && servers?.has(resource.name.slice(slash + 1))) return true
    if (servers?.has(resource.name)) return true
    if (entry.get('user')?.has(owner)) return true
    return anyIn(resource.ownerGroups ?? [], entry.get('group'))
  }
  if (entry.get(resource.kind)?.has(resource.name)) return true
  if (resource.kind === 'user') return anyIn(resource.groups ?? [], entry.get('group'))
  return false
}

/**
 * The result of {@link intersectScopes}: sorted scopes and the no-group-data warning, if any.
 *
 * @example
 * ```ts
 * import { intersectScopes } from 'keycloak-permissions/jupyterhub'
 * const { scopes, diagnostics } = intersectScopes(['read:users'], ['read:users!user=a'])
 * ```
 */
export interface Intersection {
  readonly scopes: readonly ExpandedScope[]
  readonly diagnostics: readonly Diagnostic[]
}

function setsEqual(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.size !== b.size) return false
  for (const v of a) if (!b.has(v)) return false
  return true
}

function difference(a: ReadonlySet<string>, b: Iterable<string> | undefined): Set<string> {
  const out = new Set(a)
  if (b) for (const v of b) out.delete(v)
  return out
}

function pySet(values: ReadonlySet<string>): string {
  return pyRepr(new Set([...values].sort()))
}

/**
 * `_intersect_expanded_scopes` (docs/semantics/jupyterhub.md §9) on two lists of expanded scopes, as given. With
 * `groupsOf`, servers and users on one side are kept when their owner is in a group of the other;
 * without it those overlaps are dropped and `JUPYTERHUB_INTERSECTION_NEEDS_GROUPS` is reported.
 *
 * @example
 * ```ts
 * import { intersectScopes } from 'keycloak-permissions/jupyterhub'
 * intersectScopes(['shares'], ['access:servers!server=bob/', 'shares!user=alice']).scopes // ['shares!user=alice']
 * ```
 */
export function intersectScopes(
  a: Iterable<string> | ParsedScopes,
  b: Iterable<string> | ParsedScopes,
  options: { readonly groupsOf?: GroupsOf } = {},
): Intersection {
  const parsedA = a instanceof Map ? (a as ParsedScopes) : parseScopes(a as Iterable<string>)
  const parsedB = b instanceof Map ? (b as ParsedScopes) : parseScopes(b as Iterable<string>)
  return intersectParsed(parsedA, parsedB, options.groupsOf)
}

/** @internal */
export function intersectParsed(parsedA: ParsedScopes, parsedB: ParsedScopes, groupsOf: GroupsOf | undefined): Intersection {
  const groupCache = new Map<string, Set<string>>()
  const groupsOfUser = (user: string): Set<string> => {
    let groups = groupCache.get(user)
    if (!groups) groupCache.set(user, (groups = new Set(groupsOf!(user))))
    return groups
  }
  const common = new Map<string, 'ALL' | Map<string, Set<string>>>()
  const diagnostics: Diagnostic[] = []
  let warned = false
  for (const [base, fa] of parsedA) {
    const fb = parsedB.get(base)
    if (fb === undefined) continue
    if (fa === 'ALL') {
      common.set(base, fb === 'ALL' ? 'ALL' : copyFilters(fb))
      continue
    }
    if (fb === 'ALL') {
      common.set(base, copyFilters(fa))
      continue
    }
    const kindsAll = new Set([...fa.keys(), ...fb.keys()])
    if (!groupsOf && !warned && kindsAll.has('group') && (kindsAll.has('user') || kindsAll.has('server'))) {
      for (const [x, y] of [[fa, fb], [fb, fa]] as const) {
        for (const key of ['user', 'server']) {
          const xGroups = x.get('group')
          const yKey = y.get(key)
          if (!warned && xGroups && yKey && difference(xGroups, y.get('group')).size > 0 && difference(yKey, x.get(key)).size > 0) {
            diagnostics.push(
              diagnostic(
                'warning',
                'JUPYTERHUB_INTERSECTION_NEEDS_GROUPS',
                `${base}[!${key}=${pySet(yKey)}, !group=${pySet(xGroups)}] combinations of filters present, without db access. Intersection between not considered. May result in lower than intended permissions.`,
                { item: base },
                { details: { base, kind: key } },
              ),
            )
            warned = true
          }
        }
      }
    }
    const filters = new Map<string, Set<string>>()
    for (const kind of fa.keys()) {
      const vb = fb.get(kind)
      if (!vb) continue
      filters.set(kind, new Set([...fa.get(kind)!].filter((v) => vb.has(v))))
    }
    const initialServers = filters.get('server') ?? new Set<string>()
    const initialUsers = filters.get('user') ?? new Set<string>()
    const servers = new Set(initialServers)
    const users = new Set(initialUsers)
    for (const [x, y] of [[fa, fb], [fb, fa]] as const) {
      const xServers = x.get('server')
      if (xServers && !setsEqual(y.get('server'), xServers)) {
        let candidates = difference(xServers, servers)
        const yUsers = y.get('user')
        if (candidates.size > 0 && yUsers) {
          for (const server of candidates) if (yUsers.has(partition(server, '/')[0])) servers.add(server)
        }
        candidates = difference(candidates, servers)
        const yGroups = y.get('group')
        if (groupsOf && candidates.size > 0 && yGroups) {
          for (const server of candidates) if (anyIn(groupsOfUser(partition(server, '/')[0]), yGroups)) servers.add(server)
        }
      }
      const xUsers = x.get('user')
      const yGroups = y.get('group')
      if (groupsOf && xUsers && yGroups && !setsEqual(y.get('user'), xUsers)) {
        for (const user of difference(xUsers, users)) if (anyIn(groupsOfUser(user), yGroups)) users.add(user)
      }
    }
    if (servers.size > 0 && !setsEqual(servers, initialServers)) filters.set('server', servers)
    if (users.size > 0 && !setsEqual(users, initialUsers)) filters.set('user', users)
    common.set(base, filters)
  }
  return { scopes: unparseScopes(common), diagnostics }
}

function copyFilters(f: ParsedFilters): Map<string, Set<string>> {
  return new Map([...f].map(([k, v]) => [k, new Set(v)]))
}
