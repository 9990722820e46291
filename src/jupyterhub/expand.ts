/**
 * Scope expansion (docs/semantics/jupyterhub.md §3) and parse / unparse / reduce (§6).
 *
 * @module
 */
import { LRUCache } from 'lru-cache'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { EmptyFilterValueError, ScopeNotFoundError } from './errors.js'
import { tableFor, type ExpandedScope, type ScopeOptions, type ScopeTable } from './scopes.js'

/**
 * The filters held for one scope name: kind → values. Unknown kinds are kept and never match.
 *
 * @example
 * ```ts
 * import { parseScopes } from 'keycloak-permissions/jupyterhub'
 * const f = parseScopes(['read:users!user=alice']).get('read:users') // Map { 'user' => Set { 'alice' } }
 * ```
 */
export type ParsedFilters = ReadonlyMap<string, ReadonlySet<string>>

/**
 * Parsed scopes: name → `'ALL'` (unfiltered) or its filters.
 *
 * @example
 * ```ts
 * import { parseScopes } from 'keycloak-permissions/jupyterhub'
 * parseScopes(['users', 'read:users!user=george']).get('users') // 'ALL'
 * ```
 */
export type ParsedScopes = ReadonlyMap<string, 'ALL' | ParsedFilters>

/**
 * Who owns the scopes being expanded: resolves `self`, `!user`, `!service`.
 *
 * @example
 * ```ts
 * import type { ScopeOwner } from 'keycloak-permissions/jupyterhub'
 * const owner: ScopeOwner = { kind: 'user', name: 'alice' }
 * ```
 */
export interface ScopeOwner {
  readonly kind: 'user' | 'service'
  readonly name: string
}

/**
 * The OAuth client that issued a token: a service, or a server `user/name` (resolves `!server`).
 *
 * @example
 * ```ts
 * import type { OAuthClient } from 'keycloak-permissions/jupyterhub'
 * const client: OAuthClient = { server: 'alice/' }
 * ```
 */
export type OAuthClient = { readonly service: string } | { readonly server: string }

/**
 * What `expandScopes` resolves owner-relative filters against.
 *
 * @example
 * ```ts
 * import { expandScopes } from 'keycloak-permissions/jupyterhub'
 * expandScopes(['self'], { owner: { kind: 'user', name: 'alice' } })
 * ```
 */
export interface ExpansionContext {
  readonly owner?: ScopeOwner
  readonly oauthClient?: OAuthClient
  /** Default true: results are memoised in a bounded LRU keyed on the whole input. */
  readonly memoize?: boolean
}

/**
 * A fully expanded, reduced set of scopes: sorted strings, their parsed form, and the diagnostics
 * of expansion (dropped `self` or bare filters). Immutable; safe to share.
 *
 * @example
 * ```ts
 * import { expandScopes, hasScope } from 'keycloak-permissions/jupyterhub'
 * const held = expandScopes(['shares!user'], { owner: { kind: 'user', name: 'alice' } })
 * hasScope('access:servers!server=alice/lab', held) // true
 * ```
 */
export interface ScopeSet {
  readonly scopes: readonly ExpandedScope[]
  readonly parsed: ParsedScopes
  readonly diagnostics: readonly Diagnostic[]
}

function partition(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep)
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)]
}

/**
 * Parses expanded scopes (`parse_scopes`): an unfiltered entry wins regardless of order. Throws
 * {@link EmptyFilterValueError} for a filter without value (incl. bare `!user`).
 *
 * @example
 * ```ts
 * import { parseScopes } from 'keycloak-permissions/jupyterhub'
 * parseScopes(['users', 'read:users!user=george', 'read:users!user=michael'])
 * // Map { 'users' => 'ALL', 'read:users' => Map { 'user' => Set { 'george', 'michael' } } }
 * ```
 */
export function parseScopes(scopes: Iterable<string>): ParsedScopes {
  const parsed = new Map<string, 'ALL' | Map<string, Set<string>>>()
  for (const scope of scopes) {
    const [base, filter] = partition(scope, '!')
    if (!filter) {
      parsed.set(base, 'ALL')
      continue
    }
    const [kind, value] = partition(filter, '=')
    // Upstream only raises when the base is not yet unfiltered (order-dependent); we always raise.
    if (!value) throw new EmptyFilterValueError(scope)
    let entry = parsed.get(base)
    if (entry === 'ALL') continue
    if (!entry) parsed.set(base, (entry = new Map()))
    let values = entry.get(kind)
    if (!values) entry.set(kind, (values = new Set()))
    values.add(value)
  }
  return parsed
}

