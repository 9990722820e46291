import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Principal } from '../../src/core/principal.js'
import { Engine, jsonBytes } from '../../src/cli/engine.js'
import { createDecisionServer, type DecisionEngine } from '../../src/cli/serve.js'
import { openSource, type CliSource } from '../../src/cli/sources.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { startFakeCondaStore } from '../conda-store/fake-conda-store.js'
import { generateEnvironments, generateRealm } from '../review/generate-realm.js'
import { tempFile } from './helpers.js'
import { listen } from './serve-raw.js'

// An engine with `keepAnswers` (what `serve` builds) keeps the bytes of an answer per question and
// principal value: these tests hold it to the answer computed afresh, for every user, and check that
// every part of the principal, the environment list and the whole question take part in the identity.

const realm = new RealmExportSource(generateRealm({ users: 60, groups: 12, namespaces: 15, workspaces: 6, seed: 11 }))
const page = generateEnvironments(15, 2)
const file = tempFile('kept-environments.json', JSON.stringify(page))

/** A source that hands out whatever principal the test sets (`current`), for any username. */
function switchable(first: Principal) {
  let current = first
  const source: CliSource = { description: 'switchable', source: { resolve: async () => current } as never }
  return { source, set: (p: Principal) => void (current = p) }
}

/** A new principal object for the same user with the same parts (what a source's cache hit hands out). */
const again = (p: Principal): Principal => ({ ...p, origin: { ...p.origin, resolvedAt: p.origin.resolvedAt + 1 } })

/** `engine` served as a source that is not static (a live Keycloak): nothing kept by request, answers kept per principal value. */
const notStaticOf = (engine: Engine, overrides: Partial<DecisionEngine> = {}): DecisionEngine => ({
  description: engine.description,
  resolveJson: engine.resolveJson.bind(engine),
  environmentsJson: engine.environmentsJson.bind(engine),
  checkJson: engine.checkJson.bind(engine),
  environmentsBody: engine.environmentsBody.bind(engine),
  checkBody: engine.checkBody.bind(engine),
  checkQuestion: engine.checkQuestion.bind(engine),
  staticAnswers: false,
  ...overrides,
})

const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  vi.useRealTimers()
  for (const r of running.splice(0)) await r.close()
})

