/**
 * `defineComponent()`: declare a Keycloak-attribute component — its name, actions, resource kind,
 * which roles it reads and how its patterns match — and get parsing, diagnostics, decisions, filtering
 * and explain with the same shape as the built-in components.
 *
 * @module
 */
import { allow, deny, type Decision, type TraceStep } from '../core/decision.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError, UnknownNameError } from '../core/errors.js'
import type { EffectiveRole, Principal, RoleRef } from '../core/principal.js'
import { LRUCache } from 'lru-cache'
import { compileSegmentGlob, matchSegmentGlob, type SegmentGlob } from './glob.js'

/**
 * How strictly attribute items are read (the D6 choices): `strict` — one bad item and the whole role
 * contributes nothing; `lenient` — whitespace around items is trimmed, empty items are skipped, and
 * only the bad items are dropped (each reported).
 *
 * @example
 * ```ts
 * import type { ComponentGrammar } from 'keycloak-permissions/components'
 * const g: ComponentGrammar = 'strict'
 * ```
 */
export type ComponentGrammar = 'strict' | 'lenient'

/**
 * One item as a parser returns it: a grant candidate, or the reason it is bad.
 *
 * @example
 * ```ts
 * import type { ParsedItem } from 'keycloak-permissions/components'
 * const good: ParsedItem = { item: 'build!repo=gitlab.example.com/team/*', action: 'build', pattern: 'gitlab.example.com/team/*' }
 * const bad: ParsedItem = { item: 'build', problem: 'syntax' }
 * ```
 */
export type ParsedItem =
  | { readonly item: string; readonly action: string; readonly pattern: string }
  | { readonly item: string; readonly problem: string }

/**
 * A grant a role's attribute gives: `action` on resources matching `pattern`, with the role and item
 * it came from.
 *
 * @example
 * ```ts
 * import type { ComponentGrant } from 'keycloak-permissions/components'
 * const g: ComponentGrant<'build'> = {
 *   action: 'build', pattern: 'gitlab.example.com/team/*', item: 'build!repo=gitlab.example.com/team/*',
 *   role: { client: 'binderhub', name: 'team-builders' },
 * }
 * ```
 */
export interface ComponentGrant<Action extends string = string> {
  readonly action: Action
  readonly pattern: string
  readonly item: string
  readonly role: RoleRef
}

/**
 * The reasons of a component decision: `COMPONENT_GRANT` (allowed), `NO_GRANT` (no grant of the action
 * matches the resource). An action that is not one of the component's is no decision: `check` throws
 * `UnknownNameError` (code `ERR_UNKNOWN_NAME`).
 *
 * @example
 * ```ts
 * import type { ComponentReason } from 'keycloak-permissions/components'
 * const r: ComponentReason = 'NO_GRANT'
 * ```
 */
export type ComponentReason = 'COMPONENT_GRANT' | 'NO_GRANT'

/**
 * A component decision value.
 *
 * @example
 * ```ts
 * import type { ComponentDecision } from 'keycloak-permissions/components'
 * function show(d: ComponentDecision) { return `${d.allowed} ${d.reason}` }
 * ```
 */
export type ComponentDecision<Action extends string = string> = Decision<ComponentReason, ComponentGrant<Action>>

/**
 * The definition passed to {@link defineComponent}.
 *
 * - `name`: the component's name (also the default `component` attribute value);
 * - `actions`: the actions its items may name (e.g. `['build', 'launch']`);
 * - `resourceKind`: the key of the default item grammar `ACTION!KIND=PATTERN` (e.g. `repo`);
 * - `clients`: the clients whose roles are read (default: every client and the realm roles);
 * - `componentValue`: the `component` attribute value that selects roles (default `name`);
 * - `attribute`: the attribute holding the items (default `scopes`); every value is read, each a
 *   comma-separated list;
 * - `grammar`: `strict` (default) or `lenient`;
 * - `parse`: a custom parser for one attribute value (default: the `ACTION!KIND=PATTERN` grammar);
 * - `match`: a custom matcher (default: segment-wise globs, {@link matchSegmentGlob});
 * - `validatePattern`: returns a problem for a pattern that can never be right (default: empty
 *   patterns, whitespace and empty segments are refused).
 *
 * @example
 * ```ts
 * import type { ComponentDefinition } from 'keycloak-permissions/components'
 * const def: ComponentDefinition<'build' | 'launch', 'repo'> = { name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }
 * ```
 */
