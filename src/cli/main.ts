#!/usr/bin/env node
/**
 * The `keycloak-permissions` executable. It loads only what the command needs: `--version` reads the
 * package's version and nothing else; every other command loads the program, and each command loads its
 * own modules when it runs (a realm-file `envs` never loads the token verifier or the admin client).
 */
import module, { createRequire } from 'node:module'

// Node ≥ 22.1 keeps V8's compiled code of the modules loaded from here on between runs (a cache directory
// under the OS temp dir, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no
// such cache: nothing changes there. A cache that cannot be written only costs the speed-up.
const enableCompileCache = (module as { enableCompileCache?: () => unknown }).enableCompileCache
try {
  enableCompileCache?.()
} catch {
  // read-only temp dir, or a sandbox: start without the cache
}

// A closed pipe (`… | head`) is not an error of ours: stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // The package's own version (dist/cli/main.js and src/cli/main.ts are both two levels below it).
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }
  process.stdout.write(`${version}\n`)
} else {
  // Before any schema is built (zod reads the setting as it builds one): see one-shot.ts. `serve` parses
  // request bodies for its whole life and keeps zod's compiled parsers.
  if (argv[0] !== 'serve') await import('./one-shot.js')
  const { run } = await import('./program.js')
  process.exitCode = await run(argv)
}
