/**
 * The Nebari layer (docs/semantics/nebari.md §5): JupyterHub roles and scopes from Keycloak roles — scopes from
 * `jupyterhub`-client role attributes (Nebari-exact, all-or-nothing by default; `lenient` option),
 * every other role name passed through as a scope-less role, `user`/`admin` re-added.
 *
 * @module
 */
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { InvalidOptionsError } from '../core/errors.js'
import { clientRolesOf, formatRole, type Principal, type RoleAttributes, type RoleRef } from '../core/principal.js'
import { EmptyFilterValueError } from './errors.js'
import { expandScopes, scopeSet, type ScopeSet } from './expand.js'
import { pyRepr } from './pyrepr.js'
import { defaultRoles, roleNameError } from './roles.js'
import { checkOne, tableFor, type Scope, type ScopeOptions } from './scopes.js'

/**
 * Options of the Nebari JupyterHub preset.
 *
 * @example
 * ```ts
 * import type { NebariJupyterHubOptions } from 'keycloak-permissions/jupyterhub'
 * const o: NebariJupyterHubOptions = { grammar: 'lenient', jupyterhubVersion: 5 }
 * ```
 */
export interface NebariJupyterHubOptions extends ScopeOptions {
  /** `'nebari'` (default): one bad item drops the whole role; `'lenient'`: trim, skip bad items. */
  readonly grammar?: 'nebari' | 'lenient'
  /** The client whose roles carry JupyterHub scopes (default `jupyterhub`). */
  readonly clientId?: string
  /** Groups or role names making a user admin (default Nebari's `['/admin', 'jupyterhub_admin']`). */
  readonly adminGroups?: readonly string[]
  /** Groups or role names allowed to log in (default Nebari's `allowed_groups`). */
  readonly allowedGroups?: readonly string[]
  /** Overrides the admin decision (e.g. from the authenticator). */
  readonly admin?: boolean
  /** Overrides the authenticator's `check_allowed`. */
  readonly allowed?: boolean
  /** `c.JupyterHub.extra_user_scopes`, added to the default `user` role. */
  readonly extraUserScopes?: readonly Scope[]
}

const DEFAULT_ADMIN_GROUPS = ['/admin', 'jupyterhub_admin']
const DEFAULT_ALLOWED_GROUPS = ['/analyst', '/developer', '/admin', 'jupyterhub_admin', 'jupyterhub_developer']

function resolveGrammar(grammar: unknown): 'nebari' | 'lenient' {
  if (grammar === undefined || grammar === 'nebari' || grammar === 'lenient') return grammar ?? 'nebari'
  throw new InvalidOptionsError('grammar', `must be 'nebari' or 'lenient', got ${JSON.stringify(grammar)}`)
}

/**
 * The scopes one role contributes, with the diagnostics explaining what was dropped.
 *
 * @example
 * ```ts
 * import { scopesFromRoleAttributes } from 'keycloak-permissions/jupyterhub'
 * const { scopes, diagnostics } = scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: ['read:services'] })
 * ```
 */
export interface RoleScopes {
  readonly scopes: readonly Scope[]
  readonly diagnostics: readonly Diagnostic[]
}

const ASCII_WS = new Set([' ', '\t', '\n', '\r', '\f', '\v'])
function trimAscii(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && ASCII_WS.has(text[start]!)) start++
  while (end > start && ASCII_WS.has(text[end - 1]!)) end--
  return text.slice(start, end)
}

/**
 * Nebari's `_get_scope_from_role` + `validate_scopes` (docs/semantics/nebari.md §5 steps 1–3) for one
 * `jupyterhub`-client role: only `component` exactly `["jupyterhub"]`; the first `scopes` value, split
 * on `,` without trimming; one item failing JupyterHub's existence check drops the whole role
 * (`JUPYTERHUB_ROLE_SCOPES_REJECTED`, whose `details.nebariLog` is Nebari's log line).
 *
 * @example
 * ```ts
 * import { scopesFromRoleAttributes } from 'keycloak-permissions/jupyterhub'
 * scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: ['read:users, read:groups'] }).scopes // []
 * ```
 */
