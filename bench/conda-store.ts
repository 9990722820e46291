/**
 * conda-store environment filtering: ours (`filterEnvironments`, namespace-indexed, no regex) versus a
 * faithful TypeScript port of conda-store's per-binding regex scan (conda-store.md §4.3, §6:
 * `get_entity_permissions` compiles `^NS(?:/NAME)?$` per binding and unions the permissions of every
 * match), on 10,000 and 100,000 environments against 1,000 bindings, measured in the same run.
 *
 * Run alone: `npx tsx bench/conda-store.ts [--quick]`.
 */
import { fileURLToPath, pathToFileURL } from 'node:url'
import { CondaStorePermissions, permissionsForRoles, upstreamArnRegex } from '../src/conda-store/index.js'
import { acrossProcesses, acrossSamples, measure, ratioAcross } from './measure.js'
import type { BenchResult, Measurement, Scenario } from './types.js'

/**
 * Median and relative MAD of a few timed runs. Used for the upstream port only: one run at 100k
 * environments takes tens of seconds, and tinybench's fixed 16 warm-up iterations (not configurable
 * through measure()) would make it take many minutes. Same process, same run, interleaved with ours.
 */
function sample(fn: () => unknown, samples: number): Measurement {
  fn() // one warm-up run
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint()
    fn()
    times.push(Number(process.hrtime.bigint() - t0))
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b)
    const m = s.length >> 1
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  }
  const med = median(times)
  const mad = median(times.map((t) => Math.abs(t - med)))
  return { medianNs: med, spreadPct: med > 0 ? (mad / med) * 100 : 0, samples }
}

const ROLES = ['viewer', 'developer', 'admin'] as const

/** 1,000 bindings shaped like a large Nebari deployment: mostly `ns/*`, some wildcards and per-environment grants. */
export function makeBindings(): Record<string, string[]> {
  const b: Record<string, string[]> = {}
  for (let i = 0; i < 700; i++) b[`team-${i * 3}/*`] = [ROLES[i % 3]!]
  for (let i = 0; i < 100; i++) b[`team-${i * 7 + 1}/env-${i}`] = ['admin']
  for (let i = 0; i < 100; i++) b[`proj-${i}-*/*`] = [ROLES[(i + 1) % 3]!]
  for (let i = 0; i < 50; i++) b[`*/shared-${i}`] = ['viewer']
  for (let i = 0; i < 48; i++) b[`user-${i}*/*`] = i % 5 === 0 ? [] : ['developer']
  return b // + the two authenticated defaults = 1,000
}

/**
 * `count` environments over 5,000 namespaces, as a server receives them: parsed from JSON (conda-store's
 * API page, an environment file), so each name is one flat string. Built by template concatenation alone
 * each would be a two-part cons string, two objects to read per name, which no server sees.
 */
export function makeEnvironments(count: number): string[] {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const k = i % 5000
    const ns = k < 3000 ? `team-${k}` : k < 4000 ? `proj-${k % 150}-x${k}` : `user-${k % 60}${k}`
    out.push(`${ns}/${i % 97 === 0 ? `shared-${i % 60}` : `env-${i}`}`)
  }
  return JSON.parse(JSON.stringify(out)) as string[]
}

/**
 * The upstream algorithm, ported: for each environment, for every binding, match the compiled regex and
 * union its permission set; keep the environment when `environment::read` is in the union. (Regexes and
 * permission sets are built once up front, which favours the port: upstream recomputes the role
 * conversion per call and Python's regex cache holds 512 patterns.)
 */
export function upstreamScan(bindings: Record<string, string[]>, environments: readonly string[]): string[] {
  const compiled = Object.entries(bindings).map(([arn, roles]) => ({ regex: new RegExp(upstreamArnRegex(arn)), permissions: new Set(permissionsForRoles(roles)) }))
  const out: string[] = []
  for (const env of environments) {
    const permissions = new Set<string>()
    for (const { regex, permissions: p } of compiled) if (regex.test(env)) for (const x of p) permissions.add(x)
    if (permissions.has('environment::read')) out.push(env)
  }
  return out
}

/** 1,000 exact `ns/*` bindings (no wildcard in the namespace, no per-environment grants). */
export function makeExactBindings(): Record<string, string[]> {
  const b: Record<string, string[]> = {}
  for (let i = 0; i < 1000; i++) b[`team-${i * 3}/*`] = [ROLES[i % 3]!]
  return b
}

