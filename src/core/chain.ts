/**
 * Grant chains as data: each way a user holds a grant is one separate path
 * user → group → parent group → role → composite → item → grant (→ resource), derived from the
 * provenance (`EffectiveRole.via`) a source recorded. Renderers (text tree, JSON, Markdown, HTML)
 * draw these values; nothing re-derives a chain from a decision's flat trace.
 *
 * @module
 */
import { groupWithAncestors } from './groups.js'
import { formatRole, type EffectiveRole, type Principal, type RoleRef } from './principal.js'

/**
 * What one step of a chain is:
 * - `user`: the user the chain starts from;
 * - `group`: a group the user is a direct member of;
 * - `parent-group`: an ancestor of the previous group (its role mappings are inherited);
 * - `role`: a role mapped to the user or to the previous group;
 * - `default-role`: the realm's default role (`default-roles-{realm}`), stored as a direct mapping;
 * - `composite`: a role contained in the previous (composite) role;
 * - `item`: an attribute item of the previous role (e.g. `admin!namespace=ml`);
 * - `rule`: a rule that turned the previous steps into a grant (e.g. `nebari login: global-namespace`);
 * - `source`: a grant source outside Keycloak (e.g. conda-store's default bindings);
 * - `grant`: what is granted (e.g. `ml/*: admin`, a JupyterHub scope);
 * - `resource`: the resource a check asked about.
 *
 * @example
 * ```ts
 * import type { ChainStepKind } from 'keycloak-permissions'
 * const kind: ChainStepKind = 'parent-group'
 * ```
 */
export type ChainStepKind = 'user' | 'group' | 'parent-group' | 'role' | 'default-role' | 'composite' | 'item' | 'rule' | 'source' | 'grant' | 'resource'

/**
 * One step of a chain: its kind and the text naming it (roles are `client/name`, groups full paths).
 *
 * @example
 * ```ts
 * import type { ChainStep } from 'keycloak-permissions'
 * const step: ChainStep = { kind: 'role', label: 'conda_store/ml-team-scopes' }
 * ```
 */
export interface ChainStep {
  readonly kind: ChainStepKind
  readonly label: string
}

/**
 * One grant path, starting with the `user` step. A user holding the same grant in two ways has two
 * chains; they share no steps.
 *
 * @example
 * ```ts
 * import type { Chain } from 'keycloak-permissions'
 * const chain: Chain = [
 *   { kind: 'user', label: 'bob' },
 *   { kind: 'group', label: '/projects/ml' },
 *   { kind: 'role', label: 'conda_store/ml-team-scopes' },
 *   { kind: 'item', label: 'admin!namespace=ml' },
 *   { kind: 'grant', label: 'ml/*: admin' },
 * ]
 * ```
 */
export type Chain = readonly ChainStep[]

/**
 * At most this many chains per role: a role reachable through dozens of groups stays readable.
 *
 * @example
 * ```ts
 * import { MAX_CHAINS_PER_ROLE, roleChains } from 'keycloak-permissions'
 * roleChains(principal, role).length <= MAX_CHAINS_PER_ROLE // true
 * ```
 */
export const MAX_CHAINS_PER_ROLE = 16

/**
 * Every way (up to {@link MAX_CHAINS_PER_ROLE}) the principal holds `role`, one chain per provenance
 * entry: `direct` → user → role; `default` → user → default-role; `group` → user → group → each
 * parent group up to the mapped one → role; `composite` → every chain of the parent, then the role as
 * `composite`. A role the principal does not hold, or one without provenance (a source that cannot
 * see it), yields the single chain user → role. Composite cycles are cut.
 *
 * @example
 * ```ts
 * import { roleChains } from 'keycloak-permissions'
 * roleChains(bob, { client: 'ws-alpha', name: 'ws_access' })
 * // [[{ kind: 'user', label: 'bob' }, { kind: 'group', label: '/projects/ml' },
 * //   { kind: 'parent-group', label: '/projects' }, { kind: 'role', label: 'ws-alpha/ws_access' }]]
 * ```
 */
export function roleChains(principal: Principal, role: RoleRef): Chain[] {
  return chainsIn(rolesByKey(principal), principal.username, role, new Set())
}

/**
 * A cache of the principal's roles by `client/name`, for building many chains of one principal
 * (see {@link roleChainsIndexed}).
 *
 * @example
 * ```ts
 * import { rolesByKey, roleChainsIndexed } from 'keycloak-permissions'
 * const index = rolesByKey(principal)
 * const chains = roleChainsIndexed(index, principal.username, { client: 'conda_store', name: 'conda_store_admin' })
 * ```
 */
export function rolesByKey(principal: Principal): ReadonlyMap<string, EffectiveRole> {
  const out = new Map<string, EffectiveRole>()
  for (const role of principal.realmRoles) out.set(role.name, role)
  for (const client of Object.keys(principal.clientRoles)) {
    for (const role of principal.clientRoles[client]!) out.set(formatRole({ client, name: role.name }), { ...role, client })
  }
  return out
}

/**
 * {@link roleChains} over a prepared {@link rolesByKey} index.
 *
 * @example
 * ```ts
 * import { rolesByKey, roleChainsIndexed } from 'keycloak-permissions'
 * roleChainsIndexed(rolesByKey(dave), 'dave', { client: 'conda_store', name: 'conda_store_viewer' })
 * // [[{ kind: 'user', label: 'dave' }, { kind: 'role', label: 'conda_store/conda_store_viewer' }]]
 * ```
 */
export function roleChainsIndexed(index: ReadonlyMap<string, EffectiveRole>, user: string, role: RoleRef): Chain[] {
  return chainsIn(index, user, role, new Set())
}

