import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, cli } from './helpers.js'

const TRACE = resolve(import.meta.dirname, 'load-trace.mjs')
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version

/** The packages (node_modules/<name>) the built CLI loads for these arguments, and its exit status. */
function packagesLoaded(args: readonly string[]): { status: number | null; packages: string[]; stdout: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'kp-trace-')), 'loaded.txt')
  const res = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { encoding: 'utf8', env: { ...process.env, LOAD_TRACE_FILE: file, NO_COLOR: '1' }, timeout: 30_000 })
  let lines: string[] = []
  try {
    lines = readFileSync(file, 'utf8').split('\n')
  } catch {
    // nothing resolved
  }
  const packages = new Set<string>()
  for (const url of lines) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//u.exec(url)
    if (m) packages.add(m[1]!)
  }
  return { status: res.status, packages: [...packages].sort(), stdout: res.stdout }
}

describe('start-up: a command loads only what it needs', () => {
  it('--version prints the package version and loads no package at all', () => {
    const { status, packages, stdout } = packagesLoaded(['--version'])
    expect(status).toBe(0)
    expect(stdout).toBe(`${VERSION}\n`)
    expect(packages).toEqual([])
    expect(cli(['-V']).stdout).toBe(`${VERSION}\n`)
  })

  it('the program answers --version with the same version (one answer)', () => {
    // With another argument the fast path is not taken: commander answers.
    const res = cli(['--version', 'envs'])
    expect(res.status).toBe(0)
    expect(res.stdout).toBe(`${VERSION}\n`)
  })

  it('envs on a realm file loads neither jose nor the admin client', () => {
    const { status, packages, stdout } = packagesLoaded(['envs', '--user', 'bob', '--json'])
    expect(status).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ user: 'bob' })
    expect(packages).not.toContain('jose')
    expect(packages).not.toContain('@keycloak/keycloak-admin-client')
  })
})
