/**
 * The JupyterHub scope table (docs/semantics/jupyterhub.md §2) for 5.x (default) and 6.0, the typed scope names,
 * custom scopes (§14) and JupyterHub's existence check with its exact messages (§5).
 *
 * @module
 */
import { InvalidOptionsError } from '../core/errors.js'
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { CustomScopeInvalidError, ScopeNotFoundError } from './errors.js'
import { pyRepr } from './pyrepr.js'

/**
 * Every built-in scope name of JupyterHub 6.0 in upstream's definition order (`start:servers` exists
 * only with `jupyterhubVersion: 6`; 5.x has the other 47).
 *
 * @example
 * ```ts
 * import { BUILTIN_SCOPE_NAMES } from 'keycloak-permissions/jupyterhub'
 * BUILTIN_SCOPE_NAMES.includes('read:users') // true
 * ```
 */
export const BUILTIN_SCOPE_NAMES = [
  '(no_scope)', 'self', 'inherit', 'admin-ui', 'admin:users', 'admin:auth_state', 'users', 'delete:users',
  'list:users', 'read:users', 'read:users:name', 'read:users:groups', 'read:users:activity', 'read:roles',
  'read:roles:users', 'read:roles:services', 'read:roles:groups', 'users:activity', 'admin:servers',
  'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers', 'tokens', 'read:tokens',
  'admin:groups', 'groups', 'list:groups', 'read:groups', 'read:groups:name', 'delete:groups', 'admin:services',
  'list:services', 'read:services', 'read:services:name', 'read:hub', 'access:servers', 'access:services',
  'users:shares', 'read:users:shares', 'groups:shares', 'read:groups:shares', 'read:shares', 'shares', 'proxy',
  'shutdown', 'read:metrics',
] as const

/**
 * A built-in JupyterHub scope name (the typed union of the 48 names).
 *
 * @example
 * ```ts
 * import type { BuiltinScopeName } from 'keycloak-permissions/jupyterhub'
 * const s: BuiltinScopeName = 'read:users:name'
 * ```
 */
export type BuiltinScopeName = (typeof BUILTIN_SCOPE_NAMES)[number]

/**
 * A custom scope name (`custom:…`); it must be defined with {@link defineCustomScopes} to validate.
 *
 * @example
 * ```ts
 * import type { CustomScopeName } from 'keycloak-permissions/jupyterhub'
 * const s: CustomScopeName = 'custom:rtc:write'
 * ```
 */
export type CustomScopeName = `custom:${string}`

/**
 * Any scope name a typed API accepts.
 *
 * @example
 * ```ts
 * import type { ScopeName } from 'keycloak-permissions/jupyterhub'
 * const names: ScopeName[] = ['shares', 'custom:rtc:read']
 * ```
 */
export type ScopeName = BuiltinScopeName | CustomScopeName

/**
 * The kinds a filter can name (docs/semantics/jupyterhub.md §4).
 *
 * @example
 * ```ts
 * import type { FilterKind } from 'keycloak-permissions/jupyterhub'
 * const k: FilterKind = 'group'
 * ```
 */
export type FilterKind = 'user' | 'group' | 'server' | 'service'

/**
 * A resolved (expanded) scope: a name, optionally with one `!kind=value` filter.
 *
 * @example
 * ```ts
 * import type { ExpandedScope } from 'keycloak-permissions/jupyterhub'
 * const s: ExpandedScope = 'access:servers!server=bob/lab'
 * ```
 */
export type ExpandedScope = ScopeName | `${ScopeName}!${FilterKind}=${string}`

/**
 * A raw scope as written in a role or token request: an {@link ExpandedScope}, or a name with a bare
 * owner-relative filter (`!user`, `!service`, `!server`) or an empty filter (`name!`, unfiltered).
 *
 * @example
 * ```ts
 * import type { Scope } from 'keycloak-permissions/jupyterhub'
 * const role: Scope[] = ['shares!user', 'read:users:name', 'read:groups:name']
 * ```
 */
export type Scope = ExpandedScope | `${ScopeName}!${'user' | 'service' | 'server' | ''}`

