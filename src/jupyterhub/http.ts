/**
 * JupyterHub's HTTP-level decisions: the `needs_scope` decorator (docs/semantics/jupyterhub.md §11) and what a
 * service sees through `HubAuth.check_scopes` (§13).
 *
 * @module
 */
import { allow, deny, type Decision, type TraceStep } from '../core/decision.js'
import { hasScope, intersectParsed, type GroupsOf, type HeldScopes } from './check.js'
import { JupyterHubUsageError, ScopeNotFoundError } from './errors.js'
import { parseScopes, type ParsedScopes } from './expand.js'
import { scopeError, tableFor, type ExpandedScope, type ScopeName, type ScopeOptions } from './scopes.js'

/**
 * The resource arguments of a hub API handler (`user_name`, `server_name`, `group_name`,
 * `service_name`). `user` + `server` (even `''`) name the server `user/server`.
 *
 * @example
 * ```ts
 * import type { HandlerArgs } from 'keycloak-permissions/jupyterhub'
 * const args: HandlerArgs = { user: 'maeby', server: 'bluth' }
 * ```
 */
export interface HandlerArgs {
  readonly user?: string
  readonly server?: string
  readonly group?: string
  readonly service?: string
}

/**
 * Reason codes of an {@link EndpointDecision}.
 *
 * @example
 * ```ts
 * import type { EndpointReason } from 'keycloak-permissions/jupyterhub'
 * const r: EndpointReason = 'RESOURCE_NOT_ACCESSIBLE' // the 404 case
 * ```
 */
export type EndpointReason = 'SCOPE_HELD' | 'NOT_AUTHENTICATED' | 'SCOPE_MISSING' | 'RESOURCE_NOT_ACCESSIBLE'

/**
 * A hub endpoint's decision: a core decision plus the HTTP status JupyterHub answers (200 = the
 * handler runs) and, for 403/404, JupyterHub's message.
 *
 * @example
 * ```ts
 * import type { EndpointDecision } from 'keycloak-permissions/jupyterhub'
 * const show = (d: EndpointDecision) => `${d.status} ${d.message ?? ''}`
 * ```
 */
export type EndpointDecision = Decision<EndpointReason> & { readonly status: 200 | 403 | 404; readonly message?: string }

/**
 * A guard built once per endpoint, like `@needs_scope(*scopes, post_filter=…)`: every required scope
 * must be defined (else {@link ScopeNotFoundError} `Scope {scope} is not a valid scope`, at
 * construction).
 *
 * @example
 * ```ts
 * import { needsScope, expandScopes } from 'keycloak-permissions/jupyterhub'
 * const getUser = needsScope(['read:users', 'read:users:name'])
 * getUser.check(expandScopes(['read:users!user=george']), { user: 'george' }).status // 200
 * ```
 */
export interface EndpointGuard {
  readonly required: readonly ScopeName[]
  readonly postFilter: boolean
  /** `held` undefined = no authenticated entity (403 `Missing or invalid credentials.`). */
  check(held: HeldScopes | undefined, args?: HandlerArgs, options?: { readonly groupsOf?: GroupsOf }): EndpointDecision
}

function endpointDecision(
  allowed: boolean,
  reason: EndpointReason,
  status: 200 | 403 | 404,
  trace: TraceStep[],
  message?: string,
  grant?: string,
): EndpointDecision {
  const base = allowed ? allow(reason, trace, grant === undefined ? {} : { grant }) : deny(reason, trace)
  return message === undefined ? { ...base, status } : { ...base, status, message }
}

function resourceOf(args: HandlerArgs): [kind: string, value: string] | undefined {
  const found: [string, string][] = []
  if (args.user !== undefined) {
    if (args.server !== undefined) found.push(['server', `${args.user}/${args.server}`])
    else found.push(['user', args.user])
  } else if (args.server !== undefined) {
    throw new JupyterHubUsageError('server_name without user_name')
  }
  if (args.group !== undefined) found.push(['group', args.group])
  if (args.service !== undefined) found.push(['service', args.service])
  if (found.length > 1) throw new JupyterHubUsageError(`more than one resource in handler arguments: ${found.map((f) => f[0]).join(', ')}`)
  return found[0]
}

