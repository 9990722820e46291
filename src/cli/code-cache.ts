/**
 * Loads the CLI's program (one CommonJS file) with V8's code cache, so that a start deserialises the
 * compiled code of the previous run instead of parsing and compiling about a megabyte of JavaScript
 * (about 40 ms of every `envs` on Node 20, which has no compile cache of its own; Node's own cache, from
 * 22.1, keeps only the code compiled while a module loads, and this one keeps what the command ran).
 *
 * Trust: V8 checks only a cache's V8 version, flags and the source's length, so a cache file is code.
 * It is read only from a directory that this user owns and nobody else may write, and only from a regular
 * file that this user owns and nobody else may write. Its name carries the Node version, the architecture
 * and the program file's identity (device, inode, size, modification and change times, in nanoseconds),
 * as git's index tells a changed file without reading it: an edited, reinstalled or upgraded program gets
 * a new change time, so it never meets an old cache. (Hashing the bytes instead would load node:crypto,
 * a few milliseconds of every start.) Anything short of that runs the program without the cache: a cache
 * that cannot be read or written costs the speed-up, never the answer.
 */
import { isAscii } from 'node:buffer'
import { type BigIntStats, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { basename, dirname, isAbsolute, join } from 'node:path'
import { Script } from 'node:vm'

/** What happened to the code cache on this load. */
export type CodeCacheStatus =
  /** The cache was read and V8 accepted it. */
  | 'used'
  /** No cache yet (or one this user does not own alone): `saveCache` writes one. */
  | 'absent'
  /** V8 refused the cache (another V8 build or flags): `saveCache` replaces it. */
  | 'rejected'
  /** No cache is read or written (see `reason`). */
  | 'off'

/** A loaded program: its exports and what the code cache did. */
export interface LoadedProgram<T> {
  readonly exports: T
  readonly cache: { readonly status: CodeCacheStatus; readonly file?: string; readonly reason?: string }
  /**
   * Writes the cache when it was absent or rejected (else does nothing), with every function compiled so
   * far: call it as the process exits to keep what the command ran, not only the top level. Never throws.
   */
  readonly saveCache: () => void
}

/** How {@link loadProgram} finds its cache and loads the program's optional packages. */
export interface LoadProgramOptions {
  /** The environment: `NODE_DISABLE_COMPILE_CACHE` (any value) turns the cache off, as it does Node's; `XDG_CACHE_HOME`. */
  readonly env: NodeJS.ProcessEnv
  /**
   * Node's `import()`, from a module next to the program: a compiled script has no module loader of its
   * own, so the program's imports of optional packages (the admin client, redis) are handed to this.
   */
  readonly importModule: (specifier: string) => Promise<unknown>
  /** Cache files kept per program (other Node versions, earlier builds); the oldest go first. Default 4. */
  readonly keep?: number
}

/**
 * The name the program calls for a dynamic `import()`: the build writes it in place of each `import` of
 * an optional package (same length, so the source map stays true); see tsup.config.ts.
 */
export const DYNAMIC_IMPORT = 'dynImp'

/**
 * Compiles and runs a CommonJS file with V8's code cache, and returns its exports.
 *
 * @example
 * ```ts
 * const program = loadProgram<{ start(argv: string[]): Promise<number> }>('/path/dist/cli/program.cjs', {
 *   env: process.env,
 *   importModule: (specifier) => import(specifier),
 * })
 * process.once('exit', program.saveCache)
 * process.exitCode = await program.exports.start(process.argv.slice(2))
 * ```
 */
export function loadProgram<T>(file: string, options: LoadProgramOptions): LoadedProgram<T> {
  const { bytes, identity } = readProgram(file)
  // The build writes ASCII (esbuild escapes the rest); decoding ASCII as latin1 is several times faster
  // than UTF-8 and gives the same string.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
  const where = identity === undefined ? { off: `${file} changed while it was read` } : cacheDirectory(options.env)
  const cacheFile = 'dir' in where ? join(where.dir, cacheFileName(file, identity!)) : undefined
  const cachedData = cacheFile === undefined ? undefined : readPrivateFile(cacheFile)
  // The wrapper keeps the program's first line on line 1, as Node's own CommonJS wrapper does.
  const script = new Script(`(function (exports, require, module, __filename, __dirname, ${DYNAMIC_IMPORT}) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined ? { cachedData } : {}),
  })
  const status: CodeCacheStatus =
    cacheFile === undefined ? 'off' : cachedData === undefined ? 'absent' : script.cachedDataRejected === true ? 'rejected' : 'used'
  const module = { exports: {} as T }
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), options.importModule)
  return {
    exports: module.exports,
    cache: 'off' in where ? { status, reason: where.off } : { status, file: cacheFile! },
    saveCache: () => {
      if (cacheFile !== undefined && (status === 'absent' || status === 'rejected')) {
        writeCache(cacheFile, basename(file), () => script.createCachedData(), options.keep ?? 4)
      }
    },
  }
}

/** This user's private cache directory, created when missing, or why there is none. */
export function cacheDirectory(env: NodeJS.ProcessEnv): { dir: string } | { off: string } {
  if (env['NODE_DISABLE_COMPILE_CACHE'] !== undefined) return { off: 'NODE_DISABLE_COMPILE_CACHE is set' }
  if (typeof process.getuid !== 'function') return { off: 'this platform has no user ids to check the cache directory with' }
  const uid = process.getuid()
  try {
    const xdg = env['XDG_CACHE_HOME']
    // The XDG base directory specification: a relative XDG_CACHE_HOME is invalid and ignored.
    const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache')
    const dir = join(base, 'keycloak-permissions')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const stat = lstatSync(dir)
    if (!stat.isDirectory()) return { off: `${dir} is not a directory` }
    if (stat.uid !== uid) return { off: `${dir} belongs to another user` }
    if ((stat.mode & 0o022) !== 0) return { off: `${dir} is writable by other users` }
    return { dir }
  } catch (err) {
    return { off: `no cache directory: ${(err as Error).message}` }
  }
}

/** The program's bytes and the identity of the file they were read from (undefined if it changed meanwhile). */
function readProgram(file: string): { bytes: Buffer; identity: BigIntStats | undefined } {
  const fd = openSync(file, 'r')
  try {
    const before = fstatSync(fd, { bigint: true })
    const bytes = readFileSync(fd)
    const after = fstatSync(fd, { bigint: true })
    const same = before.size === after.size && before.mtimeNs === after.mtimeNs && before.ctimeNs === after.ctimeNs
    return { bytes, identity: same ? before : undefined }
  } finally {
    closeSync(fd)
  }
}

/**
 * `program.cjs-v20.20.2-x64-<device>-<inode>-<size>-<mtime ns>-<ctime ns>.v8cache`: the cache file's name
 * for a program file with this identity (`fs.statSync(file, { bigint: true })`).
 */
export function cacheFileName(file: string, identity: BigIntStats): string {
  const { dev, ino, size, mtimeNs, ctimeNs } = identity
  return `${basename(file)}-${process.version}-${process.arch}-${[dev, ino, size, mtimeNs, ctimeNs].join('-')}.v8cache`
}

/** The file's bytes when it is a regular file of this user that nobody else may write; else undefined. */
function readPrivateFile(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch {
    return undefined
  }
  try {
    // Checked on the open descriptor: what is checked is what is read.
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined
    return readFileSync(fd)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** Writes the cache atomically (a private temporary file, renamed), then keeps the program's newest `keep`. */
function writeCache(path: string, program: string, data: () => Buffer, keep: number): void {
  const dir = dirname(path)
  const temporary = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  try {
    writeFileSync(temporary, data(), { mode: 0o600, flag: 'wx' })
    renameSync(temporary, path)
  } catch {
    try {
      unlinkSync(temporary)
    } catch {
      // never written
    }
    return
  }
  try {
    const prefix = `${program}-v`
    const caches = readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.v8cache'))
      .map((name) => ({ name, mtime: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
    for (const { name } of caches.slice(keep)) if (join(dir, name) !== path) unlinkSync(join(dir, name))
  } catch {
    // another process pruned first
  }
}
