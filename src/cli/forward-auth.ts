/**
 * Gateway mode of `serve` (forward auth): nginx `auth_request`, Traefik `ForwardAuth` and Envoy
 * `ext_authz` (HTTP service) ask whether the request they hold may pass. Each gateway has its own
 * endpoint, so only the headers *that* gateway sets are read — a header another gateway would set is
 * client input here (Traefik copies every client header into its auth request, nginx's subrequest
 * carries the client's headers too):
 *
 *   ANY /v1/forward-auth/nginx/{policy}             X-Original-Method, X-Original-URI (nginx config in docs/http.md)
 *   ANY /v1/forward-auth/traefik/{policy}           X-Forwarded-Method, X-Forwarded-Uri (set by Traefik)
 *   ANY /v1/forward-auth/envoy/{policy}{path}       the request's own method; {path} is the original
 *                                                   `:path` Envoy appends to `path_prefix`
 *
 * `{policy}` is `workspaces` or `stac`. The decision is `authorizeHttpRequest`'s (the middleware's),
 * on the raw original target — the same refusal of ambiguous targets, the same token checks.
 */
import { authorizePrepared, prepareHttpOptions, type Authenticator, type HttpAuthorization } from '../workspaces/http.js'
import type { RoutePolicy } from '../workspaces/types.js'
import { HttpRequestError, isHttpToken, rawHeaderValues } from './serve-http.js'
import type { IncomingMessage } from 'node:http'

/** The gateways with an endpoint of their own. */
export const GATEWAYS = ['nginx', 'traefik', 'envoy'] as const
/** A gateway kind (`/v1/forward-auth/<gateway>/…`). */
export type Gateway = (typeof GATEWAYS)[number]

/** Path prefix of every forward-auth endpoint. */
export const FORWARD_AUTH_PREFIX = '/v1/forward-auth/'

/** Response headers of an answer, for the gateway to copy into the upstream request (or log). */
export const FORWARD_AUTH_HEADERS = {
  /** The username (percent-encoded where not printable ASCII, and `%` itself; see {@link encodeHeaderValue}); empty when anonymous. */
  user: 'x-auth-user',
  /** The user's id (`sub`); empty when unknown. */
  userId: 'x-auth-user-id',
  /** The decision's reason code (`WORKSPACE_ROLE`, `NO_CLIENT_ENTRY`, `AMBIGUOUS_PATH`, …), on every answer. */
  reason: 'x-auth-reason',
} as const

/** Which headers carry the original request, per gateway (Envoy: none, the path and method are its own). */
const ORIGINAL_HEADERS: Record<Exclude<Gateway, 'envoy'>, { method: string; uri: string }> = {
  nginx: { method: 'x-original-method', uri: 'x-original-uri' },
  traefik: { method: 'x-forwarded-method', uri: 'x-forwarded-uri' },
}

/** The request a gateway asks about. */
export interface ForwardedRequest {
  readonly gateway: Gateway
  readonly policy: string
  readonly method: string
  /** The original request target, raw (still encoded, dot segments intact). */
  readonly target: string
}

/**
 * Reads the gateway, policy, original method and original target from a forward-auth request whose
 * raw target starts with {@link FORWARD_AUTH_PREFIX}. Throws `HttpRequestError` (404 unknown
 * gateway or policy, 400 `MISSING_HEADER` / `DUPLICATE_HEADER` / `INVALID_HEADER`).
 */
