import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { describe } from 'vitest'
import { authorizationOf, keycloakMiddleware } from '../../src/express/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, type StartServer } from './harness.js'

const listen = (server: Server) =>
  new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) }),
    )
  })

const startExpress: StartServer = async (options) => {
  const app = express()
  app.use(keycloakMiddleware(options))
  app.use((req, res) => {
    const auth = authorizationOf(req)!
    // Express also hands it over in res.locals.
    if (res.locals['keycloak'] !== auth) throw new Error('res.locals.keycloak differs')
    res.json({ user: auth.principal?.username ?? null, reason: auth.decision.reason, grant: auth.decision.grant })
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
      const auth = authorizationOf(req)!
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ user: auth.principal?.username ?? null, reason: auth.decision.reason, grant: auth.decision.grant }))
    })
  })
  return listen(server)
}

const policies = { workspace: workspaceApiPolicy(), stac: stacPolicy() }

describe('express middleware, end to end', () => adapterSuite(startExpress, policies))
describe('node:http middleware, end to end', () => adapterSuite(startNodeHttp, policies))