/**
 * The JupyterHub line whose semantics apply (D10): 5 = 5.x (latest 5.5.1, the default), 6 = 6.0.
 *
 * @example
 * ```ts
 * import type { JupyterHubVersion } from 'keycloak-permissions/jupyterhub'
 * const v: JupyterHubVersion = 6
 * ```
 */
export type JupyterHubVersion = 5 | 6

/**
 * Options shared by every scope function: the JupyterHub version and the custom scopes in force.
 *
 * @example
 * ```ts
 * import { expandScopes, type ScopeOptions } from 'keycloak-permissions/jupyterhub'
 * const options: ScopeOptions = { jupyterhubVersion: 6 }
 * expandScopes(['servers'], {}, options).scopes // includes 'start:servers'
 * ```
 */
export interface ScopeOptions {
  /** Default 5 (JupyterHub 5.x). */
  readonly jupyterhubVersion?: JupyterHubVersion
  /** Custom scopes from {@link defineCustomScopes}; undefined custom scopes fail validation. */
  readonly customScopes?: CustomScopes
}

/**
 * One scope definition, as in JupyterHub's `scope_definitions`.
 *
 * @example
 * ```ts
 * import { scopeDefinition } from 'keycloak-permissions/jupyterhub'
 * scopeDefinition('tokens')?.subscopes // ['read:tokens']
 * ```
 */
export interface ScopeDefinition {
  readonly description: string
  readonly subscopes?: readonly string[]
  readonly docDescription?: string
}

/**
 * A custom scope's definition as given to {@link defineCustomScopes}: `description`, optional
 * `subscopes`, and any other keys unchanged (upstream keeps them and warns,
 * `JUPYTERHUB_CUSTOM_SCOPE_EXTRA_KEYS`).
 *
 * @example
 * ```ts
 * import { defineCustomScopes } from 'keycloak-permissions/jupyterhub'
 * const custom = defineCustomScopes({ 'custom:extra': { description: 'd', extra: 'kept' } })
 * custom.definition('custom:extra')?.['extra'] // 'kept'
 * ```
 */
export type CustomScopeDefinition = ScopeDefinition & { readonly [key: string]: unknown }

type Defs = Record<string, ScopeDefinition>

