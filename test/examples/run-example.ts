import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'

/** The repository root (examples are run from there, as the README says). */
export const ROOT = resolve(import.meta.dirname, '../..')

export interface ExampleRun {
  status: number | null
  stdout: string
  stderr: string
  lines: string[]
}

/** Runs `npx tsx examples/<file> …args` the way a reader would (through tsx, from the repository root). */
export function runExample(file: string, args: readonly string[] = []): ExampleRun {
  const res = spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'examples', file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, lines: res.stdout.split('\n').filter((l) => l !== '') }
}
