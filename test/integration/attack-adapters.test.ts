/**
 * Issue 13, "one authorised path": raw request targets (test/integration/helpers/attack-targets.ts) sent
 * over plain sockets, with a real token of the live Keycloak, to Express 5, Fastify 5, Hono (node-server)
 * and plain node:http, each with wildcard workspace routes behind the adapter. Handlers record which
 * workspace they were handed; no handler may ever run for a workspace the token does not hold, and the
 * workspace a handler sees must be the one the decision granted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorizationOf as expressAuthorization, keycloakMiddleware } from '../../src/express/index.js'
import { authorizationOf as fastifyAuthorization, keycloakPlugin } from '../../src/fastify/index.js'
import { keycloakHono, type KeycloakVariables } from '../../src/hono/index.js'
import { TokenSource } from '../../src/keycloak/index.js'
import { workspaceApiPolicy, type HttpAuthorization } from '../../src/workspaces/index.js'
import { attackTargets, EXPECTED_STATUS, rawRequest, type AttackTarget } from './helpers/attack-targets.js'
import { jwtPayload, userToken } from './helpers/keycloak-admin.js'
import { describeLive, live } from './helpers/live.js'

/** bob's only workspace role is ws_access on ws-alpha (group /projects/ml in the example realm). */
const HELD = 'ws-alpha'
const OTHER = 'ws-beta'

interface Seen {
  framework: string
  target: string
  /** The workspace the framework's router handed the handler. */
  ws: string
  /** The workspace the decision granted (its grant's client). */
  granted: string | undefined
}

interface Running {
  name: string
  port: number
  close(): Promise<void>
}

