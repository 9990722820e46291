/**
 * A collaboration authorizer for shared servers: from a principal's JupyterHub scopes and a server
 * `owner/name`, decide jupyter-server's `(action, resource)` checks, with custom scopes mapped onto
 * them. Configuration is validated eagerly: an unknown scope, action or resource is an error at
 * construction, never a silent denial at request time.
 *
 * @module
 */
import { allow, deny, type Decision, type TraceStep } from '../core/decision.js'
import { InvalidOptionsError } from '../core/errors.js'
import { hasScope, type GroupsOf, type HeldScopes } from './check.js'
import { expandScopes } from './expand.js'
import { JupyterHubUsageError } from './errors.js'
import type { JupyterHubPrincipal } from './nebari.js'
import { defineCustomScopes, scopeError, type CustomScopeInput, type CustomScopes, type ExpandedScope, type JupyterHubVersion, type ScopeOptions } from './scopes.js'

/**
 * jupyter-server's authorization actions.
 *
 * @example
 * ```ts
 * import { JUPYTER_SERVER_ACTIONS } from 'keycloak-permissions/jupyterhub'
 * JUPYTER_SERVER_ACTIONS // ['read', 'write', 'execute']
 * ```
 */
export const JUPYTER_SERVER_ACTIONS = ['read', 'write', 'execute'] as const

/**
 * jupyter-server's built-in authorization resources (`@authorized` handlers).
 *
 * @example
 * ```ts
 * import { JUPYTER_SERVER_RESOURCES } from 'keycloak-permissions/jupyterhub'
 * JUPYTER_SERVER_RESOURCES.includes('kernels') // true
 * ```
 */
export const JUPYTER_SERVER_RESOURCES = [
  'api', 'config', 'contents', 'csp', 'events', 'kernels', 'kernelspecs', 'nbconvert', 'sessions', 'server', 'terminals',
] as const

/**
 * One jupyter-server action.
 *
 * @example
 * ```ts
 * import type { JupyterServerAction } from 'keycloak-permissions/jupyterhub'
 * const a: JupyterServerAction = 'execute'
 * ```
 */
export type JupyterServerAction = (typeof JUPYTER_SERVER_ACTIONS)[number]

/**
 * One jupyter-server resource (built-in, or an extension's resource declared in `extraResources`).
 *
 * @example
 * ```ts
 * import type { JupyterServerResource } from 'keycloak-permissions/jupyterhub'
 * const r: JupyterServerResource = 'contents'
 * ```
 */
export type JupyterServerResource = (typeof JUPYTER_SERVER_RESOURCES)[number]

/**
 * What one mapped scope permits: actions × resources (`'*'` = all).
 *
 * @example
 * ```ts
 * import type { PermissionGrant } from 'keycloak-permissions/jupyterhub'
 * const g: PermissionGrant = { actions: ['write'], resources: ['contents'] }
 * ```
 */
export interface PermissionGrant {
  readonly actions: readonly JupyterServerAction[] | '*'
  readonly resources: readonly string[] | '*'
}

/**
 * Scope name (no filter) → what holding it on a server permits there.
 *
 * @example
 * ```ts
 * import type { CollaborationMapping } from 'keycloak-permissions/jupyterhub'
 * const m: CollaborationMapping = { 'custom:rtc:read': [{ actions: ['read'], resources: '*' }] }
 * ```
 */
export type CollaborationMapping = Readonly<Record<string, readonly PermissionGrant[]>>

/**
 * The default custom scopes: `custom:rtc:read` ⊂ `custom:rtc:write` ⊂ `custom:rtc:execute` (each
 * higher scope has the lower ones as subscopes). Define them in JupyterHub (`c.JupyterHub.custom_scopes`)
 * and pass the same definitions to {@link defineCustomScopes} when resolving principals.
 *
 * @example
 * ```ts
 * import { DEFAULT_COLLABORATION_SCOPES, defineCustomScopes } from 'keycloak-permissions/jupyterhub'
 * const customScopes = defineCustomScopes(DEFAULT_COLLABORATION_SCOPES)
 * ```
 */
