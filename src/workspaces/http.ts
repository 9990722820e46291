/**
 * The HTTP layer shared by the middleware adapters and `serve`: the routing-safe path check
 * (docs/semantics/workspaces.md §6, "where the decision meets a router"), `Authorization` header parsing
 * (§4), bearer verification through an injected authenticator, the route decision, and the 400/401/403
 * answer.
 *
 * @module
 */
import { deny } from '../core/decision.js'
import { InvalidOptionsError, TokenRejectedError } from '../core/errors.js'
import type { TokenRejectionReason } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import { normalizeRequestPath, normalizeRoutingPath, type AmbiguousPath, type AmbiguousPathDetail, type NormalizedPath } from './normalize.js'
import type { RouteDecision, RoutePolicy, RouteReason, RouteSubject } from './types.js'

/**
 * An `Authorization` header, parsed: absent, a bearer token, or malformed (`MALFORMED_AUTHORIZATION`).
 *
 * @example
 * ```ts
 * import type { ParsedAuthorization } from 'keycloak-permissions/workspaces'
 * const p: ParsedAuthorization = { kind: 'bearer', token: 'eyJ…' }
 * ```
 */
export type ParsedAuthorization =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'malformed'; readonly problem: string }

/**
 * Parses an `Authorization` header: the scheme `Bearer` compared case-insensitively (RFC 7235), exactly
 * one space, then a token of RFC 6750 `b64token` characters and nothing else (no other whitespace, one
 * header only).
 *
 * @example
 * ```ts
 * import { parseAuthorization } from 'keycloak-permissions/workspaces'
 * parseAuthorization('BEARER abc.def.ghi') // { kind: 'bearer', token: 'abc.def.ghi' }
 * parseAuthorization('Bearer  abc').kind    // 'malformed'
 * parseAuthorization(undefined).kind        // 'none'
 * ```
 */
export function parseAuthorization(header: string | readonly string[] | undefined): ParsedAuthorization {
  if (header === undefined) return { kind: 'none' }
  if (typeof header !== 'string') {
    if (header.length === 0) return { kind: 'none' }
    if (header.length > 1) return { kind: 'malformed', problem: 'more than one Authorization header' }
    header = header[0]!
  }
  const space = header.indexOf(' ')
  if (space === -1) return { kind: 'malformed', problem: 'expected "Bearer <token>"' }
  const scheme = header.slice(0, space)
  const token = header.slice(space + 1)
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'malformed', problem: `unsupported scheme ${JSON.stringify(scheme)}` }
  if (token.length === 0) return { kind: 'malformed', problem: 'empty token' }
  let padding = false
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c === 0x3d) {
      padding = true
      continue
    }
    const ok =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f
    if (!ok || padding) return { kind: 'malformed', problem: c === 0x20 || c === 0x09 ? 'whitespace inside the credentials' : 'invalid token character' }
  }
  return { kind: 'bearer', token }
}

/**
 * Turns a bearer token into a principal, throwing `TokenRejectedError` when it is refused — a function,
 * or an object with `resolve(token)` such as `TokenSource` from `keycloak-permissions/keycloak`.
 *
 * @example
 * ```ts
 * import { TokenSource } from 'keycloak-permissions/keycloak'
 * import type { Authenticator } from 'keycloak-permissions/workspaces'
 * const authenticate: Authenticator = new TokenSource({ issuers: [issuer], audience: 'workspace-api', jwksUrl })
 * ```
 */
export type Authenticator =
  | ((token: string) => Promise<Principal>)
  | {
      /** Verifies the bearer token and resolves its principal; throws `TokenRejectedError` when refused. */
      resolve(token: string): Promise<Principal>
    }

