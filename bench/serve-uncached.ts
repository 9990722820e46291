/**
 * `serve` with its kept answers off, for bench/serve.ts: the CLI's own engine and server
 * (`commandSettings` → `openSource` → `Engine` → `createDecisionServer`, as `serve` builds them) on the
 * bundled realm and the environment file in ENVIRONMENTS, with `staticAnswers: false`, so every
 * request resolves, decides and serialises again. Listens on 127.0.0.1:PORT. Run with `node --import tsx`.
 */
import { Engine } from '../src/cli/engine.js'
import { createDecisionServer, type DecisionEngine } from '../src/cli/serve.js'
import { commandSettings } from '../src/cli/settings.js'
import { openSource } from '../src/cli/sources.js'

const settings = await commandSettings({})
const source = await openSource(settings.config)
const engine = new Engine({ source, settings: settings.registry, environments: { file: process.env['ENVIRONMENTS']! } })
const uncached: DecisionEngine = {
  description: engine.description,
  resolveJson: engine.resolveJson.bind(engine),
  environmentsJson: engine.environmentsJson.bind(engine),
  checkJson: engine.checkJson.bind(engine),
  staticAnswers: false,
}
createDecisionServer({ engine: uncached }).listen(Number(process.env['PORT']), '127.0.0.1')