export const DEFAULT_COLLABORATION_SCOPES = {
  'custom:rtc:read': { description: 'Read the files and state of a shared server.' },
  'custom:rtc:write': { description: 'Edit files on a shared server.', subscopes: ['custom:rtc:read'] },
  'custom:rtc:execute': {
    description: 'Run code on a shared server (kernels, terminals).',
    subscopes: ['custom:rtc:write'],
  },
} as const satisfies Record<string, CustomScopeInput>

/**
 * The default mapping (documented): `custom:rtc:read` → `read` on every resource;
 * `custom:rtc:write` → `write` on `contents` (and, through its subscope, `read`);
 * `custom:rtc:execute` → `write` and `execute` on every resource (full use of the server).
 *
 * @example
 * ```ts
 * import { DEFAULT_COLLABORATION_MAPPING } from 'keycloak-permissions/jupyterhub'
 * DEFAULT_COLLABORATION_MAPPING['custom:rtc:write'] // [{ actions: ['write'], resources: ['contents'] }]
 * ```
 */
export const DEFAULT_COLLABORATION_MAPPING: CollaborationMapping = {
  'custom:rtc:read': [{ actions: ['read'], resources: '*' }],
  'custom:rtc:write': [{ actions: ['write'], resources: ['contents'] }],
  'custom:rtc:execute': [{ actions: ['write', 'execute'], resources: '*' }],
}

/**
 * Options of {@link createCollaborationAuthorizer}.
 *
 * @example
 * ```ts
 * import type { CollaborationOptions } from 'keycloak-permissions/jupyterhub'
 * const o: CollaborationOptions = { access: 'mapped', extraResources: ['yjs'] }
 * ```
 */
export interface CollaborationOptions {
  /** Default: {@link DEFAULT_COLLABORATION_SCOPES}. Must define every custom scope of `mapping`. */
  readonly customScopes?: CustomScopes
  /** Default: {@link DEFAULT_COLLABORATION_MAPPING}. */
  readonly mapping?: CollaborationMapping
  /**
   * `'mapped'` (default): `access:servers` on the server only lets a non-owner in; what they may do
   * comes from the mapping. `'full'`: `access:servers` permits everything (JupyterHub's own behaviour
   * for shared servers).
   */
  readonly access?: 'mapped' | 'full'
  /** Resources of server extensions, allowed in the mapping and at request time. */
  readonly extraResources?: readonly string[]
  readonly jupyterhubVersion?: JupyterHubVersion
}

/**
 * Reason codes of a collaboration decision.
 *
 * @example
 * ```ts
 * import type { CollaborationReason } from 'keycloak-permissions/jupyterhub'
 * const r: CollaborationReason = 'NO_MATCHING_SCOPE'
 * ```
 */
export type CollaborationReason = 'OWNER' | 'ACCESS_SERVERS' | 'SCOPE_GRANT' | 'LOGIN_REJECTED' | 'NO_SERVER_ACCESS' | 'NO_MATCHING_SCOPE'

/**
 * Who is asking: a resolved {@link JupyterHubPrincipal}, or a username with held scopes.
 *
 * @example
 * ```ts
 * import { expandScopes, type Collaborator } from 'keycloak-permissions/jupyterhub'
 * const c: Collaborator = { username: 'bob', scopes: expandScopes(['access:servers!server=alice/']) }
 * ```
 */
export type Collaborator = JupyterHubPrincipal | { readonly username?: string; readonly scopes: HeldScopes; readonly loginRejected?: boolean }

/**
 * The authorizer: `authorize` answers one jupyter-server check; `permissions` lists every allowed
 * `(action, resource)` through the same check.
 *
 * @example
 * ```ts
 * import { createCollaborationAuthorizer } from 'keycloak-permissions/jupyterhub'
 * const authz = createCollaborationAuthorizer()
 * authz.authorize(bob, 'alice/', 'write', 'contents').allowed
 * ```
 */
