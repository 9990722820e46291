/**
 * One answer for a route, whatever asks: for one configuration file with non-default workspace clients
 * and STAC prefix, the Express, Fastify and Hono middleware (given the registry's `routes`), serve's
 * forward auth and `POST /v1/check`, and the CLI's `check --route` give the registry's own allow/deny
 * and reason, for every user of the bundled realm and every route of the table.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { serve as honoServe } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/cli/engine.js'
import { createDecisionServer } from '../../src/cli/serve.js'
import { openSource } from '../../src/cli/sources.js'
import { loadConfig, registrySettingsOf } from '../../src/config/index.js'
import { authorizationOf as expressAuthorization, keycloakMiddleware } from '../../src/express/index.js'
import { authorizationOf as fastifyAuthorization, keycloakOnRequest } from '../../src/fastify/index.js'
import { keycloakHono, type KeycloakVariables } from '../../src/hono/index.js'
import type { HttpAuthorization } from '../../src/workspaces/index.js'
import { send, type RunningServer } from '../middleware/harness.js'
import { runCli } from './run-in-process.js'
import { listen } from './serve-raw.js'

const dir = mkdtempSync(join(tmpdir(), 'kp-one-answer-'))
const configFile = join(dir, 'keycloak-permissions.config.json')
writeFileSync(
  configFile,
  JSON.stringify({
    source: { realmFile: resolve('examples/realm/example-realm.json') },
    components: { workspaces: { clients: ['ws-alpha'], stacPrefix: '/catalogue' } },
  }),
)
const { config } = await loadConfig({ file: configFile })
const engine = new Engine({ source: await openSource(config), settings: registrySettingsOf(config) })
const registry = engine.registry

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin']
const ROUTES: Array<[string, string]> = [
  ['GET', '/workspaces/ws-alpha'],
  ['GET', '/workspaces/ws-alpha/files'],
  ['PUT', '/workspaces/ws-alpha/files/a.txt?x=1'],
  ['DELETE', '/workspaces/ws-alpha'],
  ['GET', '/workspaces/ws-beta'],
  ['DELETE', '/workspaces/ws-beta'],
  ['GET', '/workspaces/jupyterhub'],
  ['GET', '/catalogue/collections/ws-alpha.c1/items'],
  ['GET', '/catalogue/collections/ws-beta.c1'],
  ['POST', '/catalogue/collections/ws-alpha.c1/items'],
  ['GET', '/catalogue/collections'],
  ['GET', '/stac/collections/ws-alpha.c1'],
]

/** The token is the username: the test is about the decision, not token verification (tested elsewhere). */
const authenticate = (token: string) => engine.principal(token)

interface Answer {
  allowed: boolean
  reason: string
}

/** What the handler behind a middleware saw: the framework's routed path and the decided one. */
interface Seen {
  routed: string
  decided: string | undefined
  reason: string
}

const seenBody = (routed: string, auth: HttpAuthorization): Seen => ({ routed, decided: auth.path, reason: auth.decision.reason })

const servers: Record<string, RunningServer> = {}
let serve: RunningServer

beforeAll(async () => {
  const policy = registry.routes
  const ex = express()
  ex.use(keycloakMiddleware({ policy, authenticate }))
  ex.use((req, res) => {
    res.json(seenBody(req.path, expressAuthorization(req)!))
  })
  servers['express'] = await listen(ex.listen(0, '127.0.0.1'))

  const fa = Fastify()
  fa.addHook('onRequest', keycloakOnRequest({ policy, authenticate }))
  fa.all('/*', async (request) => seenBody((request.raw.url ?? '').split('?')[0]!, fastifyAuthorization(request)!))
  await fa.listen({ port: 0, host: '127.0.0.1' })
  servers['fastify'] = { port: (fa.server.address() as AddressInfo).port, close: () => fa.close() }

  const ho = new Hono<{ Variables: KeycloakVariables }>()
  ho.use('*', keycloakHono({ policy, authenticate }))
  ho.all('*', (c) => c.json(seenBody(c.req.path, c.get('keycloak'))))
  servers['hono'] = await new Promise<RunningServer>((done) => {
    const server = honoServe({ fetch: ho.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      done({ port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) }),
    )
  })

  const decision = createDecisionServer({
    engine,
    forwardAuth: { authenticate, policies: { workspaces: registry.routes.workspaces, stac: registry.routes.stac } },
    log: () => {},
  })
  serve = await listen(decision)
})

afterAll(async () => {
  for (const s of Object.values(servers)) await s.close()
  await serve?.close()
})

