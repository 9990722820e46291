import type { AddressInfo } from 'node:net'
import type { IncomingMessage } from 'node:http'
import Fastify, { type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorizationOf, keycloakOnRequest, keycloakPlugin } from '../../src/fastify/index.js'
import { stacPolicy, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { adapterSuite, makeKeys, send, tokenSource, type StartServer } from './harness.js'

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

describe('fastify: router options and rewriteUrl do not change what was decided', () => {
  let keys: Awaited<ReturnType<typeof makeKeys>>
  let app: ReturnType<typeof Fastify>
  let port = 0
  const seen: string[] = []

  beforeAll(async () => {
    keys = await makeKeys()
    // The most forgiving router: merged slashes, `;` as a query delimiter, trailing slash ignored, and
    // a rewrite of a legacy prefix.
    app = Fastify({
      // useSemicolonDelimiter is read from routerOptions at run time, but missing from its type.
      routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, useSemicolonDelimiter: true } as NonNullable<FastifyServerOptions['routerOptions']>,
      rewriteUrl: (req: IncomingMessage) => (req.url?.startsWith('/legacy/') ? '/workspaces/ws-bob/' + req.url.slice('/legacy/'.length) : (req.url ?? '/')),
    })
    await app.register(keycloakPlugin, { policy: workspaceApiPolicy(), authenticate: tokenSource(keys.jwks, 'workspace-api') })
    app.all('/workspaces/:ws/*', async (request: FastifyRequest) => {
      const ws = (request.params as { ws: string }).ws
      seen.push(ws)
      return { ws, path: authorizationOf(request)!.path }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })
  afterAll(() => app.close())

  it('refuses what these options would reinterpret', async () => {
    const token = await keys.sign({})
    for (const [target, detail] of [
      ['/workspaces//ws-alice/files', 'EMPTY_SEGMENT'],
      ['/workspaces/ws-bob;/files', 'SEGMENT_PARAMETER'],
      ['/workspaces/ws-alice;ws-bob/files', 'SEGMENT_PARAMETER'],
      ['/workspaces/ws-bob/..//ws-alice/files', 'DOT_SEGMENT'],
    ] as const) {
      const res = await send(port, 'GET', target, { authorization: `Bearer ${token}` })
      expect([res.status, res.json().detail], target).toEqual([400, detail])
    }
    const clean = await send(port, 'GET', '/workspaces/ws-alice/files/', { authorization: `Bearer ${token}` })
    expect([clean.status, clean.json()]).toEqual([200, { ws: 'ws-alice', path: '/workspaces/ws-alice/files' }])
    expect(seen).toEqual(['ws-alice'])
  })

  it('decides on the rewritten URL Fastify routes', async () => {
    const res = await send(port, 'GET', '/legacy/files', { authorization: `Bearer ${await keys.sign({})}` })
    expect([res.status, res.json().reason]).toEqual([403, 'NO_CLIENT_ENTRY'])
    expect(seen).not.toContain('ws-bob')
  })
})
