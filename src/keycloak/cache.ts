/**
 * The principal cache behind `AdminApiSource`: a small interface ({@link PrincipalCache}), the
 * in-process default ({@link MemoryPrincipalCache}, a bounded `lru-cache`), and the invalidations an
 * admin-event watcher produces ({@link Invalidation}). A shared tier (Redis) lives in
 * `keycloak-permissions/redis` and implements the same interface.
 *
 * @module
 */
import { LRUCache } from 'lru-cache'
import { systemClock, type Clock } from '../core/clock.js'
import { InvalidOptionsError, SourceUnavailableError } from '../core/errors.js'
import { splitGroupPath } from '../core/groups.js'
import { hasRole, type Principal, type PrincipalOrigin, type RoleRef } from '../core/principal.js'

/**
 * What must be forgotten after a change in Keycloak, from the narrowest to the broadest:
 * - `user`: every cached principal of one user (its role mappings, group memberships or account changed);
 * - `group`: every cached principal that is a member of the group at `path` **or of any of its subgroups**
 *   (a group's role mappings changed; subgroups inherit them);
 * - `role`: every cached principal that effectively holds the role (its attributes or composites changed,
 *   or it was deleted; `role.client` is a clientId, absent for a realm role);
 * - `all`: everything (default role, group moves, anything not understood).
 *
 * `cause` says why (e.g. the admin event), for logs.
 *
 * @example
 * ```ts
 * import type { Invalidation } from 'keycloak-permissions/keycloak'
 * const inv: Invalidation = { kind: 'group', path: '/projects', cause: 'CREATE CLIENT_ROLE_MAPPING groups/…' }
 * ```
 */
export type Invalidation =
  | { readonly kind: 'user'; readonly userId: string; readonly cause?: string }
  | { readonly kind: 'group'; readonly path: string; readonly cause?: string }
  | { readonly kind: 'role'; readonly role: RoleRef; readonly cause?: string }
  | { readonly kind: 'all'; readonly cause?: string }

/**
 * Which cache tier answered: the process's own memory, the shared tier (Redis), or the source itself
 * (a fresh Admin API lookup).
 *
 * @example
 * ```ts
 * import type { CacheTier } from 'keycloak-permissions/keycloak'
 * const tier: CacheTier = 'shared'
 * ```
 */
export type CacheTier = 'memory' | 'shared' | 'source'

/**
 * `PrincipalOrigin` as `AdminApiSource` fills it: with the tier that answered. (Proposed for core's
 * `PrincipalOrigin` as an optional `tier` field; until then it is carried at run time by principals
 * of `AdminApiSource` and typed here.)
 *
 * @example
 * ```ts
 * import type { TieredOrigin } from 'keycloak-permissions/keycloak'
 * const origin = principal.origin as TieredOrigin
 * console.log(`${origin.tier}, ${Date.now() - origin.resolvedAt} ms old`)
 * ```
 */
export interface TieredOrigin extends PrincipalOrigin {
  readonly tier: CacheTier
}

/**
 * Per-lookup bounds, given by the source.
 *
 * @example
 * ```ts
 * import type { CacheLookupOptions } from 'keycloak-permissions/keycloak'
 * const options: CacheLookupOptions = { ttlMs: 30_000, serveStaleMs: 0 }
 * ```
 */
export interface CacheLookupOptions {
  /** An entry older than this (by its `origin.resolvedAt`) is not served as fresh. */
  readonly ttlMs: number
  /** While the source fails, an entry may be served up to this long past its TTL (`stale: true`). */
  readonly serveStaleMs: number
}

/**
 * What a lookup answered.
 *
 * @example
 * ```ts
 * const { principal, tier, stale } = await cache.lookup(key, load, { ttlMs: 30_000, serveStaleMs: 0 })
 * ```
 */
export interface CacheAnswer {
  readonly principal: Principal
  readonly tier: CacheTier
  readonly stale: boolean
}

/**
 * Where `AdminApiSource` keeps principals. An implementation serves fresh entries, runs `load` at most
 * once at a time per key (per process; a shared tier also across processes), stores the result for
 * `ttlMs + serveStaleMs` unless an invalidation happened while it was loading, and forgets what an
 * {@link Invalidation} names. It never invents a principal: when it cannot answer, `load`'s error
 * propagates (a cache failure itself falls back to `load`).
 *
 * @example
 * ```ts
 * import { AdminApiSource, MemoryPrincipalCache } from 'keycloak-permissions/keycloak'
 * const principalCache = new MemoryPrincipalCache({ max: 5_000 })
 * const source = new AdminApiSource({ ...options, principalCache })
 * ```
 */