/**
 * Builds the `needs_scope` guard for an endpoint (docs/semantics/jupyterhub.md §11). Required scopes are any-of;
 * with a resource each is checked filtered to it; failing with some required scope held under
 * another filter answers 404 `No access to resources or resources not found`, else 403 `Action is
 * not authorized with current scopes; requires any of […]`. Without a resource an unfiltered holding
 * is required unless `postFilter` (5.5.1/6.0 semantics).
 *
 * @example
 * ```ts
 * import { needsScope, expandScopes } from 'keycloak-permissions/jupyterhub'
 * const patchUser = needsScope(['users'])
 * patchUser.check(expandScopes(['users!user=george']), { user: 'oscar' }).status // 404
 * ```
 */
export function needsScope(required: readonly ScopeName[], options: ScopeOptions & { readonly postFilter?: boolean } = {}): EndpointGuard {
  const table = tableFor(options)
  for (const scope of required) {
    if (!table.has(scope)) throw new ScopeNotFoundError(scope, `Scope ${scope} is not a valid scope`)
  }
  const scopes = Object.freeze([...required])
  const postFilter = options.postFilter === true
  return Object.freeze({
    required: scopes,
    postFilter,
    check(held: HeldScopes | undefined, args: HandlerArgs = {}, checkOptions: { readonly groupsOf?: GroupsOf } = {}): EndpointDecision {
      if (held === undefined) {
        return endpointDecision(false, 'NOT_AUTHENTICATED', 403, [], 'Missing or invalid credentials.')
      }
      const resource = resourceOf(args)
      const parsed: ParsedScopes = 'parsed' in held ? held.parsed : held
      const trace: TraceStep[] = resource ? [{ kind: 'resource', label: `${resource[0]}=${resource[1]}` }] : []
      const hasOptions = checkOptions.groupsOf ? { groupsOf: checkOptions.groupsOf } : {}
      for (const scope of scopes) {
        const ok = resource
          ? hasScope(`${scope}!${resource[0]}=${resource[1]}` as ExpandedScope, parsed, hasOptions) || hasScope(scope, parsed)
          : hasScope(scope, parsed, { postFilter })
        if (ok) return endpointDecision(true, 'SCOPE_HELD', 200, [...trace, { kind: 'scope', label: scope }], undefined, scope)
      }
      if (resource && scopes.some((s) => parsed.has(s))) {
        return endpointDecision(false, 'RESOURCE_NOT_ACCESSIBLE', 404, trace, 'No access to resources or resources not found')
      }
      return endpointDecision(false, 'SCOPE_MISSING', 403, trace, `Action is not authorized with current scopes; requires any of [${scopes.join(', ')}]`)
    },
  })
}

/**
 * The scopes a hub API endpoint requires (docs/semantics/jupyterhub.md §11), by version: server start/`PUT`/`PATCH`
 * need `servers` on 5.x and `start:servers` on 6.0.
 *
 * @example
 * ```ts
 * import { endpointScopes } from 'keycloak-permissions/jupyterhub'
 * endpointScopes('POST', '/users/:user/servers/:server', { jupyterhubVersion: 6 }) // { required: ['start:servers'], postFilter: false }
 * ```
 */
export function endpointScopes(
  method: string,
  route: HubRoute,
  options: ScopeOptions = {},
): { readonly required: readonly ScopeName[]; readonly postFilter: boolean } {
  const v6 = tableFor(options).version === 6
  const m = method.toUpperCase()
  const r = (required: ScopeName[], postFilter = false) => ({ required, postFilter })
  switch (route) {
    case '/users':
      if (m === 'GET') return r(['list:users'], true)
      if (m === 'POST') return r(['admin:users'])
      break
    case '/users/:user':
      if (m === 'GET') return r(['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles:users'])
      if (m === 'DELETE') return r(['delete:users'])
      if (m === 'PATCH') return r(['admin:users'])
      break
    case '/users/:user/servers/:server':
      if (m === 'POST' || m === 'PUT' || m === 'PATCH') return r([v6 ? 'start:servers' : 'servers'])
      if (m === 'DELETE') return r(['delete:servers'])
      if (m === 'GET') return r(['read:servers'])
      break
    case '/users/:user/tokens':
      if (m === 'GET') return r(['read:tokens'])
      if (m === 'POST') return r(['tokens'])
      break
    case '/users/:user/activity':
      if (m === 'POST') return r(['users:activity'])
      break
    case '/shares/:user/:server':
      if (m === 'POST' || m === 'PATCH' || m === 'DELETE') return r(['shares'])
      if (m === 'GET') return r(['read:shares'])
      break
  }
  throw new JupyterHubUsageError(`no scope table entry for ${m} ${route}`)
}

