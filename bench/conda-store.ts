/**
 * conda-store environment filtering: ours (`filterEnvironments`, namespace-indexed, no regex) versus a
 * faithful TypeScript port of conda-store's per-binding regex scan (conda-store.md §4.3, §6:
 * `get_entity_permissions` compiles `^NS(?:/NAME)?$` per binding and unions the permissions of every
 * match), on 10,000 and 100,000 environments against 1,000 bindings, measured in the same run.
 *
 * Run alone: `npx tsx bench/conda-store.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url'
import { CondaStorePermissions, permissionsForRoles, upstreamArnRegex } from '../src/conda-store/index.js'
import { measure } from './measure.js'
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

/** `count` environments over 5,000 namespaces. */
export function makeEnvironments(count: number): string[] {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const k = i % 5000
    const ns = k < 3000 ? `team-${k}` : k < 4000 ? `proj-${k % 150}-x${k}` : `user-${k % 60}${k}`
    out.push(`${ns}/${i % 97 === 0 ? `shared-${i % 60}` : `env-${i}`}`)
  }
  return out
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

export const run: Scenario = async ({ quick }) => {
  const token = makeBindings()
  const all = { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...token }
  const perms = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: token }, { compat: 'conda-store' })
  const ours = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: token })
  if (ours.bindings.length !== 1000) throw new Error(`expected 1000 bindings, got ${ours.bindings.length}`)
  const results: BenchResult[] = []
  const oursMedian: Record<number, number> = {}
  for (const size of [10_000, 100_000]) {
    const envs = makeEnvironments(size)
    // Same answer first: the comparison is only meaningful if both keep the same environments.
    const expected = upstreamScan(all, envs)
    const got = ours.filterEnvironments(envs)
    if (got.length !== expected.length || got.some((e, i) => e !== expected[i])) throw new Error(`ours and the upstream port disagree at ${size} environments`)
    if (perms.filterEnvironments(envs).length !== expected.length) throw new Error('compat disagrees with the upstream port')
    const fast = await measure({ ours: () => ours.filterEnvironments(envs) }, { quick })
    const u = sample(() => upstreamScan(all, envs), quick ? 1 : 3)
    const o = fast['ours']!
    oursMedian[size] = o.medianNs
    results.push({
      scenario: 'conda-store filterEnvironments (readable)',
      size: `${size} envs x 1000 bindings`,
      ours: o,
      comparison: { name: 'conda-store regex-per-binding scan (TS port)', ...u },
      ratio: u.medianNs / o.medianNs,
      notes: `${expected.length} environments kept`,
    })
  }
  const growth = oursMedian[100_000]! / oursMedian[10_000]!
  results[1] = { ...results[1]!, notes: `${results[1]!.notes}; ours 10k→100k time x${growth.toFixed(2)} (target ≤ 10)`, target: 'growth ≤ 10× for 10× environments', met: growth <= 10, measured: `${growth.toFixed(2)}× for 10× envs` }

  // Exact-namespace bindings against the Map baseline, and explainEnvironments against filterEnvironments.
  const exact = makeExactBindings()
  const exactPerms = CondaStorePermissions.create({ primaryNamespace: 'bench', roleBindings: exact })
  const baseline = mapBaseline({ 'default/*': ['viewer'], 'filesystem/*': ['viewer'], ...exact })
  for (const size of [10_000, 100_000]) {
    const envs = makeEnvironments(size)
    const want = baseline(envs)
    const got = exactPerms.filterEnvironments(envs)
    if (got.length !== want.length || got.some((e, i) => e !== want[i])) throw new Error(`ours and the Map baseline disagree at ${size} environments`)
    if (exactPerms.explainEnvironments(envs).length !== want.length) throw new Error(`explainEnvironments and filterEnvironments disagree at ${size} environments`)
    const m = await measure(
      { filter: () => exactPerms.filterEnvironments(envs), map: () => baseline(envs), explain: () => exactPerms.explainEnvironments(envs) },
      { quick, time: quick ? 200 : 2_000 },
    )
    const r = m['filter']!.medianNs / m['map']!.medianNs
    results.push({
      scenario: 'conda-store filterEnvironments, exact ns/* bindings',
      size: `${size} envs x 1000 bindings`,
      ours: m['filter']!,
      comparison: { name: '20-line Map baseline (exact ns/* only)', ...m['map']! },
      ratio: 1 / r,
      notes: `${want.length} environments kept; baseline = one Map<namespace, readable> built once, one split + lookup per environment`,
      target: 'ours ≤ 1.5× Map baseline',
      met: r <= 1.5,
      measured: `${r.toFixed(2)}× Map`,
    })
    const e = m['explain']!.medianNs / m['filter']!.medianNs
    results.push({
      scenario: 'conda-store explainEnvironments (what serve and the CLI use)',
      size: `${size} envs x 1000 bindings`,
      ours: m['explain']!,
      comparison: { name: 'filterEnvironments (same permission set)', ...m['filter']! },
      ratio: 1 / e,
      notes: 'exact ns/* bindings; explain builds a decision with a trace per kept environment',
      target: 'explainEnvironments ≤ 2× filterEnvironments',
      met: e <= 2,
      measured: `${e.toFixed(2)}× filter`,
    })
  }
  return results
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await run({ quick: process.argv.includes('--quick') })
  for (const r of results) {
    const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`
    console.log(`${r.scenario} — ${r.size}: ours ${ms(r.ours.medianNs)} ±${r.ours.spreadPct.toFixed(1)}% (${r.ours.samples} samples), ${r.comparison?.name} ${ms(r.comparison!.medianNs)} ±${r.comparison!.spreadPct.toFixed(1)}% (${r.comparison!.samples}), ratio x${r.ratio?.toFixed(1)}; ${r.notes}`)
  }
}