export interface PrincipalCache {
  /** The cached principal for `key`, else `load()`'s (stored); see {@link CacheAnswer}. */
  lookup(key: string, load: () => Promise<Principal>, options: CacheLookupOptions): Promise<CacheAnswer>
  /** Forgets every entry the invalidation names (and, for a shared tier, tells the other replicas). */
  invalidate(invalidation: Invalidation): Promise<void>
  /** Forgets every entry. */
  clear(): Promise<void>
  /**
   * Optional: registers a listener for invalidations that arrive from elsewhere (a shared tier's other
   * replicas), so the source can drop what it derives beside principals (`AdminApiSource`'s catalogue).
   */
  onRemoteInvalidation?(listener: (invalidation: Invalidation) => void): void
}

/**
 * Options of {@link MemoryPrincipalCache}.
 *
 * @example
 * ```ts
 * import type { MemoryPrincipalCacheOptions } from 'keycloak-permissions/keycloak'
 * const options: MemoryPrincipalCacheOptions = { max: 1_000 }
 * ```
 */
export interface MemoryPrincipalCacheOptions {
  /** Maximum number of principals (a positive integer). */
  readonly max: number
  /** Clock for freshness (default: the system clock). */
  readonly clock?: Clock
}

/**
 * Whether an invalidation names a cached principal: by user id, by membership in the group or one of
 * its subgroups (compared by path segments, so `~/`-escaped names are handled), by effectively holding
 * the role, or always for `all`.
 *
 * @example
 * ```ts
 * import { invalidationMatches } from 'keycloak-permissions/keycloak'
 * invalidationMatches(bob, { kind: 'group', path: '/projects' }) // true: bob is in /projects/ml
 * ```
 */
export function invalidationMatches(principal: Principal, invalidation: Invalidation): boolean {
  switch (invalidation.kind) {
    case 'all':
      return true
    case 'user':
      return principal.userId === invalidation.userId
    case 'role':
      return hasRole(principal, invalidation.role)
    case 'group': {
      const target = splitGroupPath(invalidation.path)
      if (target.length === 0) return true // not a path: be broad rather than wrong
      return principal.groups.some((group) => {
        const names = splitGroupPath(group)
        return names.length >= target.length && target.every((name, i) => names[i] === name)
      })
    }
  }
}

/**
 * The default {@link PrincipalCache}: a bounded in-process LRU (`lru-cache`) on an injected clock,
 * with single-flight loads per key. Invalidations scan the cached principals (they carry their user
 * id, groups and roles, so no request is needed to find who is affected; a scan of `max` entries is
 * a few milliseconds at 10 000). A load that overlaps an invalidation naming its principal is returned
 * to its callers but not stored, so an answer read before a change cannot outlive the change's
 * invalidation.
 *
 * @example
 * ```ts
 * import { MemoryPrincipalCache } from 'keycloak-permissions/keycloak'
 * const cache = new MemoryPrincipalCache({ max: 1_000 })
 * const { principal, tier } = await cache.lookup('alice', () => source.resolve('alice'), { ttlMs: 30_000, serveStaleMs: 0 })
 * await cache.invalidate({ kind: 'user', userId: principal.userId! })
 * ```
 */
export class MemoryPrincipalCache implements PrincipalCache {
  readonly #clock: Clock
  readonly #entries: LRUCache<string, Principal>
  readonly #flights = new Map<string, Promise<Principal>>()
  /** The most recent invalidations with the generation each produced (bounded), consulted by `store()`. */
  readonly #recent: { readonly generation: number; readonly invalidation: Invalidation }[] = []
  #generation = 0

  /**
   * @throws `InvalidOptionsError` for a missing or non-positive `max` or a clock without `now()`
   */
  constructor(options: MemoryPrincipalCacheOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be { max }')
    if (typeof options.max !== 'number' || !Number.isSafeInteger(options.max) || options.max < 1) {
      throw new InvalidOptionsError('max', 'must be a positive integer (unbounded caches are refused)')
    }
    if (options.clock !== undefined && (typeof options.clock !== 'object' || options.clock === null || typeof options.clock.now !== 'function')) {
      throw new InvalidOptionsError('clock', 'must have a now() method')
    }
    this.#clock = options.clock ?? systemClock
    // ttlResolution 0: lru-cache would otherwise memoise "now" for 1 ms, hiding clock moves.
    this.#entries = new LRUCache({ max: options.max, ttlAutopurge: false, ttlResolution: 0, perf: { now: () => this.#clock.now() } })
  }

  /** Number of principals held (fresh or within their serve-stale bound). */
  get size(): number {
    return this.#entries.size
  }