export interface CollaborationAuthorizer {
  /** The custom scopes the mapping was validated against (pass them when resolving principals). */
  readonly customScopes: CustomScopes
  /** The resources checks may name: jupyter-server's built-ins, then `extraResources`. */
  readonly resources: readonly string[]
  /** Decides one jupyter-server check (`action` on `resource`) on the server `owner/name`. */
  authorize(
    who: Collaborator,
    server: string,
    action: JupyterServerAction,
    resource: JupyterServerResource | (string & {}),
    options?: { readonly groupsOf?: GroupsOf },
  ): Decision<CollaborationReason, string>
  /** Every `(action, resource)` allowed on the server, each through {@link CollaborationAuthorizer.authorize}. */
  permissions(
    who: Collaborator,
    server: string,
    options?: { readonly groupsOf?: GroupsOf },
  ): { readonly action: JupyterServerAction; readonly resource: string; readonly grant: string }[]
}

/** For explain(): the roles of a resolved principal whose own scopes grant `scope`. */
function grantingRoles(who: Collaborator, scope: ExpandedScope, groupsOf: GroupsOf | undefined, scopeOptions: ScopeOptions): string[] {
  if (!('roleScopes' in who) || who.username === undefined) return []
  const out: string[] = []
  for (const [role, raw] of Object.entries(who.roleScopes)) {
    if (raw.length === 0) continue
    try {
      const own = expandScopes(raw, { owner: { kind: 'user', name: who.username } }, scopeOptions)
      if (hasScope(scope, own, groupsOf ? { groupsOf } : {})) out.push(role)
    } catch {
      // A role JupyterHub cannot parse grants nothing; it is already a diagnostic of the principal.
    }
  }
  return out
}

function grants(grant: PermissionGrant, action: string, resource: string): boolean {
  return (grant.actions === '*' || grant.actions.includes(action as JupyterServerAction)) && (grant.resources === '*' || grant.resources.includes(resource))
}

/**
 * Builds a collaboration authorizer. Validates eagerly (InvalidOptionsError): every mapping key must
 * be a defined scope name without filter, every action one of `read|write|execute`, every resource
 * a jupyter-server resource or in `extraResources`.
 *
 * Decision order: login rejected → deny; no `access:servers!server=owner/name` → deny
 * `NO_SERVER_ACCESS`; `access: 'full'` → allow; the owner → allow `OWNER`; a mapped scope held on
 * the server (filter `!server=owner/name`, `!user=owner`, a group of the owner, or unfiltered) that
 * covers the check → allow `SCOPE_GRANT`; otherwise deny `NO_MATCHING_SCOPE`.
 *
 * @example
 * ```ts
 * import { createCollaborationAuthorizer, expandScopes } from 'keycloak-permissions/jupyterhub'
 * const authz = createCollaborationAuthorizer()
 * const bob = { username: 'bob', scopes: expandScopes(['access:servers!server=alice/', 'custom:rtc:read!server=alice/'], {}, { customScopes: authz.customScopes }) }
 * authz.authorize(bob, 'alice/', 'read', 'contents').allowed  // true
 * authz.authorize(bob, 'alice/', 'write', 'contents').reason  // 'NO_MATCHING_SCOPE'
 * ```
 */
