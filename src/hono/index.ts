/**
 * `keycloak-permissions/hono`: a Hono `MiddlewareHandler` that verifies the bearer token, decides the
 * request with a route policy, answers 401 (with `WWW-Authenticate`) or 403 (JSON body with the
 * reason), and exposes the decision and principal as `c.get('keycloak')`. Only types are imported
 * from `hono`.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono'
import { authorizePrepared, prepareHttpOptions } from '../workspaces/http.js'
import type { HttpAuthorization, HttpAuthorizationOptions } from '../workspaces/http.js'

/**
 * The context variables the middleware sets.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import type { KeycloakVariables } from 'keycloak-permissions/hono'
 * const app = new Hono<{ Variables: KeycloakVariables }>()
 * ```
 */
export interface KeycloakVariables {
  keycloak: HttpAuthorization
}

/**
 * Builds the middleware. The request target is the raw `incoming.url` under `@hono/node-server`
 * (undecoded, before the URL parser resolves dot segments); on other runtimes, the path and query of
 * `c.req.url` as the runtime parsed it. A target a router could read differently from the decision (dot
 * segments plain or encoded, `//`, `;`, backslashes, encoded separators, a fragment, absolute form) is
 * answered 400 `AMBIGUOUS_PATH` before any rule (see `authorizeHttpRequest`), and so is a request whose
 * routed path (`c.req.path`, the app's `getPath` result) names other segments than the target (detail
 * `ROUTER_MISMATCH`, e.g. a custom `getPath` that routes on the host). An authenticator failure that is
 * not a token rejection is thrown (Hono answers 500) — never an allow.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { keycloakHono, type KeycloakVariables } from 'keycloak-permissions/hono'
 * const app = new Hono<{ Variables: KeycloakVariables }>()
 * app.use('*', keycloakHono({ policy: workspaceApiPolicy(), authenticate: tokenSource }))
 * app.get('/workspaces/:ws', (c) => c.json({ user: c.get('keycloak').principal?.username }))
 * ```
 *
 * @example The same answer as check --route and serve: the rules from the configuration file
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { loadConfig, registrySettingsOf } from 'keycloak-permissions/config'
 * const registry = createRegistry(registrySettingsOf((await loadConfig()).config))
 * app.use('*', keycloakHono({ policy: registry.routes, authenticate: tokenSource }))
 * ```
 */
export function keycloakHono(options: HttpAuthorizationOptions): MiddlewareHandler<{ Variables: KeycloakVariables }> {
  const prepared = prepareHttpOptions(options)
  return async (c, next) => {
    const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming
    let target: string
    if (incoming !== undefined && typeof incoming.url === 'string') target = incoming.url
    else {
      const url = new URL(c.req.url)
      target = url.pathname + url.search
    }
    const answer = await authorizePrepared({ method: c.req.method, target, headers: c.req.header(), routerPath: c.req.path }, prepared)
    c.set('keycloak', answer)
    if (answer.status === 200) {
      await next()
      return
    }
    return c.json(answer.body, answer.status, answer.headers)
  }
}

export type { HttpAuthorization, HttpAuthorizationOptions, RoutePolicySelector } from '../workspaces/http.js'
