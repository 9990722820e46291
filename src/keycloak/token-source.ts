/**
 * `TokenSource`: verifies a Keycloak access token with jose and turns it into a {@link Principal},
 * joining role attributes from a role catalogue (tokens carry role names only).
 *
 * @module
 */
import { compactVerify, createLocalJWKSet, createRemoteJWKSet } from 'jose'
import type { CompactJWSHeaderParameters, CompactVerifyGetKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../core/clock.js'
import { diagnostic } from '../core/diagnostics.js'
import { InvalidInputError, InvalidOptionsError, KeycloakPermissionsError, SourceUnavailableError, TokenRejectedError } from '../core/errors.js'
import { abortable } from './admin-util.js'
import type { Principal, RoleAttributes, RoleRef, TokenInfo } from '../core/principal.js'
import { CatalogueCache, type CatalogueRoles } from './catalogue-cache.js'
import { checkClaims, normalizeValidationOptions, principalFromClaims, tokenInfoFromClaims, usernameFromClaims, type PrincipalFromClaimsOptions } from './claims.js'
import type { RoleCatalogue, ResolveOptions } from './source.js'

/** Asymmetric JWS algorithms a Keycloak realm can sign with; symmetric ones and `none` are never accepted. */
const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
])

/**
 * Options of {@link TokenSource}.
 *
 * @example
 * ```ts
 * import { RealmExportSource, type TokenSourceOptions } from 'keycloak-permissions/keycloak'
 * const options: TokenSourceOptions = {
 *   issuers: ['http://127.0.0.1:8180/realms/example'],
 *   audience: 'workspace-api',
 *   catalogue: RealmExportSource.example(),
 * }
 * ```
 */
export interface TokenSourceOptions {
  /** Accepted `iss` values, exactly (list every front-end URL the realm is reached by). Non-empty. */
  readonly issuers: string | readonly string[]
  /** `aud` (string or array) must contain this value (or one of these). Unchecked when absent and `allowAzp` is absent. */
  readonly audience?: string | readonly string[]
  /** Also accept tokens whose `azp` is one of these clients when `aud` lacks the audience (docs/semantics/keycloak.md §3.2 pitfall 3). */
  readonly allowAzp?: readonly string[]
  /** Allowed JWS algorithms (default `['RS256']`); asymmetric only — `none` and `HS*` are refused. */
  readonly algorithms?: readonly string[]
  /** Seconds of leeway for `exp` and `nbf` (default 30). */
  readonly clockToleranceSec?: number
  /** The clock for `exp`/`nbf`, cache lifetimes and `origin.resolvedAt` (default: the system clock). */
  readonly clock?: Clock
  /** Accepted `typ` values (default `['Bearer']`; Keycloak ID tokens are `ID`, refresh tokens `Refresh`). */
  readonly allowedTypes?: readonly string[]
  /** Accept a token without `typ` (default `false`: every Keycloak access token has one). */
  readonly allowMissingType?: boolean
  /** Claims that must be present (default `['exp', 'iat']`; a missing `exp` is `TOKEN_EXPIRED`). */
  readonly requiredClaims?: readonly string[]
  /**
   * The verification keys: a JWK set, or a jose key resolver (`createLocalJWKSet`, `createRemoteJWKSet`, …).
   * Default: a remote JWKS per issuer at `<iss>/protocol/openid-connect/certs`.
   */
  readonly jwks?: JSONWebKeySet | CompactVerifyGetKey
  /** One JWKS URL for every issuer (e.g. the in-cluster Keycloak address when `iss` is the public one). */
  readonly jwksUrl?: string | URL
  /**
   * Remote JWKS tuning. `timeoutMs`, `cooldownMs` (reload for an unknown `kid`) and `cacheMaxAgeMs` are
   * jose's (defaults 5 s, 30 s, 10 min). When a reload fails (Keycloak unreachable), the last key set
   * jose loaded keeps verifying for `serveStaleMs` (default 1 h; 0 = never) after it was last usable,
   * and the principal is marked `origin.stale`; during that time a reload is tried again at most every
   * `retryMs` (default 5 s), so an outage does not cost every request a fetch timeout.
   */
  readonly jwksRemote?: {
    readonly timeoutMs?: number
    readonly cooldownMs?: number
    readonly cacheMaxAgeMs?: number
    readonly serveStaleMs?: number
    readonly retryMs?: number
  }
  /** Where role attributes come from (`RealmExportSource`, `AdminApiSource`). Without it roles have `{}` attributes. */
  readonly catalogue?: RoleCatalogue
  /** Bounds of the catalogue cache: see {@link CatalogueCacheOptions}. */
  readonly catalogueCache?: CatalogueCacheOptions
  /**
   * The claim that holds the username (default `'preferred_username'`). A token whose claim is absent,
   * empty or blank is rejected (`TOKEN_INVALID` / `NO_USERNAME`): an empty username would match
   * username-templated rules (conda-store's `{username}/*`) for nobody or, worse, for everybody.
   */
  readonly usernameClaim?: string
  /** Only these clients' roles enter the principal (default: every client in `resource_access`). */
  readonly clients?: readonly string[]
  /** Where the group paths are (default `'groups'`; `false` when the client has no group-membership mapper). */
  readonly groupsClaim?: 'groups' | false
  /** The client has a group-membership mapper: an absent `groups` claim means "no groups" (see {@link PrincipalFromClaimsOptions.groupsMapperConfigured}). Default `false`. */
  readonly groupsMapperConfigured?: boolean
  /** The realm name (default: from `iss`). */
  readonly realm?: string
  /** Reject tokens without `realm_access` and `resource_access` (`TOKEN_INVALID` / `NO_ROLES`) instead of reporting a diagnostic. Default `false`. */
  readonly requireRoles?: boolean
  /**
   * A bounded cache of verified signatures keyed on the full token string, for the "same token again"
   * fast path. Off by default. Entries live at most until the token's `exp`; the claim checks
   * (`exp`, `nbf`, `iss`, `aud`, `typ`) run on every call, so a cached token still expires on time.
   */
  readonly verifiedCache?: { readonly max: number }
}

