/**
 * Decisions are values, never exceptions: `{ allowed, reason, rule?, grant?, trace, diagnostics? }`.
 * Default deny: anything not explicitly allowed is a denial with a reason.
 *
 * @module
 */
import type { Diagnostic } from './diagnostics.js'

/**
 * One step of a decision's chain, e.g. `{ kind: 'group', label: '/projects/ml' }`. `explain()`
 * renders the steps user → group → (composite) role → attribute item → grant → resource.
 *
 * @example
 * ```ts
 * import type { TraceStep } from 'keycloak-permissions'
 * const step: TraceStep = { kind: 'role', label: 'conda_store/ml-team-scopes' }
 * ```
 */
export interface TraceStep {
  readonly kind: string
  readonly label: string
  readonly data?: Readonly<Record<string, unknown>>
}

/**
 * The outcome of a check. `reason` is a stable code (e.g. `WORKSPACE_ROLE`, `ROLE_MISSING`).
 *
 * @example
 * ```ts
 * import type { Decision } from 'keycloak-permissions'
 * function render(d: Decision) { return `${d.allowed ? 'allow' : 'deny'} (${d.reason})` }
 * ```
 */
export interface Decision<Reason extends string = string, Grant = unknown> {
  readonly allowed: boolean
  readonly reason: Reason
  readonly rule?: string
  readonly grant?: Grant
  readonly trace: readonly TraceStep[]
  readonly diagnostics?: readonly Diagnostic[]
}

/**
 * Builds an allowing decision.
 *
 * @example
 * ```ts
 * import { allow } from 'keycloak-permissions'
 * allow('WORKSPACE_ROLE', [{ kind: 'rule', label: '/workspaces/{workspace}/**' }])
 * ```
 */
export function allow<Reason extends string, Grant = unknown>(
  reason: Reason,
  trace: readonly TraceStep[] = [],
  extra: { rule?: string; grant?: Grant; diagnostics?: readonly Diagnostic[] } = {},
): Decision<Reason, Grant> {
  return build(true, reason, trace, extra)
}

/**
 * Builds a denying decision.
 *
 * @example
 * ```ts
 * import { deny } from 'keycloak-permissions'
 * deny('ROLE_MISSING', [{ kind: 'claim', label: 'resource_access["ws-bob"].roles' }])
 * ```
 */
export function deny<Reason extends string>(
  reason: Reason,
  trace: readonly TraceStep[] = [],
  extra: { rule?: string; diagnostics?: readonly Diagnostic[] } = {},
): Decision<Reason, never> {
  return build(false, reason, trace, extra)
}

function build<Reason extends string, Grant>(
  allowed: boolean,
  reason: Reason,
  trace: readonly TraceStep[],
  extra: { rule?: string; grant?: Grant; diagnostics?: readonly Diagnostic[] },
): Decision<Reason, Grant> {
  const d: { -readonly [K in keyof Decision<Reason, Grant>]: Decision<Reason, Grant>[K] } = { allowed, reason, trace }
  if (extra.rule !== undefined) d.rule = extra.rule
  if (extra.grant !== undefined) d.grant = extra.grant
  if (extra.diagnostics !== undefined && extra.diagnostics.length > 0) d.diagnostics = extra.diagnostics
  return d
}
