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

export const run: Scenario = async ({ quick }) => {
  if (!existsSync(CLI)) throw new Error(`bench startup: ${CLI} is missing — run npm run build first`)
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
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      const ns = Number(process.hrtime.bigint() - t0)
      if (r.status !== 0) throw new Error(`bench startup: node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 200)}`)
      if (i > 0) times[name]!.push(ns) // the first pass warms the file cache
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
      size: `bundled realm, median of ${runs} spawns`,
      ours,
      comparison: { name: 'node -e 0', ...node },
      ratio: node.medianNs / ours.medianNs,
      notes: `${extra} over node -e 0 (${(ours.medianNs / node.medianNs).toFixed(2)}× its time)`,
      target: '≤ +60 ms over node -e 0',
      met: extraMs <= 60,
      measured: `${extra} (${(ours.medianNs / node.medianNs).toFixed(2)}×)`,
    }
  })
}
