/**
 * Regenerates the published JSON Schemas from their zod schemas: config.schema.json (the
 * configuration file) and expectations.schema.json (permission-test files), for editors.
 */
import { writeFileSync } from 'node:fs'
import { configJsonSchema } from '../src/config/index.js'
import { expectationsJsonSchema } from '../src/review/index.js'

const write = (name: string, schema: unknown) => writeFileSync(new URL(`../${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`)
write('config.schema.json', configJsonSchema())
write('expectations.schema.json', expectationsJsonSchema())