/**
 * Picks the rule set of a request by its path: a component registry's `routes` is one. The
 * middleware then decides with `policyFor(path).check(...)`, the registry's own decision.
 *
 * @example
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { registrySettingsOf } from 'keycloak-permissions/config'
 * import { keycloakMiddleware } from 'keycloak-permissions/express'
 * const registry = createRegistry(registrySettingsOf(config))
 * app.use(keycloakMiddleware({ policy: registry.routes, authenticate: tokenSource }))
 * ```
 */
export interface RoutePolicySelector {
  /** The rule set that decides a request to `path` (a raw request target, query included). */
  policyFor(path: string): RoutePolicy
}

/**
 * Options of {@link authorizeHttpRequest} and of the middleware adapters.
 *
 * @example
 * ```ts
 * import { workspaceApiPolicy, type HttpAuthorizationOptions } from 'keycloak-permissions/workspaces'
 * const options: HttpAuthorizationOptions = { policy: workspaceApiPolicy(), authenticate: tokenSource, realm: 'workspace-api' }
 * ```
 */
export interface HttpAuthorizationOptions {
  /**
   * The rules: one {@link RoutePolicy}, or a {@link RoutePolicySelector} such as a component registry's
   * `routes` (`createRegistry(registrySettingsOf(config)).routes`), which decides each request with
   * the rule set `check --route` and `serve` pick for its path (STAC under the configured prefix,
   * the workspace API rule elsewhere, both restricted to the configured workspace clients).
   */
  readonly policy: RoutePolicy | RoutePolicySelector
  readonly authenticate: Authenticator
  /** The `realm` of `WWW-Authenticate` challenges (default `keycloak-permissions`). */
  readonly realm?: string
  /**
   * `true` only when every router behind this check matches paths case-sensitively (Fastify's and Hono's
   * default; Express with `app.set('case sensitive routing', true)` and `Router({ caseSensitive: true })`
   * everywhere). Default `false`: an allowed request whose lower-case path would not be allowed is
   * refused (400 `AMBIGUOUS_PATH`, detail `CASE_VARIANT`), because a case-insensitive router may hand it
   * to the lower-case route's handler.
   */
  readonly caseSensitiveRouting?: boolean
}

/**
 * The parts of an HTTP request the decision reads: method, raw request target, lower-case headers.
 *
 * @example
 * ```ts
 * import type { HttpRequestLike } from 'keycloak-permissions/workspaces'
 * const req: HttpRequestLike = { method: 'GET', target: '/workspaces/ws-alice', headers: { authorization: 'Bearer eyJ…' } }
 * ```
 */
export interface HttpRequestLike {
  readonly method: string
  /** The raw request target as received (still percent-encoded), or the one the router is about to route. */
  readonly target: string
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /**
   * The path the framework's router matches on, when the adapter can read it (Hono's `c.req.path`). The
   * request is refused (`AMBIGUOUS_PATH`, detail `ROUTER_MISMATCH`) unless it names the same segments
   * as `target` — e.g. under a custom Hono `getPath` that routes on something else.
   */
  readonly routerPath?: string
}

/**
 * The answer for one request: the decision, the principal (when the token verified), the normalised
 * path the decision was made on, and what to send when it is a denial (`status` 400, 401 or 403, headers
 * with `WWW-Authenticate` on 401, a JSON body). `status` is 200 when allowed.
 *
 * `status` 400 (`reason` `AMBIGUOUS_PATH`, with the refusing step in `body.detail`) means the raw
 * target was refused before any rule and before the token was verified: a router could have read it
 * differently from the decision (see {@link authorizeHttpRequest}).
 *
 * @example
 * ```ts
 * import type { HttpAuthorization } from 'keycloak-permissions/workspaces'
 * function log(a: HttpAuthorization) { console.log(a.status, a.decision.reason, a.path, a.principal?.username) }
 * ```
 */
