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
import { systemClock } from '../core/clock.js'
import { InvalidInputError, InvalidOptionsError, TokenRejectedError } from '../core/errors.js'
import { abortable } from './admin-util.js'
import type { Principal, RoleAttributes, RoleRef, TokenInfo } from '../core/principal.js'
import { checkClaims, normalizeValidationOptions, principalFromClaims, tokenInfoFromClaims, type PrincipalFromClaimsOptions } from './claims.js'
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
  /** Also accept tokens whose `azp` is one of these clients when `aud` lacks the audience (keycloak.md §3.2 pitfall 3). */
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
  /** Remote JWKS tuning (jose's defaults): fetch timeout 5 s, reload cooldown for an unknown `kid` 30 s, max age 10 min. */
  readonly jwksRemote?: { readonly timeoutMs?: number; readonly cooldownMs?: number; readonly cacheMaxAgeMs?: number }
  /** Where role attributes come from (`RealmExportSource`, `AdminApiSource`). Without it roles have `{}` attributes. */
  readonly catalogue?: RoleCatalogue
  /** Bounds of the catalogue cache (per client, plus one realm entry): default `{ max: 256, ttlMs: 60_000 }`. */
  readonly catalogueCache?: { readonly max?: number; readonly ttlMs?: number }
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
}

interface Verified {
  readonly payload: Readonly<Record<string, unknown>>
  readonly protectedHeader: Readonly<JWSHeaderParameters>
}

type CatalogueEntry = { readonly roles: ReadonlyMap<string, RoleAttributes> | undefined }

const REALM_KEY = '\u0000realm'

/**
 * Verifies Keycloak access tokens and resolves them to principals (keycloak.md §4, §6;
 * workspaces.md §4).
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
  readonly #catalogueCache: LRUCache<string, CatalogueEntry> | undefined
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

    const keys = buildKeyResolvers(options, this.#validation.issuers)
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
      const max = options.catalogueCache?.max ?? 256
      const ttl = options.catalogueCache?.ttlMs ?? 60_000
      positiveInteger(max, 'catalogueCache.max')
      positiveInteger(ttl, 'catalogueCache.ttlMs')
      this.#catalogue = catalogue
      this.#catalogueCache = new LRUCache<string, CatalogueEntry>({
        max,
        ttl,
        perf: this.#clock,
        // One load per container is shared by concurrent callers, so it runs under the cache's own
        // signal; a caller's abort only stops that caller's wait (see #loadCatalogue).
        fetchMethod: async (key, _stale, { signal }) => {
          const callOptions: ResolveOptions = { signal }
          const roles = key === REALM_KEY ? await catalogue.realmRoles(callOptions) : await catalogue.clientRoles(key.slice(1), callOptions)
          return { roles }
        },
      })
    } else if (options.catalogueCache !== undefined) {
      throw new InvalidOptionsError('catalogueCache', 'only meaningful with a catalogue')
    }

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
    const verified = await this.#verifySignature(token)
    const result = checkClaims(verified.payload, this.#validation)
    if (!result.ok) throw new TokenRejectedError(result.reason, result.detail, result.message)
    let info: TokenInfo
    try {
      info = tokenInfoFromClaims(verified.payload)
    } catch (err) {
      throw asMalformed(err)
    }
    return { payload: verified.payload, protectedHeader: verified.protectedHeader, info }
  }

  /**
   * Verifies the token and builds its principal: roles and groups from the claims (see
   * {@link principalFromClaims}), attributes from the catalogue (each container's role map loaded once
   * per `catalogueCache.ttlMs`, concurrent loads coalesced).
   *
   * @throws `TokenRejectedError` for a rejected token (also `TOKEN_INVALID`/`MALFORMED` when a
   * verified token's role claims are malformed, with the `InvalidInputError` as `cause`, and
   * `TOKEN_INVALID`/`NO_ROLES` with `requireRoles`); the catalogue's own error (e.g.
   * `SourceUnavailableError`) when it cannot answer.
   * @example
   * ```ts
   * const principal = await tokens.resolve(accessToken, { signal: AbortSignal.timeout(2_000) })
   * principal.token?.azp // 'jupyterhub'
   * ```
   */
  async resolve(token: string, options?: ResolveOptions): Promise<Principal> {
    const { payload } = await this.verify(token)
    if (this.#requireRoles && payload['realm_access'] === undefined && payload['resource_access'] === undefined) {
      throw new TokenRejectedError('TOKEN_INVALID', 'NO_ROLES', 'the token has neither realm_access nor resource_access (a lightweight access token?)')
    }
    const lookup = this.#catalogue === undefined ? undefined : await this.#loadCatalogue(payload, options)
    try {
      return principalFromClaims(payload, {
        ...(this.realm !== undefined && { realm: this.realm }),
        ...(lookup !== undefined && { attributes: lookup }),
        ...(this.#clients !== undefined && { clients: this.#clients }),
        groupsClaim: this.#groupsClaim,
        groupsMapperConfigured: this.#groupsMapperConfigured,
        clock: this.#clock,
      })
    } catch (err) {
      throw asMalformed(err)
    }
  }

  async #loadCatalogue(payload: Readonly<Record<string, unknown>>, options: ResolveOptions | undefined): Promise<(role: RoleRef) => RoleAttributes | undefined> {
    const keys: string[] = []
    if (payload['realm_access'] !== undefined) keys.push(REALM_KEY)
    const access = payload['resource_access']
    if (access !== null && typeof access === 'object' && !Array.isArray(access)) {
      for (const client of Object.keys(access)) {
        if (this.#clients === undefined || this.#clients.includes(client)) keys.push(`c${client}`)
      }
    }
    const cache = this.#catalogueCache!
    const maps = new Map<string, ReadonlyMap<string, RoleAttributes> | undefined>()
    await Promise.all(
      keys.map(async (key) => {
        const entry = await abortable(cache.fetch(key), options?.signal)
        maps.set(key, entry?.roles)
      }),
    )
    return (role) => maps.get(role.client === undefined ? REALM_KEY : `c${role.client}`)?.get(role.name)
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
    const verified: Verified = { payload, protectedHeader: result.protectedHeader }

    if (this.#verifiedCache !== undefined) {
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

function buildKeyResolvers(options: TokenSourceOptions, issuers: readonly string[]): { byIssuer: Map<string, CompactVerifyGetKey>; fallback: CompactVerifyGetKey } {
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
  const remoteOptions = {
    timeoutDuration: nonNegativeInteger(remote.timeoutMs ?? 5_000, 'jwksRemote.timeoutMs'),
    cooldownDuration: nonNegativeInteger(remote.cooldownMs ?? 30_000, 'jwksRemote.cooldownMs'),
    cacheMaxAge: nonNegativeInteger(remote.cacheMaxAgeMs ?? 600_000, 'jwksRemote.cacheMaxAgeMs'),
  }
  if (options.jwksUrl !== undefined) {
    const set = createRemoteJWKSet(httpUrl(options.jwksUrl, 'jwksUrl'), remoteOptions)
    return { byIssuer, fallback: set }
  }
  issuers.forEach((issuer, i) => {
    const url = httpUrl(`${issuer.replace(/\/+$/, '')}/protocol/openid-connect/certs`, `issuers.${i}`)
    byIssuer.set(issuer, createRemoteJWKSet(url, remoteOptions))
  })
  return { byIssuer, fallback: byIssuer.get(issuers[0]!)! }
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

function asMalformed(err: unknown): unknown {
  if (err instanceof InvalidInputError) {
    return new TokenRejectedError('TOKEN_INVALID', 'MALFORMED', err.message, { cause: err })
  }
  return err
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

