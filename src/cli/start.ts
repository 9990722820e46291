/**
 * The CLI's program as one CommonJS file (dist/cli/program.cjs), which the executable (main.ts) compiles
 * with V8's code cache (code-cache.ts). Everything the commands need is bundled into that file; each
 * module still runs only when a command first imports it, so a realm-file `envs` never initialises the
 * token verifier, the admin client or `serve`.
 */

/**
 * Runs one command line and resolves its exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await start(process.argv.slice(2))
 * ```
 */
export async function start(argv: readonly string[]): Promise<number> {
  // Before any schema is built (zod reads the setting as it builds one): see one-shot.ts. `serve` parses
  // request bodies for its whole life and keeps zod's compiled parsers.
  if (argv[0] !== 'serve') await import('./one-shot.js')
  const [{ run }, { writeJsonToDescriptor }] = await Promise.all([import('./program.js'), import('./output.js')])
  writeJsonToDescriptor()
  return run(argv)
}
