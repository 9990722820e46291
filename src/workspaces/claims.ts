/**
 * Deciding straight from verified token claims, with the claim checks injected (this module does not
 * depend on `keycloak-permissions/keycloak`; pass its `validateClaims` and `principalFromClaims`).
 *
 * @module
 */
import type { TokenRejectionReason } from '../core/errors.js'
import type { Principal } from '../core/principal.js'
import type { RouteDecision, RoutePolicy, RouteRequest, RouteSubject } from './types.js'

/**
 * The two claim functions a claims decision needs: one checking time and identity claims, one turning
 * claims into a principal.
 *
 * @example
 * ```ts
 * import { validateClaims, principalFromClaims } from 'keycloak-permissions/keycloak'
 * import type { ClaimsDecoder } from 'keycloak-permissions/workspaces'
 * const decoder: ClaimsDecoder = {
 *   validate: (claims) => validateClaims(claims, { issuers: ['http://127.0.0.1:8180/realms/example'], audience: 'workspace-api' }),
 *   toPrincipal: (claims) => principalFromClaims(claims),
 * }
 * ```
 */
export interface ClaimsDecoder {
  /**
   * Checks the time and identity claims (`exp`, `nbf`, `iss`, `aud`, `typ`, …) of an already
   * signature-verified payload: `{ ok: true }`, or the rejection reason the decision reports.
   */
  validate(
    claims: Record<string, unknown>,
  ): { readonly ok: true } | { readonly ok: false; readonly reason: TokenRejectionReason; readonly detail?: string; readonly message?: string }
  /** Turns claims that passed `validate` into the principal the policy decides for. */
  toPrincipal(claims: Record<string, unknown>): Principal
}

/**
 * The subject of a request carrying `claims` (already signature-verified; `null` = no token): the
 * principal when the claims pass `decoder.validate`, else the refusal — which the policy reports after
 * path normalisation, as docs/semantics/workspaces.md §5 orders it.
 *
 * @example
 * ```ts
 * import { subjectFromClaims } from 'keycloak-permissions/workspaces'
 * const subject = subjectFromClaims(payload, decoder)
 * ```
 */
export function subjectFromClaims(claims: Record<string, unknown> | null, decoder: ClaimsDecoder): RouteSubject {
  if (claims === null) return null
  const checked = decoder.validate(claims)
  if (!checked.ok) {
    return {
      failure: checked.reason,
      ...(checked.detail !== undefined ? { detail: checked.detail } : {}),
      ...(checked.message !== undefined ? { message: checked.message } : {}),
    }
  }
  return decoder.toPrincipal(claims)
}

/**
 * Decides a request from verified claims: {@link subjectFromClaims}, then `policy.check`.
 *
 * @example
 * ```ts
 * import { decideFromClaims, workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * decideFromClaims(workspaceApiPolicy(), { method: 'GET', path: '/workspaces/ws-alice' }, payload, decoder).reason
 * // 'WORKSPACE_ROLE'
 * ```
 */
export function decideFromClaims(
  policy: RoutePolicy,
  request: RouteRequest,
  claims: Record<string, unknown> | null,
  decoder: ClaimsDecoder,
): RouteDecision {
  return policy.check(request, subjectFromClaims(claims, decoder))
}