export function scopesFromRoleAttributes(
  attributes: RoleAttributes,
  options: NebariJupyterHubOptions & { readonly role?: RoleRef } = {},
): RoleScopes {
  const grammar = resolveGrammar(options.grammar)
  const table = tableFor(options)
  const component = Object.hasOwn(attributes, 'component') ? attributes.component! : []
  const values = Object.hasOwn(attributes, 'scopes') ? attributes.scopes! : []
  if (!(component.length === 1 && component[0] === 'jupyterhub') || values.length === 0) return { scopes: [], diagnostics: [] }
  const subject = { ...(options.role ? { role: options.role } : {}), attribute: 'scopes', component: 'jupyterhub' }
  const roleLabel = options.role ? formatRole(options.role) : 'role'
  const diagnostics: Diagnostic[] = []
  if (values.length > 1) {
    diagnostics.push(
      diagnostic('warning', 'NEBARI_SCOPE_EXTRA_VALUES_IGNORED', `${roleLabel}: only the first of ${values.length} scopes values is read`, subject, { details: { ignored: values.slice(1) } }),
    )
  }
  const items = values[0]!.split(',')
  if (grammar === 'nebari') {
    for (const item of items) {
      const error = checkOne(table, item, undefined)
      if (!error) continue
      const nebariLog = `Invalid scopes, skipping: ${pyRepr(items)} (${pyRepr(error.message)})`
      diagnostics.push(
        diagnostic('error', 'JUPYTERHUB_ROLE_SCOPES_REJECTED', `${roleLabel}: scope ${JSON.stringify(item)} is invalid (${error.message}); the whole role grants no JupyterHub scope`, { ...subject, item }, {
          fix: 'Write the scopes comma-separated without spaces, each a defined JupyterHub scope',
          details: { items, item, message: error.message, nebariLog },
        }),
      )
      return { scopes: [], diagnostics }
    }
    return { scopes: items as Scope[], diagnostics }
  }
  const scopes: Scope[] = []
  for (const raw of items) {
    const item = trimAscii(raw)
    if (item === '') continue
    const error = checkOne(table, item, undefined)
    if (error) {
      diagnostics.push(
        diagnostic('warning', 'JUPYTERHUB_SCOPE_ITEM_DROPPED', `${roleLabel}: scope ${JSON.stringify(item)} dropped (${error.message})`, { ...subject, item }, { details: { item, message: error.message } }),
      )
    } else scopes.push(item as Scope)
  }
  return { scopes, diagnostics }
}

/**
 * One role of the JupyterHub auth model Nebari builds at login.
 * - `client-role`: a `jupyterhub`-client role, with the scopes of its attributes;
 * - `role-name`: any other role name (other clients, realm roles), scope-less;
 * - `default`: the re-added `admin` / `user` roles (no `scopes`: JupyterHub's own definitions apply).
 *
 * @example
 * ```ts
 * import type { JupyterHubRole } from 'keycloak-permissions/jupyterhub'
 * const r: JupyterHubRole = { name: 'allow-read-access-to-services-role', source: 'client-role', scopes: ['read:services'] }
 * ```
 */
export interface JupyterHubRole {
  readonly name: string
  readonly source: 'client-role' | 'role-name' | 'default'
  readonly scopes?: readonly Scope[]
  readonly role?: RoleRef
  /** JupyterHub's `InvalidNameError` text when the name breaks its rule (the login then fails). */
  readonly nameError?: string
}

/**
 * A principal as Nebari's JupyterHub sees it: roles, admin / allowed, and whether the login would be
 * rejected (invalid role name, not allowed) — then every JupyterHub check denies (D1).
 *
 * @example
 * ```ts
 * import { jupyterhubRoles } from 'keycloak-permissions/jupyterhub'
 * const model = jupyterhubRoles(principal)
 * model.roles.map((r) => r.name)
 * ```
 */