/**
 * Bounds of the role-catalogue cache of {@link TokenSource}, one role map per container (each client
 * named in a token, and the realm).
 *
 * The cache is bounded by **bytes**, not by a count of clients: a user may hold roles on thousands of
 * workspace clients, and a count small enough to bound memory would evict maps a single token still
 * needs. The estimate counts role names and attribute strings as UTF-16 plus per-entry overheads (on
 * the high side). Lookups in progress are kept apart from the stored maps and are never evicted; a map
 * larger than `maxBytes` on its own is used for the tokens that asked for it but not stored. To load
 * fewer clients at all, restrict the principal with the `clients` option of {@link TokenSourceOptions}.
 *
 * @example
 * ```ts
 * import { TokenSource, type CatalogueCacheOptions } from 'keycloak-permissions/keycloak'
 * const catalogueCache: CatalogueCacheOptions = { maxBytes: 64 * 1024 * 1024, ttlMs: 60_000, serveStaleMs: 3_600_000 }
 * ```
 */
export interface CatalogueCacheOptions {
  /** Upper bound of the estimated bytes of stored role maps (default 32 MiB ≈ 100 000 roles with short attributes). */
  readonly maxBytes?: number
  /** How long a loaded role map is fresh (default 60 000 ms). */
  readonly ttlMs?: number
  /**
   * While the catalogue fails with `SourceUnavailableError` (Keycloak unreachable), a map is still used
   * up to this long past its TTL and the principal is marked `origin.stale` with a
   * `KEYCLOAK_CATALOGUE_STALE` diagnostic (default 3 600 000 ms; 0 = never serve stale).
   */
  readonly serveStaleMs?: number
  /** While serving stale, try the catalogue again at most this often (default 5 000 ms). */
  readonly retryMs?: number
  /** At most this many catalogue loads at once; more wait their turn (default 8). */
  readonly concurrency?: number
}

/**
 * The result of {@link TokenSource.verify}: the verified claims, the JWS protected header and the
 * token's {@link TokenInfo}.
 *
 * @example
 * ```ts
 * const { payload, protectedHeader, info } = await tokens.verify(accessToken)
 * protectedHeader.kid // the signing key's id
 * info.azp            // 'jupyterhub'
 * ```
 */
export interface VerifiedToken {
  readonly payload: Readonly<Record<string, unknown>>
  readonly protectedHeader: Readonly<JWSHeaderParameters>
  readonly info: TokenInfo
  /** True when the signature was checked with a key set that could not be refreshed (see `jwksRemote.serveStaleMs`). */
  readonly stale: boolean
}

interface Verified {
  readonly payload: Readonly<Record<string, unknown>>
  readonly protectedHeader: Readonly<JWSHeaderParameters>
  /** Verified with a key set that could not be refreshed (Keycloak unreachable; see `jwksRemote.serveStaleMs`). */
  readonly staleKeys: boolean
  /**
   * With `verifiedCache`: the principal `resolve` built from this token, kept with the token's entry
   * (so evicted and expired with it), and the catalogue role maps it was built from (it is reused only
   * while the catalogue still answers with the same maps, fresh).
   */
  resolved?: ResolvedPrincipal
}