async function viaRegistry(user: string, method: string, path: string): Promise<Answer> {
  const outcome = await registry.check(await engine.principal(user), { component: 'workspaces', action: method, resource: path })
  return { allowed: outcome.decision.allowed, reason: outcome.decision.reason }
}

async function viaMiddleware(name: string, user: string, method: string, target: string): Promise<Answer> {
  const res = await send(servers[name]!.port, method, target, { authorization: `Bearer ${user}` })
  const body = res.json() as Partial<Seen> & { reason: string }
  if (res.status === 200) {
    // The handler runs on exactly the path that was authorised.
    expect(body.routed, `${name} ${user} ${method} ${target}`).toBe(target.split('?')[0])
    expect(body.decided, `${name} ${user} ${method} ${target}`).toBe(target.split('?')[0])
    return { allowed: true, reason: body.reason }
  }
  expect(res.status, `${name} ${user} ${method} ${target}: ${res.body}`).toBeOneOf([401, 403])
  return { allowed: false, reason: body.reason }
}

async function viaForwardAuth(user: string, method: string, target: string): Promise<Answer> {
  // The gateway sends the STAC prefix to the stac endpoint, everything else to workspaces.
  const which = registry.routes.policyFor(target) === registry.routes.stac ? 'stac' : 'workspaces'
  const res = await send(serve.port, 'GET', `/v1/forward-auth/nginx/${which}`, { authorization: `Bearer ${user}`, 'x-original-method': method, 'x-original-uri': target })
  expect(res.status, res.body).toBeOneOf([200, 401, 403])
  return { allowed: res.status === 200, reason: String(res.headers['x-auth-reason']) }
}

async function viaCheckEndpoint(user: string, method: string, path: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${serve.port}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, route: { method, path } }),
  })
  expect(res.status).toBe(200)
  const body = (await res.json()) as Answer
  return { allowed: body.allowed, reason: body.reason }
}

async function viaCli(user: string, method: string, path: string): Promise<Answer> {
  const res = await runCli(['check', '--config', configFile, '--user', user, '--route', method, path, '--json'])
  expect(res.status, res.stderr).toBeOneOf([0, 1])
  const body = res.json() as Answer
  expect(res.status).toBe(body.allowed ? 0 : 1)
  return { allowed: body.allowed, reason: body.reason }
}

describe('one answer for a route on every surface, under one configuration file', () => {
  it('the configuration changes answers (sanity rows)', async () => {
    // ws-beta is not a configured workspace client: its own members are refused.
    expect(await viaRegistry('dave', 'DELETE', '/workspaces/ws-beta')).toEqual({ allowed: false, reason: 'NOT_A_WORKSPACE' })
    // STAC is mounted at /catalogue: /stac/... is a workspace API path (no rule matches it).
    expect(registry.routes.policyFor('/catalogue/collections/ws-alpha.c1').name).toBe('stac')
    expect(registry.routes.policyFor('/stac/collections/ws-alpha.c1')).toBe(registry.routes.workspaces)
    expect((await viaRegistry('bob', 'GET', '/workspaces/ws-alpha/files')).allowed).toBe(true)
  })

  it('a policy that is neither a rule set nor a selector is refused when the middleware is built', () => {
    expect(() => keycloakMiddleware({ policy: {} as never, authenticate })).toThrow(/RoutePolicy .* or a registry's routes/)
    expect(() => keycloakHono({ policy: { policyFor: 'x' } as never, authenticate })).toThrow(/policy/)
  })

  it('express, fastify, hono, forward auth, POST /v1/check and check --route all give the registry\'s answer', async () => {
    let rows = 0
    const reasons = new Set<string>()
    for (const user of USERS) {
      for (const [method, target] of ROUTES) {
        const expected = await viaRegistry(user, method, target)
        reasons.add(`${expected.allowed}:${expected.reason}`)
        const answers = {
          express: await viaMiddleware('express', user, method, target),
          fastify: await viaMiddleware('fastify', user, method, target),
          hono: await viaMiddleware('hono', user, method, target),
          forwardAuth: await viaForwardAuth(user, method, target),
          checkEndpoint: await viaCheckEndpoint(user, method, target),
          cli: await viaCli(user, method, target),
        }
        for (const [surface, answer] of Object.entries(answers)) expect(answer, `${surface}: ${user} ${method} ${target}`).toEqual(expected)
        rows++
      }
    }
    expect(rows).toBe(USERS.length * ROUTES.length)
    // The table exercises allows and several kinds of denial, including the configuration's own.
    expect([...reasons].some((r) => r.startsWith('true:'))).toBe(true)
    expect(reasons.has('false:NOT_A_WORKSPACE')).toBe(true)
    expect(reasons.size).toBeGreaterThanOrEqual(4)
  })
})
