/**
 * Route rules as data: path templates, per-method role requirements, reserved names, default deny.
 *
 * @module
 */
import { allow, deny } from '../core/decision.js'
import type { TraceStep } from '../core/decision.js'
import { InvalidOptionsError } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import {
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
  upperMethod,
} from './internal.js'
import type { EffectiveRole } from '../core/principal.js'
import { normalizeRequestPath } from './normalize.js'
import { compileRoutePattern, matchPatternValues, type RoutePattern } from './pattern.js'
import type { RouteDecision, RouteGrant, RoutePolicy, RouteRequest, RouteSubject } from './types.js'

/**
 * A role requirement: any of / all of the roles, on a fixed client (`client: 'workspace-api'`) or on the
 * client named by a path parameter (`client: { segment: 'workspace' }`). Without `client`, the template's
 * only parameter names the client.
 *
 * @example
 * ```ts
 * import type { RoleRequirement } from 'keycloak-permissions/workspaces'
 * const onWorkspace: RoleRequirement = { anyOf: ['ws_admin'] }
 * const onPlatform: RoleRequirement = { allOf: ['admin'], client: 'workspace-api' }
 * ```
 */
export type RoleRequirement =
  | { readonly anyOf: readonly string[]; readonly allOf?: never; readonly client?: string | { readonly segment: string } }
  | { readonly allOf: readonly string[]; readonly anyOf?: never; readonly client?: string | { readonly segment: string } }

/**
 * What a rule requires: nothing (`'public'`; a presented token must still be valid), any valid token
 * (`'authenticated'`), or roles.
 *
 * @example
 * ```ts
 * import type { RouteRequirement } from 'keycloak-permissions/workspaces'
 * const open: RouteRequirement = 'public'
 * ```
 */
export type RouteRequirement = 'public' | 'authenticated' | RoleRequirement

/**
 * One row of a rule table. `methods` (upper-case; a rule listing `GET` also covers `HEAD`, as HTTP
 * frameworks route HEAD to GET handlers) restricts the rule; without it the rule takes every method.
 * A role requirement of a method-restricted rule denies with `METHOD_NEEDS_ROLE`.
 *
 * @example
 * ```ts
 * import type { RouteRule } from 'keycloak-permissions/workspaces'
 * const tighten: RouteRule = { path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }
 * ```
 */
export interface RouteRule {
  readonly name?: string
  readonly path: string
  readonly methods?: readonly string[]
  readonly require: RouteRequirement
}

/**
 * Options of {@link routeTable}. Rules are tried in order; the first whose template and method match
 * decides; no match denies with `PATH_UNMATCHED`. `platformAdmin` grants every path (after
 * normalisation and token checks). `reservedClientIds` are never read as a client named by a path
 * segment (`RESERVED_WORKSPACE_NAME`). `methodOverrideHeader` (e.g. `x-http-method-override`) makes the
 * header's value the decided method — configure it only when the backend honours that header too.
 *
 * @example
 * ```ts
 * import type { RouteTableOptions } from 'keycloak-permissions/workspaces'
 * const options: RouteTableOptions = {
 *   rules: [{ path: '/projects/{project}/**', require: { anyOf: ['member'] } }],
 *   reservedClientIds: ['account'],
 * }
 * ```
 */
export interface RouteTableOptions {
  readonly name?: string
  readonly rules: readonly RouteRule[]
  readonly platformAdmin?: { readonly client: string; readonly role: string } | false
  readonly reservedClientIds?: readonly string[]
  readonly methodOverrideHeader?: string
}

interface CompiledRule {
  readonly label: string
  /** The rule's trace step, shared by every decision (trace steps are read-only). */
  readonly step: TraceStep
  /** `{ rule: label }` for deny(), shared. */
  readonly extra: { readonly rule: string }
  readonly pattern: RoutePattern
  readonly methods: ReadonlySet<string> | undefined
  readonly kind: 'public' | 'authenticated' | 'roles'
  readonly fixedClient?: string
  readonly clientParam?: string
  /** Index of `clientParam` among the template's parameters. */
  readonly clientIndex: number
  readonly roles: readonly string[]
  readonly all: boolean
}

