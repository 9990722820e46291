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
  rolesIn,
  clientIndex,
  type ClientIndex,
  stringList,
  upperMethod,
} from './internal.js'
import type { EffectiveRole } from '../core/principal.js'
import { normalizeRequestPath, plainSegmentStarts } from './normalize.js'
import { compileRoutePattern, type RoutePattern } from './pattern.js'
import type { RouteDecision, RouteGrant, RoutePolicy, RouteReason, RouteRequest, RouteSubject } from './types.js'

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
  /** Template segments before a trailing `**` (all of them without one). */
  readonly fixedSegments: number
  /** Whether the template ends in `**` (then a path may have more segments). */
  readonly rest: boolean
  /** The literal segments as `[index, value]`, compared in place on the raw target (no segment array). */
  readonly literals: readonly (readonly [number, string])[]
  /** Index among the template's segments of the parameter naming the client; -1 for a fixed client. */
  readonly clientSegment: number
  /** `[role]` per role of `roles`, frozen once: the `grant.roles` of an any-of allow. */
  readonly grantRoles: readonly (readonly string[])[]
  /** The ROLE_MISSING step (`data.required`), shared. */
  readonly missingStep: TraceStep
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
  const reserved = new ReservedNames(options.reservedClientIds === undefined ? [] : stringList('reservedClientIds', options.reservedClientIds, false))
  const overrideHeader = methodHeader('methodOverrideHeader', options.methodOverrideHeader)
  const adminRule = admin ? `platform admin ${admin.client}/${admin.role}` : ''
  const adminStep: TraceStep = Object.freeze({ kind: 'rule', label: adminRule })
  const adminClaim: TraceStep = Object.freeze({ kind: 'claim', label: admin ? claimLabel(admin.client) : '' })
  const adminRoles: readonly string[] = Object.freeze(admin ? [admin.role] : [])

  function check(request: RouteRequest, subject: RouteSubject): RouteDecision {
    const target = request.path
    // The method (and an override header) is read before the scan: nothing runs between the scan of
    // the shared `STARTS` scratch and the match that reads it.
    let overrideSteps: TraceStep[] | undefined
    let method: string
    if (overrideHeader === undefined) method = upperMethod(request.method)
    else method = effectiveMethod(request, overrideHeader, (overrideSteps = []))
    // Plain targets (the common case) are their own normal form: matched in place, one slice for the client.
    const count = plainSegmentStarts(target, STARTS)
    let segments: readonly string[] | undefined
    let path = target
    if (count < 0) {
      const normalized = normalizeRequestPath(target)
      if (!normalized.ok) return deny('AMBIGUOUS_PATH', [{ kind: 'path', label: target, data: { detail: normalized.detail } }])
      segments = normalized.segments
      path = normalized.path
    }
    let matched: CompiledRule | undefined
    let client: string | undefined
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!
      if (rule.methods !== undefined && !rule.methods.has(method) && !(method === 'HEAD' && rule.methods.has('GET'))) continue
      if (segments === undefined ? matchesInPlace(rule, target, count) : matchesSegments(rule, segments)) {
        matched = rule
        const at = rule.clientSegment
        if (at >= 0) client = segments === undefined ? target.slice(STARTS[at]!, STARTS[at + 1]! - 1) : segments[at]!
        break
      }
    }
    if (isFailure(subject)) return failureDecision(subject, [{ kind: 'path', label: path }])
    const override = overrideSteps !== undefined && overrideSteps.length > 0 ? overrideSteps[0] : undefined
    if (subject === null) {
      const trace = prefixSteps(path, override, undefined)
      if (matched?.kind === 'public') {
        trace.push(matched.step)
        return allow('PUBLIC_READ', trace, { rule: matched.label, grant: { roles: [], rule: matched.label } })
      }
      return deny('NO_TOKEN', trace, matched ? { rule: matched.label } : {})
    }
    const principal = subject
    const clientRoles = principal.clientRoles
    const index = clientIndex(clientRoles)
    if (admin !== undefined) {
      const held = rolesIn(clientRoles, index, admin.client)
      const role = held && findRole(held, admin.role)
      if (role) {
        const grant = { client: admin.client, roles: adminRoles, rule: adminRule }
        return new LazyRouteDecision(true, 'PLATFORM_ADMIN', adminRule, grant, path, override, principal.username, admin.client, adminClaim, role, adminStep)
      }
    }
    if (matched === undefined) return { allowed: false, reason: 'PATH_UNMATCHED', trace: prefixSteps(path, override, principal.username) }
    return decideRule(matched, client, principal, index, reserved, path, override)
  }

  const policy: RoutePolicy = {
    name,
    check,
    filter: (items, subject, toRequest) => filterWith(check, items, subject, toRequest),
  }
  return Object.freeze(policy)
}

/**
 * The reserved client ids, with a filter on their lengths first: most workspace names are not
 * reserved, and telling so from the length skips hashing the name twice (here and in `clientRoles`).
 */
