/** Regenerates config.schema.json (the published JSON Schema of the configuration file) from the zod schema. */
import { writeFileSync } from 'node:fs'
import { configJsonSchema } from '../src/config/index.js'

writeFileSync(new URL('../config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`)
