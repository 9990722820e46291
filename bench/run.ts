/**
 * The benchmark runner: `npm run bench [-- --json [FILE]] [--quick] [--only name,name]`.
 * Every scenario measures ours and its comparison in the same process run (tinybench: warm-up,
 * several samples); the table reports the median, the spread and the ratio.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { arch, cpus, totalmem } from 'node:os'
import type { BenchResult, Scenario } from './types.js'

const modules: Record<string, () => Promise<{ run: Scenario }>> = {
  workspaces: () => import('./workspaces.js'),
  token: () => import('./token.js'),
  'conda-store': () => import('./conda-store.js'),
  jupyterhub: () => import('./jupyterhub.js'),
  memory: () => import('./memory.js'),
  review: () => import('./review.js'),
  adversarial: () => import('./adversarial.js'),
}

const README_START = '<!-- bench:start -->'
const README_END = '<!-- bench:end -->'

function parse(argv: string[]) {
  let json: string | undefined
  let quick = false
  let only: Set<string> | undefined
  let readme: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') json = argv[i + 1] && !argv[i + 1]!.startsWith('--') ? argv[++i]! : '-'
    else if (arg === '--quick') quick = true
    else if (arg === '--only') only = new Set(argv[++i]!.split(','))
    else if (arg === '--readme') readme = argv[++i] ?? 'README.md'
    else throw new Error(`bench: unknown argument ${arg}`)
  }
  return { json, quick, only, readme }
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(0)} ns`
}

function markdown(results: BenchResult[]): string {
  const rows = ['| scenario | size | ours (median ± spread) | comparison | comparison median | ratio |', '|---|---|---|---|---|---|']
  for (const r of results) {
    rows.push(
      `| ${r.scenario} | ${r.size} | ${formatNs(r.ours.medianNs)} ± ${r.ours.spreadPct.toFixed(1)}% | ${r.comparison?.name ?? '—'} | ${
        r.comparison ? `${formatNs(r.comparison.medianNs)} ± ${r.comparison.spreadPct.toFixed(1)}%` : '—'
      } | ${r.ratio !== undefined ? `${r.ratio >= 10 ? r.ratio.toFixed(0) : r.ratio.toFixed(2)}×` : '—'} |`,
    )
  }
  return rows.join('\n')
}

async function main() {
  const { json, quick, only, readme } = parse(process.argv.slice(2))
  const results: BenchResult[] = []
  for (const [name, load] of Object.entries(modules)) {
    if (only && !only.has(name)) continue
    const { run } = await load()
    process.stderr.write(`bench: ${name}…\n`)
    results.push(...(await run({ quick })))
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} (${arch()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
  if (json === '-') process.stdout.write(`${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`)
  else {
    if (json) writeFileSync(json, `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`)
    process.stdout.write(`Machine: ${machine}${quick ? ' (quick run)' : ''}\n\n${markdown(results)}\n`)
    for (const r of results) if (r.notes) process.stdout.write(`\n- ${r.scenario} (${r.size}): ${r.notes}`)
    process.stdout.write('\n')
  }
  if (readme) {
    // Regenerates the README's "Performance" table in place, between the bench markers.
    const text = readFileSync(readme, 'utf8')
    const start = text.indexOf(README_START)
    const end = text.indexOf(README_END)
    if (start === -1 || end < start) throw new Error(`bench: ${readme} has no ${README_START} … ${README_END} block`)
    const notes = results.filter((r) => r.notes).map((r) => `- ${r.scenario} (${r.size}): ${r.notes}`)
    const block = [
      README_START,
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}${quick ? ' (quick run)' : ''}; ratio = comparison ÷ ours (above 1: ours is faster).`,
      '',
      markdown(results),
      ...(notes.length ? ['', ...notes] : []),
      README_END,
    ].join('\n')
    writeFileSync(readme, text.slice(0, start) + block + text.slice(end + README_END.length))
  }
}

await main()
