/**
 * A client-credentials access-token provider for the Admin API. The admin client's own refresh
 * needs a refresh token, which Keycloak never issues for `client_credentials`, so a long-lived
 * admin client fails after the first token lifetime: this provider performs its own token POST
 * instead, caches the token until shortly before it expires, and coalesces concurrent refreshes.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { systemClock, type Clock } from '../core/clock.js'
import { InvalidOptionsError, SourceUnavailableError } from '../core/errors.js'
import { abortable, requireDuration, requireNonEmptyString, requireString, unreachable, validateHttpUrl } from './admin-util.js'

/**
 * Anything that can hand out a valid bearer token for the Admin API.
 *
 * @example
 * ```ts
 * import type { AccessTokenProvider } from 'keycloak-permissions/keycloak'
 * const fixed: AccessTokenProvider = { getAccessToken: async () => process.env.KC_TOKEN! }
 * ```
 */
export interface AccessTokenProvider {
  /** A token valid for at least the provider's safety margin. */
  getAccessToken(options?: { readonly signal?: AbortSignal }): Promise<string>
  /** Forgets a cached token (e.g. after the server answered 401), so the next call fetches a new one. */
  invalidate?(): void
}

/**
 * Options of {@link ClientCredentialsTokenProvider}.
 *
 * @example
 * ```ts
 * import { ClientCredentialsTokenProvider, type ClientCredentialsOptions } from 'keycloak-permissions/keycloak'
 * const options: ClientCredentialsOptions = {
 *   tokenUrl: ClientCredentialsTokenProvider.tokenEndpoint('http://127.0.0.1:8180', 'example'),
 *   clientId: 'permission-resolver',
 *   clientSecret: 'permission-resolver-secret',
 * }
 * ```
 */
export interface ClientCredentialsOptions {
  /** The realm's token endpoint, `{baseUrl}/realms/{realm}/protocol/openid-connect/token`. */
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  /** Space-separated scopes to request (default: none, i.e. the client's defaults). */
  readonly scope?: string
  /** A token is renewed this long before it expires (default 30 000 ms, at most half its lifetime). */
  readonly refreshMarginMs?: number
  /** Timeout of one token request (default 10 000 ms). */
  readonly timeoutMs?: number
  /** Clock deciding when a cached token is due for renewal (default: the system clock). */
  readonly clock?: Clock
}

interface CachedToken {
  readonly accessToken: string
  /** Epoch ms (our clock) from which the token is renewed instead of served. */
  readonly renewAt: number
}

const SOURCE = 'admin-api'

/**
 * Obtains service-account tokens with the OAuth 2.0 `client_credentials` grant (HTTP Basic client
 * authentication), caches each until `expiry − refreshMarginMs` on the injected clock, and makes
 * concurrent callers share one token request. Failures are {@link SourceUnavailableError}s (a
 * rejected client — HTTP 400/401 — is not retryable).
 *
 * @example
 * ```ts
 * import { ClientCredentialsTokenProvider } from 'keycloak-permissions/keycloak'
 * const tokens = new ClientCredentialsTokenProvider({
 *   tokenUrl: ClientCredentialsTokenProvider.tokenEndpoint('http://127.0.0.1:8180', 'example'),
 *   clientId: 'permission-resolver',
 *   clientSecret: 'permission-resolver-secret',
 * })
 * const bearer = await tokens.getAccessToken()
 * ```
 */
export class ClientCredentialsTokenProvider implements AccessTokenProvider {
  readonly #tokenUrl: string
  readonly #clientId: string
  readonly #clientSecret: string
  readonly #scope: string | undefined
  readonly #marginMs: number
  readonly #timeoutMs: number
  readonly #clock: Clock
  #cached: CachedToken | undefined
  #inflight: Promise<CachedToken> | undefined
  /** Bumped by invalidate(), so a request started before it cannot repopulate the cache. */
  #generation = 0

  /**
   * @throws `InvalidOptionsError` naming the offending option
   */
  constructor(options: ClientCredentialsOptions) {
    const o = options as Partial<ClientCredentialsOptions> | undefined
    if (typeof o !== 'object' || o === null) throw new InvalidOptionsError('options', 'must be an object')
    this.#tokenUrl = validateHttpUrl('tokenUrl', o.tokenUrl)
    this.#clientId = requireNonEmptyString('clientId', o.clientId)
    this.#clientSecret = requireString('clientSecret', o.clientSecret)
    this.#scope = o.scope === undefined ? undefined : requireString('scope', o.scope)
    this.#marginMs = o.refreshMarginMs === undefined ? 30_000 : requireDuration('refreshMarginMs', o.refreshMarginMs, true)
    this.#timeoutMs = o.timeoutMs === undefined ? 10_000 : requireDuration('timeoutMs', o.timeoutMs, false)
    if (o.clock !== undefined && (typeof o.clock !== 'object' || o.clock === null || typeof o.clock.now !== 'function')) {
      throw new InvalidOptionsError('clock', 'must have a now() method')
    }
    this.#clock = o.clock ?? systemClock
  }