  /**
   * A counter bumped by every invalidation; a shared tier uses it to decide whether a value it read
   * may still be stored locally.
   *
   * @example
   * ```ts
   * const before = cache.generation
   * ```
   */
  get generation(): number {
    return this.#generation
  }

  /**
   * The entry for `key` when it is fresh under `ttlMs`, else undefined.
   *
   * @example
   * ```ts
   * cache.peek('alice', 30_000)?.username
   * ```
   */
  peek(key: string, ttlMs: number): Principal | undefined {
    const hit = this.#entries.get(key)
    return hit !== undefined && this.#clock.now() - hit.origin.resolvedAt < ttlMs ? hit : undefined
  }

  /**
   * Stores a principal until `resolvedAt + ttlMs + serveStaleMs` — unless an invalidation that names
   * it happened since `generation` was read (or too many to tell): then nothing is stored and `false`
   * is returned. Unrelated invalidations do not prevent storing, so admin activity elsewhere in the
   * realm costs no extra lookups.
   *
   * @example
   * ```ts
   * const generation = cache.generation
   * const principal = await load()
   * cache.store('alice', principal, { ttlMs: 30_000, serveStaleMs: 0 }, generation)
   * ```
   */
  store(key: string, principal: Principal, options: CacheLookupOptions, generation: number): boolean {
    if (generation !== this.#generation && !this.#unaffectedSince(generation, principal)) return false
    const ttl = principal.origin.resolvedAt + options.ttlMs + options.serveStaleMs - this.#clock.now()
    if (ttl <= 0) return false
    this.#entries.set(key, principal, { ttl })
    return true
  }

  async lookup(key: string, load: () => Promise<Principal>, options: CacheLookupOptions): Promise<CacheAnswer> {
    const fresh = this.peek(key, options.ttlMs)
    if (fresh) return { principal: fresh, tier: 'memory', stale: false }
    let flight = this.#flights.get(key)
    if (!flight) {
      const generation = this.#generation
      flight = load()
        .then((principal) => {
          this.store(key, principal, options, generation)
          return principal
        })
        .finally(() => this.#flights.delete(key))
      this.#flights.set(key, flight)
    }
    try {
      return { principal: await flight, tier: 'source', stale: false }
    } catch (err) {
      const stale = this.staleFallback(key, err, options)
      if (stale) return stale
      throw err
    }
  }

  /**
   * The bounded serve-stale answer for a failed load: the entry, marked stale, when `err` is a
   * `SourceUnavailableError` and the entry is within `ttlMs + serveStaleMs`; else undefined.
   *
   * @example
   * ```ts
   * const answer = cache.staleFallback('alice', err, { ttlMs: 30_000, serveStaleMs: 60_000 })
   * ```
   */
  staleFallback(key: string, err: unknown, options: CacheLookupOptions): CacheAnswer | undefined {
    if (!(err instanceof SourceUnavailableError) || options.serveStaleMs <= 0) return undefined
    const stale = this.#entries.get(key)
    if (stale && this.#clock.now() - stale.origin.resolvedAt < options.ttlMs + options.serveStaleMs) return { principal: stale, tier: 'memory', stale: true }
    return undefined
  }

  async invalidate(invalidation: Invalidation): Promise<void> {
    this.invalidateSync(invalidation)
  }

  /**
   * {@link MemoryPrincipalCache.invalidate}, synchronously; returns how many entries were dropped.
   *
   * @example
   * ```ts
   * cache.invalidateSync({ kind: 'role', role: { client: 'conda_store', name: 'ml-team-scopes' } })
   * ```
   */
  invalidateSync(invalidation: Invalidation): number {
    this.#generation++
    this.#recent.push({ generation: this.#generation, invalidation })
    if (this.#recent.length > RECENT_MAX) this.#recent.shift()
    if (invalidation.kind === 'all') {
      const n = this.#entries.size
      this.#entries.clear()
      return n
    }
    // Entries live for ttl + serveStale in the LRU, so iteration sees every one still servable.
    const doomed: string[] = []
    for (const [key, principal] of this.#entries.entries()) if (invalidationMatches(principal, invalidation)) doomed.push(key)
    for (const key of doomed) this.#entries.delete(key)
    return doomed.length
  }

  async clear(): Promise<void> {
    this.invalidateSync({ kind: 'all', cause: 'clear()' })
  }

  #unaffectedSince(generation: number, principal: Principal): boolean {
    const oldest = this.#recent[0]?.generation
    if (oldest === undefined || oldest > generation + 1) return false // the record no longer reaches back
    return this.#recent.every((r) => r.generation <= generation || !invalidationMatches(principal, r.invalidation))
  }
}

const RECENT_MAX = 256