/**
 * The hub API routes {@link endpointScopes} knows.
 *
 * @example
 * ```ts
 * import type { HubRoute } from 'keycloak-permissions/jupyterhub'
 * const route: HubRoute = '/users/:user/servers/:server'
 * ```
 */
export type HubRoute =
  | '/users'
  | '/users/:user'
  | '/users/:user/servers/:server'
  | '/users/:user/tokens'
  | '/users/:user/activity'
  | '/shares/:user/:server'

/**
 * What a service decides from the hub's user model (`HubAuth.check_scopes`, docs/semantics/jupyterhub.md §13):
 * allowed iff any required scope survives the intersection unchanged; no group data, so a held
 * `!group=` never satisfies a server's access scopes.
 *
 * @example
 * ```ts
 * import { hubCheckScopes } from 'keycloak-permissions/jupyterhub'
 * hubCheckScopes(['access:services!service=grades'], ['access:services']).allowed // true
 * ```
 */
export function hubCheckScopes(required: readonly string[], userModelScopes: readonly string[]): Decision<'ACCESS_SCOPE_MATCHED' | 'NO_ACCESS_SCOPE', readonly string[]> & { readonly matched: readonly string[] } {
  const intersection = new Set(intersectParsed(parseScopes(required), parseScopes(userModelScopes), undefined).scopes)
  const matched = [...new Set(required)].filter((s) => intersection.has(s as ExpandedScope)).sort()
  const trace: TraceStep[] = matched.map((s) => ({ kind: 'scope', label: s }))
  return matched.length > 0
    ? { ...allow('ACCESS_SCOPE_MATCHED', trace, { grant: matched }), matched }
    : { ...deny('NO_ACCESS_SCOPE', []), matched }
}

/**
 * The access scopes a service or single-user server requires by default (hub defaults, §13).
 *
 * @example
 * ```ts
 * import { defaultAccessScopes } from 'keycloak-permissions/jupyterhub'
 * defaultAccessScopes({ server: 'alice/' }) // ['access:servers!server=alice/', 'access:servers!user=alice']
 * ```
 */
export function defaultAccessScopes(target: { readonly service: string } | { readonly server: string }): string[] {
  if ('service' in target) return ['access:services', `access:services!service=${target.service}`]
  const slash = target.server.indexOf('/')
  if (slash < 0) throw new JupyterHubUsageError(`A server is written user/name, got ${JSON.stringify(target.server)}`)
  return [`access:servers!server=${target.server}`, `access:servers!user=${target.server.slice(0, slash)}`]
}

/**
 * Reason codes of a {@link ShareDecision}.
 *
 * @example
 * ```ts
 * import type { ShareReason } from 'keycloak-permissions/jupyterhub'
 * const r: ShareReason = 'SHARE_FILTER_NOT_ALLOWED' // the 400 case
 * ```
 */
export type ShareReason =
  | 'SHARE_ALLOWED'
  | 'SCOPE_MISSING'
  | 'RESOURCE_NOT_ACCESSIBLE'
  | 'SHARE_SCOPE_INVALID'
  | 'SHARE_FILTER_NOT_ALLOWED'
  | 'SHARE_SCOPE_NOT_HELD'
  | 'SHARE_TARGET_NAME_SCOPE_MISSING'

/**
 * The decision of `POST /api/shares/:owner/:server`: status, JupyterHub's message, and on success the
 * scopes the share grants (each filtered `!server=owner/server`).
 *
 * @example
 * ```ts
 * import type { ShareDecision } from 'keycloak-permissions/jupyterhub'
 * const granted = (d: ShareDecision) => (d.allowed ? d.scopes : [])
 * ```
 */
export type ShareDecision = Decision<ShareReason, readonly string[]> & {
  readonly status: 200 | 400 | 403 | 404
  readonly message?: string
  readonly scopes: readonly string[]
}