class ReservedNames {
  readonly #names: ReadonlySet<string>
  readonly #lengths: ReadonlySet<number>
  constructor(names: readonly string[]) {
    this.#names = new Set(names)
    this.#lengths = new Set(names.map((name) => name.length))
  }
  has(name: string): boolean {
    return this.#lengths.has(name.length) && this.#names.has(name)
  }
}

/** The trace's first steps: the normalised path, a method override, the user. */
function prefixSteps(path: string, override: TraceStep | undefined, user: string | undefined): TraceStep[] {
  const trace: TraceStep[] = [{ kind: 'path', label: path }]
  if (override !== undefined) trace.push(override)
  if (user !== undefined) trace.push({ kind: 'user', label: user })
  return trace
}

/**
 * A route decision whose trace is built when it is first read: decisions on the hot path (a role
 * granted or missing on a client) keep what the trace is made of, not the steps. The value is the same
 * as an eagerly built one — `trace` reads the same steps every time, and JSON (`toJSON`) has the same
 * fields in the same order: `allowed, reason, trace, rule, grant`.
 */
class LazyRouteDecision implements RouteDecision {
  readonly allowed: boolean
  readonly reason: RouteReason
  readonly rule: string
  declare readonly grant?: RouteGrant
  #trace: TraceStep[] | undefined
  // What the trace starts with, kept as fields (not an object) so a decision is one allocation.
  readonly #path: string
  readonly #override: TraceStep | undefined
  readonly #user: string
  readonly #client: string
  /** A precompiled claim step (the platform admin's), or undefined to label `#client`'s. */
  readonly #claim: TraceStep | undefined
  /** The granting role, whose chain steps come before `#tail`. */
  readonly #role: EffectiveRole | undefined
  readonly #tail: TraceStep

  constructor(
    allowed: boolean,
    reason: RouteReason,
    rule: string,
    grant: RouteGrant | undefined,
    path: string,
    override: TraceStep | undefined,
    user: string,
    client: string,
    claim: TraceStep | undefined,
    role: EffectiveRole | undefined,
    tail: TraceStep,
  ) {
    this.allowed = allowed
    this.reason = reason
    this.rule = rule
    if (grant !== undefined) (this as { grant?: RouteGrant }).grant = grant
    this.#path = path
    this.#override = override
    this.#user = user
    this.#client = client
    this.#claim = claim
    this.#role = role
    this.#tail = tail
  }

