/**
 * Access review at scale: a generated realm with 50 groups, 200 namespaces and 100 workspaces, at
 * 250 / 500 / 1,000 users. `report` = resolve every user, build the access matrix (with lint) and
 * render the HTML page; `diff` = resolve both realms and compare them (a group mapping, an attribute
 * edit, a membership change and a removed user). The comparison for `report` is resolving every
 * user's component view with the CLI engine (`resolve --json` for each user), i.e. what a script
 * looping over `resolve` would pay.
 */
import { Engine } from '../src/cli/engine.js'
import { RealmExportSource } from '../src/keycloak/index.js'
import { accessMatrix, diffAccess, renderAccessReport, type ReviewInput } from '../src/review/index.js'
import { generateRealm } from '../test/review/generate-realm.js'
import { measure } from './measure.js'
import type { BenchResult, Scenario } from './types.js'

const SHAPE = { groups: 50, namespaces: 200, workspaces: 100 }

function snapshot(source: RealmExportSource): ReviewInput {
  return { principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() }
}

function changed(realm: any): any {
  const next = structuredClone(realm)
  next.groups[0].subGroups[0].clientRoles['ws-5'] = ['ws_admin']
  next.roles.client.conda_store.find((r: any) => r.name === 'ns-3-scopes').attributes.scopes = ['admin!namespace=ns-3']
  next.users[10].groups.push('/admin')
  next.users.splice(20, 1)
  return next
}

export const run: Scenario = async ({ quick }) => {
  const results: BenchResult[] = []
  for (const users of quick ? [250, 1000] : [250, 500, 1000]) {
    const realm = generateRealm({ users, ...SHAPE })
    const next = changed(realm)
    const source = new RealmExportSource(realm)
    const engine = new Engine({ source: { description: 'bench', source, realmExport: source } })
    let grants = 0
    let changes = 0
    const m = await measure(
      {
        report: () => {
          const matrix = accessMatrix(snapshot(source))
          grants = matrix.users.reduce((n, u) => n + u.grants.length, 0)
          return renderAccessReport(matrix, 'html').length
        },
        resolveAll: async () => {
          for (const user of source.usernames()) await engine.resolveJson(user)
        },
        diff: () => {
          changes = diffAccess(snapshot(new RealmExportSource(realm)), snapshot(new RealmExportSource(next))).changes.length
        },
      },
      { quick, time: 1 },
    )
    const size = `${users} users × ${SHAPE.groups} groups × ${SHAPE.namespaces} namespaces × ${SHAPE.workspaces} workspaces`
    results.push({
      scenario: 'review report (resolve + matrix + lint + HTML)',
      size,
      ours: m['report']!,
      comparison: { name: 'Engine.resolveJson per user', ...m['resolveAll']! },
      ratio: m['resolveAll']!.medianNs / m['report']!.medianNs,
      notes: `${grants} grants`,
    })
    results.push({
      scenario: 'review diff (two realms: load, resolve, matrices, causes)',
      size,
      ours: m['diff']!,
      notes: `${changes} permission changes`,
    })
  }
  return results
}