interface ResolvedPrincipal {
  /** As built (`origin.cached: false`), returned by the call that built it. */
  readonly built: Principal
  /** The same principal marked `origin.cached: true`, made once on the first reuse (stable identity). */
  reused?: Principal
  /** Container key → the catalogue role map the attributes came from; empty without a catalogue. */
  readonly maps: ReadonlyMap<string, CatalogueRoles>
}

interface CatalogueLookup {
  readonly lookup: (role: RoleRef) => RoleAttributes | undefined
  /** Containers served from a stale map, with their age. */
  readonly stale: readonly { readonly container: string; readonly loadedAt: number }[]
  /** Container key → the role map read. */
  readonly maps: ReadonlyMap<string, CatalogueRoles>
}

const NO_MAPS: ReadonlyMap<string, CatalogueRoles> = new Map()

const REALM_KEY = '\u0000realm'

/**
 * Verifies Keycloak access tokens and resolves them to principals (docs/semantics/keycloak.md §4, §6;
 * docs/semantics/workspaces.md §4).
 *
 * Verification: jose checks the JWS — structure, `alg` against the allow-list, key (by `kid`) and
 * signature — then the claims are checked by the same code as {@link validateClaims}, in the order
 * `requiredClaims`, `exp`, `nbf`, `iss`, `aud`/`azp`, `typ`. Every rejection is a
 * {@link TokenRejectedError} with a typed `reason` and `detail`: expired → `TOKEN_EXPIRED`/`EXPIRED`,
 * `nbf` → `TOKEN_NOT_YET_VALID`, wrong issuer → `ISSUER_MISMATCH`, wrong audience →
 * `AUDIENCE_MISMATCH`, ID/refresh token → `TOKEN_TYPE_NOT_ALLOWED`, `alg` outside the list (incl. `none`,
 * `HS256`) → `ALGORITHM_NOT_ALLOWED`, bad signature → `TOKEN_INVALID`/`BAD_SIGNATURE`, not a JWS or
 * not JSON → `TOKEN_INVALID`/`MALFORMED`, unknown `kid` → `TOKEN_INVALID`/`UNKNOWN_KEY`, JWKS
 * unreachable or unusable → `TOKEN_UNVERIFIABLE`/`JWKS_UNAVAILABLE` (retry later).
 *
 * The JWKS is picked by the token's `iss` when it is a configured issuer, else the first issuer's
 * set is used (so a token of an unconfigured issuer that our keys verify is still reported as
 * `ISSUER_MISMATCH`, in order). Remote key sets are cached by jose on wall-clock time.
 *
 * {@link TokenSource.resolve} adds: no usable username → `TOKEN_INVALID`/`NO_USERNAME`; catalogue
 * trouble → `TOKEN_UNVERIFIABLE`/`CATALOGUE_UNAVAILABLE`. The role catalogue is cached per container,
 * bounded by bytes with loads in progress never evicted (see {@link CatalogueCacheOptions}).
 *
 * Keycloak down (docs/semantics/keycloak.md §4, §6): tokens keep verifying with the last key set and
 * role attributes come from the last catalogue answers, each for at most `serveStaleMs` (default 1 h;
 * `jwksRemote.serveStaleMs`, `catalogueCache.serveStaleMs`), the principal marked `origin.stale`;
 * beyond that, `TOKEN_UNVERIFIABLE`.
 *
 * @example
 * ```ts
 * import { RealmExportSource, TokenSource } from 'keycloak-permissions/keycloak'
 * const tokens = new TokenSource({
 *   issuers: ['http://127.0.0.1:8180/realms/example'],
 *   catalogue: RealmExportSource.example(),
 * })
 * const principal = await tokens.resolve(accessToken)
 * principal.clientRoles['conda_store']?.map((r) => r.name)
 * ```
 */
export class TokenSource {
  /** The realm given in the options, or `undefined` when each principal's realm comes from its `iss`. */
  readonly realm: string | undefined
  readonly #validation: ReturnType<typeof normalizeValidationOptions>
  readonly #algorithms: readonly string[]
  readonly #keysByIssuer: ReadonlyMap<string, CompactVerifyGetKey>
  readonly #defaultKeys: CompactVerifyGetKey
  readonly #clock: Clock
  readonly #catalogue: RoleCatalogue | undefined
  readonly #catalogueCache: CatalogueCache | undefined
  readonly #usernameClaim: string
  /** Keys handed out from a key set that could not be refreshed (see `jwksRemote.serveStaleMs`). */
  readonly #staleKeys = new WeakSet<object>()
  readonly #verifiedCache: LRUCache<string, Verified> | undefined
  readonly #clients: readonly string[] | undefined
  readonly #groupsClaim: 'groups' | false
  readonly #groupsMapperConfigured: boolean
  readonly #requireRoles: boolean

