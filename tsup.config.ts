import type { Options } from 'tsup'
import { defineConfig } from 'tsup'
import { readFile } from 'node:fs/promises'
import { relative, sep } from 'node:path'
import { DYNAMIC_IMPORT } from './src/cli/code-cache.js'

/** Public subpaths (package.json "exports"), each built from src/<name>/index.ts. */
export const subpaths = ['keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'express', 'fastify', 'hono', 'redis', 'review', 'config'] as const

const entry: Record<string, string> = { index: 'src/index.ts' }
for (const name of subpaths) entry[`${name}/index`] = `src/${name}/index.ts`

/**
 * zod's namespace re-exports its 64 message locales (half of its code); the CLI speaks English only
 * (zod registers `en` itself, from its own module), so the CLI bundle carries just that locale.
 */
const zodEnglishOnly: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer) ? { path: args.path, namespace: 'zod-locales' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: "export { default as en } from 'zod/v4/locales/en.js'", resolveDir: process.cwd() }))
  },
}

/**
 * commander requires node:child_process as it loads, for executable sub-commands (a command run as a
 * separate program), which this CLI does not have; loading it brings net, dgram and their bindings, a few
 * milliseconds of every start. The CLI bundle gives commander a stand-in that loads the module on first
 * use (never, here).
 */
const commanderLazyChildProcess: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'commander-lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "let loaded; module.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] })",
      loader: 'js',
    }))
  },
}

/**
 * lru-cache picks its clock as it loads: `performance` when the global has one, else `Date`. On Node 20
 * that global is a getter that loads perf_hooks and its bindings, about 5 million instructions of every
 * start, while a cache only reads the clock for entries with a time to live. In the CLI bundle the pick
 * happens at the clock's first use instead, with the same result. The build fails if lru-cache no
 * longer has that expression (exactly once), rather than shipping it unchanged.
 */
const lruCacheLazyClock: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'lru-cache-lazy-clock',
  setup(build) {
    const pick = 'typeof performance=="object"&&performance&&typeof performance.now=="function"?performance:Date'
    build.onLoad({ filter: /[\\/]lru-cache[\\/]dist[\\/]esm[\\/]node[\\/]index\.min\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      if (text.split(pick).length !== 2) throw new Error(`lru-cache-lazy-clock: the clock's expression is not found exactly once in ${args.path}`)
      return { contents: `${text.replace(pick, `{now:()=>(lazyClock??=(${pick})).now()}`)}\nvar lazyClock;`, loader: 'js' }
    })
  },
}

/**
 * A script compiled with V8's code cache has no module loader, so an `import()` in it throws. The only
 * ones left in the CLI's program are of external packages (the admin client, redis); each becomes a call
 * of the loader's `dynImp` (DYNAMIC_IMPORT), which is Node's `import()` from the executable next to it (see
 * src/cli/code-cache.ts). The name has the length of `import`, so every column, and the source map, stay
 * true. Checked against esbuild's own list of the output's dynamic imports: the build fails if any
 * `import(` is left or if an expected one was not found.
 */
const dynamicImportsThroughLoader: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'dynamic-imports-through-loader',
  setup(build) {
    build.initialOptions.metafile = true
    build.onEnd((result) => {
      if (result.errors.length > 0) return
      for (const output of result.outputFiles ?? []) {
        if (!output.path.endsWith('.cjs')) continue
        const meta = result.metafile?.outputs[relative(process.cwd(), output.path).split(sep).join('/')]
        if (meta === undefined) throw new Error(`dynamic-imports-through-loader: no metafile entry for ${output.path}`)
        let text = output.text
        for (const { path, kind, external } of meta.imports) {
          if (kind !== 'dynamic-import') continue
          if (!external) throw new Error(`dynamic-imports-through-loader: a bundled dynamic import is left in ${output.path}: ${path}`)
          const call = `import(${JSON.stringify(path)})`
          if (!text.includes(call)) throw new Error(`dynamic-imports-through-loader: ${call} not found in ${output.path}`)
          text = text.replaceAll(call, `${DYNAMIC_IMPORT}(${JSON.stringify(path)})`)
        }
        if (/\bimport\s*\(/.test(text)) throw new Error(`dynamic-imports-through-loader: an import( is left in ${output.path}`)
        output.contents = new TextEncoder().encode(text)
      }
    })
  },
}

export default defineConfig([
  {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: true,
    treeshake: true,
    // Framework packages are optional peers; the admin client is ESM-only and loaded with import().
    external: ['express', 'fastify', 'hono', 'redis', '@keycloak/keycloak-admin-client'],
  },
  {
    // The executable: a small CommonJS file (the shebang, `--version`, and the loader of the program below);
    // an ES module entry would load Node's ES module loader first, at every start.
    entry: { main: 'src/cli/main.ts' },
    outDir: 'dist/cli',
    format: ['cjs'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    removeNodeProtocol: false,
  },
  {
    // The CLI's program: one CommonJS file that the executable compiles with V8's code cache
    // (src/cli/code-cache.ts), so a start reads compiled code instead of parsing about a megabyte. The
    // packages it runs on are bundled in; each bundled module still runs only when a command first
    // imports it. Whitespace and comments are left out (this file is read at every start; its source map
    // keeps the names and lines), and it is ASCII, which the loader decodes fastest. Not a library entry.
    entry: { program: 'src/cli/start.ts' },
    outDir: 'dist/cli',
    format: ['cjs'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: false,
    minifyWhitespace: true,
    noExternal: ['zod', 'jose', 'commander', 'yaml', 'lru-cache'],
    // The admin client is ESM-only; it, the framework and the Redis packages are loaded from node_modules
    // (the framework and Redis packages are optional peers).
    external: ['@keycloak/keycloak-admin-client', 'redis', 'express', 'fastify', 'hono'],
    esbuildOptions(options) {
      options.charset = 'ascii'
    },
    esbuildPlugins: [zodEnglishOnly, commanderLazyChildProcess, lruCacheLazyClock, dynamicImportsThroughLoader],
    // Keep `node:` in built-in imports: tsup's own plugin would otherwise resolve node:child_process first.
    removeNodeProtocol: false,
  },
])