export function createCollaborationAuthorizer(options: CollaborationOptions = {}): CollaborationAuthorizer {
  const access = options.access ?? 'mapped'
  if (access !== 'mapped' && access !== 'full') throw new InvalidOptionsError('access', `must be 'mapped' or 'full', got ${JSON.stringify(access)}`)
  const customScopes = options.customScopes ?? defineCustomScopes(DEFAULT_COLLABORATION_SCOPES, options.jupyterhubVersion ? { jupyterhubVersion: options.jupyterhubVersion } : {})
  const scopeOptions: ScopeOptions = { customScopes, ...(options.jupyterhubVersion ? { jupyterhubVersion: options.jupyterhubVersion } : {}) }
  const resources = new Set<string>([...JUPYTER_SERVER_RESOURCES, ...(options.extraResources ?? [])])
  for (const extra of options.extraResources ?? []) {
    if (typeof extra !== 'string' || extra === '') throw new InvalidOptionsError('extraResources', 'must be non-empty strings')
  }
  const mapping = options.mapping ?? DEFAULT_COLLABORATION_MAPPING
  const entries: [string, readonly PermissionGrant[]][] = []
  for (const [scope, list] of Object.entries(mapping)) {
    if (scope.includes('!')) throw new InvalidOptionsError(`mapping.${scope}`, 'map scope names, without a filter (the server filter is applied per request)')
    const error = scopeError(scope, scopeOptions)
    if (error) throw new InvalidOptionsError(`mapping.${scope}`, error.message, { cause: error })
    if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionsError(`mapping.${scope}`, 'must be a non-empty list of { actions, resources }')
    list.forEach((grant, i) => {
      const at = `mapping.${scope}[${i}]`
      if (grant.actions !== '*') {
        if (!Array.isArray(grant.actions) || grant.actions.length === 0) throw new InvalidOptionsError(`${at}.actions`, "must be '*' or a non-empty list")
        for (const a of grant.actions) {
          if (!(JUPYTER_SERVER_ACTIONS as readonly string[]).includes(a)) {
            throw new InvalidOptionsError(`${at}.actions`, `unknown action ${JSON.stringify(a)} (known: ${JUPYTER_SERVER_ACTIONS.join(', ')})`)
          }
        }
      }
      if (grant.resources !== '*') {
        if (!Array.isArray(grant.resources) || grant.resources.length === 0) throw new InvalidOptionsError(`${at}.resources`, "must be '*' or a non-empty list")
        for (const r of grant.resources) {
          if (!resources.has(r)) throw new InvalidOptionsError(`${at}.resources`, `unknown resource ${JSON.stringify(r)} (declare extension resources in extraResources)`)
        }
      }
    })
    entries.push([scope, list.map((g) => Object.freeze({ ...g }))])
  }

  const parseServer = (server: string): string => {
    const slash = typeof server === 'string' ? server.indexOf('/') : -1
    if (slash <= 0) throw new JupyterHubUsageError(`A server is written owner/name (default server: owner/), got ${JSON.stringify(server)}`)
    return server.slice(0, slash)
  }

  const authorize: CollaborationAuthorizer['authorize'] = (who, server, action, resource, checkOptions = {}) => {
    const owner = parseServer(server)
    if (!(JUPYTER_SERVER_ACTIONS as readonly string[]).includes(action)) throw new JupyterHubUsageError(`unknown action ${JSON.stringify(action)}`)
    if (!resources.has(resource)) throw new JupyterHubUsageError(`unknown resource ${JSON.stringify(resource)} (declare extension resources in extraResources)`)
    const trace: TraceStep[] = [
      ...(who.username !== undefined ? [{ kind: 'user', label: who.username }] : []),
      { kind: 'resource', label: `${action} ${resource} on ${server}` },
    ]
    if (who.loginRejected) return deny('LOGIN_REJECTED', trace)
    const has = (scope: string) => hasScope(`${scope}!server=${server}` as ExpandedScope, who.scopes, checkOptions.groupsOf ? { groupsOf: checkOptions.groupsOf } : {})
    if (!has('access:servers')) return deny('NO_SERVER_ACCESS', trace)
    const withAccess = [...trace, { kind: 'scope', label: `access:servers!server=${server}` }]
    if (access === 'full') return allow('ACCESS_SERVERS', withAccess, { grant: 'access:servers' })
    if (who.username !== undefined && who.username === owner) return allow('OWNER', withAccess, { grant: 'owner' })
    for (const [scope, list] of entries) {
      if (!list.some((g) => grants(g, action, resource))) continue
      if (has(scope)) {
        const steps: TraceStep[] = [...withAccess]
        for (const role of grantingRoles(who, `${scope}!server=${server}` as ExpandedScope, checkOptions.groupsOf, scopeOptions)) steps.push({ kind: 'role', label: role })
        steps.push({ kind: 'grant', label: `${scope}!server=${server}` })
        return allow('SCOPE_GRANT', steps, { grant: scope })
      }
    }
    return deny('NO_MATCHING_SCOPE', withAccess)
  }

  return Object.freeze({
    customScopes,
    resources: Object.freeze([...resources]),
    authorize,
    permissions(who: Collaborator, server: string, checkOptions: { readonly groupsOf?: GroupsOf } = {}) {
      const out: { action: JupyterServerAction; resource: string; grant: string }[] = []
      for (const resource of resources) {
        for (const action of JUPYTER_SERVER_ACTIONS) {
          const d = authorize(who, server, action, resource, checkOptions)
          if (d.allowed) out.push({ action, resource, grant: d.grant ?? d.reason })
        }
      }
      return out
    },
  })
}