/**
 * The 20-line Map baseline (issue 15): exact `ns/*` bindings only, indexed by namespace once; each
 * environment is one split and one Map lookup. Knows nothing of wildcards, provenance or diagnostics.
 */
export function mapBaseline(bindings: Record<string, string[]>): (environments: readonly string[]) => string[] {
  const readable = new Map<string, boolean>()
  for (const [arn, roles] of Object.entries(bindings)) {
    const ns = arn.slice(0, arn.indexOf('/'))
    readable.set(ns, (readable.get(ns) ?? false) || new Set(permissionsForRoles(roles)).has('environment::read'))
  }
  return (environments) => {
    const out: string[] = []
    for (const env of environments) {
      const slash = env.indexOf('/')
      if (readable.get(env.slice(0, slash)) === true) out.push(env)
    }
    return out
  }
}

/**
 * tinybench medians of `tasks` over `rounds` runs, the task order reversed every round, so that each
 * task's samples come from the same stretch of time as the others' (the machine is shared: a load change
 * between two separate runs would otherwise show up as a ratio). Per task: the median of the round
 * medians, the largest relative spread of a round, and the samples of all rounds.
 */
async function interleaved(tasks: Record<string, () => unknown>, rounds: number, options: { quick: boolean; time?: number }): Promise<Record<string, Measurement>> {
  const names = Object.keys(tasks)
  const perRound: Record<string, Measurement[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    const m = await measure(Object.fromEntries(order.map((n) => [n, tasks[n]!])), options)
    for (const n of names) perRound[n]!.push(m[n]!)
  }
  const out: Record<string, Measurement> = {}
  for (const n of names) {
    const ms = perRound[n]!.map((x) => x.medianNs).sort((a, b) => a - b)
    const mid = ms.length >> 1
    out[n] = {
      medianNs: ms.length % 2 ? ms[mid]! : (ms[mid - 1]! + ms[mid]!) / 2,
      spreadPct: Math.max(...perRound[n]!.map((x) => x.spreadPct)),
      samples: perRound[n]!.reduce((a, x) => a + x.samples, 0),
    }
  }
  return out
}

const SIZES = [10_000, 100_000] as const

/** What one process measures (see `run`): the growth rounds and, per size, the exact-bindings rounds. */
interface ProcessSample {
  growth: Record<string, Measurement>
  exact: Record<number, Record<string, Measurement>>
}

/**
 * One process's sample of every timed-in-rounds row. Growth is a ratio of two sizes: both are measured in
 * the same rounds (order reversed each round), with the linear reference — not in two runs a minute apart,
 * where a change in the machine's load showed up as growth (19× in one run, 6.4× in the next).
 */
async function sampleProcess(quick: boolean): Promise<ProcessSample> {
  const ours = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: makeBindings() })
  const envsOf = new Map(SIZES.map((size) => [size, makeEnvironments(size)]))
  // A linear reference on the same strings: the Map baseline (one split + lookup per environment, over
  // the same environment strings; its bindings are the exact ones, as it knows no wildcards).
  const linear = mapBaseline({ 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...makeExactBindings() })
  const growth = await interleaved(
    {
      ours10k: () => ours.filterEnvironments(envsOf.get(10_000)!),
      ours100k: () => ours.filterEnvironments(envsOf.get(100_000)!),
      linear10k: () => linear(envsOf.get(10_000)!),
      linear100k: () => linear(envsOf.get(100_000)!),
      explain10k: () => ours.explainEnvironments(envsOf.get(10_000)!),
      explain100k: () => ours.explainEnvironments(envsOf.get(100_000)!),
    },
    2,
    { quick, time: quick ? 200 : 400 },
  )
  const exact = makeExactBindings()
  const exactPerms = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: exact })
  const baseline = mapBaseline({ 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...exact })
  const exactRuns: Record<number, Record<string, Measurement>> = {}
  for (const size of SIZES) {
    const envs = envsOf.get(size)!
    // A caller that reads every decision's trace (serve and the CLI read only the bindings; `explain` output does).
    const explainAndRead = () => {
      let steps = 0
      for (const a of exactPerms.explainEnvironments(envs)) steps += a.decision.trace.length
      return steps
    }
    // Same rounds, order reversed each round: the ratios compare samples from the same stretch of time.
    exactRuns[size] = await interleaved(
      { filter: () => exactPerms.filterEnvironments(envs), map: () => baseline(envs), explain: () => exactPerms.explainEnvironments(envs), explainRead: explainAndRead },
      2,
      { quick, time: quick ? 200 : 300 },
    )
  }
  return { growth, exact: exactRuns }
}

