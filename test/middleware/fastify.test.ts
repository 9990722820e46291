import Fastify, { type FastifyRequest } from 'fastify'
import { describe } from 'vitest'
import { authorizationOf, keycloakOnRequest, keycloakPlugin } from '../../src/fastify/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, type StartServer } from './harness.js'

const start =
  (style: 'hook' | 'plugin'): StartServer =>
  async (options) => {
    const app = Fastify()
    if (style === 'hook') app.addHook('onRequest', keycloakOnRequest(options))
    else await app.register(keycloakPlugin, options)
    const echo = (request: object, ws?: string) => {
      const auth = authorizationOf(request)!
      return { user: auth.principal?.username ?? null, reason: auth.decision.reason, grant: auth.decision.grant, path: auth.path, ...(ws === undefined ? {} : { ws }) }
    }
    const workspace = async (request: FastifyRequest) => echo(request, (request.params as { ws: string }).ws)
    app.all('/workspaces/:ws', workspace)
    app.all('/workspaces/:ws/*', workspace)
    app.all('/*', async (request) => echo(request))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    return { port: address.port, close: () => app.close() }
  }

const policies = { workspace: workspaceApiPolicy(), stac: stacPolicy() }

describe('fastify onRequest hook, end to end', () => adapterSuite(start('hook'), policies))
describe('fastify plugin, end to end', () => adapterSuite(start('plugin'), policies))
