/**
 * The error hierarchy. Every error thrown by this library is a {@link KeycloakPermissionsError}
 * with a stable `code` string (and, per subclass, machine-readable fields), in the style of
 * `jose/errors`: match on `code`, never on `message`.
 *
 * Denials are never errors: checks return decisions (see {@link Decision}).
 *
 * @module
 */

/**
 * Base class of every error raised by keycloak-permissions.
 *
 * @example
 * ```ts
 * import { KeycloakPermissionsError } from 'keycloak-permissions'
 * try { await source.resolve('alice') } catch (err) {
 *   if (err instanceof KeycloakPermissionsError) console.error(err.code, err.message)
 * }
 * ```
 */
export class KeycloakPermissionsError extends Error {
  /** A stable, machine-readable error code. */
  static code = 'ERR_KEYCLOAK_PERMISSIONS'
  /** A stable, machine-readable error code (the class's `code`). */
  readonly code: string = KeycloakPermissionsError.code

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * Options given to a constructor or function are invalid. Thrown eagerly, at construction time.
 *
 * @example
 * ```ts
 * import { InvalidOptionsError } from 'keycloak-permissions'
 * const err = new InvalidOptionsError('cache.max', 'must be a positive integer')
 * err.code // 'ERR_INVALID_OPTIONS'; err.option // 'cache.max'
 * ```
 */
export class InvalidOptionsError extends KeycloakPermissionsError {
  static override code = 'ERR_INVALID_OPTIONS'
  override readonly code = InvalidOptionsError.code
  /** Dotted path of the offending option, e.g. `cache.max`. */
  readonly option: string

  constructor(option: string, problem: string, options?: { cause?: unknown }) {
    super(`Invalid option ${option}: ${problem}`, options)
    this.option = option
  }
}

/**
 * Input data (a realm export, an API response, a vector, a scope list) does not have the expected shape.
 *
 * @example
 * ```ts
 * import { InvalidInputError } from 'keycloak-permissions'
 * const err = new InvalidInputError('realm export', 'users.0.username', 'expected string')
 * err.path // 'users.0.username'
 * ```
 */
export class InvalidInputError extends KeycloakPermissionsError {
  static override code = 'ERR_INVALID_INPUT'
  override readonly code: string = InvalidInputError.code
  /** What was being read, e.g. `realm export`. */
  readonly what: string
  /** Dotted path of the first offending value (empty for the whole input). */
  readonly path: string

  constructor(what: string, path: string, problem: string, options?: { cause?: unknown }) {
    super(`Invalid ${what}${path ? ` at ${path}` : ''}: ${problem}`, options)
    this.what = what
    this.path = path
  }
}

/**
 * A realm export JSON file is not a valid Keycloak `RealmRepresentation`.
 *
 * @example
 * ```ts
 * import { RealmExportInvalidError } from 'keycloak-permissions'
 * err instanceof RealmExportInvalidError && console.error(err.path) // e.g. 'users.2.groups'
 * ```
 */
export class RealmExportInvalidError extends InvalidInputError {
  static override code = 'KEYCLOAK_REALM_EXPORT_INVALID'
  override readonly code = RealmExportInvalidError.code

  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super('realm export', path, problem, options)
  }
}

/**
 * The requested user does not exist in the realm (or the source may not see it).
 *
 * @example
 * ```ts
 * import { UserNotFoundError } from 'keycloak-permissions'
 * if (err instanceof UserNotFoundError) console.error(`${err.user} is not in ${err.realm}`)
 * ```
 */
export class UserNotFoundError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_USER_NOT_FOUND'
  override readonly code = UserNotFoundError.code
  readonly realm: string
  readonly user: string

  constructor(realm: string, user: string, hint?: string) {
    super(`User ${JSON.stringify(user)} not found in realm ${JSON.stringify(realm)}${hint ? ` (${hint})` : ''}`)
    this.realm = realm
    this.user = user
  }
}

/**
 * A configured client (by `clientId`) does not exist in the realm.
 *
 * @example
 * ```ts
 * import { ClientNotFoundError } from 'keycloak-permissions'
 * if (err instanceof ClientNotFoundError) console.error(err.clientId)
 * ```
 */
export class ClientNotFoundError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_CLIENT_NOT_FOUND'
  override readonly code = ClientNotFoundError.code
  readonly realm: string
  readonly clientId: string

  constructor(realm: string, clientId: string, hint?: string) {
    super(`Client ${JSON.stringify(clientId)} not found in realm ${JSON.stringify(realm)}${hint ? ` (${hint})` : ''}`)
    this.realm = realm
    this.clientId = clientId
  }
}

/**
 * A role source (Keycloak, a JWKS endpoint, a cache tier) could not be reached or answered
 * unexpectedly. Never replaced by a silent empty principal. `retryable` tells whether trying again
 * later may succeed.
 *
 * @example
 * ```ts
 * import { SourceUnavailableError } from 'keycloak-permissions'
 * if (err instanceof SourceUnavailableError && err.retryable) scheduleRetry()
 * ```
 */
export class SourceUnavailableError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_SOURCE_UNAVAILABLE'
  override readonly code = SourceUnavailableError.code
  /** Which source failed, e.g. `admin-api`. */
  readonly source: string
  /** HTTP status when the server answered, else undefined (network error, timeout). */
  readonly status: number | undefined
  readonly retryable: boolean

  constructor(source: string, message: string, options?: { cause?: unknown; status?: number; retryable?: boolean }) {
    super(`${source} unavailable: ${message}`, options)
    this.source = source
    this.status = options?.status
    this.retryable = options?.retryable ?? true
  }
}

