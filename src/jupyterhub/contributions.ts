/**
 * Which of a user's JupyterHub roles contribute which scopes — the one walk behind the registry's
 * `resources` (grant paths) and the review's chains, so the two cannot disagree on it.
 *
 * @module
 */
import { expandScopes, type ScopeSet } from './expand.js'
import type { JupyterHubPrincipal, JupyterHubRole } from './nebari.js'
import type { Scope, ScopeOptions } from './scopes.js'

/** One role that contributes scopes: the role, its raw scopes, and their expansion for the user. */
export interface RoleScopeContribution {
  readonly role: JupyterHubRole
  readonly scopes: readonly Scope[]
  readonly set: ScopeSet
}

/**
 * The roles of `hub` that contribute scopes, in order, each with its scopes expanded for `username`
 * (docs/semantics/jupyterhub.md §3: `!user` filters resolve to the owner). Role-name entries carry no
 * scopes, and a Keycloak role merely named like a default role must not borrow the default's scopes,
 * so only `client-role` and `default` entries count. A role whose scopes do not expand is left out:
 * `jupyterhubPrincipal` has already reported it.
 */
export function roleScopeContributions(hub: JupyterHubPrincipal, username: string, options: ScopeOptions): RoleScopeContribution[] {
  const owner = { owner: { kind: 'user' as const, name: username } }
  const out: RoleScopeContribution[] = []
  for (const role of hub.roles) {
    if (role.source === 'role-name') continue
    const scopes = role.source === 'default' ? hub.roleScopes[role.name] ?? [] : role.scopes ?? []
    if (scopes.length === 0) continue
    let set: ScopeSet
    try {
      set = expandScopes([...scopes], owner, options)
    } catch {
      continue
    }
    out.push({ role, scopes, set })
  }
  return out
}
