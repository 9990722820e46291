/**
 * Access review at scale (issue 15 item 6): a generated realm with 50 groups, 200 namespaces and 100
 * workspaces, at 1,000 and 10,000 users. `report` = resolve every user, build the access matrix (with
 * lint) and render the HTML page; `diff` = resolve both realms and compare them (a group mapping, an
 * attribute edit, a membership change and a removed user). The comparison for `report` is resolving
 * every user's component view with the CLI engine (`resolve --json` for each user), i.e. what a script
 * looping over `resolve` would pay.
 *
 * A 10,000-user report or diff is a single run of tens of seconds, and one such run per size on a shared
 * 2-core machine flipped the linearity verdict between runs (diff 2.14× then 1.09× per user). So each
 * size is run several times, interleaved (1k, 10k, 1k, 10k, 1k: a change of machine load hits both sizes
 * alike), each run after a full garbage collection with nothing of the previous run alive, and timed by
 * the process's CPU time (`process.cpuUsage`: the review is single-threaded JavaScript; the figure
 * includes V8's garbage-collection helper threads, so GC work counts), which other jobs disturb far less
 * than the wall clock. The target row: the CPU time per user of the fastest 10,000-user run within 1.5×
 * of that of the fastest 1,000-user run (linear in users); the ratio of the medians, the runs' spread, the wall-clock ratio and
 * the share of garbage collection are printed next to it.
 */
import { Engine } from '../src/cli/engine.js'
import { RealmExportSource } from '../src/keycloak/index.js'
import { accessMatrix, diffAccess, renderAccessReport, type ReviewInput } from '../src/review/index.js'
import { generateRealm } from '../test/review/generate-realm.js'
import { cpuRun, median, medianOfRuns, type CpuRun } from './measure.js'
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

/** What one review run starts from: the realm export(s) as parsed JSON (the sources are built inside the timed run). */
interface Realms {
  readonly users: number
  readonly before: unknown
  readonly after: unknown
}

// Each task builds everything it needs from the realm JSON and returns only small figures, so nothing of
// a run stays alive into the next one (a 10,000-user matrix is over a gigabyte of heap).
function report(realms: Realms) {
  const matrix = accessMatrix(snapshot(new RealmExportSource(realms.before)))
  const grants = matrix.users.reduce((n, u) => n + u.grants.length, 0)
  return { grants, bytes: renderAccessReport(matrix, 'html').length }
}

function diff(realms: Realms) {
  return diffAccess(snapshot(new RealmExportSource(realms.before)), snapshot(new RealmExportSource(realms.after))).changes.length
}

async function resolveAll(realms: Realms) {
  const source = new RealmExportSource(realms.before)
  const engine = new Engine({ source: { description: 'bench', source, realmExport: source } })
  for (const user of source.usernames()) await engine.resolveJson(user)
}

type Kind = 'report' | 'diff'

const seconds = (ns: number) => `${(ns / 1e9).toFixed(2)} s`
const min = (values: readonly number[]) => Math.min(...values)

