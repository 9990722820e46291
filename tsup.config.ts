import { defineConfig } from 'tsup'

/** Public subpaths (package.json "exports"), each built from src/<name>/index.ts. */
export const subpaths = ['keycloak', 'conda-store', 'jupyterhub', 'workspaces', 'components', 'express', 'fastify', 'hono', 'redis', 'review', 'config'] as const

const entry: Record<string, string> = { index: 'src/index.ts' }
for (const name of subpaths) entry[`${name}/index`] = `src/${name}/index.ts`

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
    // each command's dynamic import() loads only that command's modules and packages — `--version`
    // loads none, a realm-file `envs` neither jose nor the admin client. Not a library entry point.
    entry: { main: 'src/cli/main.ts' },
    outDir: 'dist/cli',
    format: ['esm'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: true,
    external: ['@keycloak/keycloak-admin-client'],
  },
])
