/**
 * The built-in presets: the EOEPCA workspace API rule (docs/semantics/workspaces.md §2) and the STAC transaction
 * table (§3), as D13 decides them.
 *
 * @module
 */
import { allow, deny } from '../core/decision.js'
import type { TraceStep } from '../core/decision.js'
import { InvalidOptionsError } from '../core/errors.js'
import type { EffectiveRole, Principal } from '../core/principal.js'
import {
  KEYCLOAK_BUILTIN_CLIENTS,
  claimLabel,
  effectiveMethod,
  failureDecision,
  filterWith,
  findRole,
  isFailure,
  methodHeader,
  nonEmptyString,
  rejectUnknownKeys,
  roleSteps,
  rolesOn,
  stringList,
} from './internal.js'
import { normalizeRequestPath } from './normalize.js'
import { routeTable, type RoleRequirement } from './table.js'
import type { RouteDecision, RoutePolicy, RouteRequest, RouteSubject } from './types.js'

/**
 * The template of the workspace rule (§2 step 2); the rule the preset's decisions name.
 *
 * @example
 * ```ts
 * import { WORKSPACE_ROUTE, workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-alice' }, principal).rule === WORKSPACE_ROUTE
 * ```
 */
export const WORKSPACE_ROUTE = '/workspaces/{workspace}/**'

/**
 * A method rule of the workspace preset: a template (any parameter name; without `client`, its only
 * parameter names the client), the methods it covers and the roles it requires. Method rules are tried
 * before the method-agnostic workspace rule.
 *
 * @example
 * ```ts
 * import type { WorkspaceMethodRule } from 'keycloak-permissions/workspaces'
 * const rule: WorkspaceMethodRule = { path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }
 * ```
 */
export interface WorkspaceMethodRule {
  readonly name?: string
  readonly path: string
  readonly methods: readonly string[]
  readonly require: RoleRequirement
}

/**
 * Options of {@link workspaceApiPolicy} (docs/semantics/workspaces.md §2; every field has the documented default).
 *
 * @example
 * ```ts
 * import type { WorkspaceApiOptions } from 'keycloak-permissions/workspaces'
 * const o: WorkspaceApiOptions = { platformClient: 'workspace-api', workspaceRoles: ['ws_access', 'ws_admin'] }
 * ```
 */
export interface WorkspaceApiOptions {
  /** default `workspace-api` */
  readonly platformClient?: string
  /** default `admin` */
  readonly platformAdminRole?: string
  /** any-of; default `['ws_access', 'ws_admin']` */
  readonly workspaceRoles?: readonly string[]
  /** default: `platformClient` plus Keycloak's built-in client ids */
  readonly reservedClientIds?: readonly string[]
  /** default none: the workspace rule is method-agnostic */
  readonly methodRules?: readonly WorkspaceMethodRule[]
  /** default none: `X-HTTP-Method-Override` and friends are not honoured */
  readonly methodOverrideHeader?: string
}

/**
 * The EOEPCA workspace API rule: the platform admin role on any path; otherwise
 * `/workspaces/<ws>[/…]` with `<ws>` not reserved and a workspace role on client `<ws>`; otherwise deny.
 * Only `resource_access` (the principal's client roles) is read — never groups or realm roles.
 *
 * @example
 * ```ts
 * import { workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * const policy = workspaceApiPolicy({ methodRules: [{ path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }] })
 * policy.check({ method: 'GET', path: '/workspaces/ws-alice/files' }, principal) // { allowed: true, reason: 'WORKSPACE_ROLE', … }
 * ```
 */
export function workspaceApiPolicy(options: WorkspaceApiOptions = {}): RoutePolicy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected an object')
  rejectUnknownKeys('', options, ['platformClient', 'platformAdminRole', 'workspaceRoles', 'reservedClientIds', 'methodRules', 'methodOverrideHeader'])
  const platformClient = options.platformClient === undefined ? 'workspace-api' : nonEmptyString('platformClient', options.platformClient)
  const platformAdminRole = options.platformAdminRole === undefined ? 'admin' : nonEmptyString('platformAdminRole', options.platformAdminRole)
  const workspaceRoles =
    options.workspaceRoles === undefined ? ['ws_access', 'ws_admin'] : stringList('workspaceRoles', options.workspaceRoles, true)
  const reserved =
    options.reservedClientIds === undefined
      ? [platformClient, ...KEYCLOAK_BUILTIN_CLIENTS]
      : stringList('reservedClientIds', options.reservedClientIds, false)
  if (options.methodRules !== undefined && !Array.isArray(options.methodRules)) {
    throw new InvalidOptionsError('methodRules', 'expected an array of { path, methods, require }')
  }
  const methodRules = (options.methodRules ?? []).map((rule, i) => {
    if (rule === null || typeof rule !== 'object' || rule.methods === undefined) {
      throw new InvalidOptionsError(`methodRules[${i}].methods`, 'a method rule needs a non-empty methods list')
    }
    return rule
  })
  try {
    return routeTable({
      name: 'workspace-api',
      rules: [...methodRules, { path: WORKSPACE_ROUTE, require: { anyOf: workspaceRoles } }],
      platformAdmin: { client: platformClient, role: platformAdminRole },
      reservedClientIds: reserved,
      ...(options.methodOverrideHeader !== undefined ? { methodOverrideHeader: options.methodOverrideHeader } : {}),
    })
  } catch (err) {
    // Re-anchor rule option paths on `methodRules` (the base rule is ours and always valid).
    if (err instanceof InvalidOptionsError && err.option.startsWith('rules[')) {
      throw new InvalidOptionsError(err.option.replace(/^rules/, 'methodRules'), err.message.replace(/^Invalid option \S+: /, ''))
    }
    throw err
  }
}