export interface HttpAuthorization {
  readonly decision: RouteDecision
  readonly principal: Principal | null
  readonly status: 200 | 400 | 401 | 403
  /**
   * The path the decision was made on: the request target's segments, percent-decoded once, joined by
   * `/` (e.g. `/workspaces/ws-alice/files` for `/workspaces/ws%2Dalice/files/?x=1`). `undefined` when the
   * target was refused. A handler that must not trust its router's reading can use this (or the
   * decision's `grant.client`) instead of the router's params.
   */
  readonly path: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly body?: {
    readonly error: 'bad_request' | 'unauthorized' | 'forbidden'
    readonly reason: RouteReason
    /** For `AMBIGUOUS_PATH`: the normalisation step that refused the target. */
    readonly detail?: AmbiguousPathDetail
    readonly message?: string
  }
}

const UNAUTHENTICATED: ReadonlySet<string> = new Set<RouteReason>([
  'NO_TOKEN',
  'MALFORMED_AUTHORIZATION',
  'TOKEN_INVALID',
  'TOKEN_UNVERIFIABLE',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_TYPE_NOT_ALLOWED',
  'ISSUER_MISMATCH',
  'AUDIENCE_MISMATCH',
  'ALGORITHM_NOT_ALLOWED',
])

/**
 * The HTTP status of a decision (docs/semantics/workspaces.md §7): 200 when allowed; 401 for `NO_TOKEN`,
 * `MALFORMED_AUTHORIZATION`, `TOKEN_*`, `*_MISMATCH` and `ALGORITHM_NOT_ALLOWED`; 403 otherwise.
 *
 * @example
 * ```ts
 * import { statusForReason } from 'keycloak-permissions/workspaces'
 * statusForReason(false, 'TOKEN_EXPIRED') // 401
 * statusForReason(false, 'NO_CLIENT_ENTRY') // 403
 * ```
 */
export function statusForReason(allowed: boolean, reason: RouteReason): 200 | 401 | 403 {
  if (allowed) return 200
  return UNAUTHENTICATED.has(reason) ? 401 : 403
}

const TOKEN_REASONS: ReadonlySet<string> = new Set<TokenRejectionReason>([
  'TOKEN_INVALID',
  'TOKEN_UNVERIFIABLE',
  'ALGORITHM_NOT_ALLOWED',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'ISSUER_MISMATCH',
  'AUDIENCE_MISMATCH',
  'TOKEN_TYPE_NOT_ALLOWED',
])

/**
 * Validates the options shared by the adapters (eagerly, with precise messages) and returns the
 * function that authenticates a token.
 *
 * @internal
 */
