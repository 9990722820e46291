/**
 * `serve` on a source that is not static, for bench/serve.ts: the CLI's own engine and server
 * (`commandSettings` → `openSource` → `Engine` → `createDecisionServer`, as `serve` builds them) on the
 * bundled realm and the environment file in ENVIRONMENTS, with `staticAnswers: false`, so no answer is
 * kept by request: every request resolves the user again, as with a live Keycloak. Listens on
 * 127.0.0.1:PORT. bench/serve.ts compiles it with tsup first (as the CLI is built); by hand,
 * `node --import tsx bench/serve-uncached.ts` works too. KEEP:
 * - `principal`: as `serve` runs a live source: the engine keeps answer bytes per principal value
 *   (`keepAnswers`), so an unchanged user's repeated question is resolved and compared, not decided;
 * - `none`: nothing kept at all: every request resolves, decides and serialises (the cost of a changed user).
 */
import { Engine } from '../src/cli/engine.js'
import { createDecisionServer, type DecisionEngine } from '../src/cli/serve.js'
import { commandSettings } from '../src/cli/settings.js'
import { openSource } from '../src/cli/sources.js'

const keep = process.env['KEEP']
if (keep !== 'principal' && keep !== 'none') throw new Error('bench serve-uncached: KEEP must be principal or none')
const settings = await commandSettings({})
const source = await openSource(settings.config)
const engine = new Engine({ source, settings: settings.registry, environments: { file: process.env['ENVIRONMENTS']! }, keepAnswers: keep === 'principal' })
const notStatic: DecisionEngine = {
  description: engine.description,
  resolveJson: engine.resolveJson.bind(engine),
  environmentsJson: engine.environmentsJson.bind(engine),
  checkJson: engine.checkJson.bind(engine),
  environmentsBody: engine.environmentsBody.bind(engine),
  checkBody: engine.checkBody.bind(engine),
  checkQuestion: engine.checkQuestion.bind(engine),
  staticAnswers: false,
}
createDecisionServer({ engine: notStatic }).listen(Number(process.env['PORT']), '127.0.0.1')
