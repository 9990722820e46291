/**
 * Lint for JupyterHub scope attributes (docs/semantics/jupyterhub.md §17, docs/semantics/nebari.md §5, §11): every finding a
 * `jupyterhub`-client role attribute deserves, as diagnostics with stable codes.
 *
 * @module
 */
import { diagnostic, type Diagnostic } from '../core/diagnostics.js'
import { clientRolesOf, formatRole, type Principal, type RoleAttributes, type RoleRef } from '../core/principal.js'
import { jupyterhubRoles, scopesFromRoleAttributes, type NebariJupyterHubOptions } from './nebari.js'
import { roleNameError } from './roles.js'
import { checkOne, tableFor, VERSION_6_ONLY_SCOPES } from './scopes.js'

/**
 * A role to lint: its container, name and attributes (e.g. from a realm catalogue).
 *
 * @example
 * ```ts
 * import type { LintRole } from 'keycloak-permissions/jupyterhub'
 * const r: LintRole = { client: 'jupyterhub', name: 'sharing', attributes: { component: ['jupyterhub'], scopes: ['shares'] } }
 * ```
 */
export interface LintRole extends RoleRef {
  readonly attributes: RoleAttributes
}

/**
 * Options of {@link lintJupyterHubRoles}.
 *
 * @example
 * ```ts
 * import type { JupyterHubLintOptions } from 'keycloak-permissions/jupyterhub'
 * const o: JupyterHubLintOptions = { jupyterhubVersion: 6, groupNamesArePaths: true }
 * ```
 */
export interface JupyterHubLintOptions extends NebariJupyterHubOptions {
  /** JupyterHub group names are Keycloak full paths (Nebari, D12); default true. */
  readonly groupNamesArePaths?: boolean
}

const USER_BASES = [
  'admin:users', 'admin:auth_state', 'users', 'delete:users', 'list:users', 'read:users', 'read:users:name',
  'read:users:groups', 'read:users:activity', 'users:activity', 'read:roles:users', 'tokens', 'read:tokens',
  'users:shares', 'read:users:shares',
]
const SERVER_BASES = ['admin:servers', 'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers', 'access:servers', 'shares', 'read:shares']
const GROUP_BASES = ['admin:groups', 'groups', 'list:groups', 'read:groups', 'read:groups:name', 'delete:groups', 'groups:shares', 'read:groups:shares', 'read:roles:groups']
const SERVICE_BASES = ['admin:services', 'list:services', 'read:services', 'read:services:name', 'access:services', 'read:roles:services']

// Which filter kinds can ever match a resource a scope name is checked against.
const MATCHABLE_KINDS = new Map<string, ReadonlySet<string>>([
  ...USER_BASES.map((b) => [b, new Set(['user', 'group'])] as const),
  ...SERVER_BASES.map((b) => [b, new Set(['user', 'group', 'server'])] as const),
  ...GROUP_BASES.map((b) => [b, new Set(['group'])] as const),
  ...SERVICE_BASES.map((b) => [b, new Set(['service'])] as const),
])

function partition(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep)
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)]
}

