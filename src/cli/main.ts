#!/usr/bin/env node
/**
 * The `keycloak-permissions` executable, built as CommonJS (dist/cli/main.cjs): an ES module entry would
 * load Node's ES module loader first, a few milliseconds of every start. `--version` reads the package's
 * version and nothing else; every other command runs the program, one CommonJS file
 * (dist/cli/program.cjs, built from start.ts) compiled with V8's code cache (code-cache.ts), in which
 * each command initialises only the modules it uses.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadProgram, type LoadedProgram } from './code-cache.js'

// A closed pipe (`… | head`) is not an error of ours: stop quietly. The handler is attached when
// process.stdout is first used, not here: creating that stream loads Node's stream machinery, which a
// JSON answer written straight to the descriptor never needs (output.ts).
onFirstUse('stdout', (stdout) =>
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  }),
)

/** Runs `attach` on `process[name]` when it is first read (Node creates the stream on that read). */
function onFirstUse(name: 'stdout', attach: (stream: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name)
  const get = own?.get
  if (get === undefined || own?.configurable !== true) {
    attach(process[name]) // not a lazy getter on this runtime: attach now
    return
  }
  let attached = false
  Object.defineProperty(process, name, {
    ...own,
    get() {
      const stream = get.call(process) as NodeJS.WriteStream
      if (!attached) {
        attached = true
        attach(stream)
      }
      return stream
    },
  })
}

const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // The package's own version (dist/cli/main.cjs is two levels below it).
  const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }
  process.stdout.write(`${version}\n`)
} else {
  let program: LoadedProgram<typeof import('./start.js')>
  try {
    program = loadProgram(join(__dirname, 'program.cjs'), {
      env: process.env,
      // Resolved from this file, which sits next to the program: the same node_modules either way.
      importModule: (specifier) => import(specifier),
    })
  } catch (err) {
    // A broken installation (the program file missing or unreadable): one line, as for every error.
    process.stderr.write(`keycloak-permissions: cannot load the program: ${(err as Error)?.message ?? String(err)}\n`)
    process.exit(2)
  }
  // At exit, so that a new cache holds every function this command compiled, not only the top level.
  process.once('exit', program.saveCache)
  program.exports.start(argv).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(`keycloak-permissions: unexpected error: ${(err as Error)?.message ?? String(err)}\n`)
      process.exitCode = 2 // as the program's own "unexpected error" (EXIT.input)
    },
  )
}