describe('Engine with keepAnswers: environment answers', () => {
  it('gives every user the bytes of the answer computed afresh, both visibilities, with and without a list; the repeat is the kept body', async () => {
    for (const environments of [{ file }, undefined]) {
      const source: CliSource = { description: 'generated', source: realm, realmExport: realm }
      const keeping = new Engine({ source, keepAnswers: true, ...(environments ? { environments } : {}) })
      const fresh = new Engine({ source, ...(environments ? { environments } : {}) })
      for (const user of realm.usernames()) {
        for (const listed of [false, true]) {
          const first = await keeping.environmentsBody(user, { listed })
          const expected = jsonBytes(await fresh.environmentsJson(user, { listed }))
          expect(first.equals(expected), `${user} listed=${listed}`).toBe(true)
          const second = await keeping.environmentsBody(user, { listed })
          expect(second).toBe(first)
        }
      }
    }
  })

  it('keeps nothing without keepAnswers (each call serialises again, the same bytes)', async () => {
    const engine = new Engine({ source: { description: 'generated', source: realm, realmExport: realm }, environments: { file } })
    const user = realm.usernames()[0]!
    const a = await engine.environmentsBody(user)
    const b = await engine.environmentsBody(user)
    expect(b).not.toBe(a)
    expect(b.equals(a)).toBe(true)
  })

  it('a user whose roles changed gets the new answer', async () => {
    const [u1, u2] = realm.usernames().map((u) => realm.resolveSync(u)).filter((p, i, all) => i > 0 && jsonBytes(p.clientRoles).equals(jsonBytes(all[0]!.clientRoles)) === false).slice(0, 2)
    const { source, set } = switchable(u1!)
    const engine = new Engine({ source, keepAnswers: true, environments: { file } })
    const fresh = new Engine({ source, environments: { file } })
    const before = await engine.environmentsBody(u1!.username)
    // The same username, now holding the other user's (frozen, shared) role and group parts.
    const changed: Principal = { ...u1!, groups: u2!.groups, realmRoles: u2!.realmRoles, clientRoles: u2!.clientRoles }
    set(changed)
    const after = await engine.environmentsBody(u1!.username)
    expect(after.equals(jsonBytes(await fresh.environmentsJson(u1!.username)))).toBe(true)
    expect(after.equals(before)).toBe(false)
  })

  it('every part of the principal but its origin is part of the identity: an equal but distinct part is decided again', async () => {
    const bob = realm.resolveSync(realm.usernames()[1]!)
    const { source, set } = switchable(bob)
    const engine = new Engine({ source, keepAnswers: true, environments: { file } })
    const fresh = new Engine({ source, environments: { file } })
    const kept = await engine.environmentsBody(bob.username)
    set(again(bob))
    expect(await engine.environmentsBody(bob.username)).toBe(kept)
    const copies: Array<[string, Partial<Principal>]> = [
      ['groups', { groups: Object.freeze([...bob.groups]) }],
      ['realmRoles', { realmRoles: Object.freeze([...bob.realmRoles]) }],
      ['clientRoles', { clientRoles: Object.freeze({ ...bob.clientRoles }) }],
      ['complete', { complete: Object.freeze({ ...bob.complete }) }],
      ['diagnostics', { diagnostics: Object.freeze([...bob.diagnostics]) }],
      ['token', { token: Object.freeze({ claims: {} }) as never }],
      ['userId', { userId: `${bob.userId ?? ''}-other` }],
      ['realm', { realm: `${bob.realm}-other` }],
      ['enabled', { enabled: false }],
    ]
    for (const [part, copy] of copies) {
      // The original parts again (a new principal object): the kept body, asked twice.
      set(again(bob))
      const current = await engine.environmentsBody(bob.username)
      expect(current.equals(kept), part).toBe(true)
      expect(await engine.environmentsBody(bob.username), part).toBe(current)
      set({ ...bob, ...copy })
      const body = await engine.environmentsBody(bob.username)
      expect(body, part).not.toBe(current)
      expect(body.equals(jsonBytes(await fresh.environmentsJson(bob.username))), part).toBe(true)
    }
    // A disabled account's answer really differs (the `enabled` part decides it).
    set({ ...bob, enabled: false })
    expect((await engine.environmentsBody(bob.username)).equals(kept)).toBe(false)
  })

  it('a principal with a part that is not frozen is decided every time, and a change to it shows', async () => {
    const bob = realm.resolveSync(realm.usernames()[1]!)
    const clientRoles: Record<string, Principal['realmRoles']> = { ...bob.clientRoles }
    const mutable = { ...bob, clientRoles } as Principal
    const { source } = switchable(mutable)
    const engine = new Engine({ source, keepAnswers: true, environments: { file } })
    const a = await engine.environmentsBody(bob.username)
    const b = await engine.environmentsBody(bob.username)
    expect(b).not.toBe(a)
    for (const client of Object.keys(clientRoles)) delete clientRoles[client]
    const c = await engine.environmentsBody(bob.username)
    expect(c.equals(a)).toBe(false)
  })

  it('a refreshed conda-store list is a new question: decided again', async () => {
    const names = (page.data as Array<{ namespace: { name: string }; name: string }>).map((e) => `${e.namespace.name}/${e.name}`)
    const store = await startFakeCondaStore({ environments: names, serviceToken: 't' })
    running.push(store)
    vi.useFakeTimers({ toFake: ['Date'] })
    const engine = new Engine({ source: { description: 'generated', source: realm, realmExport: realm }, keepAnswers: true, environments: { url: store.url, token: 't' } })
    const user = realm.usernames()[1]!
    const first = await engine.environmentsBody(user)
    expect(await engine.environmentsBody(user)).toBe(first)
    const loads = store.requests.length
    vi.setSystemTime(Date.now() + 61_000)
    const refreshed = await engine.environmentsBody(user)
    expect(store.requests.length).toBeGreaterThan(loads)
    expect(refreshed).not.toBe(first)
    expect(refreshed.equals(first)).toBe(true)
  })
})