const BASE_DEFINITIONS: Defs = {
  '(no_scope)': { description: 'Identify the owner of the requesting entity.' },
  self: {
    description: 'Your own resources',
    docDescription: 'The user’s own resources _(metascope for users, resolves to (no_scope) for services)_',
  },
  inherit: {
    description: 'Anything you have access to',
    docDescription: 'Everything that the token-owning entity can access _(metascope for tokens)_',
  },
  'admin-ui': {
    description: 'Access the admin page.',
    docDescription: 'Access the admin page. Permission to take actions via the admin page granted separately.',
  },
  'admin:users': {
    description:
      'Read, modify, create, and delete users and their authentication state, not including their servers or tokens. This is an extremely privileged scope and should be considered tantamount to superuser.',
    subscopes: ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  },
  'admin:auth_state': { description: 'Read a user’s authentication state.' },
  users: {
    description: 'Read and write permissions to user models (excluding servers, tokens and authentication state).',
    subscopes: ['read:users', 'list:users', 'users:activity'],
  },
  'delete:users': { description: 'Delete users.' },
  'list:users': { description: 'List users, including at least their names.', subscopes: ['read:users:name'] },
  'read:users': {
    description: 'Read user models (including the URL of the default server if it is running).',
    subscopes: ['read:users:name', 'read:users:groups', 'read:users:activity'],
  },
  'read:users:name': { description: 'Read names of users.' },
  'read:users:groups': { description: 'Read users’ group membership.' },
  'read:users:activity': { description: 'Read time of last user activity.' },
  'read:roles': {
    description: 'Read role assignments.',
    subscopes: ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  },
  'read:roles:users': { description: 'Read user role assignments.' },
  'read:roles:services': { description: 'Read service role assignments.' },
  'read:roles:groups': { description: 'Read group role assignments.' },
  'users:activity': { description: 'Update time of last user activity.', subscopes: ['read:users:activity'] },
  'admin:servers': {
    description: 'Read, start, stop, create and delete user servers and their state.',
    subscopes: ['admin:server_state', 'servers'],
  },
  'admin:server_state': { description: 'Read and write users’ server state.' },
  servers: { description: 'Start and stop user servers.', subscopes: ['read:servers', 'delete:servers'] },
  'read:servers': {
    description: 'Read users’ names and their server models (excluding the server state).',
    subscopes: ['read:users:name'],
  },
  'start:servers': { description: "Start and edit users' servers." },
  'delete:servers': { description: "Stop and delete users' servers." },
  tokens: { description: 'Read, write, create and delete user tokens.', subscopes: ['read:tokens'] },
  'read:tokens': { description: 'Read user tokens.' },
  'admin:groups': {
    description: 'Read and write group information, create and delete groups.',
    subscopes: ['groups', 'read:roles:groups', 'delete:groups'],
  },
  groups: {
    description:
      'Read and write group information, including adding/removing any users to/from groups. Note: adding users to groups may affect permissions.',
    subscopes: ['read:groups', 'list:groups'],
  },
  'list:groups': { description: 'List groups, including at least their names.', subscopes: ['read:groups:name'] },
  'read:groups': { description: 'Read group models.', subscopes: ['read:groups:name'] },
  'read:groups:name': { description: 'Read group names.' },
  'delete:groups': { description: 'Delete groups.' },
  'admin:services': {
    description: 'Create, read, update, delete services, not including services defined from config files.',
    subscopes: ['list:services', 'read:services', 'read:roles:services'],
  },
  'list:services': { description: 'List services, including at least their names.', subscopes: ['read:services:name'] },
  'read:services': { description: 'Read service models.', subscopes: ['read:services:name'] },
  'read:services:name': { description: 'Read service names.' },
  'read:hub': { description: 'Read detailed information about the Hub.' },
  'access:servers': { description: 'Access user servers via API or browser.' },
  'access:services': { description: 'Access services via API or browser.' },
  'users:shares': { description: "Read and revoke a user's access to shared servers.", subscopes: ['read:users:shares'] },
  'read:users:shares': { description: 'Read servers shared with a user.' },
  'groups:shares': { description: "Read and revoke a group's access to shared servers.", subscopes: ['read:groups:shares'] },
  'read:groups:shares': { description: 'Read servers shared with a group.' },
  'read:shares': { description: 'Read information about shared access to servers.' },
  shares: {
    description: 'Manage access to shared servers.',
    subscopes: ['access:servers', 'read:shares', 'users:shares', 'groups:shares'],
  },
  proxy: {
    description:
      'Read information about the proxy’s routing table, sync the Hub with the proxy and notify the Hub about a new proxy.',
  },
  shutdown: { description: 'Shutdown the hub.' },
  'read:metrics': { description: 'Read prometheus metrics.' },
}

function builtinDefinitions(version: JupyterHubVersion): Defs {
  const defs: Defs = {}
  for (const name of BUILTIN_SCOPE_NAMES) {
    if (name === 'start:servers' && version === 5) continue
    let def = BASE_DEFINITIONS[name]!
    if (name === 'servers' && version === 6) def = { ...def, subscopes: [...def.subscopes!, 'start:servers'] }
    defs[name] = def
  }
  return defs
}

/** Names of the 6.0-only scopes (for lint: `JUPYTERHUB_VERSION_SCOPE`). */
export const VERSION_6_ONLY_SCOPES: ReadonlySet<string> = new Set(['start:servers'])

/**
 * A resolved scope table: definitions plus each name's full closure, computed once.
 * @internal
 */
export class ScopeTable {
  readonly version: JupyterHubVersion
  /** Distinguishes tables in cache keys (0 = built-in only). */
  readonly id: number
  readonly definitions: ReadonlyMap<string, ScopeDefinition>
  readonly #closure = new Map<string, readonly string[]>()

  constructor(version: JupyterHubVersion, id: number, defs: Defs) {
    this.version = version
    this.id = id
    this.definitions = new Map(Object.entries(defs))
    for (const name of this.definitions.keys()) {
      const seen = new Set<string>()
      const visit = (n: string) => {
        if (seen.has(n)) return
        seen.add(n)
        for (const s of this.definitions.get(n)?.subscopes ?? []) visit(s)
      }
      visit(name)
      this.#closure.set(name, [...seen])
    }
  }

  has(name: string): boolean {
    return this.definitions.has(name)
  }

  /** The name and all its subscopes (depth-first), or undefined for an undefined name. */
  closure(name: string): readonly string[] | undefined {
    return this.#closure.get(name)
  }
}