  get trace(): readonly TraceStep[] {
    if (this.#trace === undefined) {
      const trace = prefixSteps(this.#path, this.#override, this.#user)
      trace.push(this.#claim ?? { kind: 'claim', label: claimLabel(this.#client) })
      if (this.#role !== undefined) roleSteps(trace, this.#client, this.#role)
      trace.push(this.#tail)
      this.#trace = trace
    }
    return this.#trace
  }

  toJSON(): RouteDecision {
    const { allowed, reason, trace, rule, grant } = this
    return grant === undefined ? { allowed, reason, trace, rule } : { allowed, reason, trace, rule, grant }
  }
}

/** Scratch for {@link plainSegmentStarts}: where each segment of the target being decided starts. */
const STARTS = new Int32Array(65)

/** A compiled template against a plain target whose segment starts are in `STARTS`. */
function matchesInPlace(rule: CompiledRule, target: string, count: number): boolean {
  if (rule.rest ? count < rule.fixedSegments : count !== rule.fixedSegments) return false
  const literals = rule.literals
  for (let i = 0; i < literals.length; i++) {
    const literal = literals[i]!
    const value = literal[1]
    const start = STARTS[literal[0]]!
    if (STARTS[literal[0] + 1]! - 1 - start !== value.length) return false
    // Character by character: cheaper than `startsWith(value, start)` on the short literals of a template.
    for (let j = 0; j < value.length; j++) if (target.charCodeAt(start + j) !== value.charCodeAt(j)) return false
  }
  return true
}

/** The same match against normalised segments (targets that needed decoding or dot resolution). */
function matchesSegments(rule: CompiledRule, segments: readonly string[]): boolean {
  const count = segments.length
  if (rule.rest ? count < rule.fixedSegments : count !== rule.fixedSegments) return false
  const literals = rule.literals
  for (let i = 0; i < literals.length; i++) {
    const literal = literals[i]!
    if (segments[literal[0]] !== literal[1]) return false
  }
  return true
}

function decideRule(
  rule: CompiledRule,
  param: string | undefined,
  principal: Principal,
  index: ClientIndex | null,
  reserved: ReservedNames,
  path: string,
  override: TraceStep | undefined,
): RouteDecision {
  const user = principal.username
  const extra = rule.extra
  if (rule.kind === 'public' || rule.kind === 'authenticated') {
    const trace = prefixSteps(path, override, user)
    trace.push({ kind: 'rule', label: rule.label })
    return allow(rule.kind === 'public' ? 'PUBLIC_READ' : 'AUTHENTICATED', trace, { rule: rule.label, grant: { roles: [], rule: rule.label } })
  }
  const fromSegment = rule.clientSegment >= 0
  const client = fromSegment ? param! : rule.fixedClient!
  if (fromSegment && reserved.has(client)) {
    const trace = prefixSteps(path, override, user)
    trace.push({ kind: 'rule', label: rule.label, data: { reserved: client } })
    return deny('RESERVED_WORKSPACE_NAME', trace, extra)
  }
  const methodRule = rule.methods !== undefined
  const roles = rolesIn(principal.clientRoles, index, client)
  if (roles === undefined) {
    return new LazyRouteDecision(false, methodRule ? 'METHOD_NEEDS_ROLE' : 'NO_CLIENT_ENTRY', rule.label, undefined, path, override, user, client, undefined, undefined, rule.step)
  }
  const granting: RouteReason = fromSegment ? 'WORKSPACE_ROLE' : 'CLIENT_ROLE'
  if (!rule.all) {
    // Any-of, the common case: the trace and grant share the rule's precompiled steps and role lists.
    for (let i = 0; i < rule.roles.length; i++) {
      const role = findRole(roles, rule.roles[i]!)
      if (role === undefined) continue
      const grant = { client, roles: rule.grantRoles[i]!, rule: rule.label }
      return new LazyRouteDecision(true, granting, rule.label, grant, path, override, user, client, undefined, role, rule.step)
    }
    return new LazyRouteDecision(false, methodRule ? 'METHOD_NEEDS_ROLE' : 'ROLE_MISSING', rule.label, undefined, path, override, user, client, undefined, undefined, rule.missingStep)
  }
  // All-of: every role must be held; the chain lists each.
  const trace = prefixSteps(path, override, user)
  trace.push({ kind: 'claim', label: claimLabel(client) })
  const granted: EffectiveRole[] = []
  for (const name of rule.roles) {
    const role = findRole(roles, name)
    if (role === undefined) {
      trace.push(rule.missingStep)
      return deny(methodRule ? 'METHOD_NEEDS_ROLE' : 'ROLE_MISSING', trace, extra)
    }
    granted.push(role)
  }
  const names: string[] = []
  for (const role of granted) {
    roleSteps(trace, client, role)
    names.push(role.name)
  }
  trace.push(rule.step)
  return allow(granting, trace, { rule: rule.label, grant: { client, roles: names, rule: rule.label } })
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
  const rest = pattern.segments.length > 0 && pattern.segments[pattern.segments.length - 1]!.kind === 'rest'
  const literals: (readonly [number, string])[] = []
  pattern.segments.forEach((segment, index) => {
    if (segment.kind === 'literal') literals.push(Object.freeze([index, segment.value] as const))
  })
  const base = {
    label,
    step: Object.freeze({ kind: 'rule', label }),
    extra: Object.freeze({ rule: label }),
    pattern,
    fixedSegments: rest ? pattern.segments.length - 1 : pattern.segments.length,
    rest,
    literals: Object.freeze(literals),
    methods,
  }
  const req = rule.require
  const none = { roles: [], all: false, clientIndex: -1, clientSegment: -1, grantRoles: [], missingStep: base.step }
  if (req === 'public' || req === 'authenticated') return { ...base, ...none, kind: req }
  if (req === null || typeof req !== 'object') {
    throw new InvalidOptionsError(`${option}.require`, `expected 'public', 'authenticated' or { anyOf | allOf, client? }, got ${JSON.stringify(req)}`)
  }
  rejectUnknownKeys(`${option}.require`, req, ['anyOf', 'allOf', 'client'])
  if ((req.anyOf === undefined) === (req.allOf === undefined)) {
    throw new InvalidOptionsError(`${option}.require`, 'give exactly one of anyOf or allOf')
  }
  const all = req.allOf !== undefined
  const roles = stringList(`${option}.require.${all ? 'allOf' : 'anyOf'}`, all ? req.allOf : req.anyOf, true)
  const required = {
    grantRoles: Object.freeze(roles.map((name) => Object.freeze([name]))),
    missingStep: Object.freeze({ kind: 'rule', label, data: Object.freeze({ required: all ? { allOf: roles } : { anyOf: roles } }) }),
  }
  const client = req.client
  if (typeof client === 'string') {
    return { ...base, ...required, kind: 'roles', roles, all, clientIndex: -1, clientSegment: -1, fixedClient: nonEmptyString(`${option}.require.client`, client) }
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
  const clientSegment = pattern.segments.findIndex((segment) => segment.kind === 'param' && segment.name === param)
  return { ...base, ...required, kind: 'roles', roles, all, clientParam: param, clientIndex: pattern.params.indexOf(param), clientSegment }
}
