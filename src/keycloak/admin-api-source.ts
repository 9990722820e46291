/**
 * `AdminApiSource`: resolves principals live from the Keycloak Admin REST API. It sees every client
 * of the realm with no list to configure, at a per-user cost that does not depend on the number of
 * clients: at most 3 requests per uncached user (the username lookup, the user's direct role
 * mappings, the user's direct groups), joined with a realm catalogue (every role with attributes and
 * composites, the group tree with role mappings) that is fetched once, cached, and dropped by
 * admin-event invalidations (docs/semantics/keycloak.md §6). Bounded caches, single-flight
 * coalescing, its own client-credentials token provider and a start-up self-check.
 *
 * @module
 */
import type KcAdminClient from '@keycloak/keycloak-admin-client'
import { decodeJwt } from 'jose'
import { MemoryPrincipalCache, type CacheTier, type Invalidation, type PrincipalCache, type TieredOrigin } from './cache.js'
import { systemClock, type Clock } from '../core/clock.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import {
  ClientNotFoundError,
  InsufficientPermissionsError,
  InvalidInputError,
  InvalidOptionsError,
  KeycloakPermissionsError,
  SourceUnavailableError,
  UserNotFoundError,
} from '../core/errors.js'
import type { EffectiveRole, Principal, PrincipalCompleteness, RoleAttributes, RoleRef } from '../core/principal.js'
import { fetchRealmCatalogue, readRoleMappings, readUserGroups, type CatalogueReader, type CatalogueStats, type NamedMappings, type RealmCatalogue } from './admin-catalogue.js'
import { abortable, requireDuration, requireNonEmptyString, requireString, unreachable, validateHttpUrl } from './admin-util.js'
import { normalizeUsername, type ResolveOptions, type RoleCatalogue, type RoleSource, type UserRef } from './source.js'
import { ClientCredentialsTokenProvider, type AccessTokenProvider } from './token-provider.js'

/**
 * Bounds of one cache: at most `max` entries, each trusted for `ttlMs`. Both are required; there is
 * no unbounded cache.
 *
 * @example
 * ```ts
 * import type { AdminCacheOptions } from 'keycloak-permissions/keycloak'
 * const cache: AdminCacheOptions = { max: 1_000, ttlMs: 30_000 }
 * ```
 */
export interface AdminCacheOptions {
  /** Maximum number of entries (a positive integer). */
  readonly max: number
  /** How long an entry is served without asking Keycloak again (positive, in ms). */
  readonly ttlMs: number
}

/**
 * Options of {@link AdminApiSource}. Give either `credentials` (the source then runs its own
 * client-credentials token provider) or a `tokenProvider`.
 *
 * @example
 * ```ts
 * import type { AdminApiSourceOptions } from 'keycloak-permissions/keycloak'
 * const options: AdminApiSourceOptions = {
 *   baseUrl: 'http://127.0.0.1:8180',
 *   realm: 'example',
 *   credentials: { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' },
 *   cache: { max: 1_000, ttlMs: 30_000 },
 * }
 * ```
 */
export interface AdminApiSourceOptions {
  /** The server's base URL including any relative path (Nebari: `https://host/auth`). */
  readonly baseUrl: string
  /** The realm whose users are resolved. */
  readonly realm: string
  /**
   * An optional allow-list (by `clientId`): principals then carry only these clients' roles, and each
   * must exist (`ClientNotFoundError` otherwise). Default: every client of the realm, including
   * clients created after start-up. The request cost is the same either way.
   */
  readonly clients?: readonly string[]
  /** The service account to authenticate as; `realm` defaults to {@link AdminApiSourceOptions.realm}. */
  readonly credentials?: { readonly clientId: string; readonly clientSecret: string; readonly realm?: string }
  /** Supplies bearer tokens instead of `credentials`. */
  readonly tokenProvider?: AccessTokenProvider
  /**
   * The per-user principal cache (required: results are always cached, within bounds). `ttlMs` bounds
   * every tier; `max` bounds the default in-process cache.
   */
  readonly cache: AdminCacheOptions
  /**
   * Where principals are kept (default: a {@link MemoryPrincipalCache} of `cache.max` entries). Give a
   * shared tier (`RedisPrincipalCache` from `keycloak-permissions/redis`) so replicas share lookups
   * and invalidations.
   */
  readonly principalCache?: PrincipalCache
  /**
   * Refuse disabled users with {@link UserDisabledError} (default `false`; without it a disabled user's
   * principal says `enabled: false`). Free when the user is looked up by username; when the caller
   * passes both id and username (a token's `sub` and `preferred_username`) it costs one
   * `GET /users/{id}` per uncached user instead of skipping the lookup. Turn it on in live-roles mode,
   * so disabling a user ends access before the token expires.
   */
  readonly checkEnabled?: boolean
  /** Principals carry the user's group paths (default `true`; the groups are read either way, for their roles). */
  readonly groups?: boolean
  /** Principals carry the user's effective realm roles (default `true`; no extra request). */
  readonly realmRoles?: boolean
  /**
   * While Keycloak is failing, serve a cached principal up to this long past its TTL, marked
   * `origin.stale: true` (default 0: never serve stale).
   */
  readonly serveStaleMs?: number
  /** Timeout of each HTTP request (default 10 000 ms). */
  readonly timeoutMs?: number
  /**
   * The realm catalogue (every role with attributes and composites, the group tree with role
   * mappings): `max` bounds how many roles + groups it may hold (default 100 000; a larger realm is
   * refused with `SourceUnavailableError` rather than held unbounded), `ttlMs` how long it is used
   * before being fetched again (default: `cache.ttlMs`). Admin-event invalidations of roles and groups
   * drop it at once; a reference it cannot resolve (a role or group created since) refetches it, at
   * most once per second.
   */
  readonly catalogueCache?: AdminCacheOptions
  /** Page size of the groups and clients listings (default 100, at most 1000). */
  readonly groupsPageSize?: number
  /** Clock for cache freshness, staleness and `origin.resolvedAt` (default: the system clock). */
  readonly clock?: Clock
}