  /**
   * The token endpoint of `realm` on a server at `baseUrl` (which includes any relative path, e.g.
   * Nebari's `/auth`).
   *
   * @example
   * ```ts
   * ClientCredentialsTokenProvider.tokenEndpoint('https://nebari.example.com/auth', 'nebari')
   * // 'https://nebari.example.com/auth/realms/nebari/protocol/openid-connect/token'
   * ```
   */
  static tokenEndpoint(baseUrl: string, realm: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`
  }

  /**
   * A cached token when it is not yet due for renewal, else a fresh one (one request shared by all
   * concurrent callers). A caller's `signal` abandons only that caller's wait.
   *
   * @throws `SourceUnavailableError` when the token endpoint cannot be reached or rejects the client
   * @example
   * ```ts
   * const token = await tokens.getAccessToken({ signal: AbortSignal.timeout(2_000) })
   * ```
   */
  async getAccessToken(options?: { readonly signal?: AbortSignal }): Promise<string> {
    options?.signal?.throwIfAborted()
    const cached = this.#cached
    if (cached && this.#clock.now() < cached.renewAt) return cached.accessToken
    this.#inflight ??= this.#fetchToken().finally(() => {
      this.#inflight = undefined
    })
    const token = await abortable(this.#inflight, options?.signal)
    return token.accessToken
  }

  /**
   * Forgets the cached token; the next {@link getAccessToken} requests a new one.
   *
   * @example
   * ```ts
   * tokens.invalidate()
   * ```
   */
  invalidate(): void {
    this.#cached = undefined
    this.#generation++
  }

  async #fetchToken(): Promise<CachedToken> {
    const generation = this.#generation
    const requestedAt = this.#clock.now()
    const body = new URLSearchParams({ grant_type: 'client_credentials' })
    if (this.#scope !== undefined) body.set('scope', this.#scope)
    // RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
    const basic = Buffer.from(`${formEncode(this.#clientId)}:${formEncode(this.#clientSecret)}`).toString('base64')
    let response: Response
    try {
      response = await fetch(this.#tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (err) {
      throw unreachable(`token request to ${this.#tokenUrl}`, err, this.#timeoutMs)
    }
    let payload: unknown
    try {
      payload = await response.json()
    } catch (err) {
      throw new SourceUnavailableError(SOURCE, `token endpoint answered ${response.status} with a body that is not JSON`, {
        cause: err,
        status: response.status,
        retryable: response.status >= 500,
      })
    }
    if (!response.ok) {
      const oauth = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {}
      const reason = [oauth.error, oauth.error_description].filter((v) => typeof v === 'string').join(': ')
      const rejected = response.status === 400 || response.status === 401
      throw new SourceUnavailableError(
        SOURCE,
        `token endpoint rejected client ${JSON.stringify(this.#clientId)} with HTTP ${response.status}${reason ? ` (${reason})` : ''}` +
          (rejected ? '; check the client id, its secret and that service accounts are enabled for it' : ''),
        { status: response.status, retryable: !rejected },
      )
    }
    const accessToken = (payload as { access_token?: unknown } | null)?.access_token
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new SourceUnavailableError(SOURCE, 'token endpoint answered without an access_token', { status: response.status, retryable: false })
    }
    const lifetimeMs = tokenLifetimeMs(payload as Record<string, unknown>, accessToken, requestedAt)
    // A short-lived token would otherwise be "due" the moment it arrives; renew it halfway instead.
    const margin = Math.min(this.#marginMs, lifetimeMs / 2)
    const token: CachedToken = { accessToken, renewAt: requestedAt + lifetimeMs - margin }
    if (generation === this.#generation) this.#cached = token
    return token
  }
}

/**
 * The token's lifetime from `expires_in` (relative, so immune to clock skew between us and Keycloak),
 * else from the JWT's `exp`; 0 when neither is known (the token is then used once).
 */
function tokenLifetimeMs(payload: Record<string, unknown>, accessToken: string, requestedAt: number): number {
  const expiresIn = payload.expires_in
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) return expiresIn * 1000
  try {
    const { exp } = decodeJwt(accessToken)
    if (typeof exp === 'number') return Math.max(0, exp * 1000 - requestedAt)
  } catch {
    // An opaque token: no expiry known.
  }
  return 0
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

