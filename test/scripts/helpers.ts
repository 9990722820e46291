/** Runs one of the repository's check scripts on a temporary tree and returns its exit status and JSON. */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPOSITORY = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** A temporary directory holding `files` (path → content); removed by `remove()`. */
export function tempTree(files: Record<string, string>): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'kp-scripts-'))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/** Runs `node scripts/<script> ...args --json` and parses its output. */
export function runScript<T>(script: string, args: readonly string[]): { status: number | null; result: T; stderr: string } {
  const res = spawnSync(process.execPath, [join(REPOSITORY, 'scripts', script), ...args, '--json'], {
    cwd: REPOSITORY,
    encoding: 'utf8',
  })
  return { status: res.status, result: JSON.parse(res.stdout) as T, stderr: res.stderr }
}