/**
 * What {@link AdminApiSource.selfCheck} verified.
 *
 * @example
 * ```ts
 * const report: AdminSelfCheckReport = await source.selfCheck()
 * report.clients.conda_store // the client's UUID
 * report.catalogue.requests  // what the catalogue cost
 * ```
 */
export interface AdminSelfCheckReport {
  readonly realm: string
  /** clientId → internal client UUID: the allow-listed clients, or every client of the realm. */
  readonly clients: Readonly<Record<string, string>>
  /** The service account's realm-management roles, from its token (empty when the token is opaque). */
  readonly rights: readonly string[]
  /** The catalogue fetched by the check: requests made, clients, roles and groups held. */
  readonly catalogue: CatalogueStats
}

/** The realm-management roles without which the Admin API looks like an empty realm (view-realm: realm roles, for the catalogue). */
const REQUIRED_RIGHTS = ['view-users', 'view-clients', 'view-realm'] as const
const USER_PAGE = 100
const SOURCE = 'admin-api'
const NO_DIAGNOSTICS: readonly Diagnostic[] = Object.freeze([])
const NOT_FOUND_HINT = 'if the user exists, the service account may lack realm-management view-users: users it may not view are invisible'
/** A catalogue miss refetches the catalogue at most this often, so an unresolvable reference cannot multiply requests. */
const MISS_REFRESH_MS = 1_000
const CATALOGUE_CONCURRENCY = 4
const OPTION_KEYS = new Set([
  'baseUrl', 'realm', 'clients', 'credentials', 'tokenProvider', 'cache', 'groups', 'realmRoles', 'serveStaleMs',
  'timeoutMs', 'catalogueCache', 'groupsPageSize', 'clock', 'principalCache', 'checkEnabled',
])

/**
 * The user exists but is disabled in Keycloak (reported by an {@link AdminApiSource} with
 * `checkEnabled: true`). A disabled user holds no rights, whatever roles are still mapped.
 *
 * @example
 * ```ts
 * import { UserDisabledError } from 'keycloak-permissions/keycloak'
 * if (err instanceof UserDisabledError) reply(403, `${err.user} is disabled`)
 * ```
 */
export class UserDisabledError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_USER_DISABLED'
  override readonly code = UserDisabledError.code
  readonly realm: string
  readonly user: string

  constructor(realm: string, user: string) {
    super(`User ${JSON.stringify(user)} of realm ${JSON.stringify(realm)} is disabled`)
    this.realm = realm
    this.user = user
  }
}

interface Identity {
  readonly id: string
  readonly username: string
  /** From the user representation; undefined when the lookup was skipped (id and username known). */
  readonly enabled: boolean | undefined
}

type AdminClient = KcAdminClient

/**
 * Resolves principals live through the Keycloak Admin REST API (`@keycloak/keycloak-admin-client`,
 * loaded on first use with a dynamic `import()` so CommonJS consumers work). Every client of the
 * realm is seen, including clients created after start-up; `clients` optionally narrows it.
 *
 * Per uncached user, whatever the number of clients: `GET /users?username=…&exact=true` (skipped when
 * the caller passes the id and username), `GET /users/{id}/role-mappings` (direct realm and client
 * mappings of every client) and `GET /users/{id}/groups?briefRepresentation=false` (direct groups with
 * their role mappings) — at most 3 requests. They are joined with the realm catalogue (see
 * {@link AdminApiSourceOptions.catalogueCache}), and the effective roles — direct, default role,
 * groups and their ancestors, composites — are computed as docs/semantics/keycloak.md §5.2 defines
 * them, with provenance (`via`). Results are cached (bounded LRU, TTL, injected clock); concurrent
 * requests for one user share one resolution. Keycloak being unreachable is a
 * {@link SourceUnavailableError}, never an empty principal.
 *
 * Freshness: `invalidate()` (fed by an `AdminEventWatcher`) drops exactly the affected principals,
 * and the catalogue when roles or groups changed; a shared `principalCache` (`RedisPrincipalCache`)
 * shares lookups and invalidations across replicas. `origin.tier` (see {@link TieredOrigin}) says
 * which tier answered: `memory`, `shared` or `source`.
 *
 * @example
 * ```ts
 * import { AdminApiSource } from 'keycloak-permissions/keycloak'
 * const source = new AdminApiSource({
 *   baseUrl: 'http://127.0.0.1:8180',
 *   realm: 'example',
 *   credentials: { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' },
 *   cache: { max: 1_000, ttlMs: 30_000 },
 * })
 * await source.selfCheck()              // fails fast on missing rights
 * const bob = await source.resolve('bob')
 * bob.clientRoles['ws-alpha']?.map((r) => r.name) // ['ws_access'] — every client, none configured
 * ```
 */