/**
 * The service account lacks rights it needs (found by a start-up self-check). `missing` lists
 * the realm-management roles to grant, e.g. `['view-users']`.
 *
 * @example
 * ```ts
 * import { InsufficientPermissionsError } from 'keycloak-permissions'
 * if (err instanceof InsufficientPermissionsError) console.error('grant', err.missing.join(', '))
 * ```
 */
export class InsufficientPermissionsError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_INSUFFICIENT_PERMISSIONS'
  override readonly code = InsufficientPermissionsError.code
  readonly missing: readonly string[]

  constructor(missing: readonly string[], message?: string) {
    super(message ?? `The service account is missing realm-management role(s): ${missing.join(', ')}`)
    this.missing = [...missing]
  }
}

/**
 * Why a token was rejected (the decision reasons of docs/semantics/workspaces.md §5).
 *
 * @example
 * ```ts
 * import { TokenRejectedError, type TokenRejectionReason } from 'keycloak-permissions'
 * const reasonOf = (err: unknown): TokenRejectionReason | undefined => (err instanceof TokenRejectedError ? err.reason : undefined)
 * ```
 */
export type TokenRejectionReason =
  | 'TOKEN_INVALID'
  | 'TOKEN_UNVERIFIABLE'
  | 'ALGORITHM_NOT_ALLOWED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'ISSUER_MISMATCH'
  | 'AUDIENCE_MISMATCH'
  | 'TOKEN_TYPE_NOT_ALLOWED'

/**
 * The finer detail of a rejection, e.g. `BAD_SIGNATURE` within `TOKEN_INVALID`.
 *
 * @example
 * ```ts
 * import { TokenRejectedError, type TokenRejectionDetail } from 'keycloak-permissions'
 * const retryable = (err: TokenRejectedError) => err.detail === ('JWKS_UNAVAILABLE' satisfies TokenRejectionDetail)
 * ```
 */
export type TokenRejectionDetail =
  | 'BAD_SIGNATURE'
  | 'MALFORMED'
  | 'UNKNOWN_KEY'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'WRONG_ISSUER'
  | 'WRONG_AUDIENCE'
  | 'ALG_NOT_ALLOWED'
  | 'WRONG_TYPE'
  | 'MISSING_CLAIM'
  | 'JWKS_UNAVAILABLE'
  | 'NO_ROLES'
  | 'NO_USERNAME'
  | 'CATALOGUE_UNAVAILABLE'

/**
 * An access token was rejected. `reason` is the decision reason; `detail` the finer cause. Every way
 * a token can fail to become a principal is one of these — a bad token, a token without a usable
 * username (`TOKEN_INVALID` / `NO_USERNAME`), and also trouble on our side that leaves the token's
 * rights unknown: keys that cannot be loaded (`TOKEN_UNVERIFIABLE` / `JWKS_UNAVAILABLE`) or a role
 * catalogue that cannot answer (`TOKEN_UNVERIFIABLE` / `CATALOGUE_UNAVAILABLE`, the catalogue's error
 * as `cause`). `retryable` is true when the same token may be accepted later (our side failed).
 *
 * @example
 * ```ts
 * import { TokenRejectedError } from 'keycloak-permissions'
 * if (err instanceof TokenRejectedError && err.reason === 'TOKEN_EXPIRED') askForRefresh()
 * if (err instanceof TokenRejectedError && err.retryable) retryLater()
 * ```
 */
export class TokenRejectedError extends KeycloakPermissionsError {
  static override code = 'KEYCLOAK_TOKEN_REJECTED'
  override readonly code = TokenRejectedError.code
  readonly reason: TokenRejectionReason
  readonly detail: TokenRejectionDetail
  /** Whether the same token may pass later: true for `TOKEN_UNVERIFIABLE` unless the cause says otherwise. */
  readonly retryable: boolean

  constructor(
    reason: TokenRejectionReason,
    detail: TokenRejectionDetail,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options)
    this.reason = reason
    this.detail = detail
    this.retryable = options?.retryable ?? reason === 'TOKEN_UNVERIFIABLE'
  }
}

/**
 * A name given by the caller is not one the library knows: a conda-store permission, a JupyterHub
 * scope, a component, a component action, an HTTP method. A usage error, never a denial: a typo in a
 * hook's configuration must fail loudly instead of quietly denying everyone. `known` lists the valid
 * names (the message repeats them).
 *
 * @example
 * ```ts
 * import { UnknownNameError } from 'keycloak-permissions'
 * const err = new UnknownNameError('conda-store permission', 'environment::reed', ['environment::read', 'environment::update'])
 * err.code // 'ERR_UNKNOWN_NAME'
 * err.message // 'unknown conda-store permission "environment::reed" (valid: environment::read, environment::update)'
 * ```
 */
export class UnknownNameError extends KeycloakPermissionsError {
  static override code = 'ERR_UNKNOWN_NAME'
  override readonly code = UnknownNameError.code
  /** What kind of name, e.g. `conda-store permission`, `JupyterHub scope`, `component`, `HTTP method`. */
  readonly kind: string
  /** The name as given (`name` is the error class's, as for every Error). */
  readonly given: string
  /** The valid names. */
  readonly known: readonly string[]

  constructor(kind: string, name: string, known: readonly string[], options?: { cause?: unknown; detail?: string }) {
    const list = known.length > 0 ? ` (valid: ${known.join(', ')})` : ''
    super(`unknown ${kind} ${JSON.stringify(name)}${options?.detail ? `: ${options.detail}` : ''}${list}`, options)
    this.kind = kind
    this.given = name
    this.known = Object.freeze([...known])
  }
}
