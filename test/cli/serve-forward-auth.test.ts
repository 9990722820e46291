import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/cli/engine.js'
import { createDecisionServer } from '../../src/cli/serve.js'
import { openSource } from '../../src/cli/sources.js'
import { SourceUnavailableError } from '../../src/core/errors.js'
import { authorizeHttpRequest, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { attackTargets, EXPECTED_STATUS } from '../integration/helpers/attack-targets.js'
import { makeKeys, tokenSource } from '../middleware/harness.js'
import { listen, rawRequest } from './serve-raw.js'

const engine = new Engine({ source: await openSource({}) })
const keys = await makeKeys()
const alice = await keys.sign({})
const expired = await keys.sign({ exp: keys.now - 3_600, iat: keys.now - 7_200 })
const zoe = await keys.sign({ preferred_username: 'zoë', sub: 'u-zoë' })
const authenticate = tokenSource(keys.jwks, 'workspace-api')

let port: number
let close: () => Promise<void>
const logged: string[] = []
beforeAll(async () => {
  const server = createDecisionServer({ engine, forwardAuth: { authenticate }, callerToken: 'caller-secret', log: (l) => logged.push(l) })
  ;({ port, close } = await listen(server))
})
afterAll(() => close?.())

/** One forward-auth request as a gateway sends it (raw bytes: nothing cleans the URIs). */
function ask(path: string, headers: Record<string, string | string[]>, method = 'GET') {
  let head = `${method} ${path} HTTP/1.1\r\nhost: auth\r\nconnection: close\r\n`
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`
  return rawRequest(port, `${head}\r\n`)
}
const nginx = (method: string, uri: string, token?: string, extra: Record<string, string | string[]> = {}) =>
  ask('/v1/forward-auth/nginx/workspaces', { 'x-original-method': method, 'x-original-uri': uri, ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra })
const traefik = (method: string, uri: string, token?: string, extra: Record<string, string> = {}) =>
  ask('/v1/forward-auth/traefik/workspaces', {
    'x-forwarded-method': method,
    'x-forwarded-uri': uri,
    'x-forwarded-host': 'ws.example.org',
    'x-forwarded-proto': 'https',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  })
const envoy = (method: string, path: string, token?: string) =>
  ask(`/v1/forward-auth/envoy/workspaces${path}`, token ? { authorization: `Bearer ${token}` } : {}, method)

describe('forward auth: the same decision as authorizeHttpRequest, per gateway', () => {
  it('allowed: 200 with X-Auth-User, X-Auth-User-Id and X-Auth-Reason (nginx, Traefik, Envoy)', async () => {
    for (const res of [
      await nginx('GET', '/workspaces/ws-alice/files?x=1', alice),
      await traefik('PUT', '/workspaces/ws-alice/files/a', alice),
      await envoy('DELETE', '/workspaces/ws-alice/files/a?y=2', alice),
    ]) {
      expect(res.status).toBe(200)
      expect(res.headers['x-auth-user']).toBe('alice')
      expect(res.headers['x-auth-user-id']).toBe('u-alice')
      expect(res.headers['x-auth-reason']).toBe('WORKSPACE_ROLE')
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
      expect(res.json()).toEqual({ allowed: true, reason: 'WORKSPACE_ROLE', user: 'alice' })
    }
  })

  it('denied: 403 with the reason; no X-Auth-User', async () => {
    for (const res of [await nginx('GET', '/workspaces/ws-bob/files', alice), await traefik('GET', '/workspaces/ws-bob', alice), await envoy('GET', '/workspaces/ws-bob', alice)]) {
      expect(res.status).toBe(403)
      expect(res.headers['x-auth-reason']).toBe('NO_CLIENT_ENTRY')
      expect(res.headers['x-auth-user']).toBeUndefined()
      expect(res.json()).toMatchObject({ error: 'forbidden', reason: 'NO_CLIENT_ENTRY' })
    }
  })

  it('no token, expired, tampered: 401 with WWW-Authenticate (nginx copies it to the client)', async () => {
    const none = await nginx('GET', '/workspaces/ws-alice', undefined)
    expect([none.status, none.headers['x-auth-reason'], none.headers['www-authenticate']]).toEqual([401, 'NO_TOKEN', 'Bearer realm="keycloak-permissions"'])
    const old = await traefik('GET', '/workspaces/ws-alice', expired)
    expect([old.status, old.headers['x-auth-reason']]).toEqual([401, 'TOKEN_EXPIRED'])
    expect(old.headers['www-authenticate']).toBe('Bearer realm="keycloak-permissions", error="invalid_token", error_description="TOKEN_EXPIRED"')
    const tampered = await envoy('GET', '/workspaces/ws-alice', `${alice.slice(0, -4)}AAAA`)
    expect([tampered.status, tampered.headers['x-auth-reason']]).toEqual([401, 'TOKEN_INVALID'])
  })

  it('ambiguous targets: 400 AMBIGUOUS_PATH, before any rule (even for a valid token)', async () => {
    for (const target of ['/workspaces/ws-bob%2F..%2Fws-alice/files', '/workspaces/ws-alice/%2e%2e/ws-bob', '/workspaces/ws%252Dalice', 'workspaces/ws-alice', '/workspaces\\ws-alice']) {
      for (const res of [await nginx('GET', target, alice), await traefik('GET', target, alice)]) {
        expect(res.status, target).toBe(400)
        expect(res.headers['x-auth-reason'], target).toBe('AMBIGUOUS_PATH')
      }
    }
    const res = await envoy('GET', '/workspaces/ws-bob%2F..%2Fws-alice', alice)
    expect([res.status, res.headers['x-auth-reason']]).toEqual([400, 'AMBIGUOUS_PATH'])
    // Envoy's prefix with nothing appended names no resource.
    expect((await ask('/v1/forward-auth/envoy/workspaces', { authorization: `Bearer ${alice}` })).headers['x-auth-reason']).toBe('AMBIGUOUS_PATH')
  })

  it('agrees with authorizeHttpRequest on every case (one answer)', async () => {
    const policy = workspaceApiPolicy()
    const cases: Array<[string, string, string | undefined]> = [
      ['GET', '/workspaces/ws-alice', alice],
      ['POST', '/workspaces/ws-alice/x', alice],
      ['GET', '/workspaces/ws-bob', alice],
      ['GET', '/workspaces', alice],
      ['GET', '/workspaces/ws-alice', expired],
      ['GET', '/workspaces/ws-alice', undefined],
      ['GET', '/workspaces/ws-a%6cice/files', alice],
      ['GET', '/workspaces/ws-alice%2Ffiles', alice],
      ['GET', '/workspaces/ws-bob/../ws-alice/files', alice],
      ['GET', '/workspaces/ws-bob;/../ws-alice/files', alice],
      ['GET', '/workspaces//ws-alice', alice],
    ]
    for (const [method, target, token] of cases) {
      const headers = token ? { authorization: `Bearer ${token}` } : {}
      const library = await authorizeHttpRequest({ method, target, headers }, { policy, authenticate })
      const res = await nginx(method, target, token)
      expect([res.status, res.headers['x-auth-reason']], `${method} ${target}`).toEqual([library.status, library.decision.reason])
      if (library.status !== 200) expect(res.json(), `${method} ${target}`).toEqual(library.body)
    }
  })

  it('the shared attack list: every gateway endpoint answers what the middleware answers (400 / 200 / 403)', async () => {
    const targets = attackTargets('ws-alice', 'ws-bob')
    expect(targets.length).toBeGreaterThanOrEqual(40)
    for (const t of targets) {
      const want = EXPECTED_STATUS[t.expected]
      for (const [gateway, res] of [
        ['nginx', await nginx('GET', t.target, alice)],
        ['traefik', await traefik('GET', t.target, alice)],
        // Envoy appends the original :path, which is always origin-form.
        ...(t.target.startsWith('/') ? [['envoy', await envoy('GET', t.target, alice)] as const] : []),
      ] as const) {
        expect(res.status, `${gateway} ${t.id} ${t.target}`).toBe(want)
        expect(res.headers['x-auth-user'], `${gateway} ${t.id}`).toBe(want === 200 ? 'alice' : undefined)
      }
    }
  })

  it('each gateway reads only its own headers: a client-supplied header of another gateway is ignored', async () => {
    // Traefik copies client headers into its auth request: a client's X-Original-URI must not decide.
    const viaTraefik = await traefik('GET', '/workspaces/ws-bob', alice, { 'x-original-uri': '/workspaces/ws-alice', 'x-original-method': 'GET' })
    expect([viaTraefik.status, viaTraefik.headers['x-auth-reason']]).toEqual([403, 'NO_CLIENT_ENTRY'])
    const viaNginx = await nginx('GET', '/workspaces/ws-bob', alice, { 'x-forwarded-uri': '/workspaces/ws-alice' })
    expect(viaNginx.status).toBe(403)
  })

  it('malformed gateway requests: 400 MISSING_HEADER, DUPLICATE_HEADER, INVALID_HEADER; 404 for unknown gateway or policy', async () => {
    const missing = await ask('/v1/forward-auth/nginx/workspaces', { authorization: `Bearer ${alice}`, 'x-original-method': 'GET' })
    expect([missing.status, missing.json().error.code]).toEqual([400, 'MISSING_HEADER'])
    expect(missing.json().error.message).toContain('x-original-uri')
    const twice = await nginx('GET', '/workspaces/ws-bob', alice, { 'x-original-uri': ['/workspaces/ws-bob', '/workspaces/ws-alice'] })
    expect([twice.status, twice.json().error.code]).toEqual([400, 'DUPLICATE_HEADER'])
    const twoTokens = await nginx('GET', '/workspaces/ws-alice', undefined, { authorization: [`Bearer ${alice}`, `Bearer ${expired}`] })
    expect([twoTokens.status, twoTokens.json().error.code]).toEqual([400, 'DUPLICATE_HEADER'])
    const method = await nginx('GET /x', '/workspaces/ws-alice', alice)
    expect([method.status, method.json().error.code]).toEqual([400, 'INVALID_HEADER'])
    for (const path of ['/v1/forward-auth/haproxy/workspaces', '/v1/forward-auth/nginx/other', '/v1/forward-auth/nginx/workspaces/extra', '/v1/forward-auth/nginx/workspaces?x=1', '/v1/forward-auth/envoy/workspacesX/workspaces/ws-alice']) {
      const res = await ask(path, { 'x-original-method': 'GET', 'x-original-uri': '/workspaces/ws-alice', authorization: `Bearer ${alice}` })
      expect([res.status, res.json().error.code], path).toEqual([404, 'NOT_FOUND'])
    }
  })

  it('the STAC policy by URL; a public read passes without a user; the caller token is not asked for', async () => {
    const res = await ask('/v1/forward-auth/nginx/stac', { 'x-original-method': 'GET', 'x-original-uri': '/stac/collections/sentinel-2' })
    expect([res.status, res.headers['x-auth-reason'], res.headers['x-auth-user'], res.headers['x-auth-user-id']]).toEqual([200, 'PUBLIC_READ', '', ''])
    const write = await ask('/v1/forward-auth/nginx/stac', { 'x-original-method': 'POST', 'x-original-uri': '/stac/collections', authorization: `Bearer ${alice}` })
    expect(write.status).toBe(403)
  })

  it('a username outside printable ASCII is percent-encoded in X-Auth-User', async () => {
    const res = await nginx('GET', '/workspaces/ws-alice', zoe)
    expect([res.status, res.headers['x-auth-user'], res.headers['x-auth-user-id']]).toEqual([200, 'zo%C3%AB', 'u-zo%C3%AB'])
  })
})

describe('forward auth: failures are not decisions', () => {
  it('without token verification the endpoints answer 501 FORWARD_AUTH_NOT_CONFIGURED (logged with its request id)', async () => {
    const lines: string[] = []
    const r = await listen(createDecisionServer({ engine, log: (l) => lines.push(l), requestId: () => 'rid-1' }))
    try {
      const res = await rawRequest(r.port, 'GET /v1/forward-auth/nginx/workspaces HTTP/1.1\r\nhost: x\r\nx-original-method: GET\r\nx-original-uri: /workspaces/ws-alice\r\nconnection: close\r\n\r\n')
      expect([res.status, res.json().error.code, res.json().error.requestId]).toEqual([501, 'FORWARD_AUTH_NOT_CONFIGURED', 'rid-1'])
      expect(lines).toEqual([expect.stringMatching(/^keycloak-permissions serve: 501 FORWARD_AUTH_NOT_CONFIGURED request rid-1 GET/)])
    } finally {
      await r.close()
    }
  })

  it('an authenticator failure that is not a token rejection is a 5xx (503 here), logged — never an allow', async () => {
    const lines: string[] = []
    const down = async () => {
      throw new SourceUnavailableError('Keycloak', 'JWKS unreachable')
    }
    const r = await listen(createDecisionServer({ engine, forwardAuth: { authenticate: down }, log: (l) => lines.push(l) }))
    try {
      const res = await rawRequest(r.port, `GET /v1/forward-auth/nginx/workspaces HTTP/1.1\r\nhost: x\r\nx-original-method: GET\r\nx-original-uri: /workspaces/ws-alice\r\nauthorization: Bearer ${alice}\r\nconnection: close\r\n\r\n`)
      expect(res.status).toBe(503)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(res.json().error.requestId)
    } finally {
      await r.close()
    }
  })
})