function lintRole(role: LintRole, options: JupyterHubLintOptions, clientId: string, out: Diagnostic[]): void {
  const ref: RoleRef = role.client === undefined ? { name: role.name } : { client: role.client, name: role.name }
  const label = formatRole(ref)
  const component = Object.hasOwn(role.attributes, 'component') ? role.attributes.component! : []
  const values = Object.hasOwn(role.attributes, 'scopes') ? role.attributes.scopes! : []
  if (role.client !== clientId) return
  if (!(component.length === 1 && component[0] === 'jupyterhub')) {
    if (component.includes('jupyterhub') && values.length > 0) {
      out.push(
        diagnostic('warning', 'JUPYTERHUB_COMPONENT_NOT_EXACT', `${label}: component ${JSON.stringify(component)} is not exactly ["jupyterhub"]; Nebari reads no scopes from it`, { role: ref, attribute: 'component' }, {
          fix: 'Set component to the single value "jupyterhub"',
        }),
      )
    }
    return
  }
  if (values.length === 0) return
  const table = tableFor(options)
  const subject = { role: ref, attribute: 'scopes', component: 'jupyterhub' }
  const extra = scopesFromRoleAttributes(role.attributes, { ...options, role: ref }).diagnostics.filter((d) => d.code === 'NEBARI_SCOPE_EXTRA_VALUES_IGNORED')
  out.push(...extra)
  const items = values[0]!.split(',')
  const rejected: { item: string; message: string }[] = []
  for (const item of items) {
    const [base, filter] = partition(item, '!')
    const error = checkOne(table, item, undefined)
    if (error) {
      rejected.push({ item, message: error.message })
      if (options.jupyterhubVersion !== 6 && VERSION_6_ONLY_SCOPES.has(base)) {
        out.push(
          diagnostic('warning', 'JUPYTERHUB_VERSION_SCOPE', `${label}: ${item} exists only in JupyterHub 6; on 5.x the whole role is dropped`, { ...subject, item }, {
            fix: 'Use servers on JupyterHub 5.x, or set jupyterhubVersion: 6',
          }),
        )
      }
      continue
    }
    lintItem(label, subject, item, base, filter, options, out)
  }
  if (rejected.length > 0) {
    const first = rejected[0]!
    const spaced = rejected.some((r) => r.item !== r.item.trim() || r.item === '')
    out.push(
      diagnostic('error', 'JUPYTERHUB_ROLE_SCOPES_REJECTED', `${label}: ${first.message}; the whole role grants no JupyterHub scope`, { ...subject, item: first.item }, {
        fix: spaced ? 'Remove spaces around the commas and any trailing comma' : 'Use only defined JupyterHub scopes (see the scope table), or define custom scopes',
        details: { items, rejected },
      }),
    )
  }
}

function lintItem(
  label: string,
  subject: { role: RoleRef; attribute: string; component: string },
  item: string,
  base: string,
  filter: string,
  options: JupyterHubLintOptions,
  out: Diagnostic[],
): void {
  const at = { ...subject, item }
  if (item.endsWith('!') && filter === '') {
    out.push(diagnostic('warning', 'JUPYTERHUB_EMPTY_FILTER', `${label}: ${item} has an empty filter and is unfiltered`, at, { fix: `Write ${base} or add a filter` }))
  }
  if (filter === '' && base === 'shares') {
    out.push(
      diagnostic('warning', 'JUPYTERHUB_UNFILTERED_SHARES', `${label}: unfiltered shares includes unfiltered access:servers — access to every user's server`, at, {
        fix: 'Use shares!user (share your own servers) as the JupyterHub docs recommend',
      }),
    )
  }
  if (filter === '' && base === 'access:servers') {
    out.push(
      diagnostic('warning', 'JUPYTERHUB_UNFILTERED_ACCESS_SERVERS', `${label}: unfiltered access:servers grants access to every user's server`, at, {
        fix: 'Filter it: access:servers!user, access:servers!group=/…, or access:servers!server=user/name',
      }),
    )
  }
  if (filter === '') return
  const [kind, value] = partition(filter, '=')
  const isBare = !filter.includes('=')
  if (!isBare && value === '') {
    out.push(
      diagnostic('error', 'JUPYTERHUB_EMPTY_FILTER_VALUE', `${label}: ${item} passes validation but JupyterHub cannot parse it: every request of a holder fails`, at, {
        fix: `Give the filter a value (${base}!${kind}=…) or remove it`,
      }),
    )
    return
  }
  if (isBare && (kind === 'server' || kind === 'service')) {
    out.push(
      diagnostic('warning', 'JUPYTERHUB_FILTER_WITHOUT_TARGET', `${label}: ${item} never resolves for a user's role (no ${kind} target); JupyterHub drops it`, at, {
        fix: kind === 'server' ? 'Use !server=user/name or !user' : 'Use !service=name',
      }),
    )
    return
  }
  if (kind === 'server' && !value.includes('/')) {
    out.push(
      diagnostic('warning', 'JUPYTERHUB_SERVER_FILTER_WITHOUT_SLASH', `${label}: ${item}: a server is written user/name (default server: user/); this value matches nothing`, at, {
        fix: `Write ${base}!server=<user>/${value}`,
      }),
    )
  }
  if (kind === 'group' && options.groupNamesArePaths !== false && !value.startsWith('/')) {
    out.push(
      diagnostic('warning', 'JUPYTERHUB_GROUP_FILTER_NOT_A_PATH', `${label}: ${item}: JupyterHub group names are Keycloak full paths here, so ${JSON.stringify(value)} matches no group`, at, {
        fix: `Write ${base}!group=/${value}`,
      }),
    )
  }
  if (!base.startsWith('custom:')) {
    const kinds = MATCHABLE_KINDS.get(base) ?? new Set<string>()
    if (!kinds.has(kind)) {
      out.push(
        diagnostic('warning', 'JUPYTERHUB_FILTER_NEVER_MATCHES', `${label}: ${item}: a !${kind} filter never matches what ${base} is checked against`, at, {
          fix: kinds.size === 0 ? `${base} takes no filter` : `Filter ${base} by ${[...kinds].map((k) => `!${k}`).join(' or ')}`,
          details: { kind, matchable: [...kinds] },
        }),
      )
    }
  }
}

