import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
    await expectError(await post('/v1/check', { user: 'bob', component: { name: 'nope', action: 'a', resource: 'r' } }), 400, 'ERR_CLI_USAGE')
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
