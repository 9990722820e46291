/**
 * Worst-case inputs, timed here instead of in `npm test` (a loaded machine makes wall-clock limits
 * in unit tests flaky). The unit tests keep the answers on these inputs; this module keeps the
 * linear-time claim honest with a printed target per row.
 */
import { CondaStorePermissions } from '../src/conda-store/index.js'
import { matchSegmentGlob } from '../src/components/index.js'
import type { EffectiveRole, Principal } from '../src/index.js'
import { workspaceApiPolicy } from '../src/workspaces/index.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

function target(ns: number, limitMs: number): string {
  return `target: under ${limitMs} ms per call; ${ns / 1e6 < limitMs ? 'met' : 'MISSED'}`
}

function condaMatch(arn: string, resource: string, compat: boolean): boolean {
  const permissions = CondaStorePermissions.create(
    { primaryNamespace: 'p', roleBindings: { [arn]: ['viewer'] } },
    { authenticatedRoleBindings: {}, ...(compat ? { compat: 'conda-store' as const } : {}) },
  )
  return permissions.can('environment::read', resource)
}

function alice(): Principal {
  const role: EffectiveRole = { client: 'ws-alice', name: 'ws_access', attributes: {}, via: [] }
  return {
    realm: 'example', userId: 'u-alice', username: 'alice', groups: [], realmRoles: [],
    clientRoles: { 'ws-alice': [role] },
    complete: { groups: false, realmRoles: false, attributes: false, provenance: false },
    origin: { kind: 'token', resolvedAt: 0, cached: false, stale: false },
    token: { issuer: 'http://127.0.0.1:8180/realms/example', audience: ['workspace-api'], azp: 'workspace-api', scope: [], expiresAt: 0 },
    diagnostics: [],
  }
}

export const run: Scenario = async ({ quick }) => {
  const big = 'a'.repeat(1 << 20)
  const policy = workspaceApiPolicy()
  const principal = alice()
  const cases: Record<string, { size: string; limitMs: number; fn: () => unknown }> = {
    'segment glob, backtracking bait': { size: '101-char pattern x 100 kB', limitMs: 500, fn: () => matchSegmentGlob(`${'*a'.repeat(50)}*b`, 'a'.repeat(100_000)) },
    'conda-store ARN, default matcher': { size: '1 MB pattern x 1 MB name', limitMs: 1000, fn: () => condaMatch(`*/${'a*'.repeat(1 << 19)}b`, `ns/${big}`, false) },
    'conda-store ARN, compat regex': { size: '1 MB pattern x 1 MB name', limitMs: 1000, fn: () => condaMatch(`*${'ab'.repeat(1 << 18)}*c/*`, `${'ab'.repeat(1 << 19)}/e`, true) },
    'workspace route, 20,000 dot-dots': { size: '60 kB path', limitMs: 500, fn: () => policy.check({ method: 'GET', path: `${'/..'.repeat(20_000)}/workspaces/ws-bob` }, principal) },
    'workspace route, 100 kB name': { size: '100 kB path', limitMs: 500, fn: () => policy.check({ method: 'GET', path: `/workspaces/ws-alice${'x'.repeat(100_000)}` }, principal) },
  }
  const tasks: Record<string, () => unknown> = {}
  for (const [name, c] of Object.entries(cases)) tasks[name] = c.fn
  const measured = await measure(tasks, { quick, time: quick ? 50 : 300 })
  return Object.entries(cases).map(([name, c]): BenchResult => ({
    scenario: `worst case: ${name}`,
    size: c.size,
    ours: measured[name]!,
    notes: target(measured[name]!.medianNs, c.limitMs),
  }))
}