/**
 * Processes per full run. Each is one sample of the rows timed in rounds: a process's JIT and heap layout
 * moved the exact-bindings ratio at 100k from 0.90× to 1.52× between two full runs. Their figures are the
 * median over processes, each target's verdict the median of the per-process ratios.
 */
const PROCESSES = 5

export const run: Scenario = async ({ quick }) => {
  const token = makeBindings()
  const all = { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...token }
  const perms = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: token }, { compat: 'conda-store' })
  const ours = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: token })
  if (ours.bindings.length !== 1000) throw new Error(`expected 1000 bindings, got ${ours.bindings.length}`)
  const results: BenchResult[] = []
  const envsOf = new Map(SIZES.map((size) => [size, makeEnvironments(size)]))
  const expectedOf = new Map<number, string[]>()
  for (const size of SIZES) {
    const envs = envsOf.get(size)!
    // Same answer first: the comparison is only meaningful if both keep the same environments.
    const expected = upstreamScan(all, envs)
    const got = ours.filterEnvironments(envs)
    if (got.length !== expected.length || got.some((e, i) => e !== expected[i])) throw new Error(`ours and the upstream port disagree at ${size} environments`)
    if (perms.filterEnvironments(envs).length !== expected.length) throw new Error('compat disagrees with the upstream port')
    expectedOf.set(size, expected)
  }
  const exact = makeExactBindings()
  const exactPerms = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: exact })
  const baseline = mapBaseline({ 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...exact })
  const keptExact = new Map<number, number>()
  for (const size of SIZES) {
    const envs = envsOf.get(size)!
    const want = baseline(envs)
    const got = exactPerms.filterEnvironments(envs)
    if (got.length !== want.length || got.some((e, i) => e !== want[i])) throw new Error(`ours and the Map baseline disagree at ${size} environments`)
    if (exactPerms.explainEnvironments(envs).length !== want.length) throw new Error(`explainEnvironments and filterEnvironments disagree at ${size} environments`)
    keptExact.set(size, want.length)
  }
  // The rows timed in rounds, in fresh processes first (before the upstream port's runs: tens of seconds of garbage).
  const samples = acrossProcesses<ProcessSample>(fileURLToPath(import.meta.url), quick ? ['--quick'] : [], quick ? 1 : PROCESSES)
  const growthSamples = samples.map((s) => s.growth)
  const growthRun = acrossSamples(growthSamples)
  for (const size of SIZES) {
    const envs = envsOf.get(size)!
    const u = sample(() => upstreamScan(all, envs), quick ? 1 : 3)
    const o = growthRun[size === 10_000 ? 'ours10k' : 'ours100k']!
    results.push({
      scenario: 'conda-store filterEnvironments (readable)',
      size: `${size} envs x 1000 bindings`,
      ours: o,
      comparison: { name: 'conda-store regex-per-binding scan (TS port)', ...u },
      ratio: u.medianNs / o.medianNs,
      notes: `${expectedOf.get(size)!.length} environments kept`,
    })
  }
  // explainEnvironments with these bindings: every namespace has a name-dependent binding (`*/shared-k`), so no
  // environment is kept on its namespace's verdict alone (issue 15 measured 25.5 ms against 4.4 ms here).
  for (const size of SIZES) {
    const key = size === 10_000 ? '10k' : '100k'
    const e = ratioAcross(growthSamples, `explain${key}`, `ours${key}`)
    results.push({
      scenario: 'conda-store explainEnvironments, mixed bindings',
      size: `${size} envs x 1000 bindings`,
      ours: growthRun[`explain${key}`]!,
      comparison: { name: 'filterEnvironments (same permission set)', ...growthRun[`ours${key}`]! },
      ratio: growthRun[`ours${key}`]!.medianNs / growthRun[`explain${key}`]!.medianNs,
      notes: 'the bindings of the rows above (exact, wildcard-namespace, per-environment and `*/name` grants); each kept environment gets its granting bindings (frozen lists shared within a namespace per name-dependent grant; a new list only where two or more name-dependent bindings grant) and a decision made when read: one object and its name string per kept environment',
      target: 'explainEnvironments ≤ 2× filterEnvironments',
      met: e.mid <= 2,
      measured: `${e.mid.toFixed(2)}× filter (${e.list})`,
    })
  }
  const growth = ratioAcross(growthSamples, 'ours100k', 'ours10k')
  const linearGrowth = ratioAcross(growthSamples, 'linear100k', 'linear10k')
  // A linear pass does not grow exactly 10× here: 10,000 environment strings fit in a core's L2 cache,
  // 100,000 do not, so the Map baseline itself grows 10.6–13× on this machine. The target stays as the
  // issue states it (≤ 10×); the baseline's growth in the same rounds is printed beside it, so a miss
  // that a linear pass shares can be told from one of ours.
  results[1] = {
    ...results[1]!,
    notes: `${results[1]!.notes}; ours 10k→100k time x${growth.mid.toFixed(2)} (${growth.list}), the Map baseline's over the same strings x${linearGrowth.mid.toFixed(2)} (${linearGrowth.list}; same rounds; the target is ≤ 10 whatever the baseline does)`,
    target: 'growth ≤ 10× for 10× environments',
    met: growth.mid <= 10,
    measured: `${growth.mid.toFixed(2)}× for 10× envs (Map baseline, same processes: ${linearGrowth.mid.toFixed(2)}×; ${growth.list})`,
  }

  // Exact-namespace bindings against the Map baseline, and explainEnvironments against filterEnvironments.
  for (const size of SIZES) {
    const perProcess = samples.map((s) => s.exact[size]!)
    const m = acrossSamples(perProcess)
    const r = ratioAcross(perProcess, 'filter', 'map')
    results.push({
      scenario: 'conda-store filterEnvironments, exact ns/* bindings',
      size: `${size} envs x 1000 bindings`,
      ours: m['filter']!,
      comparison: { name: '20-line Map baseline (exact ns/* only)', ...m['map']! },
      ratio: m['map']!.medianNs / m['filter']!.medianNs,
      notes: `${keptExact.get(size)} environments kept; baseline = one Map<namespace, readable> built once, one split + lookup per environment`,
      target: 'ours ≤ 1.5× Map baseline',
      met: r.mid <= 1.5,
      measured: `${r.mid.toFixed(2)}× Map (${r.list})`,
    })
    const e = ratioAcross(perProcess, 'explain', 'filter')
    results.push({
      scenario: 'conda-store explainEnvironments (what serve and the CLI use)',
      size: `${size} envs x 1000 bindings`,
      ours: m['explain']!,
      comparison: { name: 'filterEnvironments (same permission set)', ...m['filter']! },
      ratio: m['filter']!.medianNs / m['explain']!.medianNs,
      notes: 'exact ns/* bindings; each kept environment gets its granting bindings (shared per namespace) and a decision made when read',
      target: 'explainEnvironments ≤ 2× filterEnvironments',
      met: e.mid <= 2,
      measured: `${e.mid.toFixed(2)}× filter (${e.list})`,
    })
    results.push({
      scenario: 'conda-store explainEnvironments, every decision and trace read',
      size: `${size} envs x 1000 bindings`,
      ours: m['explainRead']!,
      comparison: { name: 'filterEnvironments (same permission set)', ...m['filter']! },
      ratio: m['filter']!.medianNs / m['explainRead']!.medianNs,
      notes: 'exact ns/* bindings; no target: what a caller pays that reads every trace (as explain output does)',
    })
  }
  return results
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--bench-child')) {
  // One process's sample (see `run`), printed as one JSON line.
  process.stdout.write(`${JSON.stringify(await sampleProcess(process.argv.includes('--quick')))}\n`)
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await run({ quick: process.argv.includes('--quick') })
  for (const r of results) {
    const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`
    console.log(`${r.scenario} — ${r.size}: ours ${ms(r.ours.medianNs)} ±${r.ours.spreadPct.toFixed(1)}% (${r.ours.samples} samples), ${r.comparison?.name} ${ms(r.comparison!.medianNs)} ±${r.comparison!.spreadPct.toFixed(1)}% (${r.comparison!.samples}), ratio x${r.ratio?.toFixed(1)}; ${r.notes}`)
  }
}