export function forwardedRequest(req: IncomingMessage, rawTarget: string, policies: ReadonlySet<string>): ForwardedRequest {
  const rest = rawTarget.slice(FORWARD_AUTH_PREFIX.length)
  const slash = rest.indexOf('/')
  const gateway = slash === -1 ? rest : rest.slice(0, slash)
  if (!(GATEWAYS as readonly string[]).includes(gateway)) throw notFound(rawTarget)
  const afterGateway = slash === -1 ? '' : rest.slice(slash + 1)
  if (gateway === 'envoy') {
    // `/v1/forward-auth/envoy/<policy>` + the original :path, byte for byte (never decoded here).
    const end = afterGateway.search(/[/?#]/)
    const policy = end === -1 ? afterGateway : afterGateway.slice(0, end)
    if (!policies.has(policy)) throw notFound(rawTarget)
    return { gateway, policy, method: req.method ?? '', target: end === -1 ? '' : afterGateway.slice(end) }
  }
  // nginx and Traefik call one fixed URL: no further path, no query.
  if (!policies.has(afterGateway)) throw notFound(rawTarget)
  const names = ORIGINAL_HEADERS[gateway as Exclude<Gateway, 'envoy'>]
  const method = single(req, names.method)
  const target = single(req, names.uri)
  if (!isHttpToken(method)) throw new HttpRequestError(400, 'INVALID_HEADER', `${names.method} is not an HTTP method`)
  return { gateway: gateway as Gateway, policy: afterGateway, method, target }
}

function single(req: IncomingMessage, name: string): string {
  const values = rawHeaderValues(req.rawHeaders, name)
  if (values.length === 0) throw new HttpRequestError(400, 'MISSING_HEADER', `the gateway did not send ${name} (see docs/http.md for its configuration)`)
  if (values.length > 1) throw new HttpRequestError(400, 'DUPLICATE_HEADER', `more than one ${name} header`)
  return values[0]!
}

function notFound(target: string): HttpRequestError {
  return new HttpRequestError(
    404,
    'NOT_FOUND',
    `no forward-auth endpoint ${JSON.stringify(target)}: use ${FORWARD_AUTH_PREFIX}{nginx|traefik}/{workspaces|stac} or ${FORWARD_AUTH_PREFIX}envoy/{workspaces|stac} as Envoy's path_prefix`,
  )
}

/**
 * A header value a gateway can copy verbatim: printable ASCII other than `%` is kept, every other
 * UTF-8 byte (and `%`) is percent-encoded — so `alice@example.org` stays as it is and a backend may
 * always percent-decode the value.
 */
export function encodeHeaderValue(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** The decision endpoint's settings: how tokens are verified and which policies the URL may name. */
export interface ForwardAuthOptions {
  readonly authenticate: Authenticator
  readonly policies: Readonly<Record<string, RoutePolicy>>
  /** `realm` of the `WWW-Authenticate` challenge. */
  readonly realm?: string
}

/** The answer to send the gateway: status, headers and JSON body. */
export interface ForwardAuthAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
  readonly authorization: HttpAuthorization
}

/**
 * Decides a forwarded request with the library's HTTP authorization (`authorizeHttpRequest`, the
 * middleware's function, including its routing-safe refusal of ambiguous raw targets): 200 with
 * `X-Auth-User`, `X-Auth-User-Id` and `X-Auth-Reason`; 400 `AMBIGUOUS_PATH`; 401 with
 * `WWW-Authenticate`; 403.
 */
export function createForwardAuth(options: ForwardAuthOptions): {
  readonly policies: ReadonlySet<string>
  answer(request: ForwardedRequest, headers: IncomingMessage['headers']): Promise<ForwardAuthAnswer>
} {
  const prepared = new Map(
    Object.entries(options.policies).map(([name, policy]) => [
      name,
      prepareHttpOptions({ policy, authenticate: options.authenticate, ...(options.realm !== undefined ? { realm: options.realm } : {}) }),
    ]),
  )
  return {
    policies: new Set(prepared.keys()),
    async answer(request, headers) {
      const authorization = await authorizePrepared({ method: request.method, target: request.target, headers }, prepared.get(request.policy)!)
      const { decision, principal } = authorization
      const out: Record<string, string> = { ...authorization.headers, [FORWARD_AUTH_HEADERS.reason]: decision.reason }
      if (authorization.status === 200) {
        // Always present on 200 (empty for an anonymous public read), so that a gateway which copies
        // only headers present in the answer (Envoy) still overwrites a client-supplied X-Auth-User.
        out[FORWARD_AUTH_HEADERS.user] = principal ? encodeHeaderValue(principal.username) : ''
        out[FORWARD_AUTH_HEADERS.userId] = principal?.userId ? encodeHeaderValue(principal.userId) : ''
        return { status: 200, headers: out, body: { allowed: true, reason: decision.reason, user: principal?.username ?? null }, authorization }
      }
      // The middleware's answer as it is: 400 AMBIGUOUS_PATH (routing-safe refusal), 401 or 403.
      return { status: authorization.status, headers: out, body: authorization.body, authorization }
    },
  }
}