describeLive('attack suite: raw targets × Express, Fastify, Hono, node:http (live token)', () => {
  const servers: Running[] = []
  const seen: Seen[] = []
  let token = ''
  // The target currently in flight (requests are sent one at a time), so handlers can label what they saw.
  let current = ''
  const record = (framework: string, ws: string, auth: HttpAuthorization | undefined) =>
    seen.push({ framework, target: current, ws, granted: auth?.decision.grant?.client })

  beforeAll(async () => {
    const authenticate = new TokenSource({ issuers: [live!.issuer], audience: 'workspace-api', groupsMapperConfigured: true })
    const options = { policy: workspaceApiPolicy(), authenticate }
    const listen = (name: string, server: Server) =>
      new Promise<Running>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve({ name, port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) }),
        ),
      )

    // Express 5: the route of the issue, plus the bare workspace.
    const app = express()
    app.use(keycloakMiddleware(options))
    const expressHandler = (req: express.Request, res: express.Response) => {
      record('express', String(req.params['ws']), expressAuthorization(req))
      res.json({ ws: req.params['ws'] })
    }
    app.all('/workspaces/:ws/{*rest}', expressHandler)
    app.all('/workspaces/:ws', expressHandler)
    servers.push(await listen('express', createServer(app)))

    // Fastify 5: the route of the issue, plus the bare workspace.
    const fastify = Fastify()
    await fastify.register(keycloakPlugin, options)
    const fastifyHandler = async (request: import('fastify').FastifyRequest) => {
      const ws = (request.params as Record<string, string>)['ws']!
      record('fastify', ws, fastifyAuthorization(request))
      return { ws }
    }
    fastify.all('/workspaces/:ws/*', fastifyHandler)
    fastify.all('/workspaces/:ws', fastifyHandler)
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    servers.push({ name: 'fastify', port: (fastify.server.address() as AddressInfo).port, close: () => fastify.close() })

    // Hono on @hono/node-server.
    const hono = new Hono<{ Variables: KeycloakVariables }>()
    hono.use('*', keycloakHono(options))
    hono.all('/workspaces/:ws/*', (c) => {
      record('hono', c.req.param('ws'), c.get('keycloak'))
      return c.json({ ws: c.req.param('ws') })
    })
    hono.all('/workspaces/:ws', (c) => {
      record('hono', c.req.param('ws'), c.get('keycloak'))
      return c.json({ ws: c.req.param('ws') })
    })
    servers.push(
      await new Promise<Running>((resolve) => {
        const server = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
          resolve({ name: 'hono', port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) }),
        )
      }),
    )

    // node:http with a hand-written wildcard route, as a plain Node service would parse req.url (WHATWG URL).
    const mw = keycloakMiddleware(options)
    const nodeHandler = (req: IncomingMessage, res: ServerResponse) =>
      mw(req, res, (err) => {
        if (err) {
          res.statusCode = 500
          res.end()
          return
        }
        let segments: string[]
        try {
          segments = new URL(req.url ?? '/', 'http://localhost').pathname.split('/').slice(1)
        } catch {
          res.statusCode = 400
          res.end()
          return
        }
        if (segments[0] !== 'workspaces' || segments[1] === undefined || segments[1] === '') {
          res.statusCode = 404
          res.end()
          return
        }
        const ws = decodeURIComponent(segments[1])
        record('node:http', ws, expressAuthorization(req))
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ ws }))
      })
    servers.push(await listen('node:http', createServer(nodeHandler)))

    token = await userToken('bob', 'bob-pw', 'workspace-api', 'workspace-api-secret')
    const claims = jwtPayload(token) as { resource_access?: Record<string, unknown> }
    // The premise of the suite: bob holds ws-alpha and nothing on ws-beta.
    expect(Object.keys(claims.resource_access ?? {})).toContain(HELD)
    expect(Object.keys(claims.resource_access ?? {})).not.toContain(OTHER)
  })

  afterAll(async () => {
    for (const s of servers) await s.close()
  })

  const targets = attackTargets(HELD, OTHER)

  it('has at least 40 attack targets besides the controls', () => {
    expect(targets.filter((t) => t.family !== 'control').length).toBeGreaterThanOrEqual(40)
  })

  it('never runs a handler for a workspace the token does not hold, and answers each target as a routing-safe adapter must', async () => {
    const rows: Array<{ framework: string; target: AttackTarget; status: number; reason: string | undefined }> = []
    for (const server of servers) {
      for (const target of targets) {
        current = target.target
        const res = await rawRequest(server.port, 'GET', target.target, { authorization: `Bearer ${token}` })
        let reason: string | undefined
        try {
          reason = (res.json() as { reason?: string }).reason
        } catch {
          reason = undefined
        }
        rows.push({ framework: server.name, target, status: res.status, reason })
      }
    }
    const violations = seen.filter((s) => s.ws !== HELD || s.granted !== s.ws)
    const mismatched = rows.filter((r) => !answersAsExpected(r.target, r.status, r.reason))
    const summary = servers.map((s) => {
      const mine = rows.filter((r) => r.framework === s.name)
      const count = (status: number) => mine.filter((r) => r.status === status).length
      const ours = mine.filter((r) => r.status === 400 && r.reason === 'AMBIGUOUS_PATH').length
      return `${s.name}: ${mine.length} targets, 200×${count(200)} 400×${count(400)} (AMBIGUOUS_PATH ×${ours}, the server's own parser ×${count(400) - ours}) 403×${count(403)} 404×${count(404)}, handler saw another workspace ×${violations.filter((v) => v.framework === s.name).length}`
    })
    console.info(`attack suite (${targets.length} targets, ${targets.filter((t) => t.family !== 'control').length} attacks):\n  ${summary.join('\n  ')}`)
    expect(violations, JSON.stringify(violations, null, 1)).toEqual([])
    expect(
      mismatched.map((r) => `${r.framework} ${r.target.id} ${r.target.target} → ${r.status} ${r.reason ?? ''} (expected ${r.target.expected})`),
    ).toEqual([])
  })
})

/**
 * `refused` → 400 with reason `AMBIGUOUS_PATH` (or the HTTP server's own 400 when its parser rejects the
 * request line first — then no middleware or handler ran at all); `allowed` → 200; `denied` → 403.
 */
function answersAsExpected(target: AttackTarget, status: number, reason: string | undefined): boolean {
  if (status !== EXPECTED_STATUS[target.expected]) return false
  if (target.expected === 'refused') return reason === 'AMBIGUOUS_PATH' || reason === undefined
  return true
}