  /**
   * @throws `InvalidOptionsError` naming the first invalid option.
   */
  constructor(options: TokenSourceOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected an object')
    const issuers = typeof options.issuers === 'string' ? [options.issuers] : options.issuers
    this.#validation = normalizeValidationOptions({
      issuers,
      ...(options.audience !== undefined && { audience: options.audience }),
      ...(options.allowAzp !== undefined && { allowAzp: options.allowAzp }),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.clockToleranceSec !== undefined && { clockToleranceSec: options.clockToleranceSec }),
      ...(options.allowedTypes !== undefined && { allowedTypes: options.allowedTypes }),
      allowMissingType: options.allowMissingType ?? false,
      requiredClaims: options.requiredClaims ?? ['exp', 'iat'],
    })
    this.#clock = this.#validation.clock

    const algorithms = options.algorithms ?? ['RS256']
    if (!Array.isArray(algorithms) || algorithms.length === 0) throw new InvalidOptionsError('algorithms', 'expected a non-empty array of JWS algorithms')
    algorithms.forEach((alg, i) => {
      if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) {
        throw new InvalidOptionsError(`algorithms.${i}`, `${JSON.stringify(alg)} is not an asymmetric JWS algorithm (${[...ASYMMETRIC_ALGORITHMS].join(', ')})`)
      }
    })
    this.#algorithms = Object.freeze([...algorithms])

    const keys = buildKeyResolvers(options, this.#validation.issuers, this.#clock, this.#staleKeys)
    this.#keysByIssuer = keys.byIssuer
    this.#defaultKeys = keys.fallback

    if (options.realm !== undefined && (typeof options.realm !== 'string' || options.realm === '')) {
      throw new InvalidOptionsError('realm', 'expected a non-empty string')
    }
    this.realm = options.realm
    if (options.clients !== undefined) {
      if (!Array.isArray(options.clients)) throw new InvalidOptionsError('clients', 'expected an array of clientIds')
      options.clients.forEach((c, i) => {
        if (typeof c !== 'string' || c === '') throw new InvalidOptionsError(`clients.${i}`, 'expected a non-empty clientId')
      })
      this.#clients = Object.freeze([...options.clients])
    }
    const groupsClaim = options.groupsClaim ?? 'groups'
    if (groupsClaim !== 'groups' && groupsClaim !== false) throw new InvalidOptionsError('groupsClaim', "expected 'groups' or false")
    this.#groupsClaim = groupsClaim
    if (options.groupsMapperConfigured !== undefined && typeof options.groupsMapperConfigured !== 'boolean') {
      throw new InvalidOptionsError('groupsMapperConfigured', 'expected a boolean')
    }
    this.#groupsMapperConfigured = options.groupsMapperConfigured ?? false
    if (options.requireRoles !== undefined && typeof options.requireRoles !== 'boolean') throw new InvalidOptionsError('requireRoles', 'expected a boolean')
    this.#requireRoles = options.requireRoles ?? false

    const catalogue = options.catalogue
    if (catalogue !== undefined) {
      if (catalogue === null || typeof catalogue.clientRoles !== 'function' || typeof catalogue.realmRoles !== 'function') {
        throw new InvalidOptionsError('catalogue', 'expected a RoleCatalogue (clientRoles() and realmRoles())')
      }
      const bounds = options.catalogueCache ?? {}
      if (bounds === null || typeof bounds !== 'object') throw new InvalidOptionsError('catalogueCache', 'expected an object')
      if ((bounds as { max?: unknown }).max !== undefined) {
        throw new InvalidOptionsError('catalogueCache.max', 'the catalogue cache is bounded by bytes: use catalogueCache.maxBytes')
      }
      this.#catalogue = catalogue
      this.#catalogueCache = new CatalogueCache({
        maxBytes: positiveInteger(bounds.maxBytes ?? 32 * 1024 * 1024, 'catalogueCache.maxBytes'),
        ttlMs: positiveInteger(bounds.ttlMs ?? 60_000, 'catalogueCache.ttlMs'),
        serveStaleMs: nonNegativeInteger(bounds.serveStaleMs ?? 3_600_000, 'catalogueCache.serveStaleMs'),
        retryMs: nonNegativeInteger(bounds.retryMs ?? 5_000, 'catalogueCache.retryMs'),
        concurrency: positiveInteger(bounds.concurrency ?? 8, 'catalogueCache.concurrency'),
        clock: this.#clock,
      })
    } else if (options.catalogueCache !== undefined) {
      throw new InvalidOptionsError('catalogueCache', 'only meaningful with a catalogue')
    }

    const usernameClaim = options.usernameClaim ?? 'preferred_username'
    if (typeof usernameClaim !== 'string' || usernameClaim === '') throw new InvalidOptionsError('usernameClaim', 'expected a non-empty claim name')
    this.#usernameClaim = usernameClaim

    if (options.verifiedCache !== undefined) {
      positiveInteger(options.verifiedCache?.max, 'verifiedCache.max')
      this.#verifiedCache = new LRUCache<string, Verified>({ max: options.verifiedCache.max, perf: this.#clock })
    }
  }

  /**
   * Verifies an access token (signature, algorithm, key, then the claims in order).
   *
   * @throws `TokenRejectedError` with `reason` and `detail` for every rejection.
   * @example
   * ```ts
   * try {
   *   const { info } = await tokens.verify(accessToken)
   *   console.log(info.azp, info.audience)
   * } catch (err) {
   *   if (err instanceof TokenRejectedError) reply(401, err.reason)
   * }
   * ```
   */
  async verify(token: string): Promise<VerifiedToken> {
    const verified = await this.#verifyAll(token)
    let info: TokenInfo
    try {
      info = tokenInfoFromClaims(verified.payload)
    } catch (err) {
      throw asMalformed(err)
    }
    return { payload: verified.payload, protectedHeader: verified.protectedHeader, info, stale: verified.staleKeys }
  }

  /**
   * Verifies the token and builds its principal: roles and groups from the claims (see
   * {@link principalFromClaims}), attributes from the catalogue (each container's role map loaded once
   * per `catalogueCache.ttlMs`, concurrent loads coalesced, at most `catalogueCache.concurrency` at once).
   *
   * While Keycloak is unreachable the principal may be built from stale parts — role maps past their
   * TTL (`catalogueCache.serveStaleMs`) or a key set that could not be refreshed
   * (`jwksRemote.serveStaleMs`); it is then marked `origin.stale: true` with a
   * `KEYCLOAK_CATALOGUE_STALE` / `KEYCLOAK_JWKS_STALE` diagnostic.
   *
   * @throws `TokenRejectedError` for every way the token can fail: a rejection of {@link verify};
   * `TOKEN_INVALID`/`NO_USERNAME` when the username claim (`usernameClaim`) is absent, empty or blank;
   * `TOKEN_INVALID`/`MALFORMED` when a verified token's role or username claims are malformed (the
   * `InvalidInputError` as `cause`); `TOKEN_INVALID`/`NO_ROLES` with `requireRoles`;
   * `TOKEN_UNVERIFIABLE`/`CATALOGUE_UNAVAILABLE` when the catalogue cannot answer and has nothing
   * servable (its error as `cause`; `retryable` from it). Only the caller's own abort is not a
   * rejection: the signal's reason is thrown.
   * @example
   * ```ts
   * const principal = await tokens.resolve(accessToken, { signal: AbortSignal.timeout(2_000) })
   * principal.token?.azp // 'jupyterhub'
   * ```
   */
  async resolve(token: string, options?: ResolveOptions): Promise<Principal> {
    const verified = await this.#verifyAll(token)
    const reused = verified.resolved !== undefined ? this.#reuse(verified.resolved) : undefined
    if (reused !== undefined) return reused
    const { payload, staleKeys } = verified
    if (this.#requireRoles && payload['realm_access'] === undefined && payload['resource_access'] === undefined) {
      throw new TokenRejectedError('TOKEN_INVALID', 'NO_ROLES', 'the token has neither realm_access nor resource_access (a lightweight access token?)')
    }
    let username: string | undefined
    try {
      username = usernameFromClaims(payload, this.#usernameClaim)
    } catch (err) {
      throw asMalformed(err)
    }
    if (username === undefined) {
      throw new TokenRejectedError(
        'TOKEN_INVALID',
        'NO_USERNAME',
        `the token has no usable ${this.#usernameClaim} claim (absent, empty or blank): no username to decide for (request the "profile" client scope, or set usernameClaim)`,
      )
    }
    const catalogue = this.#catalogue === undefined ? undefined : await this.#loadCatalogue(payload, options)
    let principal: Principal
    try {
      principal = principalFromClaims(payload, {
        ...(this.realm !== undefined && { realm: this.realm }),
        ...(catalogue !== undefined && { attributes: catalogue.lookup }),
        ...(this.#clients !== undefined && { clients: this.#clients }),
        groupsClaim: this.#groupsClaim,
        groupsMapperConfigured: this.#groupsMapperConfigured,
        usernameClaim: this.#usernameClaim,
        clock: this.#clock,
      })
    } catch (err) {
      throw asMalformed(err)
    }
    const staleCatalogue = catalogue?.stale ?? []
    if (!staleKeys && staleCatalogue.length === 0) {
      // Only a cached token's entry keeps it (the verified cache never holds a stale-key verification).
      if (this.#verifiedCache?.has(token)) verified.resolved = { built: principal, maps: catalogue?.maps ?? NO_MAPS }
      return principal
    }
    const now = this.#clock.now()
    const diagnostics = [...principal.diagnostics]
    const subject = { user: principal.username }
    if (staleKeys) {
      diagnostics.push(
        diagnostic('warning', 'KEYCLOAK_JWKS_STALE', 'the token was verified with a key set that could not be refreshed (Keycloak unreachable)', subject, {
          fix: 'restore the connection to Keycloak; jwksRemote.serveStaleMs bounds how long this lasts',
        }),
      )
    }
    if (staleCatalogue.length > 0) {
      const oldest = Math.min(...staleCatalogue.map((s) => s.loadedAt))
      diagnostics.push(
        diagnostic(
          'warning',
          'KEYCLOAK_CATALOGUE_STALE',
          `role attributes of ${staleCatalogue.length} container(s) are past their TTL (the role catalogue is unavailable); the oldest was loaded ${now - oldest} ms ago`,
          subject,
          {
            fix: 'restore the connection to Keycloak; catalogueCache.serveStaleMs bounds how long this lasts',
            details: { containers: staleCatalogue.map((s) => (s.container === REALM_KEY ? '(realm)' : s.container.slice(1))), oldestLoadedAt: oldest },
          },
        ),
      )
    }
    return { ...principal, origin: { ...principal.origin, stale: true }, diagnostics }
  }

  /**
   * A principal this token already resolved to, when nothing it was built from changed: the claims
   * are the token's (its entry is the cache key), the options are fixed, and every catalogue role map
   * it read is still the fresh one. Marked `origin.cached: true`; the same object on every reuse, so
   * results derived from it (component caches keyed by the principal) are reused too.
   */
  #reuse(resolved: ResolvedPrincipal): Principal | undefined {
    const cache = this.#catalogueCache
    if (cache !== undefined) {
      for (const [key, roles] of resolved.maps) if (cache.peekFresh(key)?.roles !== roles) return undefined
    }
    if (resolved.reused === undefined) {
      const built = resolved.built
      resolved.reused = { ...built, origin: { ...built.origin, cached: true } }
    }
    return resolved.reused
  }

  async #loadCatalogue(payload: Readonly<Record<string, unknown>>, options: ResolveOptions | undefined): Promise<CatalogueLookup> {
    const keys: string[] = []
    if (payload['realm_access'] !== undefined) keys.push(REALM_KEY)
    const access = payload['resource_access']
    if (access !== null && typeof access === 'object' && !Array.isArray(access)) {
      const wanted = this.#clients === undefined ? undefined : new Set(this.#clients)
      for (const client of Object.keys(access)) {
        if (wanted === undefined || wanted.has(client)) keys.push(`c${client}`)
      }
    }
    const cache = this.#catalogueCache!
    const catalogue = this.#catalogue!
    const maps = new Map<string, CatalogueRoles>()
    const stale: { container: string; loadedAt: number }[] = []
    // One load per container is shared by concurrent callers, so it runs without any caller's signal;
    // a caller's abort only stops that caller's wait.
    const load = (key: string) => () => (key === REALM_KEY ? catalogue.realmRoles() : catalogue.clientRoles(key.slice(1)))
    const missing: string[] = []
    for (const key of keys) {
      const hit = cache.peekFresh(key)
      if (hit === null) missing.push(key)
      else maps.set(key, hit.roles)
    }
    if (missing.length === 0) return { lookup: (role) => maps.get(role.client === undefined ? REALM_KEY : `c${role.client}`)?.get(role.name), stale, maps }
    const signal = options?.signal
    try {
      await abortable(
        Promise.all(
          missing.map(async (key) => {
            const answer = await cache.get(key, load(key))
            maps.set(key, answer.roles)
            if (answer.stale) stale.push({ container: key, loadedAt: answer.loadedAt })
          }),
        ),
        signal,
      )
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err
      throw catalogueRejection(err)
    }
    return { lookup: (role) => maps.get(role.client === undefined ? REALM_KEY : `c${role.client}`)?.get(role.name), stale, maps }
  }

  /** {@link verify} with what only `resolve` needs to know (stale keys). */
  async #verifyAll(token: string): Promise<Verified> {
    const verified = await this.#verifySignature(token)
    const result = checkClaims(verified.payload, this.#validation)
    if (!result.ok) throw new TokenRejectedError(result.reason, result.detail, result.message)
    return verified
  }

  async #verifySignature(token: string): Promise<Verified> {
    if (typeof token !== 'string' || token === '') throw new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', 'the token is not a non-empty string')
    const cached = this.#verifiedCache?.get(token)
    if (cached !== undefined) return cached

    let result: Awaited<ReturnType<typeof compactVerify>>
    try {
      result = await compactVerify(token, this.#selectKey, { algorithms: [...this.#algorithms] })
    } catch (err) {
      throw rejectionFromJose(err)
    }
    if (result.protectedHeader.b64 === false) throw new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', 'JWTs must not use an unencoded payload (b64: false)')
    const payload = parseClaimsSet(result.payload)
    const staleKeys = typeof result.key === 'object' && result.key !== null && this.#staleKeys.has(result.key)
    const verified: Verified = { payload, protectedHeader: result.protectedHeader, staleKeys }

    // A signature checked with stale keys is not remembered: it is re-checked once Keycloak answers.
    if (this.#verifiedCache !== undefined && !staleKeys) {
      const exp = payload['exp']
      const lifetime = typeof exp === 'number' && Number.isFinite(exp) ? Math.floor(exp * 1000 - this.#clock.now()) : 0
      if (lifetime > 0) this.#verifiedCache.set(token, verified, { ttl: lifetime })
    }
    return verified
  }

  /** Picks the key set by the (not yet trusted) `iss`; every candidate set is a configured, trusted one. */
  readonly #selectKey = async (header: CompactJWSHeaderParameters, jws: FlattenedJWSInput) => {
    // With at most one issuer-specific key set every token gets the same resolver: don't parse the payload twice.
    const resolver =
      this.#keysByIssuer.size <= 1 ? this.#defaultKeys : (this.#keysByIssuer.get(unverifiedIssuer(jws.payload) ?? '') ?? this.#defaultKeys)
    try {
      return await resolver(header, jws)
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw err
      throw new TokenRejectedError('TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE', `the verification keys could not be loaded: ${messageOf(err)}`, { cause: err })
    }
  }
}

