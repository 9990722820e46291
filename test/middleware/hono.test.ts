import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { describe } from 'vitest'
import { keycloakHono, type KeycloakVariables } from '../../src/hono/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, type StartServer } from './harness.js'

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
