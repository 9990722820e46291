import { expectTypeOf, test } from 'vitest'
import { Hono } from 'hono'
import express from 'express'
import Fastify from 'fastify'
import { keycloakMiddleware } from '../../src/express/index.js'
import { keycloakOnRequest, keycloakPlugin } from '../../src/fastify/index.js'
import { keycloakHono, type KeycloakVariables } from '../../src/hono/index.js'
import type { Principal } from '../../src/index.js'
import { workspaceApiPolicy, type HttpAuthorization } from '../../src/workspaces/index.js'

const options = { policy: workspaceApiPolicy(), authenticate: async (_t: string) => ({}) as Principal }

test('the adapters plug into each framework without casts', () => {
  express().use(keycloakMiddleware(options))
  Fastify().addHook('onRequest', keycloakOnRequest(options))
  void Fastify().register(keycloakPlugin, options)
  const app = new Hono<{ Variables: KeycloakVariables }>()
  app.use('*', keycloakHono(options))
  app.get('/', (c) => {
    expectTypeOf(c.get('keycloak')).toEqualTypeOf<HttpAuthorization>()
    return c.text('ok')
  })
})
