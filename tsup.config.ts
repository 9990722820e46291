import type { Options } from 'tsup'
import { defineConfig } from 'tsup'

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
    // The CLI: ESM only, its entry with the shebang plus chunks of its own (dist/cli/chunk-*.js), so that
    // each command's dynamic import() loads only that command's modules — `--version` loads none, a
    // realm-file `envs` neither jose nor the admin client. The packages it runs on are bundled in (one
    // file to compile instead of a hundred modules to resolve and link at every start; the library
    // entries keep them as dependencies). Not a library entry point.
    entry: { main: 'src/cli/main.ts' },
    outDir: 'dist/cli',
    format: ['esm'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: true,
    noExternal: ['zod', 'jose', 'commander', 'yaml', 'lru-cache'],
    // The admin client is ESM-only and loaded with import() on live sources; the framework and Redis
    // packages are optional peers.
    external: ['@keycloak/keycloak-admin-client', 'redis', 'express', 'fastify', 'hono'],
    // Bundled CommonJS (commander, yaml) requires Node built-ins: give the ESM chunks a require.
    // It is made on first use: only the chunk holding esbuild's require shim calls it.
    banner: {
      js: "import { createRequire as __cliCreateRequire } from 'node:module'; let __cliRequire; const require = (id) => (__cliRequire ??= __cliCreateRequire(import.meta.url))(id);",
    },
    esbuildPlugins: [zodEnglishOnly, commanderLazyChildProcess],
    // Keep `node:` in built-in imports: tsup's own plugin would otherwise resolve node:child_process first.
    removeNodeProtocol: false,
  },
])