/**
 * Options of {@link stacPolicy} (docs/semantics/workspaces.md §3; defaults as documented there).
 *
 * @example
 * ```ts
 * import type { StacOptions } from 'keycloak-permissions/workspaces'
 * const o: StacOptions = { prefix: '/stac', editorClients: ['eoapi'], anchorOnAzp: true }
 * ```
 */
export interface StacOptions {
  /** default `/stac` */
  readonly prefix?: string
  /** default `['eoapi']` */
  readonly editorClients?: readonly string[]
  /** default `stac_editor` */
  readonly editorRole?: string
  /** default `true`: the editor role counts only on a token whose `azp` is the editor client */
  readonly anchorOnAzp?: boolean
  /** default `['ws-']`: dot-less ids with these prefixes need a valid token */
  readonly privateCollectionPrefixes?: readonly string[]
  /** roles that make a collection owner (any-of); default `['ws_access', 'ws_admin']` */
  readonly workspaceRoles?: readonly string[]
  /** owner ids never read as workspaces; default: `workspace-api`, the editor clients and Keycloak's built-in client ids */
  readonly reservedClientIds?: readonly string[]
  /** default none */
  readonly methodOverrideHeader?: string
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The STAC rules: reads (`GET`/`HEAD`/`OPTIONS`, and `POST …/search`) are public except private
 * collections (`<owner>.<name>` under the workspace rule on `<owner>`; dot-less ids with a private
 * prefix need a valid token); writes need the editor role, anchored on `azp` by default. Token
 * principals are anchored on their `azp`; principals from a realm export or the Admin API carry no
 * token, so anchoring does not apply to them (the trace says so).
 *
 * @example
 * ```ts
 * import { stacPolicy } from 'keycloak-permissions/workspaces'
 * const stac = stacPolicy()
 * stac.check({ method: 'POST', path: '/stac/search' }, null) // { allowed: true, reason: 'PUBLIC_READ', … }
 * stac.check({ method: 'DELETE', path: '/stac/collections/c1' }, null).reason // 'NO_TOKEN'
 * ```
 */
export function stacPolicy(options: StacOptions = {}): RoutePolicy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected an object')
  rejectUnknownKeys('', options, [
    'prefix',
    'editorClients',
    'editorRole',
    'anchorOnAzp',
    'privateCollectionPrefixes',
    'workspaceRoles',
    'reservedClientIds',
    'methodOverrideHeader',
  ])
  const prefixSource = options.prefix === undefined ? '/stac' : nonEmptyString('prefix', options.prefix)
  const prefixPath = normalizeRequestPath(prefixSource)
  if (!prefixPath.ok || prefixSource.includes('?') || prefixSource.includes('#') || prefixSource.includes('%')) {
    throw new InvalidOptionsError('prefix', `${JSON.stringify(prefixSource)} must be a plain absolute path such as "/stac"`)
  }
  const prefix = prefixPath.segments
  const editorClients = options.editorClients === undefined ? ['eoapi'] : stringList('editorClients', options.editorClients, true)
  const editorRole = options.editorRole === undefined ? 'stac_editor' : nonEmptyString('editorRole', options.editorRole)
  if (options.anchorOnAzp !== undefined && typeof options.anchorOnAzp !== 'boolean') {
    throw new InvalidOptionsError('anchorOnAzp', `expected a boolean, got ${JSON.stringify(options.anchorOnAzp)}`)
  }
  const anchorOnAzp = options.anchorOnAzp ?? true
  const privatePrefixes =
    options.privateCollectionPrefixes === undefined ? ['ws-'] : stringList('privateCollectionPrefixes', options.privateCollectionPrefixes, false)
  const workspaceRoles =
    options.workspaceRoles === undefined ? ['ws_access', 'ws_admin'] : stringList('workspaceRoles', options.workspaceRoles, true)
  const reserved = new Set(
    options.reservedClientIds === undefined
      ? ['workspace-api', ...editorClients, ...KEYCLOAK_BUILTIN_CLIENTS]
      : stringList('reservedClientIds', options.reservedClientIds, false),
  )
  const overrideHeader = methodHeader('methodOverrideHeader', options.methodOverrideHeader)
  const editorRule = `stac editor ${editorClients.join('|')}/${editorRole}`