/**
 * The inverse of {@link parseScopes}: sorted scope strings.
 *
 * @example
 * ```ts
 * import { parseScopes, unparseScopes } from 'keycloak-permissions/jupyterhub'
 * unparseScopes(parseScopes(['read:users!user=a', 'read:users'])) // ['read:users']
 * ```
 */
export function unparseScopes(parsed: ParsedScopes): ExpandedScope[] {
  const out: string[] = []
  for (const [base, filters] of parsed) {
    if (filters === 'ALL') out.push(base)
    else for (const [kind, values] of filters) for (const value of values) out.push(`${base}!${kind}=${value}`)
  }
  return out.sort(compareCodeUnits) as ExpandedScope[]
}

/**
 * `reduce_scopes`: an unfiltered base absorbs its filtered variants; duplicates collapse; sorted.
 *
 * @example
 * ```ts
 * import { reduceScopes } from 'keycloak-permissions/jupyterhub'
 * reduceScopes(['access:services', 'access:services!service=x']) // ['access:services']
 * ```
 */
export function reduceScopes(scopes: Iterable<string>): ExpandedScope[] {
  return unparseScopes(parseScopes(scopes))
}

/** @internal */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** §3.1: one scope and its subscopes, the filter copied onto each (with the `!server` rule). */
function expandOne(table: ScopeTable, scope: string, into: Set<string>): void {
  const [name, filter] = partition(scope, '!')
  const names = table.closure(name)
  if (!names) throw new ScopeNotFoundError(scope, `Scope '${scope}'  does not exist`)
  if (!filter) {
    for (const n of names) into.add(n)
    return
  }
  const serverFilter = filter.startsWith('server')
  for (const n of names) if (!(serverFilter && n.startsWith('read:user'))) into.add(`${n}!${filter}`)
}

const SELF_BASES = ['read:users', 'users:shares', 'read:shares', 'users:activity', 'servers', 'tokens', 'access:servers']

const expansionCache = new LRUCache<string, ScopeSet>({ max: 4096 })

/**
 * Expands raw scopes (`expand_scopes`, docs/semantics/jupyterhub.md §3.2): subscopes, owner-relative filters, `self`,
 * then reduction. Dropped scopes become diagnostics (`JUPYTERHUB_FILTER_WITHOUT_TARGET`,
 * `JUPYTERHUB_SELF_WITHOUT_USER`) on every call. Memoised in a bounded LRU (4096 entries) keyed on the
 * scopes (as a set), owner, OAuth client, version and custom-scope table; a frozen input array is
 * additionally remembered by identity (weakly, 16 contexts per array), so its repeat is O(1). Throws
 * {@link ScopeNotFoundError} for an undefined name and {@link EmptyFilterValueError} when the result
 * cannot be parsed.
 *
 * @example
 * ```ts
 * import { expandScopes } from 'keycloak-permissions/jupyterhub'
 * expandScopes(['read:servers!server=alice/x']).scopes // ['read:servers!server=alice/x']
 * expandScopes(['self'], { owner: { kind: 'user', name: 'alice' } }).scopes.length // 14 (5.x)
 * ```
 */
