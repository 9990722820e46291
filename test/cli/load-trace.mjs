// `node --import ./load-trace.mjs …`: appends every module URL the program resolves to $LOAD_TRACE_FILE,
// so a test can tell which packages a command loads (test/cli/main.test.ts).
import { register } from 'node:module'

register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (process.env.LOAD_TRACE_FILE) appendFileSync(process.env.LOAD_TRACE_FILE, resolved.url + '\\n')
  return resolved
}`),
)
