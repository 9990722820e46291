import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BIN, cli } from './helpers.js'

const TRACE = resolve(import.meta.dirname, 'load-trace.mjs')
const DIST = dirname(BIN)
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version

/**
 * The packages the built CLI loads for these arguments: resolved from node_modules, or bundled into a
 * CLI chunk it loads (esbuild marks each bundled file with a `// node_modules/<name>/…` comment).
 */
function packagesLoaded(args: readonly string[]): { status: number | null; packages: string[]; files: string[]; stdout: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'kp-trace-')), 'loaded.txt')
  const res = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { encoding: 'utf8', env: { ...process.env, LOAD_TRACE_FILE: file, NO_COLOR: '1' }, timeout: 30_000 })
  let urls: string[] = []
  try {
    urls = readFileSync(file, 'utf8').split('\n').filter(Boolean)
  } catch {
    // nothing resolved
  }
  const packages = new Set<string>()
  const files: string[] = []
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//gu
  for (const url of urls) {
    if (!url.startsWith('file:')) continue
    const path = fileURLToPath(url)
    files.push(path)
    for (const m of url.matchAll(name)) packages.add(m[1]!)
    if (path.startsWith(DIST)) for (const m of readFileSync(path, 'utf8').matchAll(/^\/\/ \S*?node_modules\/((?:@[^/]+\/)?[^/]+)\//gmu)) packages.add(m[1]!)
  }
  return { status: res.status, packages: [...packages].sort(), files, stdout: res.stdout }
}

describe('start-up: a command loads only what it needs', () => {
  it('--version prints the package version and loads no package at all', () => {
    const { status, packages, files, stdout } = packagesLoaded(['--version'])
    expect(status).toBe(0)
    expect(stdout).toBe(`${VERSION}\n`)
    expect(packages).toEqual([])
    // Nothing of the program either: only the entry itself.
    expect(files.filter((f) => f.startsWith(DIST) && f !== BIN)).toEqual([])
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
    expect(packages).toContain('zod') // the realm export is validated: the tracing sees what is loaded
    expect(packages).not.toContain('jose')
    expect(packages).not.toContain('@keycloak/keycloak-admin-client')
    expect(packages).not.toContain('yaml')
  })

  it('envs on a realm file loads only the zod it uses, and not the conda-store REST client', () => {
    const { status, files } = packagesLoaded(['envs', '--user', 'bob', '--json'])
    expect(status).toBe(0)
    const loaded = files.filter((f) => f.startsWith(DIST)).map((f) => readFileSync(f, 'utf8'))
    const bundles = (source: string) => loaded.some((text) => text.includes(`// ${source}`) || new RegExp(`^// \\S*node_modules/${source}`, 'mu').test(text))
    // zod's JSON Schema importer is used by no command: it is bundled only when a module imports zod's
    // namespace object (`import { z } from 'zod'`), which keeps every zod module; `import * as z` does not.
    expect(bundles('zod/v4/core/schemas.js')).toBe(true)
    expect(bundles('zod/v4/classic/from-json-schema.js')).toBe(false)
    // The REST client (and its response schemas) only for --conda-store URL.
    expect(bundles('src/conda-store/client.ts')).toBe(false)
    expect(bundles('src/conda-store/listing.ts')).toBe(true)
  })

  it('envs does not load node:child_process (commander wants it only for executable sub-commands)', () => {
    // Node's own list of the built-in modules it loaded, written to stderr as the process exits.
    const listModules = `data:text/javascript,${encodeURIComponent('import { writeSync } from "node:fs"; process.on("exit", () => writeSync(2, "\\n" + JSON.stringify(process.moduleLoadList)))')}`
    const res = spawnSync(process.execPath, ['--import', listModules, BIN, 'envs', '--user', 'bob', '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
    expect(res.status).toBe(0)
    const builtins = JSON.parse(res.stderr.trim().split('\n').pop()!) as string[]
    expect(builtins).toContain('NativeModule fs') // the list is read
    expect(builtins).not.toContain('NativeModule child_process')
  })
})