export interface ComponentDefinition<Action extends string, Kind extends string> {
  /** The component's name (also the default `component` attribute value), e.g. `binderhub`. */
  readonly name: string
  /** The actions its items may name, e.g. `['build', 'launch']`. */
  readonly actions: readonly Action[]
  /** The key of the default item grammar `ACTION!KIND=PATTERN`, e.g. `repo`. */
  readonly resourceKind: Kind
  /** The clients whose roles are read (default: every client and the realm roles). */
  readonly clients?: readonly string[]
  /** The `component` attribute value that selects roles (default: `name`). */
  readonly componentValue?: string
  /** The attribute holding the items (default `scopes`); every value is read, each a comma-separated list. */
  readonly attribute?: string
  /** `strict` (default: one bad item rejects the whole role) or `lenient` (only the bad item is skipped). */
  readonly grammar?: ComponentGrammar
  /**
   * A custom parser for one attribute value (default: the `ACTION!KIND=PATTERN` grammar, see
   * {@link parseItems}). Return one entry per item: a grant candidate or the item with its problem.
   */
  readonly parse?: (value: string, grammar: ComponentGrammar) => readonly ParsedItem[]
  /** A custom matcher of a granted pattern against a resource (default: segment-wise globs, {@link matchSegmentGlob}). */
  readonly match?: (pattern: string, resource: string) => boolean
  /**
   * Returns a problem (a short reason) for a pattern that can never be right, or `undefined` when it
   * is acceptable (default: empty patterns, whitespace and empty segments are refused).
   */
  readonly validatePattern?: (pattern: string) => string | undefined
}

/**
 * A defined component: the same operations as the built-ins.
 *
 * @example
 * ```ts
 * import { defineComponent } from 'keycloak-permissions/components'
 * const binderhub = defineComponent({ name: 'binderhub', actions: ['build'], resourceKind: 'repo' })
 * binderhub.check(principal, 'build', 'gitlab.example.com/team/proj').allowed
 * ```
 */
export interface Component<Action extends string = string, Kind extends string = string> {
  readonly name: string
  readonly actions: readonly Action[]
  readonly resourceKind: Kind
  /** Parses one attribute value of one role: its grants, and the diagnostics naming the role and items. */
  parse(value: string, role: RoleRef): { grants: ComponentGrant<Action>[]; diagnostics: Diagnostic[] }
  /** Every grant of the principal's selected roles, with diagnostics for malformed attributes. */
  grants(principal: Principal): { grants: ComponentGrant<Action>[]; diagnostics: Diagnostic[] }
  /** Whether the principal may perform `action` on `resource`; throws `UnknownNameError` for an action not in `actions`. */
  check(principal: Principal, action: Action, resource: string): ComponentDecision<Action>
  /** The resources the principal may perform `action` on — the same decision as `check`, per resource. */
  filter(principal: Principal, action: Action, resources: Iterable<string>): string[]
  /** The decision's chain as one line: user → group → role → item → grant → resource. */
  explain(decision: ComponentDecision<Action>): string
  /**
   * Lint: the diagnostics of every role this component reads among `roles` (e.g. all roles of a
   * realm export, `RealmExportSource.roles()`), without resolving any user.
   */
  lint(roles: Iterable<RoleRef & { readonly attributes: Readonly<Record<string, readonly string[]>> }>): Diagnostic[]
}

const CHAIN_KINDS = new Set(['user', 'group', 'role', 'item', 'grant', 'resource'])

/**
 * Declares a component. The definition is validated eagerly ({@link InvalidOptionsError} naming the
 * field). Roles are selected by their `component` attribute; their items are parsed with the chosen
 * grammar; a decision allows when a grant of the action matches the resource (default deny).
 *
 * @example
 * ```ts
 * import { defineComponent } from 'keycloak-permissions/components'
 * const binderhub = defineComponent({
 *   name: 'binderhub',
 *   actions: ['build', 'launch'],
 *   resourceKind: 'repo',
 *   clients: ['binderhub'],
 * })
 * // role binderhub/team-builders: component = binderhub, scopes = build!repo=gitlab.example.com/team/*
 * binderhub.check(principal, 'build', 'gitlab.example.com/team/proj')     // allowed, COMPONENT_GRANT
 * binderhub.check(principal, 'build', 'gitlab.example.com/team/sub/proj') // denied, NO_GRANT
 * ```
 */
