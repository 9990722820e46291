/**
 * Live roles for token callers: the access token only authenticates; roles, groups and attributes
 * come from a cached, invalidated {@link AdminApiSource}, so a revoked role stops working before the
 * token expires.
 *
 * @module
 */
import { InvalidOptionsError, TokenRejectedError } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import type { AdminApiSource } from './admin-api-source.js'
import { realmFromIssuer } from './claims.js'
import type { ResolveOptions, UserRef } from './source.js'
import type { TokenSource } from './token-source.js'

/**
 * Options of {@link LiveRolesSource}.
 *
 * @example
 * ```ts
 * import type { LiveRolesSourceOptions } from 'keycloak-permissions/keycloak'
 * const options: LiveRolesSourceOptions = { tokens, roles: adminSource }
 * ```
 */
export interface LiveRolesSourceOptions {
  /** Verifies the access token (signature, issuer, audience, expiry, type) exactly as in token-only mode. */
  readonly tokens: TokenSource
  /** Supplies the principal; use `checkEnabled: true` and an `AdminEventWatcher` for prompt revocation. */
  readonly roles: AdminApiSource
}

/**
 * Token authenticates, Keycloak authorizes: {@link TokenSource.verify} checks the token, then the
 * user's principal is resolved by the token's `sub` and `preferred_username` through the
 * {@link AdminApiSource} (both known, so the username lookup is skipped). The principal carries the
 * token's `TokenInfo` and the source's `origin` (`kind: 'admin-api'`, with `resolvedAt`, `cached`,
 * `stale` and `tier`). A token whose realm is not the source's realm is `ISSUER_MISMATCH`; a token
 * without `sub` and `preferred_username` (a lightweight access token) is `TOKEN_INVALID`/`MISSING_CLAIM`.
 * The principal keeps the Admin API's `enabled`: an account disabled after its token was issued comes
 * back `enabled: false` (components deny it with `USER_DISABLED`), or — with `checkEnabled` on the
 * Admin API source — as a `UserDisabledError`. A token-only principal never carries `enabled`
 * (Keycloak issues no token to a disabled account, and a token cannot tell of a later change).
 *
 * Trade-off against token-only mode (`TokenSource.resolve`): token-only costs Keycloak nothing per
 * request and keeps working while Keycloak is down, but a role granted or revoked (or a user disabled)
 * takes effect only when the user gets a new token — up to the access-token lifetime (300 s by
 * default), and for roles granted only at the next login in practice. Live roles reflect a change
 * within the cache TTL (within about a second with an `AdminEventWatcher`), carry role attributes
 * without a catalogue and groups without a token mapper, and see composites and parent groups exactly
 * as the Admin API does — at the cost of one Admin API lookup set per user per TTL (shared across
 * replicas with the Redis tier), and of failing closed (`SourceUnavailableError`, or bounded
 * serve-stale) when Keycloak cannot be reached and the cache has no fresh answer.
 *
 * @example
 * ```ts
 * import { AdminApiSource, AdminEventWatcher, LiveRolesSource, TokenSource } from 'keycloak-permissions/keycloak'
 * const roles = new AdminApiSource({ baseUrl, realm: 'example', clients: ['conda_store'], credentials, cache: { max: 5_000, ttlMs: 60_000 }, checkEnabled: true })
 * new AdminEventWatcher({ baseUrl, realm: 'example', credentials, target: roles }).start()
 * const live = new LiveRolesSource({ tokens: new TokenSource({ issuers: [`${baseUrl}/realms/example`] }), roles })
 * const principal = await live.resolve(bearerToken)
 * ```
 */
export class LiveRolesSource {
  /** The realm (the Admin API source's). */
  readonly realm: string
  readonly #tokens: TokenSource
  readonly #roles: AdminApiSource

  /**
   * @throws `InvalidOptionsError` when `tokens` or `roles` is missing, or their realms differ
   */
  constructor(options: LiveRolesSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'must be { tokens, roles }')
    const { tokens, roles } = options
    if (typeof tokens !== 'object' || tokens === null || typeof (tokens as TokenSource).verify !== 'function') {
      throw new InvalidOptionsError('tokens', 'must be a TokenSource')
    }
    if (typeof roles !== 'object' || roles === null || typeof (roles as AdminApiSource).resolve !== 'function' || typeof roles.realm !== 'string') {
      throw new InvalidOptionsError('roles', 'must be an AdminApiSource')
    }
    if (tokens.realm !== undefined && tokens.realm !== roles.realm) {
      throw new InvalidOptionsError('tokens.realm', `is ${JSON.stringify(tokens.realm)} but the Admin API source reads ${JSON.stringify(roles.realm)}`)
    }
    for (const key of Object.keys(options)) if (key !== 'tokens' && key !== 'roles') throw new InvalidOptionsError(key, 'is not an option of LiveRolesSource')
    this.realm = roles.realm
    this.#tokens = tokens
    this.#roles = roles
  }

  /**
   * Verifies the token, then resolves its user's current principal from the Admin API source.
   *
   * @throws `TokenRejectedError` for a rejected token; the source's errors (`UserNotFoundError` for a
   * deleted user, `UserDisabledError` with `checkEnabled`, `SourceUnavailableError`) otherwise
   * @example
   * ```ts
   * const principal = await live.resolve(bearerToken, { signal: AbortSignal.timeout(2_000) })
   * principal.token?.azp
   * ```
   */
  async resolve(token: string, options?: ResolveOptions): Promise<Principal> {
    const { payload, info } = await this.#tokens.verify(token)
    const realm = this.#tokens.realm ?? realmFromIssuer(info.issuer)
    if (realm !== this.realm) {
      throw new TokenRejectedError('ISSUER_MISMATCH', 'WRONG_ISSUER', `the token's issuer ${info.issuer} is not realm ${JSON.stringify(this.realm)} of the Admin API source`)
    }
    const sub = nonEmpty(payload['sub'])
    const username = nonEmpty(payload['preferred_username'])
    let ref: UserRef
    if (sub !== undefined) ref = username === undefined ? { id: sub } : { id: sub, username }
    else if (username !== undefined) ref = username
    else throw new TokenRejectedError('TOKEN_INVALID', 'MISSING_CLAIM', 'the token has neither sub nor preferred_username (a lightweight access token?): the user cannot be looked up')
    const principal = await this.#roles.resolve(ref, options)
    return { ...principal, token: info }
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