/**
 * Compiles a rule table into a {@link RoutePolicy}. Options are validated eagerly
 * ({@link InvalidOptionsError} naming the option). Evaluation order (docs/semantics/workspaces.md §5): path
 * normalisation → refused credentials → `NO_TOKEN` (unless a public rule matches) → platform admin →
 * the first matching rule → `PATH_UNMATCHED`. The client is looked up by key in the principal's
 * `clientRoles`, so the cost does not depend on how many clients the user has roles on.
 *
 * @example
 * ```ts
 * import { routeTable } from 'keycloak-permissions/workspaces'
 * const policy = routeTable({
 *   rules: [
 *     { path: '/health', require: 'public' },
 *     { path: '/projects/{project}/**', methods: ['DELETE'], require: { anyOf: ['owner'] } },
 *     { path: '/projects/{project}/**', require: { anyOf: ['member', 'owner'] } },
 *   ],
 * })
 * policy.check({ method: 'GET', path: '/health' }, null).allowed // true
 * ```
 */
export function routeTable(options: RouteTableOptions): RoutePolicy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'expected an object')
  rejectUnknownKeys('', options, ['name', 'rules', 'platformAdmin', 'reservedClientIds', 'methodOverrideHeader'])
  const name = options.name === undefined ? 'routes' : nonEmptyString('name', options.name)
  if (!Array.isArray(options.rules)) throw new InvalidOptionsError('rules', 'expected an array of rules')
  const rules = options.rules.map((rule, i) => compileRule(rule, `rules[${i}]`))
  let admin: { client: string; role: string } | undefined
  if (options.platformAdmin !== undefined && options.platformAdmin !== false) {
    const a = options.platformAdmin
    if (a === null || typeof a !== 'object') throw new InvalidOptionsError('platformAdmin', 'expected { client, role } or false')
    rejectUnknownKeys('platformAdmin', a, ['client', 'role'])
    admin = { client: nonEmptyString('platformAdmin.client', a.client), role: nonEmptyString('platformAdmin.role', a.role) }
  }
  const reserved = new Set(options.reservedClientIds === undefined ? [] : stringList('reservedClientIds', options.reservedClientIds, false))
  const overrideHeader = methodHeader('methodOverrideHeader', options.methodOverrideHeader)
  const adminRule = admin ? `platform admin ${admin.client}/${admin.role}` : ''
  const adminStep: TraceStep = Object.freeze({ kind: 'rule', label: adminRule })
  const adminClaim: TraceStep = Object.freeze({ kind: 'claim', label: admin ? claimLabel(admin.client) : '' })

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
    const method = effectiveMethod(request, overrideHeader, trace)
    let matched: CompiledRule | undefined
    let params: readonly string[] | undefined
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!
      if (rule.methods !== undefined && !rule.methods.has(method) && !(method === 'HEAD' && rule.methods.has('GET'))) continue
      params = matchPatternValues(rule.pattern, segments)
      if (params !== undefined) {
        matched = rule
        break
      }
    }
    if (subject === null) {
      if (matched?.kind === 'public') {
        trace.push(matched.step)
        return allow('PUBLIC_READ', trace, { rule: matched.label, grant: { roles: [], rule: matched.label } })
      }
      return deny('NO_TOKEN', trace, matched ? { rule: matched.label } : {})
    }
    const principal = subject
    trace.push({ kind: 'user', label: principal.username })
    if (admin !== undefined) {
      const adminRoles = rolesOn(principal, admin.client)
      const role = adminRoles && findRole(adminRoles, admin.role)
      if (role) {
        trace.push(adminClaim)
        roleSteps(trace, admin.client, role)
        trace.push(adminStep)
        return allow('PLATFORM_ADMIN', trace, { rule: adminRule, grant: { client: admin.client, roles: [admin.role], rule: adminRule } })
      }
    }
    if (matched === undefined) return deny('PATH_UNMATCHED', trace)
    return decideRule(matched, params!, principal, reserved, trace)
  }

  const policy: RoutePolicy = {
    name,
    check,
    filter: (items, subject, toRequest) => filterWith(check, items, subject, toRequest),
  }
  return Object.freeze(policy)
}

