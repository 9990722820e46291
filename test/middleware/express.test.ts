import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorizationOf, keycloakMiddleware } from '../../src/express/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, makeKeys, send, tokenSource, type StartServer } from './harness.js'

const listen = (server: Server) =>
  new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) }),
    )
  })

const echo = (req: object, ws?: string) => {
  const auth = authorizationOf(req)!
  return { user: auth.principal?.username ?? null, reason: auth.decision.reason, grant: auth.decision.grant, path: auth.path, ...(ws === undefined ? {} : { ws }) }
}

const startExpress: StartServer = async (options) => {
  const app = express()
  app.use(keycloakMiddleware(options))
  const workspace = (req: express.Request, res: express.Response) => void res.json(echo(req, String(req.params['ws'])))
  app.all('/workspaces/:ws', workspace)
  app.all('/workspaces/:ws/{*rest}', workspace)
  app.use((req, res) => {
    // Express also hands it over in res.locals.
    if (res.locals['keycloak'] !== authorizationOf(req)) throw new Error('res.locals.keycloak differs')
    res.json(echo(req))
  })
  return listen(createServer(app))
}

const startNodeHttp: StartServer = async (options) => {
  const mw = keycloakMiddleware(options)
  const server = createServer((req, res) => {
    mw(req, res, (err) => {
      if (err) {
        res.statusCode = 500
        res.end('internal error')
        return
      }
      // A hand-written wildcard route, reading req.url as a plain Node service would (WHATWG URL).
      const segments = new URL(req.url ?? '/', 'http://localhost').pathname.split('/')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(echo(req, segments[1] === 'workspaces' && segments[2] ? decodeURIComponent(segments[2]) : undefined)))
    })
  })
  return listen(server)
}

const policies = { workspace: workspaceApiPolicy(), stac: stacPolicy() }

describe('express middleware, end to end', () => adapterSuite(startExpress, policies))
describe('node:http middleware, end to end', () => adapterSuite(startNodeHttp, policies))

describe('express: the decision follows what the router routes', () => {
  let keys: Awaited<ReturnType<typeof makeKeys>>
  let server: { port: number; close: () => Promise<void> }
  const seen: string[] = []

  beforeAll(async () => {
    keys = await makeKeys()
    const options = { policy: workspaceApiPolicy(), authenticate: tokenSource(keys.jwks, 'workspace-api') }
    const app = express()
    // An alias an application might add: it rewrites req.url before the middleware runs.
    app.use((req, _res, next) => {
      const alias = '/workspaces/ws-alice/shared/'
      if (req.url.startsWith(alias)) req.url = '/workspaces/ws-bob/' + req.url.slice(alias.length)
      next()
    })
    // Mounted: the middleware runs inside a router under /workspaces, so req.url lacks the mount path.
    const inner = express.Router()
    inner.use(keycloakMiddleware(options))
    inner.all('/:ws/{*rest}', (req, res) => {
      seen.push(String(req.params['ws']))
      res.json({ ws: req.params['ws'], path: authorizationOf(req)!.path })
    })
    app.use('/workspaces', inner)
    app.use(keycloakMiddleware(options))
    app.use((req, res) => {
      seen.push(`catch-all ${req.url}`)
      res.json({ path: authorizationOf(req)!.path })
    })
    server = await listen(createServer(app))
  })
  afterAll(() => server.close())

  it('decides on the full path when mounted (req.baseUrl + req.url)', async () => {
    const token = await keys.sign({})
    const res = await send(server.port, 'GET', '/workspaces/ws-alice/files', { authorization: `Bearer ${token}` })
    expect([res.status, res.json()]).toEqual([200, { ws: 'ws-alice', path: '/workspaces/ws-alice/files' }])
    const bob = await send(server.port, 'GET', '/workspaces/ws-bob/files', { authorization: `Bearer ${token}` })
    expect([bob.status, bob.json().reason]).toEqual([403, 'NO_CLIENT_ENTRY'])
    const dots = await send(server.port, 'GET', '/workspaces/ws-bob/../ws-alice/files', { authorization: `Bearer ${token}` })
    expect([dots.status, dots.json().detail]).toEqual([400, 'DOT_SEGMENT'])
    expect(seen).toEqual(['ws-alice'])
  })

  it('decides on a rewritten req.url, not on originalUrl', async () => {
    // originalUrl names alice's workspace; the router routes /workspaces/ws-bob/files.
    const res = await send(server.port, 'GET', '/workspaces/ws-alice/shared/files', { authorization: `Bearer ${await keys.sign({})}` })
    expect([res.status, res.json().reason]).toEqual([403, 'NO_CLIENT_ENTRY'])
    expect(seen).not.toContain('ws-bob')
  })

  it('denies case variants Express would route case-insensitively (the presets match case-sensitively)', async () => {
    const token = await keys.sign({ resource_access: { 'ws-alice': { roles: ['ws_access'] } } })
    for (const target of ['/WORKSPACES/ws-bob/files', '/Workspaces/ws-bob/files', '/workspaces/WS-ALICE/files']) {
      const res = await send(server.port, 'GET', target, { authorization: `Bearer ${token}` })
      expect(res.status, target).toBe(403)
    }
    expect(seen.filter((s) => s !== 'ws-alice')).toEqual([])
  })
})

describe('express: case-insensitive routing meets a case-sensitive decision', () => {
  const seen: string[] = []
  const servers: Array<{ port: number; close: () => Promise<void> }> = []
  const start = async (caseSensitiveRouting: boolean) => {
    const app = express()
    app.use(keycloakMiddleware({ policy: stacPolicy(), authenticate: async () => Promise.reject(new Error('no tokens here')), caseSensitiveRouting }))
    app.get('/stac/collections/:id/{*rest}', (req, res) => {
      seen.push(String(req.params['id']))
      res.json({ id: req.params['id'] })
    })
    return listen(createServer(app))
  }
  beforeAll(async () => {
    servers.push(await start(false), await start(true))
  })
  afterAll(async () => {
    for (const s of servers) await s.close()
  })

  it('refuses /stac/COLLECTIONS/<private>/… by default; declaring the (default, insensitive) router sensitive would open it', async () => {
    const refused = await send(servers[0]!.port, 'GET', '/stac/COLLECTIONS/ws-bob.private/items')
    expect([refused.status, refused.json().detail]).toEqual([400, 'CASE_VARIANT'])
    expect(seen).toEqual([])
    // The hazard the default guards against is real: Express routes the case variant to the collection handler.
    const open = await send(servers[1]!.port, 'GET', '/stac/COLLECTIONS/ws-bob.private/items')
    expect([open.status, open.json()]).toEqual([200, { id: 'ws-bob.private' }])
    expect(seen).toEqual(['ws-bob.private'])
  })
})