describe('Engine with keepAnswers: check answers', () => {
  const bundled = async () => {
    const source = await openSource({})
    return { keeping: new Engine({ source, keepAnswers: true }), fresh: new Engine({ source }) }
  }

  it('route and conda-store checks by username: the bytes of checkJson, kept per request', async () => {
    const { keeping, fresh } = await bundled()
    const requests = [
      { user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } },
      { user: 'bob', route: { method: 'DELETE', path: '/workspaces/ws-alpha/files' } },
      { user: 'alice', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } },
      { user: 'bob', route: { method: 'GET', path: '/catalogue/collections/x', policy: 'stac' } },
      { user: 'bob', condaStore: { permission: 'environment::read', resource: 'analyst/pandas' } },
      { user: 'alice', condaStore: { permission: 'environment::delete', resource: 'analyst/pandas' } },
    ]
    const bodies = []
    for (const request of requests) {
      const body = await keeping.checkBody(request)
      expect(body.equals(jsonBytes(await fresh.checkJson(request))), JSON.stringify(request)).toBe(true)
      expect(await keeping.checkBody(structuredClone(request))).toBe(body)
      bodies.push(body)
    }
    // Each request is its own question (no two share a kept body).
    expect(new Set(bodies).size).toBe(requests.length)
  })

  it('checks that may read more than the principal are decided every time (JupyterHub, collaboration, custom components)', async () => {
    const { keeping, fresh } = await bundled()
    const requests = [
      { user: 'bob', jupyterhub: { scope: 'access:servers', resource: { kind: 'server', value: 'alice/' } } },
      { user: 'bob', collaboration: { server: 'alice/', action: 'read', resource: 'contents' } },
    ]
    for (const request of requests) {
      const a = await keeping.checkBody(request)
      expect(a.equals(jsonBytes(await fresh.checkJson(request))), JSON.stringify(request)).toBe(true)
      expect(await keeping.checkBody(request)).not.toBe(a)
    }
  })

  it('a question longer than the kept limit is answered, not kept', async () => {
    const { keeping, fresh } = await bundled()
    const request = { user: 'bob', route: { method: 'GET', path: `/workspaces/ws-alpha/${'x'.repeat(4_000)}` } }
    const a = await keeping.checkBody(request)
    expect(a.equals(jsonBytes(await fresh.checkJson(request)))).toBe(true)
    expect(await keeping.checkBody(request)).not.toBe(a)
  })

  it('bad check bodies are the same usage errors as checkJson', async () => {
    const { keeping } = await bundled()
    for (const body of [{}, { user: 'bob' }, { user: 'bob', token: 't', route: { method: 'GET', path: '/' } }, { user: 'bob', route: { method: 'GET', path: '/', extra: 1 } }]) {
      const viaJson = await keeping.checkJson(body).then(() => 'ok', (e: Error & { code?: string }) => `${e.code}: ${e.message}`)
      const viaBody = await keeping.checkBody(body).then(() => 'ok', (e: Error & { code?: string }) => `${e.code}: ${e.message}`)
      expect(viaBody).toBe(viaJson)
      expect(viaBody).not.toBe('ok')
    }
  })
})

describe('serve: a source that is not static answers with the bytes of a static one', () => {
  it('every bundled user and check kind, asked twice, over HTTP', async () => {
    const source = await openSource({})
    const environments = { file: 'examples/realm/example-environments.json' }
    const staticEngine = new Engine({ source, environments })
    const keeping = new Engine({ source, environments, keepAnswers: true })
    const notStatic = notStaticOf(keeping)
    const servers = []
    for (const engine of [staticEngine, notStatic]) {
      const r = await listen(createDecisionServer({ engine, log: () => {} }))
      running.push(r)
      servers.push(`http://127.0.0.1:${r.port}`)
    }
    const ask = async (base: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return `${res.status} ${await res.text()}`
    }
    let compared = 0
    for (const user of source.realmExport!.usernames()) {
      const questions: Array<[string, unknown?]> = [
        [`/v1/users/${user}/environments`],
        [`/v1/users/${user}/environments?listed=true`],
        ['/v1/check', { user, route: { method: 'GET', path: '/workspaces/ws-alpha/files' } }],
        ['/v1/check', { user, condaStore: { permission: 'environment::read', resource: 'analyst/pandas' } }],
        ['/v1/check', { user, jupyterhub: { scope: 'read:users' } }],
      ]
      for (const [path, body] of questions) {
        const expected = await ask(servers[0]!, path, body)
        for (let i = 0; i < 2; i++) expect(await ask(servers[1]!, path, body), `${user} ${path} ${JSON.stringify(body)}`).toBe(expected)
        compared++
      }
    }
    expect(compared).toBeGreaterThanOrEqual(25)
  })
})