function decideRule(
  rule: CompiledRule,
  params: readonly string[],
  principal: Principal,
  reserved: ReadonlySet<string>,
  trace: TraceStep[],
): RouteDecision {
  const extra = rule.extra
  if (rule.kind === 'public' || rule.kind === 'authenticated') {
    trace.push({ kind: 'rule', label: rule.label })
    return allow(rule.kind === 'public' ? 'PUBLIC_READ' : 'AUTHENTICATED', trace, { rule: rule.label, grant: { roles: [], rule: rule.label } })
  }
  const fromSegment = rule.clientParam !== undefined
  const client = fromSegment ? params[rule.clientIndex]! : rule.fixedClient!
  if (fromSegment && reserved.has(client)) {
    trace.push({ kind: 'rule', label: rule.label, data: { reserved: client } })
    return deny('RESERVED_WORKSPACE_NAME', trace, extra)
  }
  const methodRule = rule.methods !== undefined
  trace.push({ kind: 'claim', label: claimLabel(client) })
  const roles = rolesOn(principal, client)
  if (roles === undefined) {
    trace.push(rule.step)
    return deny(methodRule ? 'METHOD_NEEDS_ROLE' : 'NO_CLIENT_ENTRY', trace, extra)
  }
  let granted: EffectiveRole | EffectiveRole[] | undefined
  if (rule.all) {
    const all: EffectiveRole[] = []
    for (const name of rule.roles) {
      const role = findRole(roles, name)
      if (role === undefined) break
      all.push(role)
    }
    if (all.length === rule.roles.length) granted = all
  } else {
    for (let i = 0; i < rule.roles.length && granted === undefined; i++) granted = findRole(roles, rule.roles[i]!)
  }
  if (granted === undefined) {
    trace.push({ kind: 'rule', label: rule.label, data: { required: rule.all ? { allOf: rule.roles } : { anyOf: rule.roles } } })
    return deny(methodRule ? 'METHOD_NEEDS_ROLE' : 'ROLE_MISSING', trace, extra)
  }
  let names: string[]
  if (Array.isArray(granted)) {
    names = []
    for (const role of granted) {
      roleSteps(trace, client, role)
      names.push(role.name)
    }
  } else {
    roleSteps(trace, client, granted)
    names = [granted.name]
  }
  trace.push(rule.step)
  const grant: RouteGrant = { client, roles: names, rule: rule.label }
  return allow(fromSegment ? 'WORKSPACE_ROLE' : 'CLIENT_ROLE', trace, { rule: rule.label, grant })
}

function compileRule(rule: RouteRule, option: string): CompiledRule {
  if (rule === null || typeof rule !== 'object') throw new InvalidOptionsError(option, 'expected { path, methods?, require }')
  rejectUnknownKeys(option, rule, ['name', 'path', 'methods', 'require'])
  const pattern = compileRoutePattern(rule.path, `${option}.path`)
  let methods: Set<string> | undefined
  if (rule.methods !== undefined) {
    const list = stringList(`${option}.methods`, rule.methods, true)
    methods = new Set(list.map(upperMethod))
  }
  const label =
    rule.name !== undefined
      ? nonEmptyString(`${option}.name`, rule.name)
      : methods
        ? `${[...methods].join('|')} ${pattern.source}`
        : pattern.source
  const base = { label, step: Object.freeze({ kind: 'rule', label }), extra: Object.freeze({ rule: label }), pattern, methods }
  const req = rule.require
  if (req === 'public' || req === 'authenticated') return { ...base, kind: req, roles: [], all: false, clientIndex: -1 }
  if (req === null || typeof req !== 'object') {
    throw new InvalidOptionsError(`${option}.require`, `expected 'public', 'authenticated' or { anyOf | allOf, client? }, got ${JSON.stringify(req)}`)
  }
  rejectUnknownKeys(`${option}.require`, req, ['anyOf', 'allOf', 'client'])
  if ((req.anyOf === undefined) === (req.allOf === undefined)) {
    throw new InvalidOptionsError(`${option}.require`, 'give exactly one of anyOf or allOf')
  }
  const all = req.allOf !== undefined
  const roles = stringList(`${option}.require.${all ? 'allOf' : 'anyOf'}`, all ? req.allOf : req.anyOf, true)
  const client = req.client
  if (typeof client === 'string') {
    return { ...base, kind: 'roles', roles, all, clientIndex: -1, fixedClient: nonEmptyString(`${option}.require.client`, client) }
  }
  let param: string
  if (client === undefined) {
    if (pattern.params.length !== 1) {
      throw new InvalidOptionsError(
        `${option}.require.client`,
        `${JSON.stringify(pattern.source)} has ${pattern.params.length} parameters; name the client ({ segment: NAME }) or give a client id`,
      )
    }
    param = pattern.params[0]!
  } else if (client !== null && typeof client === 'object' && typeof client.segment === 'string') {
    if (!pattern.params.includes(client.segment)) {
      throw new InvalidOptionsError(`${option}.require.client.segment`, `${JSON.stringify(pattern.source)} has no parameter {${client.segment}}`)
    }
    param = client.segment
  } else {
    throw new InvalidOptionsError(`${option}.require.client`, `expected a client id or { segment: NAME }, got ${JSON.stringify(client)}`)
  }
  return { ...base, kind: 'roles', roles, all, clientParam: param, clientIndex: pattern.params.indexOf(param) }
}