function buildKeyResolvers(
  options: TokenSourceOptions,
  issuers: readonly string[],
  clock: Clock,
  staleKeys: WeakSet<object>,
): { byIssuer: Map<string, CompactVerifyGetKey>; fallback: CompactVerifyGetKey } {
  const byIssuer = new Map<string, CompactVerifyGetKey>()
  if (options.jwks !== undefined) {
    if (options.jwksUrl !== undefined) throw new InvalidOptionsError('jwksUrl', 'give either jwks or jwksUrl, not both')
    let resolver: CompactVerifyGetKey
    if (typeof options.jwks === 'function') {
      resolver = options.jwks
    } else {
      try {
        resolver = createLocalJWKSet(options.jwks)
      } catch (err) {
        throw new InvalidOptionsError('jwks', `not a JSON Web Key Set: ${messageOf(err)}`, { cause: err })
      }
    }
    return { byIssuer, fallback: resolver }
  }

  const remote = options.jwksRemote ?? {}
  if (remote === null || typeof remote !== 'object') throw new InvalidOptionsError('jwksRemote', 'expected an object')
  const remoteOptions = {
    timeoutDuration: nonNegativeInteger(remote.timeoutMs ?? 5_000, 'jwksRemote.timeoutMs'),
    cooldownDuration: nonNegativeInteger(remote.cooldownMs ?? 30_000, 'jwksRemote.cooldownMs'),
    cacheMaxAge: nonNegativeInteger(remote.cacheMaxAgeMs ?? 600_000, 'jwksRemote.cacheMaxAgeMs'),
  }
  const outage = {
    serveStaleMs: nonNegativeInteger(remote.serveStaleMs ?? 3_600_000, 'jwksRemote.serveStaleMs'),
    retryMs: nonNegativeInteger(remote.retryMs ?? 5_000, 'jwksRemote.retryMs'),
  }
  const remoteSet = (url: URL) => withStaleFallback(createRemoteJWKSet(url, remoteOptions), outage, clock, staleKeys)
  if (options.jwksUrl !== undefined) {
    return { byIssuer, fallback: remoteSet(httpUrl(options.jwksUrl, 'jwksUrl')) }
  }
  issuers.forEach((issuer, i) => {
    const url = httpUrl(`${issuer.replace(/\/+$/, '')}/protocol/openid-connect/certs`, `issuers.${i}`)
    byIssuer.set(issuer, remoteSet(url))
  })
  return { byIssuer, fallback: byIssuer.get(issuers[0]!)! }
}

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>

