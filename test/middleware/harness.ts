import { request as httpRequest } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { expect, it } from 'vitest'
import { TokenSource } from '../../src/keycloak/index.js'
import type { Authenticator, RoutePolicy } from '../../src/workspaces/index.js'

export const ISSUER = 'http://127.0.0.1:8180/realms/example'

/** Keys generated for this test run: `rsa` is in the JWKS, `stranger` is not, `ec` is ES256 (refused by default). */
export async function makeKeys() {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const stranger = await generateKeyPair('RS256', { extractable: true })
  const ec = await generateKeyPair('ES256', { extractable: true })
  const jwk = (key: Parameters<typeof exportJWK>[0], kid: string, alg: string): Promise<JWK> => exportJWK(key).then((k) => ({ ...k, kid, alg, use: 'sig' }))
  const jwks = { keys: [await jwk(rsa.publicKey, 'rsa-1', 'RS256'), await jwk(ec.publicKey, 'ec-1', 'ES256')] }
  const now = Math.floor(Date.now() / 1000)
  const sign = (claims: Record<string, unknown>, key: 'rsa' | 'stranger' | 'ec' = 'rsa') => {
    const alg = key === 'ec' ? 'ES256' : 'RS256'
    const kid = key === 'ec' ? 'ec-1' : 'rsa-1'
    const privateKey = key === 'rsa' ? rsa.privateKey : key === 'stranger' ? stranger.privateKey : ec.privateKey
    return new SignJWT({
      iss: ISSUER,
      aud: ['workspace-api', 'eoapi'],
      azp: 'workspace-api',
      typ: 'Bearer',
      sub: 'u-alice',
      preferred_username: 'alice',
      iat: now - 10,
      exp: now + 300,
      resource_access: { 'ws-alice': { roles: ['ws_access'] } },
      ...claims,
    })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(privateKey)
  }
  return { jwks, sign, now }
}

export function tokenSource(jwks: { keys: JWK[] }, audience: string): TokenSource {
  return new TokenSource({ issuers: [ISSUER], audience, jwks })
}

/**
 * What every test server's handler answers for an allowed request: `path` is the adapter's decided path
 * (`HttpAuthorization.path`), `ws` the `:ws` param the framework's router handed the handler on its
 * wildcard workspace route (`/workspaces/:ws/…`; absent on the catch-all route).
 */
export interface Echo {
  user: string | null
  reason: string
  grant: unknown
  path: string | undefined
  ws?: string
}

export interface RunningServer {
  port: number
  close(): Promise<void>
}

/**
 * Starts a server on 127.0.0.1 behind the adapter with a wildcard workspace route (`/workspaces/:ws` and
 * `/workspaces/:ws/…`, echoing `ws`) and a catch-all route, both answering `Echo`.
 */
export type StartServer = (options: { policy: RoutePolicy; authenticate: Authenticator }) => Promise<RunningServer>

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: () => any
}