export const run: Scenario = async ({ quick }) => {
  const [small, large] = quick ? [250, 1000] : [1000, 10000]
  // Interleaved and symmetric: small, large, small, large, small (a 10,000-user report and diff take about
  // a minute together, so two of those keep the scenario near its former two and a half minutes).
  const order = quick ? [small, large, small] : [small, large, small, large, small]
  const realms = [small, large].map((users): Realms => {
    const before = generateRealm({ users, ...SHAPE })
    return { users, before, after: changed(before) }
  })
  // Warm-up: the JIT compiles the report and the diff before anything is timed (a single warm-up run
  // left the first timed round up to 2× slower than the next).
  const warm = generateRealm({ users: 250, ...SHAPE })
  for (let i = 0; i < 2; i++) {
    report({ users: 250, before: warm, after: undefined })
    diff({ users: 250, before: warm, after: changed(warm) })
  }
  const runs = new Map<string, { report: CpuRun<{ grants: number; bytes: number }>[]; diff: CpuRun<number>[]; resolveAll?: CpuRun<void> }>()
  for (const users of order) {
    const r = realms.find((x) => x.users === users)!
    const entry = runs.get(String(users)) ?? { report: [], diff: [] }
    runs.set(String(users), entry)
    entry.report.push(await cpuRun(() => report(r)))
    entry.diff.push(await cpuRun(() => diff(r)))
    // The comparison is measured once per size (it is context for the report row, not a target).
    entry.resolveAll ??= await cpuRun(() => resolveAll(r))
  }
  const perUserCpu = (kind: Kind, users: number) => runs.get(String(users))![kind].map((x) => x.cpuNs / users)
  const perUserWall = (kind: Kind, users: number) => runs.get(String(users))![kind].map((x) => x.wallNs / users)
  const results: BenchResult[] = []
  for (const { users } of realms) {
    const entry = runs.get(String(users))!
    const size = `${users} users × ${SHAPE.groups} groups × ${SHAPE.namespaces} namespaces × ${SHAPE.workspaces} workspaces`
    const describe = (list: readonly CpuRun<unknown>[]) => {
      const gcShare = list.map((x) => (x.gcNs / x.cpuNs) * 100)
      return `CPU per run ${list.map((x) => seconds(x.cpuNs)).join(', ')}; wall ${list.map((x) => seconds(x.wallNs)).join(', ')}; time in GC ${median(gcShare).toFixed(0)}% of the CPU time (median; V8's GC profile, which counts GC phases' elapsed time, so it reads high on a loaded machine; ${min(list.map((x) => x.fullGcs))}–${Math.max(...list.map((x) => x.fullGcs))} full GCs), peak heap ${(Math.max(...list.map((x) => x.peakHeapBytes)) / 2 ** 20).toFixed(0)} MB`
    }
    const linearity = (kind: Kind): Partial<BenchResult> => {
      if (users !== large) return {}
      // The fastest run of each size: load from other jobs only adds CPU time (a busy sibling core slows
      // the same work by up to a third here), so the minimum is the least disturbed figure.
      const fastest = min(perUserCpu(kind, large)) / min(perUserCpu(kind, small))
      const medians = median(perUserCpu(kind, large)) / median(perUserCpu(kind, small))
      const wall = min(perUserWall(kind, large)) / min(perUserWall(kind, small))
      const spread = (u: number) => medianOfRuns(perUserCpu(kind, u)).spreadPct.toFixed(0)
      const counts = `${order.filter((u) => u === small).length} + ${order.filter((u) => u === large).length}`
      return {
        target: `linear in users: CPU time per user at ${large} ≤ ${LINEAR}× that at ${small}`,
        met: fastest <= LINEAR,
        measured: `${fastest.toFixed(2)}× per user at ${large / small}× users (process CPU, fastest of ${counts} interleaved runs; medians ${medians.toFixed(2)}×, spread ${spread(small)}% / ${spread(large)}%, wall ${wall.toFixed(2)}×)`,
      }
    }
    const cpuOf = (list: readonly CpuRun<unknown>[]): Measurement => medianOfRuns(list.map((x) => x.cpuNs))
    const reportCpu = cpuOf(entry.report)
    const resolveCpu = entry.resolveAll!.cpuNs
    results.push({
      scenario: 'review report (resolve + matrix + lint + HTML; process CPU time)',
      size,
      ours: reportCpu,
      comparison: { name: 'Engine.resolveJson per user (one run)', medianNs: resolveCpu, spreadPct: 0, samples: 1 },
      ratio: resolveCpu / reportCpu.medianNs,
      notes: `${entry.report[0]!.value.grants} grants, HTML ${(entry.report[0]!.value.bytes / 1e6).toFixed(1)} MB; ${describe(entry.report)}`,
      ...linearity('report'),
    })
    results.push({
      scenario: 'review diff (two realms: load, resolve, matrices, causes; process CPU time)',
      size,
      ours: cpuOf(entry.diff),
      notes: `${entry.diff[0]!.value} permission changes; ${describe(entry.diff)}`,
      ...linearity('diff'),
    })
  }
  return results
}
