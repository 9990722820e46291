import { afterEach, describe, expect, it } from 'vitest'
import { Engine } from '../../src/cli/engine.js'
import { createDecisionServer, type DecisionEngine } from '../../src/cli/serve.js'
import { openSource } from '../../src/cli/sources.js'
import { listen } from './serve-raw.js'

const ENVS = { file: 'examples/realm/example-environments.json' }
const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.close()
})

/** A real engine whose answers are counted (the operations a request costs), static or not as asked. */
async function countingEngine(staticAnswers: boolean) {
  const engine = new Engine({ source: await openSource({}), environments: ENVS })
  const calls = { environments: 0, check: 0, resolve: 0 }
  const counted: DecisionEngine = {
    description: engine.description,
    staticAnswers,
    resolveJson: (user) => (calls.resolve++, engine.resolveJson(user)),
    environmentsJson: (user, options) => (calls.environments++, engine.environmentsJson(user, options)),
    checkJson: (body) => (calls.check++, engine.checkJson(body)),
  }
  return { engine, counted, calls }
}

async function start(engine: DecisionEngine) {
  const r = await listen(createDecisionServer({ engine, log: () => {} }))
  running.push(r)
  const base = `http://127.0.0.1:${r.port}`
  return {
    get: async (path: string) => {
      const res = await fetch(`${base}${path}`)
      return { status: res.status, id: res.headers.get('x-request-id'), text: await res.text() }
    },
    post: async (body: string, type = 'application/json') => {
      const res = await fetch(`${base}/v1/check`, { method: 'POST', headers: { 'content-type': type }, body })
      return { status: res.status, id: res.headers.get('x-request-id'), text: await res.text() }
    },
  }
}

const check = (user: string, path: string) => JSON.stringify({ user, route: { method: 'GET', path } })

describe('serve: answers of a static source are computed once per question', () => {
  it('Engine.staticAnswers: a realm export with an environment file (or none) is static; a conda-store URL is not', async () => {
    const source = await openSource({})
    expect(new Engine({ source }).staticAnswers).toBe(true)
    expect(new Engine({ source, environments: ENVS }).staticAnswers).toBe(true)
    expect(new Engine({ source, environments: { url: 'http://127.0.0.1:1' } }).staticAnswers).toBe(false)
    // A source that is not the realm export itself (a live or wrapped source) is not static.
    expect(new Engine({ source: { ...source, source: { resolve: (u: string) => source.source.resolve(u) } as never } }).staticAnswers).toBe(false)
  })

  it('20 identical environment requests: one computation, the same bytes, a fresh request id each', async () => {
    const { engine, counted, calls } = await countingEngine(true)
    const s = await start(counted)
    const answers = []
    for (let i = 0; i < 20; i++) answers.push(await s.get('/v1/users/bob/environments'))
    expect(calls.environments).toBe(1)
    expect(new Set(answers.map((a) => a.text)).size).toBe(1)
    expect(answers[0]!.text).toBe(JSON.stringify(await engine.environmentsJson('bob')))
    expect(new Set(answers.map((a) => a.id)).size).toBe(20)
  })

  it('every input is part of the key: user, listed, and the exact check body', async () => {
    const { engine, counted, calls } = await countingEngine(true)
    const s = await start(counted)
    for (const path of ['/v1/users/bob/environments', '/v1/users/alice/environments', '/v1/users/bob/environments?listed=true', '/v1/users/bob/environments?listed=false&x=1']) {
      await s.get(path)
      await s.get(path)
    }
    // ?listed=false&x=1 is the same question as no query (listed is the only input): 3 computations.
    expect(calls.environments).toBe(3)
    const listed = await s.get('/v1/users/bob/environments?listed=true')
    expect(JSON.parse(listed.text).visibility).toBe('listed')
    const allowed = await s.post(check('bob', '/workspaces/ws-alpha'))
    const denied = await s.post(check('bob', '/workspaces/ws-beta'))
    await s.post(check('bob', '/workspaces/ws-alpha'))
    await s.post(check('bob', '/workspaces/ws-beta'))
    expect(calls.check).toBe(2)
    expect(JSON.parse(allowed.text)).toMatchObject({ allowed: true, reason: 'WORKSPACE_ROLE' })
    expect(JSON.parse(denied.text)).toMatchObject({ allowed: false })
    expect(allowed.text).toBe(JSON.stringify(await engine.checkJson(JSON.parse(check('bob', '/workspaces/ws-alpha')))))
  })

  it('errors are never kept, and the request checks (415, 404) still run before any kept answer', async () => {
    const { counted, calls } = await countingEngine(true)
    const s = await start(counted)
    for (let i = 0; i < 3; i++) expect((await s.get('/v1/users/mallory/environments')).status).toBe(404)
    expect(calls.environments).toBe(3)
    for (let i = 0; i < 3; i++) expect((await s.post('{ nope')).status).toBe(400)
    expect((await s.post(check('bob', '/workspaces/ws-alpha'))).status).toBe(200)
    expect((await s.post(check('bob', '/workspaces/ws-alpha'), 'text/plain')).status).toBe(415)
    expect(calls.check).toBe(1)
  })

  it('a source that is not static is asked every time', async () => {
    const { counted, calls } = await countingEngine(false)
    const s = await start(counted)
    for (let i = 0; i < 5; i++) await s.get('/v1/users/bob/environments')
    for (let i = 0; i < 5; i++) await s.post(check('bob', '/workspaces/ws-alpha'))
    expect(calls).toMatchObject({ environments: 5, check: 5 })
  })

  it('the principal endpoint (its answer carries the age of the principal) is never kept', async () => {
    const { counted, calls } = await countingEngine(true)
    const s = await start(counted)
    for (let i = 0; i < 3; i++) expect((await s.get('/v1/users/bob/principal')).status).toBe(200)
    expect(calls.resolve).toBe(3)
  })
})