export function defineComponent<const Action extends string, const Kind extends string>(
  definition: ComponentDefinition<Action, Kind>,
): Component<Action, Kind> {
  const def = validateDefinition(definition)
  const actionSet: ReadonlySet<string> = new Set(def.actions)
  const componentCode = def.name

  function parse(value: string, role: RoleRef): { grants: ComponentGrant<Action>[]; diagnostics: Diagnostic[] } {
    const items = def.parse(value, def.grammar)
    const grants: ComponentGrant<Action>[] = []
    const bad: { item: string; reason: string }[] = []
    for (const parsed of items) {
      if ('problem' in parsed) {
        bad.push({ item: parsed.item, reason: parsed.problem })
        continue
      }
      if (!actionSet.has(parsed.action)) {
        bad.push({ item: parsed.item, reason: 'action' })
        continue
      }
      const problem = def.validatePattern(parsed.pattern)
      if (problem !== undefined) {
        bad.push({ item: parsed.item, reason: problem })
        continue
      }
      grants.push({ action: parsed.action as Action, pattern: parsed.pattern, item: parsed.item, role: roleRef(role) })
    }
    const diagnostics: Diagnostic[] = []
    const subject = { role: roleRef(role), attribute: def.attribute, component: componentCode }
    if (bad.length > 0 && def.grammar === 'strict') {
      diagnostics.push(
        diagnostic(
          'error',
          'COMPONENT_ROLE_REJECTED',
          `${formatRef(role)}: ${bad.length} bad item(s) in attribute ${def.attribute}; the whole role grants nothing for ${componentCode}: ${bad
            .map((b) => `${JSON.stringify(b.item)} (${b.reason})`)
            .join(', ')}`,
          { ...subject, item: bad[0]!.item },
          {
            fix: `write each item as ACTION!${def.resourceKind}=PATTERN with ACTION one of ${def.actions.join(', ')}, separated by "," without spaces`,
            details: { items: bad },
          },
        ),
      )
      return { grants: [], diagnostics }
    }
    for (const b of bad) {
      diagnostics.push(
        diagnostic('warning', 'COMPONENT_ITEM_SKIPPED', `${formatRef(role)}: item ${JSON.stringify(b.item)} skipped (${b.reason})`, { ...subject, item: b.item }, {
          details: { reason: b.reason },
        }),
      )
    }
    return { grants, diagnostics }
  }

  const selects = (role: { readonly attributes: Readonly<Record<string, readonly string[]>> }) =>
    Object.hasOwn(role.attributes, 'component') && role.attributes['component']!.includes(def.componentValue)

  function selectedRoles(principal: Principal): { client: string | undefined; role: EffectiveRole }[] {
    const out: { client: string | undefined; role: EffectiveRole }[] = []
    if (def.clients === undefined) {
      for (const role of principal.realmRoles) if (selects(role)) out.push({ client: undefined, role })
      for (const client of Object.keys(principal.clientRoles).sort()) {
        for (const role of principal.clientRoles[client]!) if (selects(role)) out.push({ client, role })
      }
    } else {
      for (const client of def.clients) {
        const roles = Object.hasOwn(principal.clientRoles, client) ? principal.clientRoles[client]! : []
        for (const role of roles) if (selects(role)) out.push({ client, role })
      }
    }
    return out
  }

  function grants(principal: Principal): { grants: ComponentGrant<Action>[]; diagnostics: Diagnostic[] } {
    const all: ComponentGrant<Action>[] = []
    const diagnostics: Diagnostic[] = []
    for (const { role } of selectedRoles(principal)) {
      const values = Object.hasOwn(role.attributes, def.attribute) ? role.attributes[def.attribute]! : []
      for (const value of values) {
        const parsed = parse(value, role)
        all.push(...parsed.grants)
        diagnostics.push(...parsed.diagnostics)
      }
    }
    return { grants: all, diagnostics }
  }

  // Keyed on the full pattern; patterns come from role attributes, so the working set is small.
  const compiled = new LRUCache<string, SegmentGlob>({ max: 4096 })
  const matches = (pattern: string, resource: string): boolean => {
    if (def.customMatch) return def.match(pattern, resource)
    let glob = compiled.get(pattern)
    if (glob === undefined) {
      glob = compileSegmentGlob(pattern)
      compiled.set(pattern, glob)
    }
    return matchSegmentGlob(glob, resource)
  }

  function decide(
    principal: Principal,
    resolved: { grants: ComponentGrant<Action>[]; diagnostics: Diagnostic[] },
    roleIndex: Map<string, EffectiveRole>,
    action: Action,
    resource: string,
  ): ComponentDecision<Action> {
    const trace: TraceStep[] = [{ kind: 'user', label: principal.username }]
    const extra = resolved.diagnostics.length > 0 ? { diagnostics: resolved.diagnostics } : {}
    for (const grant of resolved.grants) {
      if (grant.action !== action || !matches(grant.pattern, resource)) continue
      const role = roleIndex.get(formatRef(grant.role))
      const via = role?.via[0]
      if (via?.kind === 'group') trace.push({ kind: 'group', label: via.member })
      else if (via?.kind === 'composite') trace.push({ kind: 'role', label: formatRef(via.parent) })
      const rule = grant.role.client === undefined ? grant.role.name : `${grant.role.client}:${grant.role.name}`
      trace.push({ kind: 'role', label: rule })
      trace.push({ kind: 'item', label: JSON.stringify(grant.item) })
      trace.push({ kind: 'grant', label: `${grant.pattern}: ${grant.action}` })
      trace.push({ kind: 'resource', label: resource })
      return allow('COMPONENT_GRANT', trace, { rule, grant, ...extra })
    }
    trace.push({ kind: 'resource', label: resource, data: { action, grants: resolved.grants.length } })
    return deny('NO_GRANT', trace, extra)
  }

  function prepare(principal: Principal) {
    const resolved = grants(principal)
    const roleIndex = new Map<string, EffectiveRole>()
    for (const { role } of selectedRoles(principal)) roleIndex.set(formatRef(role), role)
    return { resolved, roleIndex }
  }

  // A typo in an action is the caller's mistake, not a denial: it throws before anything is decided.
  const requireAction = (action: string) => {
    if (!actionSet.has(action)) throw new UnknownNameError(`action of component ${def.name}`, String(action), def.actions)
  }

  const component: Component<Action, Kind> = {
    name: def.name,
    actions: def.actions,
    resourceKind: def.resourceKind,
    parse,
    grants,
    check(principal, action, resource) {
      requireAction(action)
      const { resolved, roleIndex } = prepare(principal)
      return decide(principal, resolved, roleIndex, action, resource)
    },
    filter(principal, action, resources) {
      requireAction(action)
      const { resolved, roleIndex } = prepare(principal)
      const out: string[] = []
      for (const resource of resources) if (decide(principal, resolved, roleIndex, action, resource).allowed) out.push(resource)
      return out
    },
    explain(decision) {
      const chain = decision.trace.filter((s) => CHAIN_KINDS.has(s.kind)).map((s) => s.label)
      return `${chain.join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
    },
    lint(roles) {
      const diagnostics: Diagnostic[] = []
      for (const role of roles) {
        const readable = def.clients === undefined || (role.client !== undefined && def.clients.includes(role.client))
        if (!readable || !selects(role)) continue
        const values = Object.hasOwn(role.attributes, def.attribute) ? role.attributes[def.attribute]! : []
        for (const value of values) diagnostics.push(...parse(value, role).diagnostics)
      }
      return diagnostics
    },
  }
  return Object.freeze(component)
}

function roleRef(role: RoleRef): RoleRef {
  return role.client === undefined ? { name: role.name } : { client: role.client, name: role.name }
}

function formatRef(role: RoleRef): string {
  return role.client === undefined ? role.name : `${role.client}/${role.name}`
}

interface ValidDefinition<Action extends string, Kind extends string> {
  name: string
  actions: readonly Action[]
  resourceKind: Kind
  clients: readonly string[] | undefined
  componentValue: string
  attribute: string
  grammar: ComponentGrammar
  parse: (value: string, grammar: ComponentGrammar) => readonly ParsedItem[]
  customMatch: boolean
  match: (pattern: string, resource: string) => boolean
  validatePattern: (pattern: string) => string | undefined
}

const KNOWN = ['name', 'actions', 'resourceKind', 'clients', 'componentValue', 'attribute', 'grammar', 'parse', 'match', 'validatePattern']

function validateDefinition<Action extends string, Kind extends string>(d: ComponentDefinition<Action, Kind>): ValidDefinition<Action, Kind> {
  if (d === null || typeof d !== 'object') throw new InvalidOptionsError('definition', 'expected { name, actions, resourceKind, … }')
  for (const key of Object.keys(d)) if (!KNOWN.includes(key)) throw new InvalidOptionsError(key, `unknown field (known: ${KNOWN.join(', ')})`)
  const word = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || !isWord(v)) throw new InvalidOptionsError(field, `expected a name of letters, digits, "_" and "-", got ${JSON.stringify(v)}`)
    return v
  }
  const name = word('name', d.name)
  if (!Array.isArray(d.actions) || d.actions.length === 0) throw new InvalidOptionsError('actions', 'expected a non-empty array of action names')
  d.actions.forEach((a, i) => word(`actions[${i}]`, a))
  if (new Set(d.actions).size !== d.actions.length) throw new InvalidOptionsError('actions', 'actions must be unique')
  const resourceKind = word('resourceKind', d.resourceKind) as Kind
  let clients: readonly string[] | undefined
  if (d.clients !== undefined) {
    if (!Array.isArray(d.clients) || d.clients.length === 0 || d.clients.some((c) => typeof c !== 'string' || c === '')) {
      throw new InvalidOptionsError('clients', 'expected a non-empty array of client ids')
    }
    clients = Object.freeze([...d.clients])
  }
  const nonEmpty = (field: string, v: unknown, fallback: string): string => {
    if (v === undefined) return fallback
    if (typeof v !== 'string' || v === '') throw new InvalidOptionsError(field, `expected a non-empty string, got ${JSON.stringify(v)}`)
    return v
  }
  const grammar = d.grammar ?? 'strict'
  if (grammar !== 'strict' && grammar !== 'lenient') throw new InvalidOptionsError('grammar', `expected 'strict' or 'lenient', got ${JSON.stringify(grammar)}`)
  for (const fn of ['parse', 'match', 'validatePattern'] as const) {
    if (d[fn] !== undefined && typeof d[fn] !== 'function') throw new InvalidOptionsError(fn, 'expected a function')
  }
  return {
    name,
    actions: Object.freeze([...d.actions]),
    resourceKind,
    clients,
    componentValue: nonEmpty('componentValue', d.componentValue, name),
    attribute: nonEmpty('attribute', d.attribute, 'scopes'),
    grammar,
    parse: d.parse ?? ((value, g) => parseItems(value, resourceKind, g)),
    customMatch: d.match !== undefined,
    match: d.match ?? ((pattern, resource) => matchSegmentGlob(pattern, resource)),
    validatePattern: d.validatePattern ?? defaultPatternProblem,
  }
}

function isWord(v: string): boolean {
  if (v.length === 0) return false
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d
    if (!ok) return false
  }
  return true
}

function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff) return true
  }
  return false
}

function defaultPatternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'pattern'
  if (hasWhitespace(pattern)) return 'whitespace'
  if (pattern.split('/').some((s) => s === '')) return 'pattern'
  return undefined
}

/**
 * The default item grammar: a comma-separated list of `ACTION!KIND=PATTERN`. Strict: items are not
 * trimmed (`empty`, `whitespace` and `syntax` problems are reported); lenient: ASCII whitespace around
 * items and patterns is trimmed and empty items are skipped.
 *
 * @example
 * ```ts
 * import { parseItems } from 'keycloak-permissions/components'
 * parseItems('build!repo=gitlab.example.com/team/*', 'repo', 'strict')
 * // [{ item: 'build!repo=gitlab.example.com/team/*', action: 'build', pattern: 'gitlab.example.com/team/*' }]
 * ```
 */
export function parseItems(value: string, resourceKind: string, grammar: ComponentGrammar): ParsedItem[] {
  const out: ParsedItem[] = []
  for (const rawItem of value.split(',')) {
    const item = grammar === 'lenient' ? rawItem.trim() : rawItem
    if (item === '') {
      if (grammar === 'strict') out.push({ item, problem: 'empty' })
      continue
    }
    const bang = item.indexOf('!')
    if (bang === -1) {
      out.push({ item, problem: 'syntax' })
      continue
    }
    const action = item.slice(0, bang)
    const rest = item.slice(bang + 1)
    const key = `${resourceKind}=`
    if (!isWord(action)) {
      out.push({ item, problem: hasWhitespace(action) ? 'whitespace' : 'syntax' })
      continue
    }
    if (!rest.startsWith(key)) {
      out.push({ item, problem: rest.includes('=') ? 'kind' : 'syntax' })
      continue
    }
    const pattern = grammar === 'lenient' ? rest.slice(key.length).trim() : rest.slice(key.length)
    out.push({ item, action, pattern })
  }
  return out
}