/**
 * May the holder of `held` share the server `owner/name` with a user or group (docs/semantics/jupyterhub.md §12)?
 * (1) `shares` on the server (404 when held under another filter, else 403); (2) requested scopes
 * (default `access:servers!server=owner/name`) must be unfiltered or filtered exactly to the server
 * (400 `!{filter} not allowed on sharing {scope}, only !server=owner/name`); (3) the requester must
 * hold each (403 `Do not have permission to grant share with scope {scope}`); (4) sharing by name
 * needs `read:users:name` / `read:groups:name` on the target (403).
 *
 * @example
 * ```ts
 * import { expandScopes, shareDecision } from 'keycloak-permissions/jupyterhub'
 * const alice = expandScopes(['self', 'shares!user', 'read:users:name', 'read:groups:name'], { owner: { kind: 'user', name: 'alice' } })
 * shareDecision(alice, 'alice/', { user: 'bob' }).status // 200
 * shareDecision(alice, 'bob/', { user: 'carol' }).status // 404
 * ```
 */
export function shareDecision(
  held: HeldScopes,
  server: string,
  target: { readonly user: string } | { readonly group: string },
  options: ScopeOptions & { readonly scopes?: readonly string[]; readonly groupsOf?: GroupsOf } = {},
): ShareDecision {
  const slash = server.indexOf('/')
  if (slash <= 0) throw new JupyterHubUsageError(`A server is written owner/name (default server: owner/), got ${JSON.stringify(server)}`)
  const parsed: ParsedScopes = 'parsed' in held ? held.parsed : held
  const hasOptions = options.groupsOf ? { groupsOf: options.groupsOf } : {}
  const trace: TraceStep[] = [{ kind: 'resource', label: `server=${server}` }]
  const result = (reason: ShareReason, status: 200 | 400 | 403 | 404, message?: string, scopes: readonly string[] = []): ShareDecision => {
    const base = status === 200 ? allow(reason, trace, { grant: scopes }) : deny(reason, trace)
    return message === undefined ? { ...base, status, scopes } : { ...base, status, message, scopes }
  }
  if (!hasScope(`shares!server=${server}`, parsed, hasOptions)) {
    return parsed.has('shares')
      ? result('RESOURCE_NOT_ACCESSIBLE', 404, 'No access to resources or resources not found')
      : result('SCOPE_MISSING', 403, 'Action is not authorized with current scopes; requires any of [shares]')
  }
  trace.push({ kind: 'scope', label: `shares!server=${server}` })
  const table = tableFor(options)
  const serverFilter = `server=${server}`
  const granted: string[] = []
  for (const scope of options.scopes ?? [`access:servers!${serverFilter}`]) {
    const error = scopeError(scope, { ...options, whoFor: 'share' })
    if (error || !table.has(scope.split('!')[0]!)) return result('SHARE_SCOPE_INVALID', 400, error?.message ?? `Scope '${scope}' for share does not exist`)
    const bang = scope.indexOf('!')
    const base = bang < 0 ? scope : scope.slice(0, bang)
    const filter = bang < 0 ? '' : scope.slice(bang + 1)
    if (filter && filter !== serverFilter) return result('SHARE_FILTER_NOT_ALLOWED', 400, `!${filter} not allowed on sharing ${scope}, only !${serverFilter}`)
    granted.push(`${base}!${serverFilter}`)
  }
  for (const scope of granted) {
    if (!hasScope(scope as ExpandedScope, parsed, hasOptions)) return result('SHARE_SCOPE_NOT_HELD', 403, `Do not have permission to grant share with scope ${scope}`)
  }
  if ('user' in target) {
    if (!hasScope(`read:users:name!user=${target.user}`, parsed, hasOptions)) {
      return result('SHARE_TARGET_NAME_SCOPE_MISSING', 403, "Need scope 'read:users:name' to share with users by name")
    }
    trace.push({ kind: 'target', label: `user=${target.user}` })
  } else {
    if (!hasScope(`read:groups:name!group=${target.group}`, parsed)) {
      return result('SHARE_TARGET_NAME_SCOPE_MISSING', 403, "Need scope 'read:groups:name' to share with groups by name")
    }
    trace.push({ kind: 'target', label: `group=${target.group}` })
  }
  return result('SHARE_ALLOWED', 200, undefined, [...new Set(granted)].sort())
}
