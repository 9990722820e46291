/**
 * Conformance adapters for workspaces.jsonl (docs/semantics/workspaces.md §8): `workspace_route` and `stac_route`,
 * run through the public API with the fixed evaluation context of §8.
 */
import { ManualClock } from '../../../src/index.js'
import { principalFromClaims, validateClaims } from '../../../src/keycloak/index.js'
import { decideFromClaims, stacPolicy, workspaceApiPolicy, type ClaimsDecoder, type RoutePolicy } from '../../../src/workspaces/index.js'
import { mismatch, same } from '../compare.js'
import type { AdapterTable, Vector } from '../types.js'

const clock = new ManualClock(1767225600 * 1000)
const issuers = ['http://127.0.0.1:8180/realms/example']

function decoder(audience: string): ClaimsDecoder {
  return {
    validate: (claims) => validateClaims(claims, { issuers, audience, clock, clockToleranceSec: 30 }),
    toPrincipal: (claims) => principalFromClaims(claims, { clock }),
  }
}

function adapter(policy: RoutePolicy, audience: string) {
  const dec = decoder(audience)
  return (vector: Vector) => {
    const { method, path, claims } = vector.input as { method: string; path: string; claims: Record<string, unknown> | null }
    const decision = decideFromClaims(policy, { method, path }, claims, dec)
    const actual = { allowed: decision.allowed, reason: decision.reason }
    const expected = vector.ours ?? vector.expected
    return { failures: same(actual, expected) ? [] : [mismatch('decision', actual, expected)] }
  }
}

/** workspace_route and stac_route. */
export const workspaceAdapters: AdapterTable = {
  workspace_route: adapter(workspaceApiPolicy(), 'workspace-api'),
  stac_route: adapter(stacPolicy(), 'eoapi'),
}