/** Sends a request with the target exactly as given (no client-side URL normalisation). */
export function send(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * The end-to-end cases every adapter must pass: tokens signed with keys generated in the test, verified
 * by a TokenSource over the local JWKS, behind a real server on 127.0.0.1.
 */
export function adapterSuite(start: StartServer, policies: { workspace: RoutePolicy; stac: RoutePolicy }) {
  let keys: Awaited<ReturnType<typeof makeKeys>>
  let ws: RunningServer
  let stac: RunningServer
  let broken: RunningServer

  it('starts the servers', async () => {
    keys = await makeKeys()
    ws = await start({ policy: policies.workspace, authenticate: tokenSource(keys.jwks, 'workspace-api') })
    stac = await start({ policy: policies.stac, authenticate: tokenSource(keys.jwks, 'eoapi') })
    broken = await start({
      policy: policies.workspace,
      authenticate: async () => {
        throw new Error('catalogue unavailable')
      },
    })
  })

  it('lets a member reach her workspace and exposes principal and decision to the handler', async () => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-alice/files?x=1', { authorization: `Bearer ${await keys.sign({})}` })
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({
      user: 'alice',
      reason: 'WORKSPACE_ROLE',
      grant: { client: 'ws-alice', roles: ['ws_access'], rule: '/workspaces/{workspace}/**' },
      path: '/workspaces/ws-alice/files',
      ws: 'ws-alice',
    })
  })

  it.each([
    ['/workspaces/ws-alice', '/workspaces/ws-alice'],
    ['/workspaces/ws-alice/', '/workspaces/ws-alice'],
    ['/workspaces/ws%2Dalice/files/?x=/../ws-bob', '/workspaces/ws-alice/files'],
    ['/workspaces/ws-alice/fi%6Ces%20x', '/workspaces/ws-alice/files x'],
    ['/workspaces/ws-alice/a.b/..c/.../x%2Ey', '/workspaces/ws-alice/a.b/..c/.../x.y'],
  ])('hands the router the workspace that was decided: %s', async (target, path) => {
    const res = await send(ws.port, 'GET', target, { authorization: `Bearer ${await keys.sign({})}` })
    expect(res.status).toBe(200)
    const echo = res.json() as Echo
    expect(echo.path).toBe(path)
    expect(echo.ws).toBe('ws-alice')
    expect((echo.grant as { client: string }).client).toBe(echo.ws)
  })

  // Targets a router could read differently from the decision: refused before any rule, and before the
  // token is even verified (an expired token or none at all changes nothing).
  const refused: Array<[string, string]> = [
    ['/workspaces/ws-bob/../ws-alice/files', 'DOT_SEGMENT'],
    ['/workspaces/ws-bob/./x', 'DOT_SEGMENT'],
    ['/workspaces/ws-bob/..', 'DOT_SEGMENT'],
    ['/workspaces/ws-bob//../ws-alice/files', 'EMPTY_SEGMENT'],
    ['//workspaces/ws-alice', 'EMPTY_SEGMENT'],
    ['/workspaces/ws-alice//files', 'EMPTY_SEGMENT'],
    ['/workspaces/ws-bob;/../ws-alice/files', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-alice;x=1/files', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-bob%3b/../ws-alice', 'SEGMENT_PARAMETER'],
    ['/workspaces/ws-bob/..;/ws-alice', 'DOT_SEGMENT_PARAMETER'],
    ['/workspaces/ws-alice/%2e%2e/ws-bob', 'ENCODED_DOT_SEGMENT'],
    ['/workspaces/ws-bob/.%2E/ws-alice', 'ENCODED_DOT_SEGMENT'],
    ['/workspaces/ws-alice%2F..%2Fws-bob', 'ENCODED_SEPARATOR'],
    ['/workspaces/ws-bob%5c..%5cws-alice', 'ENCODED_SEPARATOR'],
    ['/workspaces/ws%252Dalice', 'DOUBLE_ENCODING'],
    ['/workspaces/ws-alice/files#x', 'FRAGMENT'],
    ['http://127.0.0.1/workspaces/ws-alice/files', 'ABSOLUTE_FORM'],
  ]
  it.each(refused)('refuses %s with 400 AMBIGUOUS_PATH (%s) before any rule and any token check', async (target, detail) => {
    const tokens = [await keys.sign({}), await keys.sign({ exp: keys.now - 600 }), undefined]
    for (const token of tokens) {
      const res = await send(ws.port, 'GET', target, token === undefined ? {} : { authorization: `Bearer ${token}` })
      expect(res.status, target).toBe(400)
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.json(), target).toEqual({ error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail })
    }
  })

  it('accepts the scheme case-insensitively', async () => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-alice', { authorization: `BEARER ${await keys.sign({})}` })
    expect(res.status).toBe(200)
  })

  it('answers 401 with a challenge without a token', async () => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-alice')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="keycloak-permissions"')
    expect(res.json()).toMatchObject({ error: 'unauthorized', reason: 'NO_TOKEN' })
  })

  it.each([
    ['an expired token', async () => keys.sign({ exp: keys.now - 120, iat: keys.now - 600 }), 'TOKEN_EXPIRED'],
    ['a token signed by an unknown key', async () => keys.sign({}, 'stranger'), 'TOKEN_INVALID'],
    ['an ES256 token', async () => keys.sign({}, 'ec'), 'ALGORITHM_NOT_ALLOWED'],
    ['a token of another issuer', async () => keys.sign({ iss: 'http://127.0.0.1:8180/realms/other' }), 'ISSUER_MISMATCH'],
    ['a token for another audience', async () => keys.sign({ aud: 'account' }), 'AUDIENCE_MISMATCH'],
    ['an ID token', async () => keys.sign({ typ: 'ID' }), 'TOKEN_TYPE_NOT_ALLOWED'],
    ['garbage', async () => 'not.a.jwt', 'TOKEN_INVALID'],
  ])('answers 401 for %s', async (_what, token, reason) => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-alice', { authorization: `Bearer ${await token()}` })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="keycloak-permissions", error="invalid_token", error_description="${reason}"`)
    expect(res.json()).toMatchObject({ error: 'unauthorized', reason })
  })

  it('answers 401 invalid_request for a malformed header', async () => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-alice', { authorization: `Bearer  ${await keys.sign({})}` })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="keycloak-permissions", error="invalid_request"')
    expect(res.json()).toMatchObject({ reason: 'MALFORMED_AUTHORIZATION' })
  })

  it('answers 403 with the reason for another team', async () => {
    const res = await send(ws.port, 'GET', '/workspaces/ws-bob', { authorization: `Bearer ${await keys.sign({})}` })
    expect(res.status).toBe(403)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toEqual({ error: 'forbidden', reason: 'NO_CLIENT_ENTRY' })
  })


  it('refuses an allow that would not hold in lower case (case-insensitive routers), and keeps mixed-case public reads', async () => {
    // The STAC rule finds no `collections` segment in /stac/COLLECTIONS/…: a public read for the rule, the
    // private collection's handler for a case-insensitive router (Express's default).
    for (const target of ['/stac/COLLECTIONS/ws-bob.private/items', '/stac/Collections/ws-private']) {
      const res = await send(stac.port, 'GET', target)
      expect([res.status, res.json()], target).toEqual([400, { error: 'bad_request', reason: 'AMBIGUOUS_PATH', detail: 'CASE_VARIANT' }])
    }
    const mixed = await send(stac.port, 'GET', '/stac/collections/Sentinel-2/items')
    expect([mixed.status, mixed.json().reason]).toEqual([200, 'PUBLIC_READ'])
  })

  it('does not honour X-HTTP-Method-Override unless configured', async () => {
    const editorToken = await keys.sign({ resource_access: { 'ws-alice': { roles: ['ws_access'] } } })
    const res = await send(stac.port, 'POST', '/stac/search', { authorization: `Bearer ${editorToken}`, 'x-http-method-override': 'DELETE' })
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ reason: 'PUBLIC_READ' })
  })

  it('runs the STAC table: anonymous reads, editor writes anchored on azp', async () => {
    expect((await send(stac.port, 'GET', '/stac/collections')).json()).toMatchObject({ user: null, reason: 'PUBLIC_READ' })
    const write = await send(stac.port, 'POST', '/stac/collections')
    expect([write.status, write.json().reason]).toEqual([401, 'NO_TOKEN'])
    const editor = await keys.sign({ azp: 'eoapi', aud: 'eoapi', preferred_username: 'eddie', resource_access: { eoapi: { roles: ['stac_editor'] } } })
    expect((await send(stac.port, 'POST', '/stac/collections', { authorization: `Bearer ${editor}` })).json()).toMatchObject({
      user: 'eddie',
      reason: 'STAC_EDITOR',
    })
    const elsewhere = await keys.sign({ azp: 'other', aud: 'eoapi', resource_access: { eoapi: { roles: ['stac_editor'] } } })
    const denied = await send(stac.port, 'PUT', '/stac/collections/c1', { authorization: `Bearer ${elsewhere}` })
    expect([denied.status, denied.json().reason]).toEqual([403, 'AZP_NOT_ALLOWED'])
    const expiredOnPublic = await send(stac.port, 'GET', '/stac/collections', { authorization: `Bearer ${await keys.sign({ exp: keys.now - 600 })}` })
    expect([expiredOnPublic.status, expiredOnPublic.json().reason]).toEqual([401, 'TOKEN_EXPIRED'])
  })

  it('fails closed with a 500 when the authenticator itself fails', async () => {
    const res = await send(broken.port, 'GET', '/workspaces/ws-alice', { authorization: `Bearer ${await keys.sign({})}` })
    expect(res.status).toBe(500)
    expect(res.body).not.toContain('ws-alice')
  })

  it('stops the servers', async () => {
    await Promise.all([ws.close(), stac.close(), broken.close()])
  })
}
