/**
 * Rendering a route decision's chain (README "Decisions (D14)").
 *
 * @module
 */
import type { RouteDecision } from './types.js'

const CHAIN = new Set(['user', 'group', 'role'])

/**
 * The decision as one line: user → group → (composite) role → rule → resource (the normalised path),
 * then the outcome. Groups and composite roles appear when the principal's source knows them.
 *
 * @example
 * ```ts
 * import { explainRoute, workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * explainRoute(workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-alpha/files' }, bob))
 * // 'bob → /projects/ml → ws-alpha/ws_access → /workspaces/{workspace}/** → /workspaces/ws-alpha/files (allowed: WORKSPACE_ROLE)'
 * ```
 */
export function explainRoute(decision: RouteDecision): string {
  const parts: string[] = []
  let resource: string | undefined
  let rule: string | undefined
  for (const step of decision.trace) {
    if (CHAIN.has(step.kind)) parts.push(step.label)
    else if (step.kind === 'path') resource = step.label
    else if (step.kind === 'rule') rule = step.label
  }
  if (rule !== undefined) parts.push(rule)
  if (resource !== undefined) parts.push(resource)
  return `${parts.join(' → ')} (${decision.allowed ? 'allowed' : 'denied'}: ${decision.reason})`
}
