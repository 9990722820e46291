// `node --import tsx code-cache-child.ts PROGRAM`: loads PROGRAM as the CLI's executable does (with the
// environment's cache settings, the cache written at exit) and prints what happened as JSON. A separate
// process, because V8 keeps scripts compiled in a process in memory and would then not read the cache.
import { loadProgram } from '../../src/cli/code-cache.js'

const program = loadProgram<{ answer(): number; load(specifier: string): Promise<{ tmpdir?: unknown }> }>(process.argv[2]!, {
  env: process.env,
  importModule: (specifier) => import(specifier),
  ...(process.env['KEEP'] !== undefined ? { keep: Number(process.env['KEEP']) } : {}),
})
process.once('exit', program.saveCache)
const os = await program.exports.load('node:os')
process.stdout.write(JSON.stringify({ ...program.cache, answer: program.exports.answer(), imported: typeof os.tmpdir }))
