/**
 * Grant chains: why a principal holds a role, as steps user → group → (composite) role, built from the
 * provenance (`via`) a source recorded. Bounded: a role reachable in many ways keeps its first chains.
 *
 * @module
 */
import type { TraceStep } from '../core/decision.js'
import { formatRole, type EffectiveRole, type Principal, type RoleRef } from '../core/principal.js'

/** At most this many distinct chains per role (a role inherited through dozens of groups stays readable). */
const MAX_CHAINS = 8

const keyOf = (ref: RoleRef) => formatRole(ref)

/** The principal's effective roles by `client/name` (realm roles by name). */
export function roleIndex(principal: Principal): Map<string, EffectiveRole> {
  const out = new Map<string, EffectiveRole>()
  for (const role of principal.realmRoles) out.set(keyOf(role), role)
  for (const [client, roles] of Object.entries(principal.clientRoles)) for (const role of roles) out.set(keyOf({ client, name: role.name }), { ...role, client })
  return out
}

/**
 * Every chain (up to a bound) by which the principal holds `ref`: group and composite steps, ending
 * with the role itself. A source without provenance yields the role alone.
 */
export function chainsToRole(index: ReadonlyMap<string, EffectiveRole>, ref: RoleRef, seen: ReadonlySet<string> = new Set()): TraceStep[][] {
  const key = keyOf(ref)
  const roleStep: TraceStep = { kind: 'role', label: key }
  const role = index.get(key)
  if (!role || role.via.length === 0 || seen.has(key)) return [[roleStep]]
  const out: TraceStep[][] = []
  const next = new Set(seen).add(key)
  for (const via of role.via) {
    if (out.length >= MAX_CHAINS) break
    switch (via.kind) {
      case 'direct':
        out.push([roleStep])
        break
      case 'default':
        out.push([{ kind: 'default', label: 'default role' }, roleStep])
        break
      case 'group':
        out.push(
          via.group === via.member
            ? [{ kind: 'group', label: via.group }, roleStep]
            : [{ kind: 'group', label: via.member }, { kind: 'group', label: via.group, data: { inherited: true } }, roleStep],
        )
        break
      case 'composite':
        for (const chain of chainsToRole(index, via.parent, next)) {
          if (out.length >= MAX_CHAINS) break
          out.push([...chain, roleStep])
        }
        break
    }
  }
  return out
}

/** Renders a chain on one line: `bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin`. */
export function renderChain(user: string, steps: readonly TraceStep[]): string {
  const labels = [user]
  for (const step of steps) if (labels[labels.length - 1] !== step.label) labels.push(step.label)
  return labels.join(' → ')
}

/** The groups and roles a set of chains passes through (what a realm change must touch to change the grant). */
export function chainSubjects(chains: readonly (readonly TraceStep[])[]): { groups: string[]; roles: string[] } {
  const groups = new Set<string>()
  const roles = new Set<string>()
  for (const chain of chains) {
    for (const step of chain) {
      if (step.kind === 'group') groups.add(step.label)
      else if (step.kind === 'role') roles.add(step.label)
    }
  }
  return { groups: [...groups].sort(), roles: [...roles].sort() }
}