const BUILTIN_TABLES: Record<JupyterHubVersion, ScopeTable> = {
  5: new ScopeTable(5, 0, builtinDefinitions(5)),
  6: new ScopeTable(6, 0, builtinDefinitions(6)),
}

let nextCustomId = 1

/**
 * A validated, immutable set of custom scope definitions (from {@link defineCustomScopes}). Pass it
 * as `customScopes` in {@link ScopeOptions}.
 *
 * @example
 * ```ts
 * import { defineCustomScopes } from 'keycloak-permissions/jupyterhub'
 * const custom = defineCustomScopes({ 'custom:rtc:read': { description: 'Read shared notebooks' } })
 * custom.names // ['custom:rtc:read']
 * ```
 */
export class CustomScopes<Name extends CustomScopeName = CustomScopeName> {
  /** The defined names, in definition order. */
  readonly names: readonly Name[]
  /** Warnings raised while defining (e.g. ignored extra keys). */
  readonly diagnostics: readonly Diagnostic[]
  /** @internal */
  readonly id: number
  readonly #definitions: Defs
  readonly #tables = new Map<JupyterHubVersion, ScopeTable>()

  /** @internal use {@link defineCustomScopes} */
  constructor(definitions: Defs, diagnostics: readonly Diagnostic[]) {
    this.#definitions = definitions
    this.names = Object.keys(definitions) as Name[]
    this.diagnostics = diagnostics
    this.id = nextCustomId++
    Object.freeze(this)
  }