export class AdminApiSource implements RoleSource, RoleCatalogue {
  /** The realm this source reads. */
  readonly realm: string
  readonly #baseUrl: string
  readonly #clients: readonly string[] | undefined
  readonly #tokens: AccessTokenProvider
  readonly #groups: boolean
  readonly #realmRoles: boolean
  /** Every principal's `complete` (it depends on the options only), frozen and shared. */
  readonly #complete: PrincipalCompleteness
  readonly #ttlMs: number
  readonly #serveStaleMs: number
  readonly #timeoutMs: number
  readonly #pageSize: number
  readonly #clock: Clock
  readonly #cache: PrincipalCache
  readonly #checkEnabled: boolean
  readonly #catalogueMax: number
  readonly #catalogueTtlMs: number
  readonly #flights = new Map<string, Promise<unknown>>()
  #catalogue: RealmCatalogue | undefined
  /** Bumped by every invalidation that may change the catalogue: a fetch begun before must not be kept. */
  #catalogueGeneration = 0
  #lastMissRefresh: number | undefined
  #catalogueRequests = 0
  #admin: Promise<AdminClient> | undefined

  /**
   * Validates the options eagerly; makes no request.
   *
   * @throws `InvalidOptionsError` naming the offending option path (e.g. `cache.max`)
   */
  constructor(options: AdminApiSourceOptions) {
    const o = options as unknown as Record<string, unknown> | undefined
    if (typeof o !== 'object' || o === null) throw new InvalidOptionsError('options', 'must be an object')
    for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) throw new InvalidOptionsError(key, 'is not an option of AdminApiSource')
    this.#baseUrl = validateHttpUrl('baseUrl', o.baseUrl).replace(/\/+$/, '')
    const base = new URL(this.#baseUrl)
    if (base.search !== '' || base.hash !== '') throw new InvalidOptionsError('baseUrl', 'must not have a query or fragment')
    this.realm = requireNonEmptyString('realm', o.realm)
    this.#clients = o.clients === undefined ? undefined : validateClients(o.clients)
    this.#clock = validateClock(o.clock)
    this.#timeoutMs = o.timeoutMs === undefined ? 10_000 : requireDuration('timeoutMs', o.timeoutMs, false)
    this.#groups = optionalBoolean('groups', o.groups, true)
    this.#realmRoles = optionalBoolean('realmRoles', o.realmRoles, true)
    this.#complete = Object.freeze({ groups: this.#groups, realmRoles: this.#realmRoles, attributes: true, provenance: true })
    this.#checkEnabled = optionalBoolean('checkEnabled', o.checkEnabled, false)
    this.#serveStaleMs = o.serveStaleMs === undefined ? 0 : requireDuration('serveStaleMs', o.serveStaleMs, true)
    this.#pageSize = o.groupsPageSize === undefined ? 100 : requireIntegerIn('groupsPageSize', o.groupsPageSize, 1, 1000)
    const cache = validateCache('cache', o.cache, undefined)
    this.#ttlMs = cache.ttlMs
    const catalogueCache = validateCache('catalogueCache', o.catalogueCache, { max: 100_000, ttlMs: cache.ttlMs })
    this.#catalogueMax = catalogueCache.max
    this.#catalogueTtlMs = catalogueCache.ttlMs
    this.#tokens = this.#validateTokens(o.credentials, o.tokenProvider)
    this.#cache = o.principalCache === undefined ? new MemoryPrincipalCache({ max: cache.max, clock: this.#clock }) : validatePrincipalCache(o.principalCache)
    // Another replica's watcher saw a role or group change: our catalogue may hold the old state.
    this.#cache.onRemoteInvalidation?.((invalidation) => {
      if (invalidation.kind !== 'user') this.#dropCatalogue()
    })
  }

  /**
   * The user's principal: from the cache while fresh, else from Keycloak (one shared request set
   * for concurrent callers). With `serveStaleMs`, a failing Keycloak yields the last principal
   * (`origin.stale: true`) within that bound.
   *
   * @throws `UserNotFoundError` when no user matches (the message notes missing rights as a cause)
   * @throws `ClientNotFoundError` when an allow-listed client does not exist
   * @throws `InsufficientPermissionsError` when Keycloak answers 403
   * @throws `SourceUnavailableError` when Keycloak cannot be reached, times out or answers unexpectedly
   * @example
   * ```ts
   * const bob = await source.resolve('bob')
   * const same = await source.resolve({ id: bob.userId! })   // by a token's `sub`
   * ```
   */
  async resolve(user: UserRef, options?: ResolveOptions): Promise<Principal> {
    const ref = readUserRef(user)
    options?.signal?.throwIfAborted()
    const key = JSON.stringify([this.realm, this.#clients ?? null, this.#groups, this.#realmRoles, this.#checkEnabled, ref.id ?? null, ref.username ?? null])
    const answer = await abortable(
      this.#cache.lookup(key, () => this.#fetchPrincipal(ref), { ttlMs: this.#ttlMs, serveStaleMs: this.#serveStaleMs }),
      options?.signal,
    )
    return withOrigin(answer.principal, { cached: answer.tier !== 'source', stale: answer.stale, tier: answer.tier })
  }

  /**
   * Every user account of the realm, by username (sorted), read page by page from the Admin API
   * (`GET /users?briefRepresentation=true`; 1 request per 100 users, never cached: a permission test
   * over "every user" must see accounts created a second ago). Keycloak leaves service-account users
   * out of this listing; {@link RealmExportSource.usernames} lists them, so callers comparing the two
   * drop the `service-account-` names Keycloak reserves for them.
   *
   * @example
   * ```ts
   * for (const username of await source.usernames()) console.log(username)
   * ```
   */
  async usernames(options?: ResolveOptions): Promise<string[]> {
    const kc = await this.#client()
    const out: string[] = []
    for (let first = 0; ; first += USER_PAGE) {
      const page = await abortable(
        this.#call('users listing', 'view-users', () => kc.users.find({ first, max: USER_PAGE, briefRepresentation: true })),
        options?.signal,
      )
      for (const user of page) if (typeof user.username === 'string') out.push(user.username.toLowerCase())
      if (page.length < USER_PAGE) break
    }
    return out.sort()
  }

  /**
   * Every group's full path in the realm (sorted), from the cached realm catalogue.
   *
   * @example
   * ```ts
   * await source.groupPaths() // ['/admin', '/analyst', '/developer', '/projects', '/projects/ml']
   * ```
   */
  async groupPaths(): Promise<string[]> {
    return (await this.#getCatalogue()).groupPaths()
  }

  /**
   * The user's current group paths (direct memberships), through the same cached resolution as
   * {@link AdminApiSource.resolve}: what a JupyterHub `!group=` filter on another user's `user=` or
   * `server=` resource needs. Needs `groups` on (the default).
   *
   * @throws as {@link AdminApiSource.resolve}; `InvalidOptionsError` when built with `groups: false`
   * @example
   * ```ts
   * await source.groupsOf('carol') // ['/analyst']
   * ```
   */
  async groupsOf(user: UserRef, options?: ResolveOptions): Promise<readonly string[]> {
    if (!this.#groups) throw new InvalidOptionsError('groups', 'groupsOf() needs principals that carry groups (groups: true)')
    return (await this.resolve(user, options)).groups
  }

  /**
   * Forgets what an admin change affects (see {@link Invalidation}); the `AdminEventWatcher` calls it.
   * Invalidations this source cannot apply narrowly become broader: a group one when principals carry
   * no groups (`groups: false`), a role one for a realm role without `realmRoles`, or for a client
   * outside the allow-list (its roles may be composites of listed clients' roles). Role, group and
   * realm-wide invalidations also drop the catalogue (role attributes, composites and group mappings
   * live there).
   *
   * @example
   * ```ts
   * await source.invalidate({ kind: 'user', userId: alice.userId! })
   * ```
   */
  async invalidate(invalidation: Invalidation): Promise<void> {
    const effective = this.#widen(invalidation)
    if (effective.kind !== 'user') this.#dropCatalogue()
    await this.#cache.invalidate(effective)
  }

  /**
   * Forgets the catalogue only (no principal): for changes that add something nobody holds yet, such
   * as a new client, role or group. The `AdminEventWatcher` calls it for those events.
   *
   * @example
   * ```ts
   * source.catalogueChanged()
   * ```
   */
  catalogueChanged(): void {
    this.#dropCatalogue()
  }

  /**
   * Forgets every cached principal of the user with this id.
   *
   * @example
   * ```ts
   * await source.invalidateUser(principal.userId!)
   * ```
   */
  invalidateUser(userId: string): Promise<void> {
    if (typeof userId !== 'string' || userId === '') throw new InvalidInputError('user id', '', 'expected a non-empty string')
    return this.invalidate({ kind: 'user', userId, cause: 'invalidateUser()' })
  }

  /**
   * Forgets every cached principal that is a member of the group at `path` or of one of its subgroups.
   *
   * @example
   * ```ts
   * await source.invalidateGroup('/projects')
   * ```
   */
  invalidateGroup(path: string): Promise<void> {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new InvalidInputError('group path', '', 'expected a full path such as /projects/ml')
    return this.invalidate({ kind: 'group', path, cause: 'invalidateGroup()' })
  }

  /**
   * Forgets every cached principal that effectively holds the role (`client` is a clientId; absent
   * for a realm role).
   *
   * @example
   * ```ts
   * await source.invalidateRole({ client: 'conda_store', name: 'ml-team-scopes' })
   * ```
   */
  invalidateRole(role: RoleRef): Promise<void> {
    if (typeof role !== 'object' || role === null || typeof role.name !== 'string' || role.name === '') {
      throw new InvalidInputError('role', 'name', 'expected a non-empty role name')
    }
    return this.invalidate({ kind: 'role', role: role.client === undefined ? { name: role.name } : { client: role.client, name: role.name }, cause: 'invalidateRole()' })
  }

  /**
   * Forgets every cached principal and the catalogue (in every tier).
   *
   * @example
   * ```ts
   * await source.invalidateAll()
   * ```
   */
  invalidateAll(): Promise<void> {
    return this.invalidate({ kind: 'all', cause: 'invalidateAll()' })
  }

  #widen(invalidation: Invalidation): Invalidation {
    const cause = invalidation.cause === undefined ? '' : `${invalidation.cause}; `
    if (invalidation.kind === 'group' && !this.#groups) return { kind: 'all', cause: `${cause}principals carry no groups (groups: false)` }
    if (invalidation.kind === 'role') {
      const { client } = invalidation.role
      if (client === undefined && !this.#realmRoles) return { kind: 'all', cause: `${cause}principals carry no realm roles (realmRoles: false)` }
      if (client !== undefined && this.#clients !== undefined && !this.#clients.includes(client)) return { kind: 'all', cause: `${cause}client ${client} is not read by this source` }
    }
    return invalidation
  }

  #dropCatalogue(): void {
    this.#catalogueGeneration++
    this.#catalogue = undefined
  }

  /**
   * Every role of a client with its attributes, from the cached catalogue; `undefined` when the client
   * does not exist (after refetching the catalogue once, in case the client is new).
   *
   * @throws `SourceUnavailableError` / `InsufficientPermissionsError` as for {@link resolve}
   * @example
   * ```ts
   * const roles = await source.clientRoles('conda_store')
   * roles?.get('ml-team-scopes')?.scopes // ['admin!namespace=ml,developer!namespace=nebari-git']
   * ```
   */
  async clientRoles(clientId: string, options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes> | undefined> {
    if (typeof clientId !== 'string' || clientId === '') throw new InvalidInputError('client id', '', 'expected a non-empty string')
    let catalogue = await abortable(this.#getCatalogue(), options?.signal)
    if (!catalogue.hasClient(clientId) && this.#missRefreshAllowed()) catalogue = await abortable(this.#getCatalogue(true), options?.signal)
    return catalogue.clientRoles(clientId)
  }

  /**
   * Every realm role with its attributes, from the cached catalogue (needs realm-management `view-realm`).
   *
   * @throws `SourceUnavailableError` / `InsufficientPermissionsError` as for {@link resolve}
   * @example
   * ```ts
   * const realmRoles = await source.realmRoles()
   * realmRoles.has('platform-admin') // true
   * ```
   */
  async realmRoles(options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes>> {
    return (await abortable(this.#getCatalogue(), options?.signal)).realmRoles()
  }

  /**
   * Admin API requests this source has spent on catalogues since it was built (for measurements;
   * per-user requests are not included).
   *
   * @example
   * ```ts
   * const before = source.catalogueRequests
   * ```
   */
  get catalogueRequests(): number {
    return this.#catalogueRequests
  }

  /**
   * The start-up self-check: the service account's token must hold realm-management `view-users`,
   * `view-clients` (without them the Admin API answers as if the realm were empty) and `view-realm`
   * (realm roles); the catalogue
   * must be readable (clients, roles, realm roles — `view-realm` — and groups); every allow-listed
   * client must exist; users must be listable. Leaves the catalogue cached.
   *
   * @throws `InsufficientPermissionsError` naming each missing right
   * @throws `ClientNotFoundError` for the first allow-listed client that does not exist
   * @throws `SourceUnavailableError` when Keycloak cannot be reached
   * @example
   * ```ts
   * try { await source.selfCheck() } catch (err) {
   *   if (err instanceof InsufficientPermissionsError) console.error('grant', err.missing.join(', '))
   *   throw err
   * }
   * ```
   */
  async selfCheck(options?: ResolveOptions): Promise<AdminSelfCheckReport> {
    const signal = options?.signal
    const token = await this.#tokens.getAccessToken(signal ? { signal } : undefined)
    const rights = tokenRights(token)
    if (rights !== undefined) {
      const missing = REQUIRED_RIGHTS.filter((right) => !rights.includes(right))
      if (missing.length > 0) {
        throw new InsufficientPermissionsError(
          missing,
          `The service account's token lacks realm-management role(s) ${missing.join(', ')}: ` +
            'without them Keycloak answers user and client queries as if the realm were empty. ' +
            `Grant them to the service account of the client used by AdminApiSource in realm ${JSON.stringify(this.realm)}.`,
        )
      }
    }
    const catalogue = await abortable(this.#getCatalogue(true), signal)
    const clients: Record<string, string> = {}
    for (const clientId of this.#clients ?? [...catalogue.clients.keys()].sort()) {
      const uuid = catalogue.clients.get(clientId)
      if (uuid === undefined) throw new ClientNotFoundError(this.realm, clientId, 'or the service account lacks realm-management view-clients')
      clients[clientId] = uuid
    }
    const kc = await this.#client()
    const usersProbe = { first: 0, max: 1, briefRepresentation: true }
    await abortable(this.#call('users listing', 'view-users', () => kc.users.find(usersProbe)), signal)
    return { realm: this.realm, clients, rights: rights ? [...rights].sort() : [], catalogue: catalogue.stats }
  }

  /**
   * Forgets every cached principal (in every tier: with a shared tier the whole fleet's) and the
   * catalogue. Prefer the narrow `invalidate*` methods, which an `AdminEventWatcher` calls.
   *
   * @example
   * ```ts
   * source.clearCache()
   * ```
   */
  clearCache(): void {
    // A shared tier may fail; clearing the local layer happens synchronously regardless.
    this.#cache.clear().catch(() => undefined)
    this.#dropCatalogue()
  }

  #missRefreshAllowed(): boolean {
    const now = this.#clock.now()
    if (this.#lastMissRefresh !== undefined && now - this.#lastMissRefresh < MISS_REFRESH_MS) return false
    this.#lastMissRefresh = now
    return true
  }

  /** The cached catalogue while fresh, else a new one (one fetch shared by concurrent callers). */
  #getCatalogue(refresh = false): Promise<RealmCatalogue> {
    const held = this.#catalogue
    if (!refresh && held !== undefined && this.#clock.now() - held.fetchedAt < this.#catalogueTtlMs) return Promise.resolve(held)
    const generation = this.#catalogueGeneration
    return this.#singleFlight(`catalogue:${generation}`, async () => {
      const catalogue = await fetchRealmCatalogue(this.#catalogueReader(), {
        realm: this.realm,
        pageSize: this.#pageSize,
        maxEntries: this.#catalogueMax,
        concurrency: CATALOGUE_CONCURRENCY,
        now: () => this.#clock.now(),
      })
      this.#catalogueRequests += catalogue.stats.requests
      // An invalidation while fetching may describe a change the answers straddle: do not keep them.
      if (generation === this.#catalogueGeneration) this.#catalogue = catalogue
      return catalogue
    })
  }

  #catalogueReader(): CatalogueReader {
    const kc = () => this.#client()
    const q = (query: Record<string, unknown>) => query as never
    return {
      realm: async () => {
        const client = await kc()
        return this.#call('realm settings', 'view-realm', () => client.realms.findOne(q({ realm: this.realm }))).catch((err: unknown) => {
          // The default role's name is the only thing read here; without view-realm the conventional name is used.
          if (err instanceof InsufficientPermissionsError) return undefined
          throw err
        })
      },
      clients: async (first, max) => {
        const client = await kc()
        return this.#call('clients listing', 'view-clients', () => client.clients.find(q({ first, max })))
      },
      clientRoles: async (uuid, clientId) => {
        const client = await kc()
        // A client deleted between the listing and this request: refetch the catalogue next time.
        return this.#call(`roles of client ${clientId}`, 'view-clients', () => client.clients.listRoles(q({ id: uuid, briefRepresentation: false })), () =>
          new SourceUnavailableError(SOURCE, `client ${clientId} disappeared while the catalogue was read`, { status: 404 }))
      },
      realmRoles: async () => {
        const client = await kc()
        return this.#call('realm roles', 'view-realm', () => client.roles.find(q({ briefRepresentation: false })))
      },
      composites: async (roleId, label) => {
        const client = await kc()
        return this.#call(`composites of ${label}`, 'view-realm', () => client.roles.getCompositeRoles(q({ id: roleId })), () =>
          new SourceUnavailableError(SOURCE, `${label} disappeared while the catalogue was read`, { status: 404 }))
      },
      topGroups: async (first, max) => {
        const client = await kc()
        return this.#call('groups listing', 'view-users', () => client.groups.find(q({ first, max, briefRepresentation: false })))
      },
      children: async (groupId, path, first, max) => {
        const client = await kc()
        return this.#call(`subgroups of ${path}`, 'view-users', () => client.groups.listSubGroups(q({ parentId: groupId, first, max, briefRepresentation: false })), () =>
          new SourceUnavailableError(SOURCE, `group ${path} disappeared while the catalogue was read`, { status: 404 }))
      },
    }
  }

  async #fetchPrincipal(ref: UserLookup): Promise<Principal> {
    const kc = await this.#client()
    const generation = this.#catalogueGeneration
    // Both halves run at once; when both fail, the catalogue's error (usually a missing right) is the one reported.
    const [catalogueResult, userResult] = await Promise.allSettled([
      this.#getCatalogue(),
      (async () => {
        const who = await this.#identify(kc, ref)
        const label = JSON.stringify(who.username)
        const userGone = () => new UserNotFoundError(this.realm, who.username, 'it disappeared during the resolution')
        const [mappings, groups] = await Promise.all([
          this.#call(`role mappings of ${label}`, 'view-users', () => kc.users.listRoleMappings({ id: who.id }), userGone).then((data) =>
            readRoleMappings(data, `role mappings of ${label}`)),
          this.#userGroups(kc, who, userGone),
        ])
        return { who, mappings, groups }
      })(),
    ])
    if (catalogueResult.status === 'rejected') throw catalogueResult.reason
    if (userResult.status === 'rejected') throw userResult.reason
    const user = userResult.value
    let catalogue = catalogueResult.value
    let joined = catalogue.effectiveRoles(user.mappings, user.groups)
    const unknownClient = () => this.#clients?.find((clientId) => !catalogue.hasClient(clientId))
    if (generation !== this.#catalogueGeneration) {
      // Roles or groups changed while we read: join again with a catalogue fetched after the change.
      catalogue = await this.#getCatalogue()
      joined = catalogue.effectiveRoles(user.mappings, user.groups)
    }
    if ((joined.missing.length > 0 || unknownClient() !== undefined) && this.#missRefreshAllowed()) {
      // Something newer than the catalogue (a client, role or group created since): fetch it again.
      catalogue = await this.#getCatalogue(true)
      joined = catalogue.effectiveRoles(user.mappings, user.groups)
    }
    const missingClient = unknownClient()
    if (missingClient !== undefined) throw new ClientNotFoundError(this.realm, missingClient, 'or the service account lacks realm-management view-clients')

    const { who } = user
    const label = JSON.stringify(who.username)
    const diagnostics: Diagnostic[] = [...joined.diagnostics]
    if (joined.missing.length > 0) {
      diagnostics.push(
        diagnostic('warning', 'KEYCLOAK_CATALOGUE_INCOMPLETE', `The realm catalogue does not resolve ${[...new Set(joined.missing)].join('; ')} for ${label}: those roles are left out`, { user: who.username }, {
          fix: 'Usually a change in progress (retry); otherwise the service account may not view every role, client and group (realm-management view-realm, view-clients, view-users)',
        }),
      )
    }
    const clientEntries: (readonly [string, readonly EffectiveRole[]])[] = []
    for (const clientId of [...joined.clientRoles.keys()].sort()) {
      if (this.#clients !== undefined && !this.#clients.includes(clientId)) continue
      clientEntries.push([clientId, joined.clientRoles.get(clientId)!])
    }
    // Shared with every user of the same roles and groups (frozen), as the catalogue shares the role objects.
    const clientRoles = catalogue.shared.clientRoles(clientEntries)
    const realmRoles = this.#realmRoles ? joined.realmRoles : catalogue.shared.roles([])
    if (clientEntries.length === 0 && realmRoles.length === 0) {
      diagnostics.push(
        diagnostic('info', 'KEYCLOAK_NO_ROLES', `The Admin API reports no effective roles for ${label}`, { user: who.username }, {
          fix: 'If the user should hold roles, check that the service account has realm-management view-users (AdminApiSource.selfCheck())',
        }),
      )
    }
    return {
      realm: this.realm,
      userId: who.id,
      username: who.username,
      ...(who.enabled === false && { enabled: false }),
      groups: catalogue.shared.groups(this.#groups ? [...new Set(user.groups.map((g) => g.path))].sort() : []),
      realmRoles,
      clientRoles,
      complete: this.#complete,
      origin: { kind: 'admin-api', resolvedAt: this.#clock.now(), cached: false, stale: false },
      // Frozen like every other part: caches of derived answers compare a principal's parts by identity.
      diagnostics: diagnostics.length === 0 ? NO_DIAGNOSTICS : Object.freeze(diagnostics),
    }
  }

  async #identify(kc: AdminClient, ref: UserLookup): Promise<Identity> {
    if (ref.id !== undefined && ref.username !== undefined && !this.#checkEnabled) return { id: ref.id, username: ref.username, enabled: undefined }
    if (ref.id !== undefined) {
      const id = ref.id
      const notFound = () => new UserNotFoundError(this.realm, ref.username ?? id, NOT_FOUND_HINT)
      const user = await this.#call(`user ${JSON.stringify(id)}`, 'view-users', () => kc.users.findOne({ id }), notFound)
      if (user === undefined || user === null) throw notFound()
      const username = (user as { username?: unknown }).username
      if (typeof username !== 'string') throw unexpected(`user ${JSON.stringify(id)}`, 'username is not a string')
      // A token's preferred_username that no longer matches the id: the account was renamed or reused.
      if (ref.username !== undefined && username !== ref.username) throw notFound()
      const enabled = (user as { enabled?: unknown }).enabled !== false
      if (this.#checkEnabled && !enabled) throw new UserDisabledError(this.realm, username)
      return { id, username, enabled }
    }
    const username = ref.username!
    const query = { username, exact: true, briefRepresentation: true }
    const found = await this.#call(`user lookup ${JSON.stringify(username)}`, 'view-users', () => kc.users.find(query))
    if (!Array.isArray(found)) throw unexpected(`user lookup ${JSON.stringify(username)}`, 'expected an array')
    // `exact=true` is still a search on some storage providers: keep only the exact name.
    const match = found.find((u: { username?: unknown }) => u.username === username) as { id?: unknown; enabled?: unknown } | undefined
    if (!match) throw new UserNotFoundError(this.realm, username, NOT_FOUND_HINT)
    if (typeof match.id !== 'string') throw unexpected(`user lookup ${JSON.stringify(username)}`, 'user without an id')
    const enabled = match.enabled !== false
    if (this.#checkEnabled && !enabled) throw new UserDisabledError(this.realm, username)
    return { id: match.id, username, enabled }
  }

  async #userGroups(kc: AdminClient, who: Identity, userGone: () => KeycloakPermissionsError): Promise<{ path: string; own: NamedMappings }[]> {
    const groups: { path: string; own: NamedMappings }[] = []
    const what = `groups of ${JSON.stringify(who.username)}`
    for (let first = 0; ; first += this.#pageSize) {
      const query = { id: who.id, first, max: this.#pageSize, briefRepresentation: false }
      const page = await this.#call(what, 'view-users', () => kc.users.listGroups(query), userGone)
      groups.push(...readUserGroups(page, what))
      if ((page as unknown[]).length !== this.#pageSize) return groups
    }
  }

  #singleFlight<T>(key: string, run: () => Promise<T>): Promise<T> {
    const running = this.#flights.get(key)
    if (running) return running as Promise<T>
    const flight = run().finally(() => this.#flights.delete(key))
    this.#flights.set(key, flight)
    return flight
  }

  #client(): Promise<AdminClient> {
    this.#admin ??= import('@keycloak/keycloak-admin-client').then(
      (module) => {
        const kc = new module.default({ baseUrl: this.#baseUrl, realmName: this.realm, timeout: this.#timeoutMs })
        // Never kc.auth(): its refresh needs a refresh token, which client_credentials never gets.
        kc.registerTokenProvider({ getAccessToken: () => this.#tokens.getAccessToken() })
        return kc
      },
      (err: unknown) => {
        this.#admin = undefined
        throw new SourceUnavailableError(SOURCE, 'cannot load @keycloak/keycloak-admin-client', { cause: err, retryable: false })
      },
    )
    return this.#admin
  }

  /** Runs one Admin API request, translating its failure into this library's errors. */
  async #call<T>(what: string, right: string, request: () => Promise<T>, onNotFound?: (body: unknown) => KeycloakPermissionsError): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request()
      } catch (err) {
        if (err instanceof KeycloakPermissionsError) throw err
        const status = httpStatus(err)
        if (status === undefined) throw unreachable(`${what} (${this.#baseUrl})`, err, this.#timeoutMs)
        // A 401 means the server no longer accepts our token (e.g. rotated keys): renew it once.
        if (status === 401 && attempt === 0 && this.#tokens.invalidate) {
          this.#tokens.invalidate()
          continue
        }
        const body = (err as { responseData?: unknown }).responseData
        if (status === 403) {
          throw new InsufficientPermissionsError(
            [right],
            `Keycloak answered 403 to ${what}: the service account needs realm-management ${right}`,
          )
        }
        if (status === 404 && onNotFound) throw onNotFound(body)
        const detail = errorText(body)
        throw new SourceUnavailableError(SOURCE, `${what} answered HTTP ${status}${detail ? ` (${detail})` : ''}`, {
          cause: err,
          status,
          retryable: status >= 500 || status === 429 || status === 401,
        })
      }
    }
  }

  #validateTokens(credentials: unknown, provider: unknown): AccessTokenProvider {
    if ((credentials === undefined) === (provider === undefined)) {
      throw new InvalidOptionsError('credentials', 'give exactly one of credentials and tokenProvider')
    }
    if (provider !== undefined) {
      if (typeof provider !== 'object' || provider === null || typeof (provider as AccessTokenProvider).getAccessToken !== 'function') {
        throw new InvalidOptionsError('tokenProvider', 'must have a getAccessToken() method')
      }
      return provider as AccessTokenProvider
    }
    if (typeof credentials !== 'object' || credentials === null) throw new InvalidOptionsError('credentials', 'must be an object')
    const c = credentials as Record<string, unknown>
    for (const key of Object.keys(c)) {
      if (key !== 'clientId' && key !== 'clientSecret' && key !== 'realm') throw new InvalidOptionsError(`credentials.${key}`, 'is not a credentials option')
    }
    const clientId = requireNonEmptyString('credentials.clientId', c.clientId)
    const clientSecret = requireString('credentials.clientSecret', c.clientSecret)
    const realm = c.realm === undefined ? this.realm : requireNonEmptyString('credentials.realm', c.realm)
    return new ClientCredentialsTokenProvider({
      tokenUrl: ClientCredentialsTokenProvider.tokenEndpoint(this.#baseUrl, realm),
      clientId,
      clientSecret,
      timeoutMs: this.#timeoutMs,
      clock: this.#clock,
    })
  }
}


interface UserLookup {
  readonly id?: string
  readonly username?: string
}

function readUserRef(user: UserRef): UserLookup {
  if (typeof user === 'string') {
    if (user === '') throw new InvalidInputError('user reference', '', 'empty username')
    return { username: normalizeUsername(user) }
  }
  if (typeof user !== 'object' || user === null) throw new InvalidInputError('user reference', '', 'expected a username or { id, username }')
  const out: { id?: string; username?: string } = {}
  if (user.id !== undefined) {
    if (typeof user.id !== 'string' || user.id === '') throw new InvalidInputError('user reference', 'id', 'expected a non-empty string')
    out.id = user.id
  }
  if (user.username !== undefined) {
    if (typeof user.username !== 'string' || user.username === '') throw new InvalidInputError('user reference', 'username', 'expected a non-empty string')
    out.username = normalizeUsername(user.username)
  }
  if (out.id === undefined && out.username === undefined) throw new InvalidInputError('user reference', '', 'needs an id or a username')
  return out
}

function withOrigin(principal: Principal, flags: { cached: boolean; stale: boolean; tier: CacheTier }): Principal {
  const origin: TieredOrigin = { ...principal.origin, ...flags }
  return { ...principal, origin }
}

function validatePrincipalCache(value: unknown): PrincipalCache {
  const c = value as Partial<PrincipalCache> | null
  if (typeof c !== 'object' || c === null || typeof c.lookup !== 'function' || typeof c.invalidate !== 'function' || typeof c.clear !== 'function') {
    throw new InvalidOptionsError('principalCache', 'must implement PrincipalCache (lookup, invalidate, clear)')
  }
  return c as PrincipalCache
}

/** The realm-management roles in a JWT's `resource_access`; undefined when the token is not a readable JWT. */
function tokenRights(token: string): readonly string[] | undefined {
  let claims: Record<string, unknown>
  try {
    claims = decodeJwt(token)
  } catch {
    return undefined
  }
  const access = claims.resource_access as Record<string, { roles?: unknown }> | undefined
  const roles = access?.['realm-management']?.roles
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { response?: { status?: unknown } } | null)?.response?.status
  return typeof status === 'number' ? status : undefined
}

function errorText(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200)
  if (typeof body !== 'object' || body === null) return ''
  const b = body as Record<string, unknown>
  return [b.error, b.errorMessage, b.error_description].filter((v) => typeof v === 'string').join(': ')
}

function unexpected(what: string, problem: string): SourceUnavailableError {
  return new SourceUnavailableError(SOURCE, `${what} answered unexpectedly: ${problem}`, { retryable: false })
}

function validateClients(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionsError('clients', 'must be an array of clientIds')
  const seen = new Set<string>()
  value.forEach((clientId: unknown, i) => {
    if (typeof clientId !== 'string' || clientId === '') throw new InvalidOptionsError(`clients.${i}`, 'must be a non-empty string')
    if (seen.has(clientId)) throw new InvalidOptionsError(`clients.${i}`, `duplicate clientId ${JSON.stringify(clientId)}`)
    seen.add(clientId)
  })
  return Object.freeze([...seen])
}

function validateCache(option: string, value: unknown, fallback: AdminCacheOptions | undefined): AdminCacheOptions {
  if (value === undefined) {
    if (fallback) return fallback
    throw new InvalidOptionsError(option, 'is required: give { max, ttlMs } (every cache is bounded)')
  }
  if (typeof value !== 'object' || value === null) throw new InvalidOptionsError(option, 'must be { max, ttlMs }')
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) if (key !== 'max' && key !== 'ttlMs') throw new InvalidOptionsError(`${option}.${key}`, 'is not a cache option')
  if (typeof v.max !== 'number' || !Number.isSafeInteger(v.max) || v.max < 1) {
    throw new InvalidOptionsError(`${option}.max`, 'must be a positive integer (unbounded caches are refused)')
  }
  const ttlMs = requireDuration(`${option}.ttlMs`, v.ttlMs, false)
  return { max: v.max, ttlMs }
}

function validateClock(value: unknown): Clock {
  if (value === undefined) return systemClock
  if (typeof value !== 'object' || value === null || typeof (value as Clock).now !== 'function') throw new InvalidOptionsError('clock', 'must have a now() method')
  return value as Clock
}

function optionalBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionsError(option, 'must be a boolean')
  return value
}

function requireIntegerIn(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(option, `must be an integer from ${min} to ${max}`)
  }
  return value
}
