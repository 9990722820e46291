import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { getPath, getPathNoStrict } from 'hono/utils/url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keycloakHono, type KeycloakVariables } from '../../src/hono/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, makeKeys, send, tokenSource, type StartServer } from './harness.js'

const start: StartServer = (options) =>
  new Promise((resolve) => {
    const app = new Hono<{ Variables: KeycloakVariables }>()
    app.use('*', keycloakHono(options))
    const echo = (auth: KeycloakVariables['keycloak'], ws?: string) => ({
      user: auth.principal?.username ?? null,
      reason: auth.decision.reason,
      grant: auth.decision.grant,
      path: auth.path,
      ...(ws === undefined ? {} : { ws }),
    })
    app.all('/workspaces/:ws', (c) => c.json(echo(c.get('keycloak'), c.req.param('ws'))))
    app.all('/workspaces/:ws/*', (c) => c.json(echo(c.get('keycloak'), c.req.param('ws'))))
    app.all('*', (c) => c.json(echo(c.get('keycloak'))))
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({ port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) })
    })
  })

describe('hono middleware, end to end', () => adapterSuite(start, { workspace: workspaceApiPolicy(), stac: stacPolicy() }))

describe('hono: the routed path (getPath) must name what was decided', () => {
  let keys: Awaited<ReturnType<typeof makeKeys>>
  const servers: Array<{ port: number; close: () => Promise<void> }> = []
  const seen: string[] = []

  const startWith = (getPath: ((request: Request) => string) | undefined) =>
    new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
      const app = new Hono<{ Variables: KeycloakVariables }>(getPath ? { getPath } : {})
      app.use('*', keycloakHono({ policy: workspaceApiPolicy(), authenticate: tokenSource(keys.jwks, 'workspace-api') }))
      app.all('*', (c) => {
        seen.push(c.req.path)
        return c.json({ routed: c.req.path, path: c.get('keycloak').path })
      })
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) }),
      )
    })

  beforeAll(async () => {
    keys = await makeKeys()
    // Host-based routing: Hono routes on `/<host>/<path>`, which the decision never saw.
    servers.push(await startWith((request) => '/' + new URL(request.url).hostname + getPath(request)))
    // Hono's non-strict getPath only drops a trailing slash: the same segments.
    servers.push(await startWith(getPathNoStrict))
  })
  afterAll(async () => {
    for (const s of servers) await s.close()
  })

  it('refuses with ROUTER_MISMATCH when a custom getPath routes on something else', async () => {
    const res = await send(servers[0]!.port, 'GET', '/workspaces/ws-alice/files', { authorization: `Bearer ${await keys.sign({})}` })
    expect([res.status, res.json()]).toEqual([400, { error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: 'ROUTER_MISMATCH' }])
    expect(seen).toEqual([])
  })

  it('accepts a getPath that names the same segments, and percent-decoding that agrees', async () => {
    const token = await keys.sign({})
    const res = await send(servers[1]!.port, 'GET', '/workspaces/ws%2Dalice/files/', { authorization: `Bearer ${token}` })
    expect([res.status, res.json()]).toEqual([200, { routed: '/workspaces/ws-alice/files', path: '/workspaces/ws-alice/files' }])
    const reserved = await send(servers[1]!.port, 'GET', '/workspaces/ws-alice/a%3Fb%40c', { authorization: `Bearer ${token}` })
    expect([reserved.status, reserved.json().path]).toEqual([200, '/workspaces/ws-alice/a?b@c'])
  })
})
