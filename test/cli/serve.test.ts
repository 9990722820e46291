import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from './helpers.js'
import { openTracked, parseResponse } from './serve-raw.js'
import { startServe, type ServeProcess } from './serve-process.js'

const ENVS = 'examples/realm/example-environments.json'

describe('serve: the HTTP decision mode over real HTTP on 127.0.0.1', () => {
  let serve: ServeProcess
  beforeAll(async () => {
    serve = await startServe(['--environments', ENVS])
  })
  afterAll(() => serve?.stop())

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${serve.url}${path}`, { headers })
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${serve.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

  it('GET /healthz', async () => {
    const res = await get('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', source: 'bundled example realm' })
  })

  it('GET /v1/users/{user}/principal has the resolve --json shape', async () => {
    const res = await get('/v1/users/bob/principal')
    expect(res.status).toBe(200)
    const body: any = await res.json()
    expect(body).toMatchObject({ user: 'bob', groups: ['/projects/ml'] })
    expect(body.components.workspaces.workspaces).toEqual(['ws-alpha'])
  })

  it('GET /v1/users/{user}/environments lists readable environments with reasons', async () => {
    const body: any = await (await get('/v1/users/alice/environments')).json()
    expect(body.environments.map((e: any) => `${e.namespace}/${e.name}`)).toContain('analyst/pandas')
    expect(body.environments.every((e: any) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true)
    const listed: any = await (await get('/v1/users/bob/environments?listed=true')).json()
    expect(listed.visibility).toBe('listed')
  })

  it('POST /v1/check answers every check kind', async () => {
    const cases: Array<[unknown, boolean, string]> = [
      [{ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha' } }, true, 'WORKSPACE_ROLE'],
      [{ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-beta' } }, false, 'NO_CLIENT_ENTRY'],
      [{ user: 'alice', condaStore: { permission: 'environment::read', resource: 'analyst/pandas' } }, true, 'BINDING_GRANTS'],
      [{ user: 'alice', jupyterhub: { scope: 'shares', resource: { kind: 'server', value: 'alice/' } } }, true, 'SCOPE_HELD'],
      [{ user: 'alice', jupyterhub: { scope: 'admin:users' } }, false, 'SCOPE_NOT_HELD'],
    ]
    for (const [body, allowed, reason] of cases) {
      const res = await post('/v1/check', body)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ allowed, reason })
    }
  })

  it('JSON errors with codes: unknown user, invalid body, wrong method, unknown path, too large', async () => {
    const expectError = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status)
      expect(((await res.json()) as any).error.code).toBe(code)
    }
    await expectError(await get('/v1/users/mallory/principal'), 404, 'KEYCLOAK_USER_NOT_FOUND')
    await expectError(await post('/v1/check', '{ nope'), 400, 'INVALID_JSON')
    await expectError(await post('/v1/check', { user: 'bob' }), 400, 'ERR_INVALID_INPUT')
    await expectError(await post('/v1/check', { user: 'bob', component: { name: 'nope', action: 'a', resource: 'r' } }), 400, 'ERR_UNKNOWN_NAME')
    await expectError(await fetch(`${serve.url}/v1/check`, { method: 'POST', body: '{}' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await get('/v1/check'), 405, 'METHOD_NOT_ALLOWED')
    await expectError(await get('/nope'), 404, 'NOT_FOUND')
    await expectError(await get('/v1/users/%E0/principal'), 400, 'INVALID_PATH')
    await expectError(await post('/v1/check', { token: 'x', route: { method: 'GET', path: '/' } }), 400, 'ERR_INVALID_INPUT')
    await expectError(await post('/v1/check', { user: 'bob', token: 'x', route: { method: 'GET', path: '/' } }), 400, 'ERR_INVALID_INPUT')
    await expectError(await post('/v1/check', { user: 'x'.repeat(70_000), route: { method: 'GET', path: '/' } }), 413, 'BODY_TOO_LARGE')
  })

  it('100 concurrent environment requests for 10 users all answer, each user consistently', async () => {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin']
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => get(`/v1/users/${users[i % users.length]}/environments`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))),
    )
    expect(responses.every((r) => r.status === 200)).toBe(true)
    for (const user of users) {
      const answers = new Set(responses.filter((r) => r.body.user === user).map((r) => JSON.stringify(r.body.environments)))
      expect(answers.size).toBe(1)
    }
  })
})

describe('serve with a caller token', () => {
  let serve: ServeProcess
  beforeAll(async () => {
    serve = await startServe([], { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 's3cret-token' })
  })
  afterAll(() => serve?.stop())

  it('requires Authorization: Bearer <token> on /v1 (not on /healthz)', async () => {
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200)
    const no = await fetch(`${serve.url}/v1/users/bob/principal`)
    expect(no.status).toBe(401)
    expect(no.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await fetch(`${serve.url}/v1/users/bob/principal`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await fetch(`${serve.url}/v1/users/bob/principal`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200)
  })
})

describe('serve: listening beyond loopback needs a caller token (exit 2 otherwise)', () => {
  it.each([['0.0.0.0'], ['::'], ['192.0.2.10']])('--host %s without KEYCLOAK_PERMISSIONS_CALLER_TOKEN is refused before anything is opened', (host) => {
    const res = cli(['serve', '--port', '0', '--host', host], { env: { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: '' } })
    expect(res.status).toBe(2)
    expect(res.stderr).toContain(`refusing to listen on ${host} without a caller token`)
    expect(res.stderr).toContain('--allow-unauthenticated')
    expect(res.stderr).toContain('[ERR_CLI_USAGE]')
  })

  it('--allow-unauthenticated listens, with a warning on stderr; a caller token needs no flag', async () => {
    const open = await startServe(['--host', '0.0.0.0', '--allow-unauthenticated'], { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: '' })
    try {
      expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
      expect(open.stderr()).toContain('WARNING: no caller token on 0.0.0.0')
    } finally {
      await open.stop()
    }
    const guarded = await startServe(['--host', '0.0.0.0'], { KEYCLOAK_PERMISSIONS_CALLER_TOKEN: 'a-token' })
    await guarded.stop()
  })

  it.each([
    [['--request-timeout', '0'], '--request-timeout must be between 1 and 3600000'],
    [['--request-timeout', '5s'], '--request-timeout must be a whole number'],
    [['--headers-timeout', '20000', '--request-timeout', '10000'], '--headers-timeout (20000) must not exceed --request-timeout (10000)'],
    [['--max-connections', '-3'], '--max-connections must be a whole number'],
    [['--port', '70000'], '--port must be between 0 and 65535'],
  ])('%j is a usage error: %s', (args, message) => {
    const res = cli(['serve', ...args])
    expect(res.status).toBe(2)
    expect(res.stderr).toContain(message)
  })

  it('--request-timeout applies: a slow body gets 408 REQUEST_TIMEOUT with a request id', async () => {
    const serve = await startServe(['--request-timeout', '500', '--headers-timeout', '200'])
    try {
      const { port } = new URL(serve.url)
      const t = await openTracked(Number(port))
      t.socket.write('POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{')
      await t.closed
      const answer = parseResponse(t.received())!
      expect(answer.status).toBe(408)
      expect(answer.json().error.code).toBe('REQUEST_TIMEOUT')
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    } finally {
      await serve.stop()
    }
  })
})
