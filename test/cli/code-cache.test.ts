import { spawnSync } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cacheDirectory, cacheFileName, DYNAMIC_IMPORT } from '../../src/cli/code-cache.js'

const CHILD = resolve(import.meta.dirname, 'code-cache-child.ts')

/** A small CommonJS program with a few functions, so V8 has code to cache. */
const PROGRAM = `"use strict"
const { join } = require('node:path')
function square(n) { return n * n }
exports.answer = () => [1, 2, 3].map(square).reduce((a, b) => a + b)
exports.load = (specifier) => ${DYNAMIC_IMPORT}(specifier)
`

interface Setup {
  file: string
  home: string
  dir: string
}

function setup(program = PROGRAM): Setup {
  const root = mkdtempSync(join(tmpdir(), 'kp-code-cache-'))
  const file = join(root, 'program.cjs')
  writeFileSync(file, program)
  const home = join(root, 'xdg')
  return { file, home, dir: join(home, 'keycloak-permissions') }
}

interface Loaded {
  status: string
  file?: string
  reason?: string
  answer: number
  imported: string
}

/** Loads the program in a new process, as the executable does; the cache is written as it exits. */
function load({ file, home }: Setup, env: Record<string, string> = {}): Loaded {
  const { NODE_DISABLE_COMPILE_CACHE: _, ...inherited } = process.env
  const res = spawnSync(process.execPath, ['--import', 'tsx', CHILD, file], { encoding: 'utf8', env: { ...inherited, XDG_CACHE_HOME: home, ...env }, timeout: 30_000 })
  if (res.status !== 0) throw new Error(`code-cache-child exited ${res.status}: ${res.stderr}`)
  return JSON.parse(res.stdout) as Loaded
}

describe('loadProgram: the CLI program compiled with V8 code cache', () => {
  it('runs the program with require and the loader\'s import; the next process reads the cache', () => {
    const at = setup()
    expect(load(at)).toMatchObject({ status: 'absent', answer: 14, imported: 'function' })
    expect(load(at)).toMatchObject({ status: 'used', answer: 14, imported: 'function' })
  })

  it('writes the cache only for this user: a private directory, a private file, nothing else', () => {
    const at = setup()
    const name = cacheFileName(at.file, statSync(at.file, { bigint: true }))
    expect(load(at).file).toBe(join(at.dir, name))
    expect(lstatSync(at.dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(at.dir, name)).mode & 0o777).toBe(0o600)
    expect(readdirSync(at.dir)).toEqual([name]) // the temporary file was renamed into place
  })

  it('a used cache is not written again', () => {
    const at = setup()
    const { file } = load(at)
    const before = statSync(file!)
    expect(load(at).status).toBe('used')
    const after = statSync(file!)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('a cache V8 refuses is replaced, and the program still runs', () => {
    const at = setup()
    const { file } = load(at)
    writeFileSync(file!, Buffer.alloc(4096, 7), { mode: 0o600 })
    expect(load(at)).toMatchObject({ status: 'rejected', answer: 14 })
    expect(load(at)).toMatchObject({ status: 'used', answer: 14 })
  })

  it('the name carries the Node version, the architecture and the file\'s identity: any write gives a new name', () => {
    const at = setup()
    const name = () => cacheFileName(at.file, statSync(at.file, { bigint: true }))
    const first = name()
    expect(first.startsWith(`program.cjs-${process.version}-${process.arch}-`)).toBe(true)
    expect(name()).toBe(first) // stable while the file is untouched
    // Same bytes written again (a reinstall): a new change time, a new name.
    writeFileSync(at.file, PROGRAM)
    expect(name()).not.toBe(first)
    // A copy elsewhere with the same bytes and times is another file.
    const copy = join(at.home, '..', 'elsewhere', 'program.cjs')
    mkdirSync(join(copy, '..'))
    writeFileSync(copy, PROGRAM)
    expect(cacheFileName(copy, statSync(copy, { bigint: true }))).not.toBe(first)
  })

  it('an edited program of the same length runs its new code, not the cached one', () => {
    const at = setup()
    load(at)
    expect(load(at).status).toBe('used')
    writeFileSync(at.file, PROGRAM.replace('n * n', 'n + n'))
    expect(load(at)).toMatchObject({ status: 'absent', answer: 12 })
    expect(load(at)).toMatchObject({ status: 'used', answer: 12 })
  })

  it('a cache file others may write is not read, and is replaced by a private one', () => {
    const at = setup()
    const { file } = load(at)
    chmodSync(file!, 0o666)
    expect(load(at).status).toBe('absent')
    expect(statSync(file!).mode & 0o777).toBe(0o600)
    expect(load(at).status).toBe('used')
  })

  it('a cache directory others may write turns the cache off', () => {
    const at = setup()
    mkdirSync(at.dir, { recursive: true })
    chmodSync(at.dir, 0o777)
    expect(load(at)).toMatchObject({ status: 'off', reason: expect.stringContaining('writable by other users'), answer: 14 })
    expect(readdirSync(at.dir)).toEqual([])
  })

  it('a cache directory that is a symbolic link turns the cache off', () => {
    const at = setup()
    const elsewhere = mkdtempSync(join(tmpdir(), 'kp-code-cache-target-'))
    mkdirSync(at.home, { recursive: true })
    symlinkSync(elsewhere, at.dir)
    expect(load(at)).toMatchObject({ status: 'off', reason: expect.stringContaining('is not a directory'), answer: 14 })
    expect(readdirSync(elsewhere)).toEqual([])
  })

  it('NODE_DISABLE_COMPILE_CACHE turns it off: nothing is created', () => {
    const at = setup()
    expect(load(at, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ status: 'off', reason: 'NODE_DISABLE_COMPILE_CACHE is set', answer: 14, imported: 'function' })
    expect(() => readdirSync(at.home)).toThrow()
  })

  it('a relative XDG_CACHE_HOME is ignored, as the XDG specification says', () => {
    const where = cacheDirectory({ XDG_CACHE_HOME: 'relative/dir' })
    expect('dir' in where && where.dir.startsWith('relative')).toBe(false)
  })

  it('keeps the newest `keep` caches of the program and leaves other files alone', () => {
    const at = setup()
    mkdirSync(at.dir, { recursive: true, mode: 0o700 })
    const old = Array.from({ length: 5 }, (_, i) => `program.cjs-v0.0.${i}-x64-${'0'.repeat(32)}.v8cache`)
    old.forEach((name, i) => {
      writeFileSync(join(at.dir, name), 'old', { mode: 0o600 })
      utimesSync(join(at.dir, name), 1_000 + i, 1_000 + i)
    })
    writeFileSync(join(at.dir, 'notes.txt'), 'keep me')
    writeFileSync(join(at.dir, 'other.cjs-v0.0.1-x64-1.v8cache'), 'another program')
    load(at, { KEEP: '3' })
    expect(readdirSync(at.dir).sort()).toEqual([cacheFileName(at.file, statSync(at.file, { bigint: true })), 'notes.txt', 'other.cjs-v0.0.1-x64-1.v8cache', old[4]!, old[3]!].sort())
  })

  it('the name the build writes for import() has the length of `import` (the source map stays true)', () => {
    expect(DYNAMIC_IMPORT).toHaveLength('import'.length)
  })
})
