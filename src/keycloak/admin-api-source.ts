/**
 * `AdminApiSource`: resolves principals live from the Keycloak Admin REST API with a fixed,
 * small request budget per uncached user (a username lookup + one effective-roles request per
 * configured client, + groups and realm roles when enabled), bounded caches, single-flight
 * coalescing, its own client-credentials token provider and a start-up self-check.
 *
 * @module
 */
import type KcAdminClient from '@keycloak/keycloak-admin-client'
import { decodeJwt } from 'jose'
import { LRUCache } from 'lru-cache'
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
import type { EffectiveRole, Principal, RoleAttributes, RoleRef } from '../core/principal.js'
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
 *   clients: ['conda_store', 'jupyterhub'],
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
  /** The clients (by `clientId`) whose effective roles a principal carries; one request each per uncached user. */
  readonly clients: readonly string[]
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
   * Refuse disabled users with {@link UserDisabledError} (default `false`). Free when the user is
   * looked up by username; when the caller passes both id and username (a token's `sub` and
   * `preferred_username`) it costs one `GET /users/{id}` per uncached user instead of skipping the
   * lookup. Turn it on in live-roles mode, so disabling a user ends access before the token expires.
   */
  readonly checkEnabled?: boolean
  /** Fetch the user's group paths (one request per uncached user; default `true`). */
  readonly groups?: boolean
  /** Fetch the user's effective realm roles (one request per uncached user; default `false`). */
  readonly realmRoles?: boolean
  /**
   * While Keycloak is failing, serve a cached principal up to this long past its TTL, marked
   * `origin.stale: true` (default 0: never serve stale).
   */
  readonly serveStaleMs?: number
  /** Timeout of each HTTP request (default 10 000 ms). */
  readonly timeoutMs?: number
  /** Cache of clientId → client UUID (default `{ max: 256, ttlMs: 600_000 }`). */
  readonly clientCache?: AdminCacheOptions
  /** Cache of the role catalogue (`clientRoles` / `realmRoles`; default `{ max: 64, ttlMs: 60_000 }`). */
  readonly catalogueCache?: AdminCacheOptions
  /** Page size of the groups listing (default 100, at most 1000). */
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
 * ```
 */
export interface AdminSelfCheckReport {
  readonly realm: string
  /** Configured clientId → internal client UUID. */
  readonly clients: Readonly<Record<string, string>>
  /** The service account's realm-management roles, from its token (empty when the token is opaque). */
  readonly rights: readonly string[]
}

/** The realm-management roles without which the Admin API looks like an empty realm. */
const REQUIRED_RIGHTS = ['view-users', 'view-clients'] as const
const SOURCE = 'admin-api'
const NOT_FOUND_HINT = 'if the user exists, the service account may lack realm-management view-users: users it may not view are invisible'
const OPTION_KEYS = new Set([
  'baseUrl', 'realm', 'clients', 'credentials', 'tokenProvider', 'cache', 'groups', 'realmRoles', 'serveStaleMs',
  'timeoutMs', 'clientCache', 'catalogueCache', 'groupsPageSize', 'clock', 'principalCache', 'checkEnabled',
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
}

interface RoleItem {
  readonly name: string
  readonly attributes: RoleAttributes
}

type AdminClient = KcAdminClient

/**
 * Resolves principals live through the Keycloak Admin REST API (`@keycloak/keycloak-admin-client`,
 * loaded on first use with a dynamic `import()` so CommonJS consumers work).
 *
 * Per uncached user: `GET /users?username=…&exact=true` (skipped when the caller passes the id and
 * username), one `GET /users/{id}/role-mappings/clients/{uuid}/composite?briefRepresentation=false` per
 * configured client (effective roles — direct, groups and their ancestors, composites, default role —
 * with attributes), plus `GET /users/{id}/groups` and `GET /users/{id}/role-mappings/realm/composite`
 * when enabled. Results are cached (bounded LRU, TTL, injected clock); concurrent requests for one user
 * share one resolution. Keycloak being unreachable is a {@link SourceUnavailableError}, never an empty
 * principal. The endpoint has no provenance: `via` is empty and `complete.provenance` is false.
 *
 * Freshness: `invalidate()` (fed by an `AdminEventWatcher`) drops exactly the affected principals; a
 * shared `principalCache` (`RedisPrincipalCache`) shares lookups and invalidations across replicas.
 * `origin.tier` (see {@link TieredOrigin}) says which tier answered: `memory`, `shared` or `source`.
 *
 * @example
 * ```ts
 * import { AdminApiSource } from 'keycloak-permissions/keycloak'
 * const source = new AdminApiSource({
 *   baseUrl: 'http://127.0.0.1:8180',
 *   realm: 'example',
 *   clients: ['conda_store', 'jupyterhub'],
 *   credentials: { clientId: 'permission-resolver', clientSecret: 'permission-resolver-secret' },
 *   cache: { max: 1_000, ttlMs: 30_000 },
 * })
 * await source.selfCheck()              // fails fast on missing rights or unknown clients
 * const alice = await source.resolve('alice')
 * alice.clientRoles.jupyterhub?.map((r) => r.name)
 * ```
 */
export class AdminApiSource implements RoleSource, RoleCatalogue {
  /** The realm this source reads. */
  readonly realm: string
  readonly #baseUrl: string
  readonly #clients: readonly string[]
  readonly #tokens: AccessTokenProvider
  readonly #groups: boolean
  readonly #realmRoles: boolean
  readonly #ttlMs: number
  readonly #serveStaleMs: number
  readonly #timeoutMs: number
  readonly #pageSize: number
  readonly #clock: Clock
  readonly #cache: PrincipalCache
  readonly #checkEnabled: boolean
  readonly #clientUuids: LRUCache<string, string>
  readonly #catalogue: LRUCache<string, ReadonlyMap<string, RoleAttributes>>
  readonly #flights = new Map<string, Promise<unknown>>()
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
    this.#clients = validateClients(o.clients)
    this.#clock = validateClock(o.clock)
    this.#timeoutMs = o.timeoutMs === undefined ? 10_000 : requireDuration('timeoutMs', o.timeoutMs, false)
    this.#groups = optionalBoolean('groups', o.groups, true)
    this.#realmRoles = optionalBoolean('realmRoles', o.realmRoles, false)
    this.#checkEnabled = optionalBoolean('checkEnabled', o.checkEnabled, false)
    this.#serveStaleMs = o.serveStaleMs === undefined ? 0 : requireDuration('serveStaleMs', o.serveStaleMs, true)
    this.#pageSize = o.groupsPageSize === undefined ? 100 : requireIntegerIn('groupsPageSize', o.groupsPageSize, 1, 1000)
    const cache = validateCache('cache', o.cache, undefined)
    this.#ttlMs = cache.ttlMs
    const clientCache = validateCache('clientCache', o.clientCache, { max: 256, ttlMs: 600_000 })
    const catalogueCache = validateCache('catalogueCache', o.catalogueCache, { max: 64, ttlMs: 60_000 })
    this.#tokens = this.#validateTokens(o.credentials, o.tokenProvider)

    const perf = { now: () => this.#clock.now() }
    // ttlResolution 0: lru-cache would otherwise memoise "now" for 1 ms, hiding clock moves.
    // Entries outlive their TTL by the serve-stale bound; freshness is decided in resolve().
    this.#cache = o.principalCache === undefined ? new MemoryPrincipalCache({ max: cache.max, clock: this.#clock }) : validatePrincipalCache(o.principalCache)
    this.#clientUuids = new LRUCache({ max: clientCache.max, ttl: clientCache.ttlMs, ttlResolution: 0, perf })
    this.#catalogue = new LRUCache({ max: catalogueCache.max, ttl: catalogueCache.ttlMs, ttlResolution: 0, perf })
  }

  /**
   * The user's principal: from the cache while fresh, else from Keycloak (one shared request set
   * for concurrent callers). With `serveStaleMs`, a failing Keycloak yields the last principal
   * (`origin.stale: true`) within that bound.
   *
   * @throws `UserNotFoundError` when no user matches (the message notes missing rights as a cause)
   * @throws `ClientNotFoundError` when a configured client does not exist
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
    const key = JSON.stringify([this.realm, this.#clients, this.#groups, this.#realmRoles, this.#checkEnabled, ref.id ?? null, ref.username ?? null])
    const answer = await abortable(
      this.#cache.lookup(key, () => this.#fetchPrincipal(ref), { ttlMs: this.#ttlMs, serveStaleMs: this.#serveStaleMs }),
      options?.signal,
    )
    return withOrigin(answer.principal, { cached: answer.tier !== 'source', stale: answer.stale, tier: answer.tier })
  }

  /**
   * Forgets what an admin change affects (see {@link Invalidation}); the `AdminEventWatcher` calls it.
   * Invalidations this source cannot apply narrowly become broader: a group one when principals carry
   * no groups (`groups: false`), a role one for a realm role without `realmRoles`, or for a client this
   * source does not read (its roles may be composites of the configured clients' roles). Role and
   * realm-wide invalidations also drop the role catalogue.
   *
   * @example
   * ```ts
   * await source.invalidate({ kind: 'user', userId: alice.userId! })
   * ```
   */
  async invalidate(invalidation: Invalidation): Promise<void> {
    const effective = this.#widen(invalidation)
    if (effective.kind === 'role' || effective.kind === 'all') this.#catalogue.clear()
    if (effective.kind === 'all') this.#clientUuids.clear()
    await this.#cache.invalidate(effective)
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
   * Forgets every cached principal, client UUID and catalogue entry (in every tier).
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
      if (client !== undefined && !this.#clients.includes(client)) return { kind: 'all', cause: `${cause}client ${client} is not read by this source` }
    }
    return invalidation
  }

  /**
   * Every role of a client with its attributes (`GET /clients/{uuid}/roles?briefRepresentation=false`,
   * cached); `undefined` when the client does not exist.
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
    const key = `client:${clientId}`
    const hit = this.#catalogue.get(key)
    if (hit) return hit
    return abortable(
      this.#singleFlight(`catalogue:${key}`, async () => {
        let uuid: string
        try {
          uuid = await this.#clientUuid(clientId)
        } catch (err) {
          if (err instanceof ClientNotFoundError) return undefined
          throw err
        }
        const kc = await this.#client()
        const query = { id: uuid, briefRepresentation: false }
        const data = await this.#call(`roles of client ${clientId}`, 'view-clients', () => kc.clients.listRoles(query), () => {
          this.#clientUuids.delete(clientId)
          return new ClientNotFoundError(this.realm, clientId)
        })
        const roles = toCatalogue(readRoles(data, `roles of client ${clientId}`).roles)
        this.#catalogue.set(key, roles)
        return roles
      }),
      options?.signal,
    )
  }

  /**
   * Every realm role with its attributes (`GET /roles?briefRepresentation=false`, cached; needs
   * realm-management `view-realm`).
   *
   * @throws `SourceUnavailableError` / `InsufficientPermissionsError` as for {@link resolve}
   * @example
   * ```ts
   * const realmRoles = await source.realmRoles()
   * realmRoles.has('platform-admin') // true
   * ```
   */
  async realmRoles(options?: ResolveOptions): Promise<ReadonlyMap<string, RoleAttributes>> {
    const key = 'realm'
    const hit = this.#catalogue.get(key)
    if (hit) return hit
    return abortable(
      this.#singleFlight(`catalogue:${key}`, async () => {
        const kc = await this.#client()
        const query = { briefRepresentation: false }
        const data = await this.#call('realm roles', 'view-realm', () => kc.roles.find(query))
        const roles = toCatalogue(readRoles(data, 'realm roles').roles)
        this.#catalogue.set(key, roles)
        return roles
      }),
      options?.signal,
    )
  }

  /**
   * The start-up self-check: the service account's token must hold realm-management `view-users`
   * and `view-clients` (without them the Admin API answers as if the realm were empty); every
   * configured client must exist and its roles be readable; users must be listable. Caches the
   * client UUIDs it finds.
   *
   * @throws `InsufficientPermissionsError` naming each missing right
   * @throws `ClientNotFoundError` for the first configured client that does not exist
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
    const kc = await this.#client()
    const clients: Record<string, string> = {}
    for (const clientId of this.#clients) {
      const uuid = await abortable(this.#clientUuid(clientId), signal)
      // A roles listing proves view-clients even when the token's claims are opaque to us.
      const probe = { id: uuid, first: 0, max: 1 }
      await abortable(
        this.#call(`roles of client ${clientId}`, 'view-clients', () => kc.clients.listRoles(probe), () => {
          this.#clientUuids.delete(clientId)
          return new ClientNotFoundError(this.realm, clientId)
        }),
        signal,
      )
      clients[clientId] = uuid
    }
    const usersProbe = { first: 0, max: 1, briefRepresentation: true }
    await abortable(this.#call('users listing', 'view-users', () => kc.users.find(usersProbe)), signal)
    return { realm: this.realm, clients, rights: rights ? [...rights].sort() : [] }
  }

  /**
   * Forgets every cached principal (in every tier: with a shared tier the whole fleet's), client UUID
   * and catalogue entry. Prefer the narrow `invalidate*` methods, which an `AdminEventWatcher` calls.
   *
   * @example
   * ```ts
   * source.clearCache()
   * ```
   */
  clearCache(): void {
    // A shared tier may fail; clearing the local layer happens synchronously regardless.
    this.#cache.clear().catch(() => undefined)
    this.#clientUuids.clear()
    this.#catalogue.clear()
  }

  async #fetchPrincipal(ref: UserLookup): Promise<Principal> {
    const kc = await this.#client()
    const uuids = await Promise.all(this.#clients.map((clientId) => this.#clientUuid(clientId)))
    const who = await this.#identify(kc, ref)
    const label = JSON.stringify(who.username)
    const userGone = () => new UserNotFoundError(this.realm, who.username, 'it disappeared during the resolution')
    const [roleLists, groups, realmRoles] = await Promise.all([
      Promise.all(
        this.#clients.map(async (clientId, i) => {
          const query = { id: who.id, clientUniqueId: uuids[i]!, briefRepresentation: false }
          const data = await this.#call(`effective roles of ${label} on ${clientId}`, 'view-users', () =>
            kc.users.listCompositeClientRoleMappings(query), (body) => {
              if (errorText(body).toLowerCase().includes('client')) {
                this.#clientUuids.delete(clientId)
                return new ClientNotFoundError(this.realm, clientId)
              }
              return userGone()
            })
          return readRoles(data, `effective roles of ${label} on ${clientId}`, clientId)
        }),
      ),
      this.#groups ? this.#groupsOf(kc, who, userGone) : Promise.resolve([]),
      this.#realmRoles
        ? (async () => {
            const query = { id: who.id, briefRepresentation: false }
            const data = await this.#call(`effective realm roles of ${label}`, 'view-users', () =>
              kc.users.listCompositeRealmRoleMappings(query), userGone)
            return readRoles(data, `effective realm roles of ${label}`)
          })()
        : Promise.resolve({ roles: [], diagnostics: [] }),
    ])

    const diagnostics: Diagnostic[] = []
    const clientRoles: Record<string, EffectiveRole[]> = {}
    const order = this.#clients.map((clientId, i) => [clientId, roleLists[i]!] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    for (const [clientId, list] of order) {
      diagnostics.push(...list.diagnostics)
      if (list.roles.length > 0) {
        clientRoles[clientId] = list.roles.map((r) => ({ client: clientId, name: r.name, attributes: r.attributes, via: [] }))
      }
    }
    diagnostics.push(...realmRoles.diagnostics)
    if (Object.keys(clientRoles).length === 0 && realmRoles.roles.length === 0 && this.#clients.length > 0) {
      diagnostics.push(
        diagnostic('info', 'KEYCLOAK_NO_ROLES', `The Admin API reports no effective roles for ${label} on ${this.#clients.join(', ')}`, { user: who.username }, {
          fix: 'If the user should hold roles, check that the service account has realm-management view-users (AdminApiSource.selfCheck())',
        }),
      )
    }
    return {
      realm: this.realm,
      userId: who.id,
      username: who.username,
      groups: [...groups].sort(),
      realmRoles: realmRoles.roles.map((r) => ({ name: r.name, attributes: r.attributes, via: [] })),
      clientRoles,
      complete: { groups: this.#groups, realmRoles: this.#realmRoles, attributes: true, provenance: false },
      origin: { kind: 'admin-api', resolvedAt: this.#clock.now(), cached: false, stale: false },
      diagnostics,
    }
  }

  async #identify(kc: AdminClient, ref: UserLookup): Promise<Identity> {
    if (ref.id !== undefined && ref.username !== undefined && !this.#checkEnabled) return { id: ref.id, username: ref.username }
    if (ref.id !== undefined) {
      const id = ref.id
      const notFound = () => new UserNotFoundError(this.realm, ref.username ?? id, NOT_FOUND_HINT)
      const user = await this.#call(`user ${JSON.stringify(id)}`, 'view-users', () => kc.users.findOne({ id }), notFound)
      if (user === undefined || user === null) throw notFound()
      const username = (user as { username?: unknown }).username
      if (typeof username !== 'string') throw unexpected(`user ${JSON.stringify(id)}`, 'username is not a string')
      // A token's preferred_username that no longer matches the id: the account was renamed or reused.
      if (ref.username !== undefined && username !== ref.username) throw notFound()
      if (this.#checkEnabled && (user as { enabled?: unknown }).enabled === false) throw new UserDisabledError(this.realm, username)
      return { id, username }
    }
    const username = ref.username!
    const query = { username, exact: true, briefRepresentation: true }
    const found = await this.#call(`user lookup ${JSON.stringify(username)}`, 'view-users', () => kc.users.find(query))
    if (!Array.isArray(found)) throw unexpected(`user lookup ${JSON.stringify(username)}`, 'expected an array')
    // `exact=true` is still a search on some storage providers: keep only the exact name.
    const match = found.find((u: { username?: unknown }) => u.username === username) as { id?: unknown } | undefined
    if (!match) throw new UserNotFoundError(this.realm, username, NOT_FOUND_HINT)
    if (typeof match.id !== 'string') throw unexpected(`user lookup ${JSON.stringify(username)}`, 'user without an id')
    if (this.#checkEnabled && (match as { enabled?: unknown }).enabled === false) throw new UserDisabledError(this.realm, username)
    return { id: match.id, username }
  }

  async #groupsOf(kc: AdminClient, who: Identity, userGone: () => KeycloakPermissionsError): Promise<string[]> {
    const paths: string[] = []
    for (let first = 0; ; first += this.#pageSize) {
      const query = { id: who.id, first, max: this.#pageSize, briefRepresentation: true }
      const page = await this.#call(`groups of ${JSON.stringify(who.username)}`, 'view-users', () => kc.users.listGroups(query), userGone)
      if (!Array.isArray(page)) throw unexpected(`groups of ${JSON.stringify(who.username)}`, 'expected an array')
      for (const group of page as { path?: unknown }[]) {
        if (typeof group.path !== 'string') throw unexpected(`groups of ${JSON.stringify(who.username)}`, 'group without a path')
        paths.push(group.path)
      }
      if (page.length !== this.#pageSize) return paths
    }
  }

  #clientUuid(clientId: string): Promise<string> {
    const hit = this.#clientUuids.get(clientId)
    if (hit !== undefined) return Promise.resolve(hit)
    return this.#singleFlight(`client:${clientId}`, async () => {
      const kc = await this.#client()
      const query = { clientId }
      const found = await this.#call(`client ${JSON.stringify(clientId)}`, 'view-clients', () => kc.clients.find(query))
      if (!Array.isArray(found)) throw unexpected(`client ${JSON.stringify(clientId)}`, 'expected an array')
      const match = found.find((c: { clientId?: unknown }) => c.clientId === clientId) as { id?: unknown } | undefined
      if (!match) throw new ClientNotFoundError(this.realm, clientId, 'or the service account lacks realm-management view-clients')
      if (typeof match.id !== 'string') throw unexpected(`client ${JSON.stringify(clientId)}`, 'client without an id')
      this.#clientUuids.set(clientId, match.id)
      return match.id
    })
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

/** Reads a role listing; a malformed attribute is dropped with a diagnostic, never fatal. */
function readRoles(data: unknown, what: string, client?: string): { roles: RoleItem[]; diagnostics: Diagnostic[] } {
  if (!Array.isArray(data)) throw unexpected(what, 'expected an array of roles')
  const diagnostics: Diagnostic[] = []
  const roles: RoleItem[] = []
  for (const item of data as { name?: unknown; attributes?: unknown }[]) {
    if (typeof item?.name !== 'string') throw unexpected(what, 'role without a name')
    const attributes: Record<string, readonly string[]> = {}
    if (item.attributes !== undefined && item.attributes !== null) {
      if (typeof item.attributes !== 'object' || Array.isArray(item.attributes)) throw unexpected(what, `attributes of ${item.name} are not an object`)
      for (const [key, value] of Object.entries(item.attributes as Record<string, unknown>)) {
        if (Array.isArray(value) && value.every((v) => typeof v === 'string')) attributes[key] = value as string[]
        else {
          diagnostics.push(
            diagnostic('warning', 'KEYCLOAK_ATTRIBUTE_MALFORMED', `Attribute ${key} of role ${item.name} is not a list of strings; ignored`, {
              role: client === undefined ? { name: item.name } : { client, name: item.name },
              attribute: key,
            }),
          )
        }
      }
    }
    roles.push({ name: item.name, attributes })
  }
  roles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { roles, diagnostics }
}

function toCatalogue(roles: readonly RoleItem[]): ReadonlyMap<string, RoleAttributes> {
  return new Map(roles.map((r) => [r.name, r.attributes]))
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
