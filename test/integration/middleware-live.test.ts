import { createServer, type Server } from 'node:http'
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
import { workspaceApiPolicy } from '../../src/workspaces/index.js'
import { send } from '../middleware/harness.js'
import { userToken } from './helpers/keycloak-admin.js'
import { describeLive, live } from './helpers/live.js'

interface Running {
  name: string
  port: number
  close(): Promise<void>
}

describeLive('middleware with real tokens from the live Keycloak', () => {
  const servers: Running[] = []
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    const authenticate = new TokenSource({ issuers: [live!.issuer], audience: 'workspace-api', groupsMapperConfigured: true })
    const options = { policy: workspaceApiPolicy(), authenticate }
    const listen = (name: string, server: Server) =>
      new Promise<Running>((resolve) => server.listen(0, '127.0.0.1', () => resolve({ name, port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) })))

    const app = express()
    app.use(keycloakMiddleware(options))
    app.use((req, res) => void res.json({ user: expressAuthorization(req)!.principal?.username, reason: expressAuthorization(req)!.decision.reason }))
    servers.push(await listen('express', createServer(app)))

    const fastify = Fastify()
    await fastify.register(keycloakPlugin, options)
    fastify.all('/*', async (request) => ({ user: fastifyAuthorization(request)!.principal?.username, reason: fastifyAuthorization(request)!.decision.reason }))
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    servers.push({ name: 'fastify', port: (fastify.server.address() as AddressInfo).port, close: () => fastify.close() })

    const hono = new Hono<{ Variables: KeycloakVariables }>()
    hono.use('*', keycloakHono(options))
    hono.all('*', (c) => c.json({ user: c.get('keycloak').principal?.username, reason: c.get('keycloak').decision.reason }))
    servers.push(
      await new Promise<Running>((resolve) => {
        const server = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
          resolve({ name: 'hono', port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) }),
        )
      }),
    )
    for (const user of ['bob', 'carol', 'dave']) tokens[user] = await userToken(user, `${user}-pw`, 'workspace-api', 'workspace-api-secret')
  })

  afterAll(async () => {
    for (const s of servers) await s.close()
  })

  it('allows, forbids and challenges exactly as the workspace rule decides, on every adapter', async () => {
    const cases: Array<[string | undefined, string, string, number, string?]> = [
      ['bob', 'GET', '/workspaces/ws-alpha/files', 200, 'WORKSPACE_ROLE'],
      ['bob', 'GET', '/workspaces/ws-beta', 403, 'NO_CLIENT_ENTRY'],
      ['bob', 'GET', '/workspaces/ws-alpha%2F..%2Fws-beta', 400, 'AMBIGUOUS_PATH'],
      ['dave', 'DELETE', '/workspaces/ws-beta/files/x', 200, 'WORKSPACE_ROLE'],
      ['carol', 'GET', '/workspaces/ws-beta', 200, 'PLATFORM_ADMIN'],
      [undefined, 'GET', '/workspaces/ws-alpha', 401],
    ]
    for (const server of servers) {
      for (const [user, method, path, status, reason] of cases) {
        const headers: Record<string, string> = user ? { authorization: `Bearer ${tokens[user]}` } : {}
        const res = await send(server.port, method, path, headers)
        expect(res.status, `${server.name} ${user} ${method} ${path}`).toBe(status)
        if (status === 200) expect(res.json()).toEqual({ user, reason })
        if (status === 403 || status === 400) expect(res.json().reason, `${server.name} ${path}`).toBe(reason)
        if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
      }
      const tampered = `${tokens['bob']!.slice(0, -6)}AAAAAA`
      expect((await send(server.port, 'GET', '/workspaces/ws-alpha', { authorization: `Bearer ${tampered}` })).status).toBe(401)
    }
  })
})
