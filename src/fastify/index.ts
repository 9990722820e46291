/**
 * `keycloak-permissions/fastify`: an `onRequest` hook (and a plugin registering it) that verifies the
 * bearer token, decides the request with a route policy, answers 401 (with `WWW-Authenticate`) or 403
 * (JSON body with the reason), and exposes the decision and principal through {@link authorizationOf}.
 * Only types are imported from `fastify`.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authorizePrepared, prepareHttpOptions } from '../workspaces/http.js'
import type { HttpAuthorization, HttpAuthorizationOptions } from '../workspaces/http.js'

const authorizations = new WeakMap<object, HttpAuthorization>()

/**
 * The hook: `app.addHook('onRequest', keycloakOnRequest(options))`. The decision is made on
 * `request.raw.url`, undecoded — the URL Fastify routed (after a `rewriteUrl`, if configured). A target
 * the router could read differently from the decision (dot segments, `//`, `;`, backslashes, encoded
 * separators, a fragment, absolute form) is answered 400 `AMBIGUOUS_PATH` before any rule, whatever
 * `ignoreDuplicateSlashes`, `useSemicolonDelimiter` or `ignoreTrailingSlash` say (see
 * `authorizeHttpRequest`). With Fastify's default `caseSensitive: true` you may set the option
 * `caseSensitiveRouting: true`, which skips the case-variant check (`CASE_VARIANT`).
 * An authenticator failure that is not a token rejection is thrown, so Fastify answers 500 — never an
 * allow.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { keycloakOnRequest } from 'keycloak-permissions/fastify'
 * const app = Fastify()
 * app.addHook('onRequest', keycloakOnRequest({ policy: workspaceApiPolicy(), authenticate: tokenSource }))
 * ```
 *
 * @example The same answer as check --route and serve: the rules from the configuration file
 * ```ts
 * import { createRegistry } from 'keycloak-permissions/components'
 * import { loadConfig, registrySettingsOf } from 'keycloak-permissions/config'
 * const registry = createRegistry(registrySettingsOf((await loadConfig()).config))
 * app.addHook('onRequest', keycloakOnRequest({ policy: registry.routes, authenticate: tokenSource }))
 * ```
 */
export function keycloakOnRequest(options: HttpAuthorizationOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const prepared = prepareHttpOptions(options)
  return async (request, reply) => {
    const answer = await authorizePrepared(
      { method: request.raw.method ?? request.method, target: request.raw.url ?? request.url, headers: request.headers },
      prepared,
    )
    authorizations.set(request, answer)
    if (answer.status === 200) return
    await reply.code(answer.status).headers(answer.headers).send(answer.body)
  }
}

/**
 * The plugin form: `app.register(keycloakPlugin, options)`. It is not encapsulated (like
 * `fastify-plugin`), so the hook covers every route of the instance it is registered on.
 *
 * @example
 * ```ts
 * import { keycloakPlugin, authorizationOf } from 'keycloak-permissions/fastify'
 * await app.register(keycloakPlugin, { policy: stacPolicy(), authenticate: tokenSource })
 * app.get('/stac/collections/:id', async (request) => ({ reason: authorizationOf(request)?.decision.reason }))
 * ```
 */
export const keycloakPlugin = Object.assign(
  async function keycloakPlugin(instance: FastifyInstance, options: HttpAuthorizationOptions): Promise<void> {
    instance.addHook('onRequest', keycloakOnRequest(options))
  },
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'keycloak-permissions' },
)

/**
 * The decision and principal the hook attached to a request (`undefined` before it ran).
 *
 * @example
 * ```ts
 * import { authorizationOf } from 'keycloak-permissions/fastify'
 * app.get('/workspaces/:ws', async (request) => ({ user: authorizationOf(request)?.principal?.username }))
 * ```
 */
export function authorizationOf(request: object): HttpAuthorization | undefined {
  return authorizations.get(request)
}

export type { HttpAuthorization, HttpAuthorizationOptions, RoutePolicySelector } from '../workspaces/http.js'
