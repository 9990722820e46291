/**
 * Upstream's own tests, ported (`npm run upstream`, part of `npm test`): every case of ./cases/ in every
 * mode of its component (JupyterHub 5.x and 6.0; conda-store/Nebari compat and default). Prints one line
 * per failure and ends with the plain line `upstream: N passed, M failed` (N and M count runs, one per
 * case and mode). Options: `--list` prints every case with its upstream file, test, parameters, commit
 * and modes; `--not-runnable` prints the upstream tests we do not run and why. Exit status is non-zero
 * on any failure.
 */
import { allCases, notRunnable } from './cases/index.js'

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--not-runnable')) {
    for (const n of notRunnable) console.log(`${n.file}: ${n.tests.join(', ')}\n  ${n.why}`)
    return
  }
  const list = args.includes('--list')
  let passed = 0
  let failed = 0
  const perFile = new Map<string, number>()
  for (const c of allCases) {
    perFile.set(c.file, (perFile.get(c.file) ?? 0) + 1)
    if (list) console.log(`${c.file} @ ${c.commit.slice(0, 8)} :: ${c.test}[${c.params}] (${c.modes.join(', ')})${c.differs ? ` — differs: ${c.differs}` : ''}`)
    for (const mode of c.modes) {
      let failure: string | undefined
      try {
        failure = await (c.run as (m: typeof mode) => string | undefined | Promise<string | undefined>)(mode)
      } catch (err) {
        failure = `threw ${(err as Error)?.stack ?? String(err)}`
      }
      if (failure === undefined) passed++
      else {
        failed++
        console.log(`FAIL ${c.file} :: ${c.test}[${c.params}] (${mode}): ${failure}`)
      }
    }
  }
  for (const [file, count] of perFile) console.log(`  ${count} cases from ${file}`)
  console.log(`  ${allCases.length} cases, ${notRunnable.reduce((n, x) => n + x.tests.length, 0)} upstream tests or test groups not run (npm run upstream -- --not-runnable)`)
  console.log(`upstream: ${passed} passed, ${failed} failed`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
}

await main()