/**
 * A remote key set that outlives a Keycloak outage, bounded: when jose cannot reload the set (network
 * error, timeout, HTTP error — not an unknown `kid` in a set it did load), the last set it loaded keeps
 * verifying for `serveStaleMs` after it was last usable, and the keys it hands out are recorded in
 * `staleKeys` so the principal is marked stale. While stale, a reload is tried at most every `retryMs`.
 * Time is the injected clock (jose's own cache ages use the wall clock).
 */
function withStaleFallback(
  remote: RemoteKeySet,
  outage: { readonly serveStaleMs: number; readonly retryMs: number },
  clock: Clock,
  staleKeys: WeakSet<object>,
): CompactVerifyGetKey {
  if (outage.serveStaleMs === 0) return remote
  let lastUsableAt: number | undefined
  let failedAt: number | undefined
  let fallback: { readonly source: JSONWebKeySet; readonly resolve: CompactVerifyGetKey } | undefined
  const stale = async (header: CompactJWSHeaderParameters, jws: FlattenedJWSInput) => {
    const jwks = remote.jwks()
    if (jwks === undefined) return undefined
    // jose hands out a fresh copy each time: compare by content, so the imported keys are reused.
    const text = JSON.stringify(jwks)
    if (fallback === undefined || JSON.stringify(fallback.source) !== text) fallback = { source: jwks, resolve: createLocalJWKSet(jwks) }
    let key: Awaited<ReturnType<CompactVerifyGetKey>>
    try {
      key = await fallback.resolve(header, jws)
    } catch {
      // A kid the old set lacks (rotated during the outage) cannot be decided: the reload error stands.
      return undefined
    }
    staleKeys.add(key as object)
    return key
  }
  return async (header, jws) => {
    const now = clock.now()
    const servable = lastUsableAt !== undefined && now - lastUsableAt <= outage.serveStaleMs
    if (failedAt !== undefined && now - failedAt < outage.retryMs && servable) {
      const key = await stale(header, jws)
      if (key !== undefined) return key
    }
    try {
      const key = await remote(header, jws)
      lastUsableAt = clock.now()
      failedAt = undefined
      return key
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw err
      failedAt = clock.now()
      if (servable) {
        const key = await stale(header, jws)
        if (key !== undefined) return key
      }
      throw err
    }
  }
}

