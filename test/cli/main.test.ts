import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
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

/**
 * The bundled modules the program ran for these arguments, and those it did not, from V8's own coverage
 * (NODE_V8_COVERAGE): esbuild gives each module's body a function named after the module's path.
 */
function modulesRun(args: readonly string[]): { run: string[]; notRun: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'kp-coverage-'))
  const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NODE_V8_COVERAGE: dir, NO_COLOR: '1' }, timeout: 30_000 })
  expect(res.status).toBe(0)
  const run: string[] = []
  const notRun: string[] = []
  const program = pathToFileURL(join(DIST, 'program.cjs')).href
  for (const name of readdirSync(dir)) {
    const { result } = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[] }
    for (const script of result.filter((s) => s.url === program)) {
      for (const fn of script.functions) {
        const module = /(?:^|\/)((?:src|node_modules)\/.+\.[cm]?[jt]s)$/u.exec(fn.functionName)?.[1]
        if (module !== undefined) (fn.ranges[0]!.count > 0 ? run : notRun).push(module)
      }
    }
  }
  return { run, notRun }
}

describe('start-up: a command loads only what it needs', () => {
  it('--version prints the package version and loads no package at all', () => {
    const { status, packages, files, stdout } = packagesLoaded(['--version'])
    expect(status).toBe(0)
    expect(stdout).toBe(`${VERSION}\n`)
    expect(packages).toEqual([])
    // Nothing of the program either: only the entry itself (and no module of the program ran).
    expect(files.filter((f) => f.startsWith(DIST) && f !== BIN)).toEqual([])
    expect(modulesRun(['--version'])).toEqual({ run: [], notRun: [] })
    expect(cli(['-V']).stdout).toBe(`${VERSION}\n`)
  })

  it('the program answers --version with the same version (one answer)', () => {
    // With another argument the fast path is not taken: commander answers.
    const res = cli(['--version', 'envs'])
    expect(res.status).toBe(0)
    expect(res.stdout).toBe(`${VERSION}\n`)
  })

  it('envs on a realm file imports neither the admin client nor redis (the packages Node loads for the program)', () => {
    const { status, packages, files, stdout } = packagesLoaded(['envs', '--user', 'bob', '--json'])
    expect(status).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ user: 'bob' })
    expect(packages).not.toContain('@keycloak/keycloak-admin-client')
    expect(packages).not.toContain('redis')
    // The program itself is compiled from its file, not imported: the only module of ours is the entry.
    expect(files.filter((f) => f.startsWith(DIST))).toEqual([BIN])
  })

  it('envs on a realm file runs the realm-export modules and zod, and no module of jose, yaml, the REST client, the admin source, serve or review', () => {
    const ran = modulesRun(['envs', '--user', 'bob', '--json'])
    // What envs needs (the test would pass vacuously if no module were seen).
    expect(ran.run).toEqual(expect.arrayContaining(['src/keycloak/realm-export-source.ts', 'src/conda-store/permission-set.ts', 'src/cli/engine.ts']))
    expect(ran.run.some((m) => m.includes('node_modules/zod/'))).toBe(true)
    // What it does not: bundled in the same file, their modules never run.
    const notRun = ['src/conda-store/client.ts', 'src/keycloak/admin-api-source.ts', 'src/keycloak/token-source.ts', 'src/cli/serve.ts', 'src/review/diff.ts', 'src/redis/principal-cache.ts']
    for (const name of notRun) expect(ran.notRun, name).toContain(name)
    expect(ran.run.filter((m) => /node_modules\/(jose|yaml)\//.test(m))).toEqual([])
    expect(ran.notRun.some((m) => m.includes('node_modules/jose/'))).toBe(true)
  })

  it('the program bundles zod without its JSON Schema importer and with the English messages only', () => {
    const { sources } = JSON.parse(readFileSync(join(DIST, 'program.cjs.map'), 'utf8')) as { sources: string[] }
    const has = (path: string) => sources.some((s) => s.endsWith(path))
    expect(has('zod/v4/core/schemas.js')).toBe(true)
    // zod's JSON Schema importer is used by no command: it is bundled only when a module imports zod's
    // namespace object (`import { z } from 'zod'`), which keeps every zod module; `import * as z` does not.
    expect(has('zod/v4/classic/from-json-schema.js')).toBe(false)
    expect(has('zod/v4/locales/en.js')).toBe(true)
    expect(has('zod/v4/locales/de.js')).toBe(false)
    // Loaded by Node from node_modules, not bundled.
    expect(sources.some((s) => s.includes('@keycloak/keycloak-admin-client') || s.includes('node_modules/redis/') || s.includes('@redis/'))).toBe(false)
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

  it('envs --json on a pipe writes its answer without creating process.stdout (Node loads no stream module); text still goes through it', () => {
    // A CommonJS preload (`--import` itself loads Node's streams): Node's list of the built-in modules it loaded.
    const listModules = join(mkdtempSync(join(tmpdir(), 'kp-modules-')), 'list-modules.cjs')
    writeFileSync(listModules, 'process.on("exit", () => require("node:fs").writeSync(2, "\\n" + JSON.stringify(process.moduleLoadList)))')
    const run = (args: string[]) => spawnSync(process.execPath, ['--require', listModules, BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
    const json = run(['envs', '--user', 'bob', '--json'])
    expect(json.status).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ user: 'bob' })
    const jsonBuiltins = JSON.parse(json.stderr.trim().split('\n').pop()!) as string[]
    expect(jsonBuiltins).toContain('NativeModule fs')
    expect(jsonBuiltins).not.toContain('NativeModule stream')
    // lru-cache reads its clock (Node's performance, from perf_hooks) only when an entry has a time to live.
    expect(jsonBuiltins).not.toContain('NativeModule perf_hooks')
    // Files are read through node:fs (src/core/read-text-file.ts): node:fs/promises stays unloaded.
    expect(jsonBuiltins).not.toContain('NativeModule fs/promises')
    const text = run(['envs', '--user', 'bob'])
    expect(text.status).toBe(0)
    expect(text.stdout).toMatch(/^bob \(readable\)\n/u)
    expect(JSON.parse(text.stderr.trim().split('\n').pop()!) as string[]).toContain('NativeModule stream')
  })

  it('a closed pipe stops the command quietly (status 0, nothing on stderr), JSON or text', async () => {
    const { spawn } = await import('node:child_process')
    for (const args of [['envs', '--all-users', '--json'], ['envs', '--all-users'], ['report', '--json']]) {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
      child.stdout.destroy() // the reader is gone before the first byte
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const status = await new Promise<number | null>((done) => child.on('close', (code) => done(code)))
      expect([args.join(' '), status, stderr]).toEqual([args.join(' '), 0, ''])
    }
  })
})

describe('the code cache changes nothing but the speed', () => {
  it('the same answers with the cache written, read and off; the cache is written once', () => {
    const home = mkdtempSync(join(tmpdir(), 'kp-xdg-'))
    const args = ['envs', '--all-users', '--environments', 'examples/realm/example-environments.json', '--json']
    const { NODE_DISABLE_COMPILE_CACHE: _, ...inherited } = process.env
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...inherited, NO_COLOR: '1', XDG_CACHE_HOME: home, ...env }, timeout: 30_000 })
    const written = run({})
    const dir = join(home, 'keycloak-permissions')
    const [file] = readdirSync(dir)
    expect(file).toMatch(/^program\.cjs-v[\d.]+-\w+(?:-\d+){5}\.v8cache$/u)
    const before = statSync(join(dir, file!))
    const read = run({})
    const off = run({ NODE_DISABLE_COMPILE_CACHE: '1' })
    expect(statSync(join(dir, file!)).mtimeMs).toBe(before.mtimeMs) // read, not written again
    for (const res of [written, read, off]) expect([res.status, res.stderr]).toEqual([0, ''])
    expect(read.stdout).toBe(written.stdout)
    expect(off.stdout).toBe(written.stdout)
    expect(JSON.parse(written.stdout)).toHaveProperty('users')
  })
})