/**
 * Lints JupyterHub role attributes: for a principal, its `jupyterhub`-client roles and the role
 * names Nebari passes to JupyterHub; for a list of roles (e.g. a realm's catalogue), every role.
 * Codes: `JUPYTERHUB_ROLE_SCOPES_REJECTED` (error, with JupyterHub's messages),
 * `JUPYTERHUB_ROLE_NAME_INVALID` (error), `JUPYTERHUB_EMPTY_FILTER_VALUE` (error), and the warnings
 * `JUPYTERHUB_UNFILTERED_SHARES`, `JUPYTERHUB_UNFILTERED_ACCESS_SERVERS`,
 * `JUPYTERHUB_SERVER_FILTER_WITHOUT_SLASH`, `JUPYTERHUB_GROUP_FILTER_NOT_A_PATH`, `JUPYTERHUB_EMPTY_FILTER`,
 * `JUPYTERHUB_FILTER_NEVER_MATCHES`, `JUPYTERHUB_FILTER_WITHOUT_TARGET`, `JUPYTERHUB_VERSION_SCOPE`,
 * `JUPYTERHUB_COMPONENT_NOT_EXACT`, `NEBARI_SCOPE_EXTRA_VALUES_IGNORED`.
 *
 * @example
 * ```ts
 * import { lintJupyterHubRoles } from 'keycloak-permissions/jupyterhub'
 * lintJupyterHubRoles([{ client: 'jupyterhub', name: 'sharing', attributes: { component: ['jupyterhub'], scopes: ['shares, read:users:name'] } }])
 *   .map((d) => d.code) // ['JUPYTERHUB_UNFILTERED_SHARES', 'JUPYTERHUB_ROLE_SCOPES_REJECTED']
 * ```
 */
export function lintJupyterHubRoles(input: Principal | readonly LintRole[], options: JupyterHubLintOptions = {}): Diagnostic[] {
  const clientId = options.clientId ?? 'jupyterhub'
  const out: Diagnostic[] = []
  if (Array.isArray(input)) {
    const roles = input as readonly LintRole[]
    for (const role of roles) lintRole(role, options, clientId, out)
    const seen = new Set<string>()
    for (const role of roles) {
      if (seen.has(role.name)) continue
      seen.add(role.name)
      const error = roleNameError(role.name)
      if (error) {
        const ref: RoleRef = role.client === undefined ? { name: role.name } : { client: role.client, name: role.name }
        out.push(
          diagnostic('error', 'JUPYTERHUB_ROLE_NAME_INVALID', error.message, { role: ref }, {
            fix: 'Rename the Keycloak role to lowercase letters, digits and -._~ (3-255 characters)',
            details: { name: role.name },
          }),
        )
      }
    }
    return out
  }
  const principal = input as Principal
  for (const role of clientRolesOf(principal, clientId)) lintRole({ client: clientId, name: role.name, attributes: role.attributes }, options, clientId, out)
  out.push(...jupyterhubRoles(principal, options).diagnostics.filter((d) => d.code === 'JUPYTERHUB_ROLE_NAME_INVALID'))
  return out
}