export interface JupyterHubAuthModel {
  readonly username: string
  readonly roles: readonly JupyterHubRole[]
  readonly admin: boolean
  readonly allowed: boolean
  readonly loginRejected: boolean
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * Nebari's `update_auth_model` role list (docs/semantics/nebari.md §5 step 4–5) from a principal: every
 * `jupyterhub`-client role with its scopes, every other client- and realm-role name scope-less, then
 * `admin` (if admin) and `user` (if allowed). Invalid JupyterHub role names are reported
 * (`JUPYTERHUB_ROLE_NAME_INVALID`) and mark the login rejected. For a token principal whose claims
 * lack `roles`, only the client roles are listed (`JUPYTERHUB_ROLES_CLAIM_MISSING`).
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { jupyterhubRoles } from 'keycloak-permissions/jupyterhub'
 * const alice = await RealmExportSource.example().resolve('alice')
 * jupyterhubRoles(alice).roles.find((r) => r.name === 'allow-app-sharing-role')?.scopes
 * // ['shares!user', 'read:users:name', 'read:groups:name']
 * ```
 */
export function jupyterhubRoles(principal: Principal, options: NebariJupyterHubOptions = {}): JupyterHubAuthModel {
  const clientId = options.clientId ?? 'jupyterhub'
  if (typeof clientId !== 'string' || clientId === '') throw new InvalidOptionsError('clientId', 'must be a non-empty string')
  resolveGrammar(options.grammar)
  const diagnostics: Diagnostic[] = []
  const roles: JupyterHubRole[] = []
  const names = new Set<string>()
  for (const role of clientRolesOf(principal, clientId)) {
    if (names.has(role.name)) continue
    names.add(role.name)
    const ref: RoleRef = { client: clientId, name: role.name }
    const result = scopesFromRoleAttributes(role.attributes, { ...options, role: ref })
    diagnostics.push(...result.diagnostics)
    roles.push({ name: role.name, source: 'client-role', scopes: result.scopes, role: ref })
  }
  const claims = principal.token?.claims
  const claimMissing = claims !== undefined && !Object.hasOwn(claims, 'roles')
  if (claimMissing) {
    diagnostics.push(
      diagnostic('warning', 'JUPYTERHUB_ROLES_CLAIM_MISSING', 'The claim_roles_key roles does not exist in the user token', { user: principal.username }, {
        details: { nebariLog: 'The claim_roles_key roles does not exist in the user token' },
      }),
    )
  } else {
    const others: RoleRef[] = []
    for (const client of Object.keys(principal.clientRoles).sort()) {
      if (client === clientId) continue
      for (const role of principal.clientRoles[client]!) others.push({ client, name: role.name })
    }
    for (const role of principal.realmRoles) others.push({ name: role.name })
    for (const ref of others) {
      if (names.has(ref.name)) continue
      names.add(ref.name)
      roles.push({ name: ref.name, source: 'role-name', scopes: [], role: ref })
    }
  }
  const held = new Set<string>([...principal.groups, ...roles.map((r) => r.name)])
  const admin = options.admin ?? (options.adminGroups ?? DEFAULT_ADMIN_GROUPS).some((g) => held.has(g))
  const allowed = options.allowed ?? (admin || (options.allowedGroups ?? DEFAULT_ALLOWED_GROUPS).some((g) => held.has(g)))
  if (admin) roles.push({ name: 'admin', source: 'default' })
  if (allowed) roles.push({ name: 'user', source: 'default' })
  let loginRejected = false
  const checked = roles.map((role) => {
    const error = roleNameError(role.name)
    if (!error) return role
    loginRejected = true
    diagnostics.push(
      diagnostic('error', 'JUPYTERHUB_ROLE_NAME_INVALID', error.message, { ...(role.role ? { role: role.role } : {}), user: principal.username }, {
        fix: 'Rename the Keycloak role to lowercase letters, digits and -._~ (3-255 characters)',
        details: { name: role.name },
      }),
    )
    return { ...role, nameError: `InvalidNameError: ${error.message}` }
  })
  if (!allowed && !admin) {
    loginRejected = true
    diagnostics.push(
      diagnostic('info', 'JUPYTERHUB_LOGIN_NOT_ALLOWED', `${principal.username} is in none of the allowed groups; JupyterHub refuses the login`, { user: principal.username }),
    )
  }
  return Object.freeze({ username: principal.username, roles: checked, admin, allowed, loginRejected, diagnostics })
}

/**
 * {@link JupyterHubAuthModel} plus the principal's expanded JupyterHub scopes (owner = the user).
 * Empty when the login is rejected or a role makes every request fail (an empty filter value).
 *
 * @example
 * ```ts
 * import { jupyterhubPrincipal, hasScope } from 'keycloak-permissions/jupyterhub'
 * const jh = jupyterhubPrincipal(alice)
 * hasScope('shares!server=alice/', jh.scopes) // true
 * ```
 */
export interface JupyterHubPrincipal extends JupyterHubAuthModel {
  readonly scopes: ScopeSet
  /** Role name → the raw scopes it contributes (client roles with scopes, and the default roles). */
  readonly roleScopes: Readonly<Record<string, readonly Scope[]>>
}

/**
 * Resolves a principal's JupyterHub roles and expanded scopes under Nebari's rules.
 *
 * @example
 * ```ts
 * import { RealmExportSource } from 'keycloak-permissions/keycloak'
 * import { jupyterhubPrincipal } from 'keycloak-permissions/jupyterhub'
 * const bob = jupyterhubPrincipal(await RealmExportSource.example().resolve('bob'))
 * bob.loginRejected // true: /projects/ml is not one of Nebari's allowed groups
 * ```
 */
export function jupyterhubPrincipal(
  principal: Principal,
  options: NebariJupyterHubOptions & {
    /** Scopes of JupyterHub shares with the user or its groups (hub database, not Keycloak), e.g. `access:servers!server=bob/`. */
    readonly shareScopes?: readonly string[]
  } = {},
): JupyterHubPrincipal {
  const model = jupyterhubRoles(principal, options)
  const diagnostics = [...model.diagnostics]
  const defaults = new Map(defaultRoles(options.extraUserScopes ? { extraUserScopes: options.extraUserScopes } : {}).map((r) => [r.name, r.scopes]))
  const roleScopes: Record<string, readonly Scope[]> = {}
  const raw: string[] = []
  for (const role of model.roles) {
    const scopes = role.source === 'default' ? defaults.get(role.name) ?? [] : role.scopes ?? []
    roleScopes[role.name] = scopes
    raw.push(...scopes)
  }
  let scopes = scopeSet([])
  if (!model.loginRejected) {
    try {
      const context = { owner: { kind: 'user' as const, name: principal.username } }
      const expanded = expandScopes(raw, context, options)
      scopes = options.shareScopes?.length ? Object.freeze({ ...scopeSet([...expanded.scopes, ...options.shareScopes]), diagnostics: expanded.diagnostics }) : expanded
      diagnostics.push(...expanded.diagnostics)
    } catch (err) {
      if (!(err instanceof EmptyFilterValueError)) throw err
      diagnostics.push(
        diagnostic('error', 'JUPYTERHUB_EMPTY_FILTER_VALUE', `${err.message}: JupyterHub fails every request of ${principal.username}`, { user: principal.username, item: err.scope }),
      )
    }
  }
  return Object.freeze({ ...model, diagnostics, scopes, roleScopes })
}
