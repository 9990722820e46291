/**
 * Permission tests at realm scale: a generated realm of 1,000 users (50 groups, 200 namespaces, 100
 * workspaces) and an expectations file of six cases, four of them quantified over groups or every
 * user — about 3,000 registry checks. Ours = parse + run the file over principals resolved once; the
 * comparison is the same checks made one by one with `registry.check` (what a hand-written loop over
 * `check` pays), so the ratio is the runner's own overhead.
 */
import { createRegistry, type RegistryCheck } from '../src/components/index.js'
import { RealmExportSource } from '../src/keycloak/index.js'
import { parseExpectations, runExpectations } from '../src/review/index.js'
import { generateRealm } from '../test/review/generate-realm.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

const FILE = `cases:
  - everyone: true
    condaStore: environment::read ns-0/env
    expect: deny
  - everyone: true
    route: GET /workspaces/ws-1/files
    expect: deny
  - members: /admin
    jupyterhub: admin:users
    expect: allow
  - outside: /admin
    jupyterhub: admin:users
    expect: deny
  - user: user-0001
    condaStore: environment::read ns-1/env
    expect: allow
  - user: user-0002
    route: GET /workspaces/ws-2
    expect: allow
`

export const run: Scenario = async ({ quick }) => {
  const source = new RealmExportSource(generateRealm({ users: 1000, groups: 50, namespaces: 200, workspaces: 100 }))
  const principals = source.usernames().map((u) => source.resolveSync(u))
  const groups = source.groupPaths()
  const registry = createRegistry()
  const expectations = parseExpectations(FILE, 'bench.yaml')
  const checks: RegistryCheck[] = [
    { component: 'conda-store', action: 'environment::read', resource: 'ns-0/env' },
    { component: 'workspaces', action: 'GET', resource: '/workspaces/ws-1/files' },
    { component: 'jupyterhub', action: 'admin:users' },
  ]
  let sink = 0
  const m = await measure(
    {
      ours: async () => {
        const report = await runExpectations(parseExpectations(FILE, 'bench.yaml'), { principals, groups, registry })
        sink += report.failed
      },
      loop: async () => {
        for (const check of checks) for (const p of principals) sink += (await registry.check(p, check)).decision.allowed ? 1 : 0
      },
    },
    { quick, time: quick ? 500 : 3_000 },
  )
  const covered = (await runExpectations(expectations, { principals, groups, registry })).cases.reduce((n, c) => n + c.outcomes.length, 0)
  if (sink < 0) console.log(sink)
  return [
    {
      scenario: 'permission tests (keycloak-permissions test)',
      size: `1,000 users x 6 cases (${covered} checks)`,
      ours: m['ours']!,
      comparison: { name: 'the same quantified checks with registry.check in a loop (3,000)', ...m['loop']! },
      ratio: m['loop']!.medianNs / m['ours']!.medianNs,
      notes: 'principals resolved once, outside the timing; the comparison makes 3,000 of the checks, ours makes every one of the file',
    },
  ]
}
