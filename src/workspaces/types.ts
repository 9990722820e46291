/**
 * Shared types of the workspace and STAC route decisions (docs/semantics/workspaces.md §5, §7).
 *
 * @module
 */
import type { Decision } from '../core/decision.js'
import type { TokenRejectionReason } from '../core/errors.js'
import type { Principal } from '../core/principal.js'

/**
 * Every reason a route decision can carry (docs/semantics/workspaces.md §5). Two codes are ours, for rule tables that
 * are not presets: `CLIENT_ROLE` (a role on a fixed client granted) and `AUTHENTICATED` (a login-only
 * rule and a valid token).
 *
 * @example
 * ```ts
 * import type { RouteReason } from 'keycloak-permissions/workspaces'
 * const r: RouteReason = 'NO_CLIENT_ENTRY'
 * ```
 */
export type RouteReason =
  | 'PLATFORM_ADMIN'
  | 'WORKSPACE_ROLE'
  | 'CLIENT_ROLE'
  | 'PUBLIC_READ'
  | 'AUTHENTICATED'
  | 'STAC_EDITOR'
  | 'NO_TOKEN'
  | CredentialFailureReason
  | 'AMBIGUOUS_PATH'
  | 'PATH_UNMATCHED'
  | 'RESERVED_WORKSPACE_NAME'
  | 'NO_CLIENT_ENTRY'
  | 'ROLE_MISSING'
  | 'METHOD_NEEDS_ROLE'
  | 'AZP_NOT_ALLOWED'
  | 'METHOD_NOT_ALLOWED'

/**
 * Why presented credentials were refused before any rule ran: the header did not parse, or the token
 * failed verification (the `reason` of a `TokenRejectedError`).
 *
 * @example
 * ```ts
 * import type { CredentialFailureReason } from 'keycloak-permissions/workspaces'
 * const r: CredentialFailureReason = 'TOKEN_EXPIRED'
 * ```
 */
export type CredentialFailureReason = 'MALFORMED_AUTHORIZATION' | TokenRejectionReason

/**
 * Presented credentials that were refused, passed to a check so that the §5 order of evaluation holds
 * (an ambiguous path is reported before a bad token).
 *
 * @example
 * ```ts
 * import type { CredentialFailure } from 'keycloak-permissions/workspaces'
 * const f: CredentialFailure = { failure: 'TOKEN_EXPIRED', detail: 'EXPIRED' }
 * ```
 */
export interface CredentialFailure {
  readonly failure: CredentialFailureReason
  readonly detail?: string
  readonly message?: string
}

/**
 * Who is asking: a principal from any source, `null` (no credentials), or refused credentials.
 *
 * @example
 * ```ts
 * import type { RouteSubject } from 'keycloak-permissions/workspaces'
 * const anonymous: RouteSubject = null
 * ```
 */
export type RouteSubject = Principal | null | CredentialFailure

/**
 * The request being decided. `path` is the raw request target (query and fragment allowed, still
 * percent-encoded); header names are lower-case. Headers are read only for a configured method override.
 *
 * @example
 * ```ts
 * import type { RouteRequest } from 'keycloak-permissions/workspaces'
 * const req: RouteRequest = { method: 'GET', path: '/workspaces/ws-alice/files?page=2' }
 * ```
 */
export interface RouteRequest {
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>
}

/**
 * What allowed a request: the client and role(s) that granted, and the rule.
 *
 * @example
 * ```ts
 * import type { RouteGrant } from 'keycloak-permissions/workspaces'
 * const g: RouteGrant = { client: 'ws-alice', roles: ['ws_access'], rule: '/workspaces/{workspace}/**' }
 * ```
 */
export interface RouteGrant {
  readonly client?: string
  readonly roles: readonly string[]
  readonly rule: string
}

/**
 * A route decision: `{ allowed, reason, rule?, grant?, trace }`.
 *
 * @example
 * ```ts
 * import { workspaceApiPolicy, type RouteDecision } from 'keycloak-permissions/workspaces'
 * const d: RouteDecision = workspaceApiPolicy().check({ method: 'GET', path: '/workspaces' }, null)
 * d.reason // 'NO_TOKEN'
 * ```
 */
export type RouteDecision = Decision<RouteReason, RouteGrant>

/**
 * A compiled rule set that decides requests. The presets and {@link routeTable} all return one.
 * `filter` keeps the items whose request `check` allows — the same code path, so it cannot fail open.
 *
 * @example
 * ```ts
 * import { workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * const policy = workspaceApiPolicy()
 * const mine = policy.filter(['ws-alice', 'ws-bob'], principal, (ws) => ({ method: 'GET', path: `/workspaces/${ws}` }))
 * ```
 */
export interface RoutePolicy {
  /** The policy's name: `workspace-api`, `stac`, or the `name` given to `routeTable` (default `routes`). */
  readonly name: string
  /** Decides one request for a subject (a principal, a credential failure, or `null` for no token). Never throws for a denial. */
  check(request: RouteRequest, subject: RouteSubject): RouteDecision
  /** The items whose request (built by `toRequest`) `check` allows, in input order — the same decision per item. */
  filter<T>(items: Iterable<T>, subject: RouteSubject, toRequest: (item: T) => RouteRequest): T[]
}