describe('serve on a source that is not static: a check body is validated once per body text', () => {
  /** A server over `engine` with nothing kept by request (a live source), counting the bodies it validates. */
  const serveCounting = async (engine: Engine) => {
    const counted = { questions: 0 }
    const notStatic = notStaticOf(engine, { checkQuestion: (body) => (counted.questions++, engine.checkQuestion(body)) })
    const r = await listen(createDecisionServer({ engine: notStatic, log: () => {}, requestId: () => 'rid' }))
    running.push(r)
    const post = async (text: string) => {
      const res = await fetch(`http://127.0.0.1:${r.port}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })
      return `${res.status} ${await res.text()}`
    }
    return { counted, post }
  }

  it('the same body text is validated once, and its answer still follows a user whose roles changed', async () => {
    const bundled = (await openSource({})).realmExport!
    const users = bundled.usernames().map((u) => bundled.resolveSync(u))
    const requests = [
      { route: { method: 'GET', path: '/workspaces/ws-alpha/files' } },
      { route: { method: 'DELETE', path: '/workspaces/ws-beta/files' } },
      { condaStore: { permission: 'environment::read', resource: 'analyst/pandas' } },
      { condaStore: { permission: 'environment::delete', resource: 'analyst/pandas' } },
    ]
    let compared = 0
    let changedAnswers = 0
    for (const kind of requests) {
      for (const first of users) {
        // Another user's (frozen, shared) parts under `first`'s name: a user whose roles changed.
        const changedTo = users.find((other) => other !== first && other.clientRoles !== first.clientRoles)
        if (changedTo === undefined) continue
        const changed: Principal = { ...first, groups: changedTo.groups, realmRoles: changedTo.realmRoles, clientRoles: changedTo.clientRoles }
        const { source, set } = switchable(first)
        const engine = new Engine({ source, keepAnswers: true })
        const text = JSON.stringify({ user: first.username, ...kind })
        const { counted, post } = await serveCounting(engine)
        const fresh = async () => `200 ${JSON.stringify(await new Engine({ source }).checkJson(JSON.parse(text)))}`
        const before = await post(text)
        expect(before).toBe(await fresh())
        set(changed)
        const expected = await fresh()
        expect(await post(text), `${text} after the change`).toBe(expected)
        expect(await post(text)).toBe(expected)
        expect(counted.questions).toBe(1)
        compared++
        if (expected !== before) changedAnswers++
      }
    }
    expect(compared).toBeGreaterThanOrEqual(8)
    // The change must show in some answers, or the test could not tell a kept answer from a kept question.
    expect(changedAnswers).toBeGreaterThanOrEqual(2)
  })

  it('bodies that fail validation, token checks and over-long bodies are validated every time (each gets its own answer or 400)', async () => {
    const engine = new Engine({ source: await openSource({}), keepAnswers: true })
    const { counted, post } = await serveCounting(engine)
    const cases = [
      { text: JSON.stringify({ user: 'bob', route: { method: 'GET', path: '/', extra: 1 } }), status: '400', validated: 2 },
      { text: JSON.stringify({ token: 'not-a-token', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } }), status: '400', validated: 2 },
      { text: JSON.stringify({ user: 'bob', route: { method: 'GET', path: `/workspaces/ws-alpha/${'x'.repeat(4_100)}` } }), status: '200', validated: 2 },
      { text: '{"user": "bob", ', status: '400', validated: 0 },
      { text: JSON.stringify({ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } }), status: '200', validated: 1 },
    ]
    for (const { text, status, validated } of cases) {
      counted.questions = 0
      const a = await post(text)
      expect(a.slice(0, 3), text.slice(0, 80)).toBe(status)
      expect(await post(text)).toBe(a)
      expect(counted.questions, text.slice(0, 80)).toBe(validated)
    }
  })

  it('a validated question cannot be changed afterwards, through it or through the body it came from', async () => {
    const engine = new Engine({ source: await openSource({}), keepAnswers: true })
    const body = { user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } }
    const question = engine.checkQuestion(body)
    const before = await engine.checkBody(question)
    body.route.path = '/workspaces/ws-beta/files'
    expect(() => {
      ;(question.request as { route: { path: string } }).route.path = '/elsewhere'
    }).toThrow(TypeError)
    expect(() => {
      ;(question as { keptAs: string }).keptAs = 'check\u0000other'
    }).toThrow(TypeError)
    expect((await engine.checkBody(question)).equals(before)).toBe(true)
    expect(question.request).toEqual({ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha/files' } })
  })
})