  /** The definition of one custom scope, exactly as given (unknown keys included, as upstream keeps them). */
  definition(name: string): CustomScopeDefinition | undefined {
    return Object.hasOwn(this.#definitions, name) ? (this.#definitions[name] as CustomScopeDefinition) : undefined
  }

  /** @internal */
  table(version: JupyterHubVersion): ScopeTable {
    let table = this.#tables.get(version)
    if (!table) {
      table = new ScopeTable(version, this.id, { ...builtinDefinitions(version), ...this.#definitions })
      this.#tables.set(version, table)
    }
    return table
  }
}

/**
 * The input shape of one custom scope: `description` is required, `subscopes` optional (custom
 * scopes only). Other keys are kept in the definition with a warning, as upstream does.
 *
 * @example
 * ```ts
 * import type { CustomScopeInput } from 'keycloak-permissions/jupyterhub'
 * const def: CustomScopeInput = { description: 'write', subscopes: ['custom:rtc:read'] }
 * ```
 */
export interface CustomScopeInput {
  readonly description?: string
  readonly subscopes?: unknown
  readonly [key: string]: unknown
}

// JupyterHub's `_custom_scope_pattern` with Python `$` semantics (a single trailing "\n" matches).
const CUSTOM_SCOPE_PATTERN = /^custom:[a-z0-9][a-z0-9_\-*:]+[a-z0-9_*]\n?$/
const CUSTOM_SCOPE_DESCRIPTION =
  '\nCustom scopes must start with `custom:`\n' +
  'and contain only lowercase ascii letters, numbers, hyphen, underscore, colon, and asterisk (-_:*).\n' +
  'The part after `custom:` must start with a letter or number.\n' +
  'Scopes may not end with a hyphen or colon.\n'

function definitionRepr(def: ScopeDefinition | CustomScopeInput): string {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(def)) {
    if (value === undefined) continue
    out[key === 'docDescription' ? 'doc_description' : key] = value
  }
  return pyRepr(out)
}

function sameDefinition(a: ScopeDefinition, b: CustomScopeInput): boolean {
  return definitionRepr(a) === definitionRepr(b)
}

/**
 * Validates and defines custom scopes exactly as JupyterHub's `define_custom_scopes` (docs/semantics/jupyterhub.md
 * §14), on a fresh table. Throws {@link CustomScopeInvalidError} with JupyterHub's message.
 *
 * @example
 * ```ts
 * import { defineCustomScopes, validateScopes } from 'keycloak-permissions/jupyterhub'
 * const customScopes = defineCustomScopes({
 *   'custom:rtc:read': { description: 'Read shared notebooks' },
 *   'custom:rtc:write': { description: 'Edit shared notebooks', subscopes: ['custom:rtc:read'] },
 * })
 * validateScopes(['custom:rtc:write!server=alice/'], { customScopes })
 * ```
 */
export function defineCustomScopes<const D extends Record<string, CustomScopeInput>>(
  definitions: D,
  options: { readonly jupyterhubVersion?: JupyterHubVersion } = {},
): CustomScopes<Extract<keyof D, CustomScopeName>> {
  const builtins = tableFor({ jupyterhubVersion: resolveVersion(options.jupyterhubVersion) })
  const defined: Defs = {}
  const diagnostics: Diagnostic[] = []
  for (const [scope, def] of Object.entries(definitions)) {
    const existing = builtins.definitions.get(scope)
    if (existing && !sameDefinition(existing, def)) {
      throw new CustomScopeInvalidError(
        scope,
        `Cannot redefine scope ${scope}=${definitionRepr(def)}. Already have ${scope}=${definitionRepr(existing)}`,
      )
    }
    if (!CUSTOM_SCOPE_PATTERN.test(scope)) {
      throw new CustomScopeInvalidError(
        scope,
        `Invalid scope name: ${pyRepr(scope)}.\n${CUSTOM_SCOPE_DESCRIPTION}` +
          ' and contain only lowercase ascii letters, numbers, hyphen, underscore, colon, and asterisk.' +
          ' The part after `custom:` must start with a letter or number.' +
          ' Scopes may not end with a hyphen or colon.',
      )
    }
    if (def === null || typeof def !== 'object' || !Object.hasOwn(def, 'description')) {
      throw new CustomScopeInvalidError(scope, `scope ${scope}=${definitionRepr(def ?? {})} missing key 'description'`)
    }
    if (Object.hasOwn(def, 'subscopes')) {
      const subscopes = def.subscopes
      if (!Array.isArray(subscopes) || !subscopes.every((s) => typeof s === 'string')) {
        throw new CustomScopeInvalidError(scope, `subscopes must be a list of scope strings, got ${pyRepr(subscopes)}`)
      }
      for (const sub of subscopes as string[]) {
        if (Object.hasOwn(definitions, sub)) continue
        if (builtins.has(sub)) {
          throw new CustomScopeInvalidError(
            scope,
            `non-custom subscope ${sub} in ${scope}=${definitionRepr(def)} is not allowed.` +
              ' Custom scopes may only have custom subscopes.' +
              ' Roles should be used to assign multiple scopes together.',
          )
        }
        throw new CustomScopeInvalidError(scope, `subscope ${sub} in ${scope}=${definitionRepr(def)} not found. All scopes must be defined.`)
      }
    }
    const extra = Object.keys(def).filter((k) => k !== 'description' && k !== 'subscopes')
    if (extra.length > 0) {
      diagnostics.push(
        diagnostic('warning', 'JUPYTERHUB_CUSTOM_SCOPE_EXTRA_KEYS', `Ignoring unrecognized key(s) ${pyRepr(extra.join(', '))} in ${scope}=${definitionRepr(def)}`, { item: scope }, { details: { keys: extra } }),
      )
    }
    // Kept as given, unknown keys included (upstream stores the definition unchanged and only warns).
    const kept: Record<string, unknown> = { ...def }
    if (Array.isArray(def.subscopes)) kept['subscopes'] = Object.freeze([...(def.subscopes as string[])])
    defined[scope] = Object.freeze(kept) as unknown as CustomScopeDefinition
  }
  return new CustomScopes(defined, diagnostics)
}

/** @internal */
export function resolveVersion(version: unknown): JupyterHubVersion {
  if (version === undefined) return 5
  if (version === 5 || version === 6) return version
  throw new InvalidOptionsError('jupyterhubVersion', `must be 5 or 6, got ${JSON.stringify(version)}`)
}

/** @internal The table for a set of options (validated eagerly). */
export function tableFor(options: ScopeOptions = {}): ScopeTable {
  const version = resolveVersion(options.jupyterhubVersion)
  if (options.customScopes === undefined) return BUILTIN_TABLES[version]
  if (!(options.customScopes instanceof CustomScopes)) {
    throw new InvalidOptionsError('customScopes', 'must come from defineCustomScopes()')
  }
  return options.customScopes.table(version)
}

/**
 * The definition of a scope under the given options, or undefined.
 *
 * @example
 * ```ts
 * import { scopeDefinition } from 'keycloak-permissions/jupyterhub'
 * scopeDefinition('start:servers')                            // undefined (5.x)
 * scopeDefinition('start:servers', { jupyterhubVersion: 6 })  // { description: "Start and edit users' servers." }
 * ```
 */
export function scopeDefinition(name: string, options: ScopeOptions = {}): ScopeDefinition | undefined {
  return tableFor(options).definitions.get(name)
}

/**
 * Every scope name defined under the options (built-ins of the version plus custom scopes).
 *
 * @example
 * ```ts
 * import { scopeNames } from 'keycloak-permissions/jupyterhub'
 * scopeNames().length                           // 47
 * scopeNames({ jupyterhubVersion: 6 }).length   // 48
 * ```
 */
export function scopeNames(options: ScopeOptions = {}): ScopeName[] {
  return [...tableFor(options).definitions.keys()] as ScopeName[]
}

const EXACT_FILTERS = new Set(['!user', '!service', '!server'])
const FILTER_PREFIXES = ['!user=', '!service=', '!group=', '!server=']

/**
 * JupyterHub's existence check for one scope (`_check_scopes_exist`, docs/semantics/jupyterhub.md §5): the
 * {@link ScopeNotFoundError} it would raise, or undefined when the scope exists.
 *
 * @example
 * ```ts
 * import { scopeError } from 'keycloak-permissions/jupyterhub'
 * scopeError('read:users, read:groups')?.message // "Scope 'read:users, read:groups'  does not exist"
 * scopeError('read:users!user=alice')            // undefined
 * ```
 */
export function scopeError(scope: string, options: ScopeOptions & { readonly whoFor?: string } = {}): ScopeNotFoundError | undefined {
  return checkOne(tableFor(options), scope, options.whoFor)
}

/** @internal */
export function checkOne(table: ScopeTable, scope: string, whoFor: string | undefined): ScopeNotFoundError | undefined {
  const logFor = whoFor ? `for ${whoFor}` : ''
  const bang = scope.indexOf('!')
  const name = bang < 0 ? scope : scope.slice(0, bang)
  const filter = bang < 0 ? '' : scope.slice(bang + 1)
  if (!table.has(name)) {
    if (name === 'all') return new ScopeNotFoundError(scope, "Draft scope 'all' is now called 'inherit'")
    return new ScopeNotFoundError(scope, `Scope '${scope}' ${logFor} does not exist`)
  }
  if (filter) {
    const full = `!${filter}`
    if (!EXACT_FILTERS.has(full) && !FILTER_PREFIXES.some((p) => full.startsWith(p))) {
      return new ScopeNotFoundError(scope, `Scope filter ${filter} '${full}' in scope '${scope}' ${logFor} does not exist`)
    }
  }
  return undefined
}

/**
 * Validates scope strings from outside (Keycloak attributes, token requests) and returns them typed.
 * Throws the first {@link ScopeNotFoundError}, with JupyterHub's exact message.
 *
 * @example
 * ```ts
 * import { validateScopes } from 'keycloak-permissions/jupyterhub'
 * const scopes = validateScopes('shares!user,read:users:name'.split(','), { whoFor: 'role sharing' })
 * ```
 */
export function validateScopes(scopes: Iterable<string>, options: ScopeOptions & { readonly whoFor?: string } = {}): Scope[] {
  const table = tableFor(options)
  if (typeof scopes === 'string') throw new InvalidOptionsError('scopes', 'pass a list of scopes, not one string (split a Keycloak attribute on "," first)')
  const out: Scope[] = []
  for (const scope of scopes) {
    const error = checkOne(table, scope, options.whoFor)
    if (error) throw error
    out.push(scope as Scope)
  }
  return out
}

/**
 * Type guard: whether a string is a scope that exists under the options.
 *
 * @example
 * ```ts
 * import { isScope } from 'keycloak-permissions/jupyterhub'
 * const raw: string = 'read:users!group=/analyst'
 * if (isScope(raw)) console.log('valid', raw)
 * ```
 */
export function isScope(scope: string, options: ScopeOptions = {}): scope is Scope {
  return checkOne(tableFor(options), scope, undefined) === undefined
}
