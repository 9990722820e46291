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
    // The CLI: ESM only, one file with its shebang; not a library entry point.
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: false,
    external: ['@keycloak/keycloak-admin-client'],
  },
])