function httpUrl(value: string | URL, option: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionsError(option, `${JSON.stringify(String(value))} is not an absolute URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidOptionsError(option, 'expected an http(s) URL')
  return url
}

function positiveInteger(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new InvalidOptionsError(option, 'must be a positive integer')
  return value
}

function nonNegativeInteger(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidOptionsError(option, 'must be a non-negative integer')
  return value
}

function unverifiedIssuer(payload: unknown): string | undefined {
  if (typeof payload !== 'string') return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown
    const iss = claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>)['iss'] : undefined
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function parseClaimsSet(bytes: Uint8Array): Readonly<Record<string, unknown>> {
  let claims: unknown
  try {
    claims = JSON.parse(strictUtf8.decode(bytes))
  } catch (cause) {
    throw new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', 'the JWT claims set is not UTF-8 JSON', { cause })
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', 'the JWT claims set is not a JSON object')
  }
  return claims as Record<string, unknown>
}

function rejectionFromJose(err: unknown): TokenRejectedError {
  if (err instanceof TokenRejectedError) return err
  const code = (err as { code?: unknown } | null)?.code
  const message = messageOf(err)
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new TokenRejectedError('ALGORITHM_NOT_ALLOWED', 'ALG_NOT_ALLOWED', message, { cause: err })
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenRejectedError('TOKEN_INVALID', 'BAD_SIGNATURE', message, { cause: err })
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new TokenRejectedError('TOKEN_INVALID', 'UNKNOWN_KEY', message, { cause: err })
    case 'ERR_JWKS_TIMEOUT':
      return new TokenRejectedError('TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE', message, { cause: err })
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED, and key/format TypeErrors: the token cannot be a valid JWS.
      return new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', message, { cause: err })
  }
}

/** Catalogue trouble as a rejection: the token's rights cannot be known (docs/semantics/keycloak.md §6: attributes come from the catalogue). */
function catalogueRejection(err: unknown): TokenRejectedError {
  if (err instanceof TokenRejectedError) return err
  const retryable = err instanceof SourceUnavailableError ? err.retryable : !(err instanceof KeycloakPermissionsError)
  const what = err instanceof KeycloakPermissionsError ? `${err.code}: ${err.message}` : messageOf(err)
  return new TokenRejectedError('TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE', `the role catalogue could not answer for this token's roles (${what})`, {
    cause: err,
    retryable,
  })
}

function asMalformed(err: unknown): unknown {
  if (err instanceof InvalidInputError) {
    return new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', err.message, { cause: err })
  }
  return err
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