function chainsIn(index: ReadonlyMap<string, EffectiveRole>, user: string, ref: RoleRef, seen: ReadonlySet<string>): ChainStep[][] {
  const key = formatRole(ref)
  const userStep: ChainStep = { kind: 'user', label: user }
  const held = index.get(key)
  if (!held || held.via.length === 0) return [[userStep, { kind: 'role', label: key }]]
  const out: ChainStep[][] = []
  const next = new Set(seen).add(key)
  for (const via of held.via) {
    if (out.length >= MAX_CHAINS_PER_ROLE) break
    switch (via.kind) {
      case 'direct':
        out.push([userStep, { kind: 'role', label: key }])
        break
      case 'default':
        out.push([userStep, { kind: 'default-role', label: key }])
        break
      case 'group': {
        const steps: ChainStep[] = [userStep, { kind: 'group', label: via.member }]
        // From the member group up to the group the role is mapped to, innermost first.
        const ancestors = groupWithAncestors(via.member).reverse()
        const top = ancestors.indexOf(via.group)
        if (top > 0) for (const parent of ancestors.slice(1, top + 1)) steps.push({ kind: 'parent-group', label: parent })
        else if (top < 0) steps.push({ kind: 'parent-group', label: via.group })
        steps.push({ kind: 'role', label: key })
        out.push(steps)
        break
      }
      case 'composite': {
        if (next.has(formatRole(via.parent))) break // a composite cycle
        for (const chain of chainsIn(index, user, via.parent, next)) {
          if (out.length >= MAX_CHAINS_PER_ROLE) break
          out.push([...chain, { kind: 'composite', label: key }])
        }
        break
      }
    }
  }
  return uniqueChains(out.length > 0 ? out : [[userStep, { kind: 'role', label: key }]]) as ChainStep[][]
}

/**
 * A grant path as a component records it: the steps before the role (`lead`, e.g. the group a rule
 * reads), the role (expanded from the principal's provenance), and the steps after it (`tail`: item →
 * grant → resource). A path through no role has no `role`.
 *
 * @example
 * ```ts
 * import type { GrantPathSteps } from 'keycloak-permissions'
 * const p: GrantPathSteps = { role: { client: 'conda_store', name: 'ml-team-scopes' }, tail: [{ kind: 'item', label: 'admin!namespace=ml' }, { kind: 'grant', label: 'ml/*: admin' }] }
 * ```
 */
export interface GrantPathSteps {
  readonly lead?: readonly { readonly kind: string; readonly label: string }[]
  readonly role?: RoleRef
  readonly tail: readonly { readonly kind: string; readonly label: string }[]
}

/**
 * The chains of one grant path: for each way the principal holds its role, user → lead → the role's
 * groups and composites → role → tail (user → lead → tail without a role).
 *
 * @example
 * ```ts
 * import { grantPathChains, rolesByKey } from 'keycloak-permissions'
 * grantPathChains(rolesByKey(bob), 'bob', { role: { client: 'ws-alpha', name: 'ws_access' }, tail: [{ kind: 'rule', label: '/workspaces/{workspace}/**' }] })
 * // [bob → /projects/ml → /projects → ws-alpha/ws_access → /workspaces/{workspace}/**]
 * ```
 */
export function grantPathChains(index: ReadonlyMap<string, EffectiveRole>, user: string, path: GrantPathSteps): Chain[] {
  const userStep: ChainStep = { kind: 'user', label: user }
  const lead = (path.lead ?? []).map(asStep)
  const tail = path.tail.map(asStep)
  if (path.role === undefined) return [[userStep, ...lead, ...tail]]
  return chainsIn(index, user, path.role, new Set()).map((c) => [userStep, ...lead, ...c.slice(1), ...tail])
}

function asStep(step: { readonly kind: string; readonly label: string }): ChainStep {
  return { kind: step.kind as ChainStepKind, label: step.label }
}

/**
 * The chains without duplicates (same kinds and labels), first occurrence kept, order preserved.
 *
 * @example
 * ```ts
 * import { uniqueChains } from 'keycloak-permissions'
 * uniqueChains([chain, chain]).length // 1
 * ```
 */
export function uniqueChains(chains: readonly Chain[]): Chain[] {
  const seen = new Set<string>()
  const out: Chain[] = []
  for (const chain of chains) {
    const key = chainKey(chain)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(chain)
  }
  return out
}

/**
 * A string identifying a chain by its kinds and labels (for sets and maps).
 *
 * @example
 * ```ts
 * import { chainKey } from 'keycloak-permissions'
 * new Set(chains.map(chainKey)).size
 * ```
 */
export function chainKey(chain: Chain): string {
  return JSON.stringify(chain.map((s) => [s.kind, s.label]))
}

/**
 * The groups and roles a set of chains passes through: what a realm change must touch to change
 * the grant they explain.
 *
 * @example
 * ```ts
 * import { chainSubjects } from 'keycloak-permissions'
 * chainSubjects(chains) // { groups: ['/projects', '/projects/ml'], roles: ['ws-alpha/ws_access'] }
 * ```
 */
export function chainSubjects(chains: readonly Chain[]): { groups: string[]; roles: string[] } {
  const groups = new Set<string>()
  const roles = new Set<string>()
  for (const chain of chains) {
    for (const step of chain) {
      if (step.kind === 'group' || step.kind === 'parent-group') groups.add(step.label)
      else if (step.kind === 'role' || step.kind === 'default-role' || step.kind === 'composite') roles.add(step.label)
    }
  }
  return { groups: [...groups].sort(), roles: [...roles].sort() }
}