export function prepareHttpOptions(options: HttpAuthorizationOptions): {
  policy: RoutePolicy
  authenticate: (token: string) => Promise<Principal>
  realm: string
  caseSensitiveRouting: boolean
} {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected { policy, authenticate, realm?, caseSensitiveRouting? }')
  const { policy, authenticate, realm = 'keycloak-permissions', caseSensitiveRouting = false } = options
  if (typeof caseSensitiveRouting !== 'boolean') {
    throw new InvalidOptionsError('caseSensitiveRouting', `expected a boolean, got ${JSON.stringify(caseSensitiveRouting)}`)
  }
  if (policy === null || typeof policy !== 'object' || (typeof (policy as RoutePolicy).check !== 'function' && typeof (policy as RoutePolicySelector).policyFor !== 'function')) {
    throw new InvalidOptionsError('policy', 'expected a RoutePolicy (workspaceApiPolicy(), stacPolicy() or routeTable(...)) or a registry\'s routes ({ policyFor(path) })')
  }
  let fn: (token: string) => Promise<Principal>
  if (typeof authenticate === 'function') fn = authenticate
  else if (authenticate !== null && typeof authenticate === 'object' && typeof authenticate.resolve === 'function') {
    fn = (token) => authenticate.resolve(token)
  } else {
    throw new InvalidOptionsError('authenticate', 'expected a function (token) => Promise<Principal> or an object with resolve(token), such as a TokenSource')
  }
  if (typeof realm !== 'string' || realm === '' || /["\\\x00-\x1f\x7f]/.test(realm)) {
    throw new InvalidOptionsError('realm', `expected a non-empty string without quotes, backslashes or control characters, got ${JSON.stringify(realm)}`)
  }
  return { policy: typeof (policy as RoutePolicy).check === 'function' ? (policy as RoutePolicy) : selectedPolicy(policy as RoutePolicySelector), authenticate: fn, realm, caseSensitiveRouting }
}

/** A selector as one rule set: each request decided by the rule set its path selects (no rule of its own). */
function selectedPolicy(selector: RoutePolicySelector): RoutePolicy {
  return {
    name: 'routes',
    check: (request, subject) => selector.policyFor(request.path).check(request, subject),
    filter: (items, subject, toRequest) => {
      const kept = []
      for (const item of items) {
        const request = toRequest(item)
        if (selector.policyFor(request.path).check(request, subject).allowed) kept.push(item)
      }
      return kept
    },
  }
}

/**
 * Authorizes one HTTP request: first the routing-safe path check ({@link normalizeRoutingPath}: a raw
 * target with a dot segment, an empty segment, a `;` parameter, a backslash, an encoded separator, a
 * fragment or in absolute form is refused with 400 `AMBIGUOUS_PATH` before any rule and before the token
 * is verified), then parses the `Authorization` header, verifies the bearer token with the
 * authenticator (a `TokenRejectedError` becomes the decision's reason; any other error propagates, so
 * the framework answers 500 — never an allow), runs the policy and builds the answer. Unless
 * `caseSensitiveRouting` is set, an allow that would not hold for the lower-case target is refused too
 * (400 `AMBIGUOUS_PATH`, detail `CASE_VARIANT`): case-insensitive routers (Express's default) route it
 * like the lower-case one.
 *
 * Every HTTP surface goes through here (the Express, node:http, Fastify and Hono adapters, and `serve`),
 * so they refuse the same targets. A policy's own `check` answers the *path question* and resolves dot
 * segments as docs/semantics/workspaces.md §6 prescribes; in front of a router that is not safe (Express
 * and Fastify route the raw path, WHATWG-URL-based servers resolve `%2e%2e` and keep empty segments),
 * hence the stricter check here.
 *
 * @example
 * ```ts
 * import { authorizeHttpRequest, workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * const answer = await authorizeHttpRequest(
 *   { method: req.method, target: req.url, headers: req.headers },
 *   { policy: workspaceApiPolicy(), authenticate: tokenSource },
 * )
 * if (answer.status !== 200) res.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.body))
 * ```
 */
export async function authorizeHttpRequest(request: HttpRequestLike, options: HttpAuthorizationOptions): Promise<HttpAuthorization> {
  return authorizePrepared(request, prepareHttpOptions(options))
}

/** {@link authorizeHttpRequest} with options already validated (the adapters validate once). @internal */
export async function authorizePrepared(
  request: HttpRequestLike,
  prepared: ReturnType<typeof prepareHttpOptions>,
): Promise<HttpAuthorization> {
  let routed: NormalizedPath | AmbiguousPath = normalizeRoutingPath(request.target)
  if (routed.ok && request.routerPath !== undefined && !sameSegments(routed, normalizeRequestPath(request.routerPath))) {
    routed = { ok: false, reason: 'AMBIGUOUS_PATH', detail: 'ROUTER_MISMATCH', segment: request.routerPath }
  }
  if (!routed.ok) return refused(request.target, routed)
  const parsed = parseAuthorization(request.headers['authorization'])
  let subject: RouteSubject = null
  let principal: Principal | null = null
  let failureMessage: string | undefined
  if (parsed.kind === 'malformed') {
    subject = { failure: 'MALFORMED_AUTHORIZATION', detail: parsed.problem }
    failureMessage = parsed.problem
  } else if (parsed.kind === 'bearer') {
    try {
      principal = await prepared.authenticate(parsed.token)
      subject = principal
    } catch (err) {
      const rejection = asRejection(err)
      if (rejection === undefined) throw err
      subject = { failure: rejection.reason, detail: rejection.detail }
      failureMessage = rejection.message
    }
  }
  const decision = prepared.policy.check({ method: request.method, path: request.target, headers: request.headers }, subject)
  // Express (by default), Fastify with `caseSensitive: false` and many backends match static route
  // segments case-insensitively, the decision does not: `/stac/COLLECTIONS/ws-x.c` is a public read
  // for the rule but reaches the collection handler. An allow that would not hold for the lower-case
  // target is refused.
  if (decision.allowed && !prepared.caseSensitiveRouting) {
    const folded = lowerCasePath(request.target)
    if (folded !== undefined && !prepared.policy.check({ method: request.method, path: folded, headers: request.headers }, subject).allowed) {
      return refused(request.target, { ok: false, reason: 'AMBIGUOUS_PATH', detail: 'CASE_VARIANT', segment: folded })
    }
  }
  // A policy of the caller's own that refuses a path is answered as the routing check would be.
  const status = !decision.allowed && decision.reason === 'AMBIGUOUS_PATH' ? 400 : statusForReason(decision.allowed, decision.reason)
  if (status === 200) return { decision, principal, status, path: routed.path, headers: {} }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
  if (status === 401) {
    let challenge = `Bearer realm="${prepared.realm}"`
    if (decision.reason === 'MALFORMED_AUTHORIZATION') challenge += ', error="invalid_request"'
    else if (decision.reason !== 'NO_TOKEN') challenge += `, error="invalid_token", error_description="${decision.reason}"`
    headers['www-authenticate'] = challenge
  }
  const body = {
    error: status === 401 ? ('unauthorized' as const) : status === 400 ? ('bad_request' as const) : ('forbidden' as const),
    reason: decision.reason,
    ...(failureMessage !== undefined && status !== 400 ? { message: failureMessage } : {}),
  }
  return { decision, principal, status, path: routed.path, headers, body }
}

function refused(target: string, routed: AmbiguousPath): HttpAuthorization {
  const decision = deny('AMBIGUOUS_PATH', [
    { kind: 'path', label: target, data: routed.segment === undefined ? { detail: routed.detail } : { detail: routed.detail, segment: routed.segment } },
  ])
  return {
    decision,
    principal: null,
    status: 400,
    path: undefined,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: { error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: routed.detail },
  }
}

/** The target with its path (not its query) in ASCII lower case, or undefined when it has no upper-case letter. */
function lowerCasePath(target: string): string | undefined {
  let end = target.indexOf('?')
  if (end === -1) end = target.length
  let upper = false
  for (let i = 0; i < end && !upper; i++) {
    const c = target.charCodeAt(i)
    upper = c >= 0x41 && c <= 0x5a
  }
  return upper ? target.slice(0, end).toLowerCase() + target.slice(end) : undefined
}

function sameSegments(a: NormalizedPath, b: NormalizedPath | AmbiguousPath): boolean {
  if (!b.ok || a.segments.length !== b.segments.length) return false
  for (let i = 0; i < a.segments.length; i++) if (a.segments[i] !== b.segments[i]) return false
  return true
}

function asRejection(err: unknown): { reason: TokenRejectionReason; detail: string; message: string } | undefined {
  if (err instanceof TokenRejectedError) return { reason: err.reason, detail: err.detail, message: err.message }
  // Tolerate a second copy of the package (ESM and CJS builds loaded side by side).
  const e = err as { code?: unknown; reason?: unknown; detail?: unknown; message?: unknown } | null
  if (e && e.code === TokenRejectedError.code && typeof e.reason === 'string' && TOKEN_REASONS.has(e.reason)) {
    return { reason: e.reason as TokenRejectionReason, detail: String(e.detail), message: String(e.message) }
  }
  return undefined
}
