/**
 * Imported by the executable before the program for a command that answers once and exits (every
 * command but `serve`). zod compiles each object schema into a JavaScript function on its first parse,
 * which pays off for a schema parsed many times; a one-shot command parses each schema once, where the
 * compiling costs more than it saves. zod's `jitless` parses the same values with the same issues and
 * messages, without compiling. The setting is read as each schema is built, so this runs first.
 */
import { config } from 'zod'

config({ jitless: true })
