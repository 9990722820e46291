/**
 * `keycloak-permissions/express`: `(req, res, next)` middleware for Express and plain `node:http`
 * (connect-style). It verifies the bearer token, decides the request with a route policy, answers 401
 * (with `WWW-Authenticate`) or 403 (JSON body with the reason), and exposes the decision and principal
 * through {@link authorizationOf}. Express itself is not imported: the middleware is typed on
 * `node:http`, which Express's request and response extend.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { authorizePrepared, prepareHttpOptions } from '../workspaces/http.js'
import type { HttpAuthorization, HttpAuthorizationOptions } from '../workspaces/http.js'

const authorizations = new WeakMap<object, HttpAuthorization>()

/**
 * A connect-style middleware (`app.use(mw)` in Express, or called from a `node:http` handler).
 *
 * @example
 * ```ts
 * import type { KeycloakMiddleware } from 'keycloak-permissions/express'
 * const mw: KeycloakMiddleware = keycloakMiddleware({ policy, authenticate })
 * ```
 */
export type KeycloakMiddleware = (
  req: IncomingMessage & { readonly originalUrl?: string; readonly baseUrl?: string },
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void

/**
 * Builds the middleware. Options are validated now ({@link HttpAuthorizationOptions}). The decision is
 * made on the target the router is about to route, undecoded: `req.baseUrl + req.url` in Express (the
 * full path even when the middleware is mounted, and the rewritten one if an earlier middleware
 * rewrote `req.url`), `req.url` under plain `node:http`. A target a router could read differently from
 * the decision (dot segments, `//`, `;`, backslashes, encoded separators, a fragment, absolute form) is
 * answered 400 `AMBIGUOUS_PATH` before any rule (see `authorizeHttpRequest`). An allowed request calls
 * `next()`; a denial ends the response; an authenticator failure that is not a token rejection goes to
 * `next(err)` (never an allow).
 *
 * Express routes case-insensitively unless `app.set('case sensitive routing', true)` (and
 * `express.Router({ caseSensitive: true })`), while the decision is case-sensitive: so by default an
 * allowed request whose lower-case target would be denied is refused (`CASE_VARIANT`, e.g.
 * `/stac/COLLECTIONS/<private>/items`). Set the option `caseSensitiveRouting: true` only when every
 * router behind the middleware is case-sensitive (SECURITY.md, "What each adapter guarantees").
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { TokenSource } from 'keycloak-permissions/keycloak'
 * import { workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * import { keycloakMiddleware, authorizationOf } from 'keycloak-permissions/express'
 *
 * const app = express()
 * app.use(keycloakMiddleware({
 *   policy: workspaceApiPolicy(),
 *   authenticate: new TokenSource({ issuers: ['https://id.example.org/realms/eoepca'], audience: 'workspace-api' }),
 * }))
 * app.get('/workspaces/:ws', (req, res) => res.json({ user: authorizationOf(req)?.principal?.username }))
 * ```
 *
 * @example The same answer as check --route and serve: the rules from the configuration file
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { loadConfig, registrySettingsOf } from 'keycloak-permissions/config'
 * const registry = createRegistry(registrySettingsOf((await loadConfig()).config))
 * // STAC under components.workspaces.stacPrefix, the workspace API elsewhere, only components.workspaces.clients
 * app.use(keycloakMiddleware({ policy: registry.routes, authenticate: tokenSource }))
 * ```
 */
export function keycloakMiddleware(options: HttpAuthorizationOptions): KeycloakMiddleware {
  const prepared = prepareHttpOptions(options)
  return (req, res, next) => {
    authorizePrepared({ method: req.method ?? 'GET', target: routedTarget(req), headers: req.headers }, prepared).then(
      (answer) => {
        authorizations.set(req, answer)
        const locals = (res as ServerResponse & { locals?: Record<string, unknown> }).locals
        if (locals !== undefined && typeof locals === 'object') locals['keycloak'] = answer
        if (answer.status === 200) {
          next()
          return
        }
        res.statusCode = answer.status
        for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value)
        res.end(JSON.stringify(answer.body))
      },
      (err: unknown) => next(err),
    )
  }
}

/**
 * What the router routes next: Express strips a mount path from `req.url` into `req.baseUrl` (set by
 * Express's router on every request it handles); plain `node:http` has `req.url` only.
 */
function routedTarget(req: IncomingMessage & { readonly originalUrl?: string; readonly baseUrl?: string }): string {
  const url = req.url ?? ''
  return typeof req.baseUrl === 'string' ? req.baseUrl + url : url
}

/**
 * The decision and principal the middleware attached to a request (`undefined` before it ran).
 * Express also finds it in `res.locals.keycloak`.
 *
 * @example
 * ```ts
 * import { authorizationOf } from 'keycloak-permissions/express'
 * app.get('/workspaces/:ws', (req, res) => {
 *   const auth = authorizationOf(req)!
 *   res.json({ user: auth.principal?.username, grant: auth.decision.grant })
 * })
 * ```
 */
export function authorizationOf(req: object): HttpAuthorization | undefined {
  return authorizations.get(req)
}

export type { HttpAuthorization, HttpAuthorizationOptions, RoutePolicySelector } from '../workspaces/http.js'
