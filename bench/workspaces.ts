/**
 * The workspace rule (performance.md §2): the user holds `ws_access` on N workspace clients; decide one
 * path, allow (`/workspaces/ws-0/files`) and deny (`/workspaces/bar/files`), at N = 10 and 1,000, from a
 * prepared principal. Ours (path normalisation + claim-indexed lookup + decision value with trace)
 * against a bare `resource_access[ws].roles.includes('ws_access')` lookup, `@casl/ability` (one rule
 * per workspace, as users write it) and `casbin` (RBAC + keyMatch2), all measured in the same run.
 * `ws-0` is the first rule defined: CASL checks it last, casbin's first policy matches it.
 */
import { createMongoAbility, subject } from '@casl/ability'
import { newEnforcer, newModelFromString } from 'casbin'
import type { EffectiveRole, Principal } from '../src/index.js'
import { workspaceApiPolicy } from '../src/workspaces/index.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && r.act == p.act
`

function preparedPrincipal(n: number): Principal {
  const clientRoles: Record<string, readonly EffectiveRole[]> = {}
  for (let i = 0; i < n; i++) clientRoles[`ws-${i}`] = [{ client: `ws-${i}`, name: 'ws_access', attributes: {}, via: [] }]
  return {
    realm: 'example',
    userId: 'u-alice',
    username: 'alice',
    groups: [],
    realmRoles: [],
    clientRoles,
    complete: { groups: false, realmRoles: true, attributes: false, provenance: false },
    origin: { kind: 'token', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}

/** The baseline: split the path, then look the workspace up in the token's resource_access. */
function bareLookup(resourceAccess: Record<string, { roles: string[] }>, path: string): boolean {
  const segments = path.split('/')
  if (segments[1] !== 'workspaces' || !segments[2]) return false
  return resourceAccess[segments[2]]?.roles.includes('ws_access') ?? false
}

export const run: Scenario = async ({ quick }) => {
  const results: BenchResult[] = []
  const policy = workspaceApiPolicy()
  const paths = { allow: '/workspaces/ws-0/files', deny: '/workspaces/bar/files' }
  let sink = 0
  for (const n of [10, 1_000]) {
    const principal = preparedPrincipal(n)
    const resourceAccess: Record<string, { roles: string[] }> = {}
    for (let i = 0; i < n; i++) resourceAccess[`ws-${i}`] = { roles: ['ws_access'] }

    const ability = createMongoAbility(Array.from({ length: n }, (_, i) => ({ action: 'access', subject: 'Workspace', conditions: { name: `ws-${i}` } })))
    const casl = (path: string) => {
      const segments = path.split('/')
      return segments[1] === 'workspaces' && ability.can('access', subject('Workspace', { name: segments[2] }))
    }

    const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL))
    await enforcer.addPolicies(Array.from({ length: n }, (_, i) => [`ws-${i}`, `/workspaces/ws-${i}/*`, 'GET']))
    await enforcer.addGroupingPolicies(Array.from({ length: n }, (_, i) => ['alice', `ws-${i}`]))
    const casbin = (path: string) => enforcer.enforceSync('alice', path, 'GET')

    // Every implementation must agree before it is timed.
    for (const [kind, path] of Object.entries(paths)) {
      const want = kind === 'allow'
      const got = [policy.check({ method: 'GET', path }, principal).allowed, bareLookup(resourceAccess, path), casl(path), casbin(path)]
      if (got.some((g) => g !== want)) throw new Error(`bench workspaces: implementations disagree on ${path} at N=${n}: ${got}`)
    }

    const tasks: Record<string, () => unknown> = {}
    for (const [kind, path] of Object.entries(paths)) {
      const request = { method: 'GET', path }
      tasks[`ours ${kind}`] = () => (sink += policy.check(request, principal).allowed ? 1 : 0)
      tasks[`bare ${kind}`] = () => (sink += bareLookup(resourceAccess, path) ? 1 : 0)
      tasks[`casl ${kind}`] = () => (sink += casl(path) ? 1 : 0)
      tasks[`casbin ${kind}`] = () => (sink += casbin(path) ? 1 : 0)
    }
    const m = await measure(tasks, { quick })
    for (const kind of ['allow', 'deny'] as const) {
      const ours = m[`ours ${kind}`]!
      for (const [name, label] of [
        ['bare', 'bare resource_access lookup'],
        ['casl', '@casl/ability, one rule per workspace'],
        ['casbin', 'casbin RBAC + keyMatch2'],
      ] as const) {
        const other = m[`${name} ${kind}`]!
        results.push({
          scenario: `workspace rule ${kind}`,
          size: `${n} workspaces per user`,
          ours,
          comparison: { name: label, ...other },
          ratio: other.medianNs / ours.medianNs,
        })
      }
    }
  }
  if (sink === -1) console.log(sink)
  return results
}