export function expandScopes(scopes: Iterable<string>, context: ExpansionContext = {}, options: ScopeOptions = {}): ScopeSet {
  const table = tableFor(options)
  // A string is iterable too: expanding its characters would fail far from the mistake.
  if (typeof scopes === 'string') throw new InvalidOptionsError('scopes', 'pass a list of scopes, not one string (split a Keycloak attribute on "," first)')
  const owner = context.owner
  const client = context.oauthClient
  if (owner !== undefined && owner.kind !== 'user' && owner.kind !== 'service') {
    throw new InvalidOptionsError('owner.kind', `must be 'user' or 'service', got ${JSON.stringify(owner.kind)}`)
  }
  if (context.memoize === false) return compute(table, [...new Set(scopes)].sort(compareCodeUnits), owner, client)
  const contextKey = JSON.stringify([
    table.version,
    table.id,
    owner ? [owner.kind, owner.name] : null,
    client ? ('service' in client ? ['service', client.service] : ['server', client.server]) : null,
  ])
  // A frozen array cannot change, so its identity is a safe key: the repeat costs O(1), not O(n).
  const frozen = Array.isArray(scopes) && Object.isFrozen(scopes) ? (scopes as readonly string[]) : undefined
  let byContext = frozen ? frozenInputs.get(frozen) : undefined
  const fast = byContext?.get(contextKey)
  if (fast) return fast
  const unique = [...new Set(scopes)].sort(compareCodeUnits)
  const key = `${contextKey}\u0000${JSON.stringify(unique)}`
  let result = expansionCache.get(key)
  if (!result) {
    result = compute(table, unique, owner, client)
    expansionCache.set(key, result)
  }
  if (frozen) {
    if (!byContext) frozenInputs.set(frozen, (byContext = new LRUCache<string, ScopeSet>({ max: 16 })))
    byContext.set(contextKey, result)
  }
  return result
}

const frozenInputs = new WeakMap<readonly string[], LRUCache<string, ScopeSet>>()

function compute(table: ScopeTable, scopes: readonly string[], owner: ScopeOwner | undefined, client: OAuthClient | undefined): ScopeSet {
  const expanded = new Set<string>()
  for (const scope of scopes) expandOne(table, scope, expanded)
  const replacements: Record<'user' | 'service' | 'server', string | undefined> = { user: undefined, service: undefined, server: undefined }
  if (owner?.kind === 'user') replacements.user = `user=${owner.name}`
  else if (owner?.kind === 'service') replacements.service = `service=${owner.name}`
  if (client) {
    if ('service' in client) replacements.service = `service=${client.service}`
    else replacements.server = `server=${client.server}`
  }
  const diagnostics: Diagnostic[] = []
  for (const scope of [...expanded]) {
    const bang = scope.indexOf('!')
    if (bang < 0) continue
    const base = scope.slice(0, bang)
    const filter = scope.slice(bang + 1)
    if (filter !== 'user' && filter !== 'service' && filter !== 'server') continue
    expanded.delete(scope)
    const replacement = replacements[filter]
    if (replacement) expanded.add(`${base}!${replacement}`)
    else {
      diagnostics.push(
        diagnostic('warning', 'JUPYTERHUB_FILTER_WITHOUT_TARGET', `Not expanding !${filter} filter without target ${filter} in ${scope}`, { item: scope }, { details: { scope, filter } }),
      )
    }
  }
  if (expanded.delete('self')) {
    if (owner?.kind === 'user') {
      const own = new Set<string>()
      for (const base of SELF_BASES) if (table.has(base)) expandOne(table, base, own)
      for (const s of own) expanded.add(`${s}!user=${owner.name}`)
    } else {
      const ownerText = owner ? `<Service ${owner.name}>` : 'None'
      diagnostics.push(
        diagnostic('warning', 'JUPYTERHUB_SELF_WITHOUT_USER', `Not expanding 'self' scope for owner ${ownerText} which is not a User`, { item: 'self' }, { details: { owner: owner ?? null } }),
      )
    }
  }
  // Diagnostics in a stable order, whatever the set's insertion order was.
  diagnostics.sort((a, b) => compareCodeUnits(a.message, b.message))
  const parsed = parseScopes(expanded)
  return Object.freeze({ scopes: Object.freeze(unparseScopes(parsed)), parsed, diagnostics: Object.freeze(diagnostics) })
}

/**
 * A {@link ScopeSet} from already-expanded scopes (e.g. a hub API `scopes` reply), reduced, without
 * expansion.
 *
 * @example
 * ```ts
 * import { scopeSet, hasScope } from 'keycloak-permissions/jupyterhub'
 * hasScope('access:servers!server=bob/', scopeSet(['access:servers!user=bob'])) // true
 * ```
 */
export function scopeSet(expandedScopes: Iterable<string>): ScopeSet {
  const parsed = parseScopes(expandedScopes)
  return Object.freeze({ scopes: Object.freeze(unparseScopes(parsed)), parsed, diagnostics: Object.freeze([]) })
}
