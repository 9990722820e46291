/**
 * Access review at scale (issue 15 item 6): a generated realm with 50 groups, 200 namespaces and 100
 * workspaces, at 1,000 / 2,000 / 4,000 / 10,000 users. `report` = resolve every user, build the access
 * matrix (with lint) and render the HTML page; `diff` = resolve both realms and compare them (a group
 * mapping, an attribute edit, a membership change and a removed user). The comparison for `report` is
 * resolving every user's component view with the CLI engine (`resolve --json` for each user), i.e. what a
 * script looping over `resolve` would pay.
 *
 * A 10,000-user report takes tens of seconds, so each size is run once (after a warm-up at 250 users),
 * timed by the wall clock and by the process's CPU time (`process.cpuUsage`, all threads: the garbage
 * collector's included), which a loaded machine disturbs less. The target row: the CPU time per user at
 * the largest size within 1.5× of that at 1,000 users (linear in users); the wall-clock ratio is printed
 * next to it (on a shared machine it mostly measures the other jobs).
 */
import { Engine } from '../src/cli/engine.js'
import { RealmExportSource } from '../src/keycloak/index.js'
import { accessMatrix, diffAccess, renderAccessReport, type ReviewInput } from '../src/review/index.js'
import { generateRealm } from '../test/review/generate-realm.js'
import type { BenchResult, Measurement, Scenario } from './types.js'

const SHAPE = { groups: 50, namespaces: 200, workspaces: 100 }
const LINEAR = 1.5

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

interface Timed<T> {
  value: T
  wallNs: number
  cpuNs: number
}

async function timed<T>(f: () => T | Promise<T>): Promise<Timed<T>> {
  ;(globalThis as { gc?: () => void }).gc?.()
  const cpu = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const value = await f()
  const wallNs = Number(process.hrtime.bigint() - t0)
  const used = process.cpuUsage(cpu)
  return { value, wallNs, cpuNs: (used.user + used.system) * 1_000 }
}

const once = (ns: number): Measurement => ({ medianNs: ns, spreadPct: 0, samples: 1 })
const s = (ns: number) => `${(ns / 1e9).toFixed(2)} s`

export const run: Scenario = async ({ quick }) => {
  const sizes = quick ? [1000, 2000] : [1000, 2000, 4000, 10000]
  const results: BenchResult[] = []
  const perUser: Record<'report' | 'diff', Array<{ users: number; wallNs: number; cpuNs: number }>> = { report: [], diff: [] }
  // Warm-up: the JIT compiles the review once before anything is timed.
  {
    const source = new RealmExportSource(generateRealm({ users: 250, ...SHAPE }))
    renderAccessReport(accessMatrix(snapshot(source)), 'html')
  }
  for (const users of sizes) {
    const realm = generateRealm({ users, ...SHAPE })
    const next = changed(realm)
    const source = new RealmExportSource(realm)
    const engine = new Engine({ source: { description: 'bench', source, realmExport: source } })
    const report = await timed(() => {
      const matrix = accessMatrix(snapshot(source))
      const grants = matrix.users.reduce((n, u) => n + u.grants.length, 0)
      return { grants, bytes: renderAccessReport(matrix, 'html').length }
    })
    const resolveAll = await timed(async () => {
      for (const user of source.usernames()) await engine.resolveJson(user)
    })
    const diff = await timed(() => diffAccess(snapshot(new RealmExportSource(realm)), snapshot(new RealmExportSource(next))).changes.length)
    perUser.report.push({ users, wallNs: report.wallNs / users, cpuNs: report.cpuNs / users })
    perUser.diff.push({ users, wallNs: diff.wallNs / users, cpuNs: diff.cpuNs / users })
    const size = `${users} users × ${SHAPE.groups} groups × ${SHAPE.namespaces} namespaces × ${SHAPE.workspaces} workspaces`
    const last = users === sizes[sizes.length - 1] && users > sizes[0]!
    const linearity = (kind: 'report' | 'diff') => {
      const base = perUser[kind][0]!
      const here = perUser[kind][perUser[kind].length - 1]!
      const wall = here.wallNs / base.wallNs
      const cpu = here.cpuNs / base.cpuNs
      return {
        target: `linear in users: CPU time per user at ${users} ≤ ${LINEAR}× that at ${base.users}`,
        met: cpu <= LINEAR,
        measured: `${cpu.toFixed(2)}× per user (CPU), ${wall.toFixed(2)}× (wall) at ${users / base.users}× users`,
      }
    }
    results.push({
      scenario: 'review report (resolve + matrix + lint + HTML)',
      size,
      ours: once(report.wallNs),
      comparison: { name: 'Engine.resolveJson per user', ...once(resolveAll.wallNs) },
      ratio: resolveAll.wallNs / report.wallNs,
      notes: `${report.value.grants} grants, HTML ${(report.value.bytes / 1e6).toFixed(1)} MB; wall ${s(report.wallNs)}, CPU ${s(report.cpuNs)} (one run)`,
      ...(last ? linearity('report') : {}),
    })
    results.push({
      scenario: 'review diff (two realms: load, resolve, matrices, causes)',
      size,
      ours: once(diff.wallNs),
      notes: `${diff.value} permission changes; wall ${s(diff.wallNs)}, CPU ${s(diff.cpuNs)} (one run)`,
      ...(last ? linearity('diff') : {}),
    })
  }
  return results
}