  function editor(principal: Principal, trace: TraceStep[]): { client: string; role: EffectiveRole } | 'AZP_NOT_ALLOWED' | undefined {
    let heldElsewhere = false
    for (const client of editorClients) {
      const roles = rolesOn(principal, client)
      const role = roles && findRole(roles, editorRole)
      if (!role) continue
      if (!anchorOnAzp) return { client, role }
      if (principal.origin.kind !== 'token' && principal.token === undefined) {
        trace.push({ kind: 'azp', label: 'not a token principal: azp anchoring does not apply' })
        return { client, role }
      }
      if (principal.token?.azp === client) {
        trace.push({ kind: 'azp', label: client })
        return { client, role }
      }
      heldElsewhere = true
    }
    if (heldElsewhere) {
      trace.push({ kind: 'azp', label: principal.token?.azp ?? '(none)', data: { allowed: editorClients } })
      return 'AZP_NOT_ALLOWED'
    }
    return undefined
  }

  function check(request: RouteRequest, subject: RouteSubject): RouteDecision {
    const trace: TraceStep[] = []
    const path = normalizeRequestPath(request.path)
    if (!path.ok) {
      trace.push({ kind: 'path', label: request.path, data: { detail: path.detail } })
      return deny('AMBIGUOUS_PATH', trace)
    }
    const segments = path.segments
    trace.push({ kind: 'path', label: path.path })
    if (isFailure(subject)) return failureDecision(subject, trace)
    for (let i = 0; i < prefix.length; i++) {
      if (segments[i] !== prefix[i]) return deny('PATH_UNMATCHED', trace)
    }
    const method = effectiveMethod(request, overrideHeader, trace)
    const last = segments.length > prefix.length ? segments[segments.length - 1] : undefined
    let action: 'read' | 'write'
    if (READ_METHODS.has(method) || (method === 'POST' && last === 'search')) action = 'read'
    else if (WRITE_METHODS.has(method)) action = 'write'
    else {
      trace.push({ kind: 'method', label: method })
      return deny('METHOD_NOT_ALLOWED', trace)
    }
    trace.push({ kind: 'action', label: action })
    const principal = subject
    if (principal !== null) {
      trace.push({ kind: 'user', label: principal.username })
      for (const client of editorClients) trace.push({ kind: 'claim', label: claimLabel(client) })
      const ed = editor(principal, trace)
      if (ed !== undefined && ed !== 'AZP_NOT_ALLOWED') {
        roleSteps(trace, ed.client, ed.role)
        trace.push({ kind: 'rule', label: editorRule })
        return allow('STAC_EDITOR', trace, { rule: editorRule, grant: { client: ed.client, roles: [editorRole], rule: editorRule } })
      }
      if (action === 'write') return deny(ed ?? 'METHOD_NEEDS_ROLE', trace, { rule: 'stac write' })
    } else if (action === 'write') {
      return deny('NO_TOKEN', trace, { rule: 'stac write' })
    }
    // Reads: the id right after the first `collections` segment following the prefix.
    let id: string | undefined
    for (let i = prefix.length; i < segments.length; i++) {
      if (segments[i] === 'collections') {
        id = segments[i + 1]
        break
      }
    }
    if (id === undefined) {
      trace.push({ kind: 'rule', label: 'stac public read' })
      return allow('PUBLIC_READ', trace, { rule: 'stac public read', grant: { roles: [], rule: 'stac public read' } })
    }
    trace.push({ kind: 'collection', label: id })
    const dot = id.indexOf('.')
    if (dot === -1) {
      const isPrivate = privatePrefixes.some((p) => id.startsWith(p))
      if (isPrivate && principal === null) return deny('NO_TOKEN', trace, { rule: 'stac private collection' })
      const rule = isPrivate ? 'stac private collection' : 'stac public read'
      trace.push({ kind: 'rule', label: rule })
      return allow('PUBLIC_READ', trace, { rule, grant: { roles: [], rule } })
    }
    const rule = 'stac owner collection'
    if (principal === null) return deny('NO_TOKEN', trace, { rule })
    const owner = id.slice(0, dot)
    if (owner === '') {
      // `.name` has no owner: no client can be read for it.
      trace.push({ kind: 'rule', label: rule, data: { owner } })
      return deny('NO_CLIENT_ENTRY', trace, { rule })
    }
    if (reserved.has(owner)) {
      trace.push({ kind: 'rule', label: rule, data: { reserved: owner } })
      return deny('RESERVED_WORKSPACE_NAME', trace, { rule })
    }
    trace.push({ kind: 'claim', label: claimLabel(owner) })
    const roles = rolesOn(principal, owner)
    if (roles === undefined) return deny('NO_CLIENT_ENTRY', trace, { rule })
    for (const name of workspaceRoles) {
      const role = findRole(roles, name)
      if (role) {
        roleSteps(trace, owner, role)
        trace.push({ kind: 'rule', label: rule })
        return allow('WORKSPACE_ROLE', trace, { rule, grant: { client: owner, roles: [name], rule } })
      }
    }
    return deny('ROLE_MISSING', trace, { rule })
  }

  return Object.freeze({
    name: 'stac',
    check,
    filter: <T>(items: Iterable<T>, subject: RouteSubject, toRequest: (item: T) => RouteRequest) => filterWith(check, items, subject, toRequest),
  })
}
