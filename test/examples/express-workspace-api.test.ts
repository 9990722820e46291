import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoIssuer, startWorkspaceApi, type DemoIssuer, type RunningApi } from '../../examples/express-workspace-api/server.js'
import { runExample } from './run-example.js'

describe('examples/express-workspace-api', () => {
  let issuer: DemoIssuer
  let api: RunningApi
  beforeAll(async () => {
    issuer = await createDemoIssuer()
    api = await startWorkspaceApi(issuer.jwks, { host: '127.0.0.1', port: 0 })
  })
  afterAll(() => api.close())

  const send = async (method: string, path: string, token?: string) => {
    const res = await fetch(api.url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} })
    return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as any }
  }

  it('listens on 127.0.0.1 on an ephemeral port', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(api.url).not.toMatch(/:0$/)
  })

  it('allowed: a workspace role on the client named like the workspace reaches the handler', async () => {
    const alice = await issuer.mint('alice', { 'ws-alice': ['ws_access'] })
    const res = await send('GET', '/workspaces/ws-alice', alice)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      workspace: 'ws-alice',
      user: 'alice',
      reason: 'WORKSPACE_ROLE',
      grant: { client: 'ws-alice', roles: ['ws_access'], rule: '/workspaces/{workspace}/**' },
    })
    expect((await send('GET', '/workspaces/ws-alice/files', alice)).status).toBe(200)
  })

  it('denied (403): another workspace, and DELETE without ws_admin; the handler never runs', async () => {
    const alice = await issuer.mint('alice', { 'ws-alice': ['ws_access'] })
    const other = await send('GET', '/workspaces/ws-bob', alice)
    expect(other).toEqual({ status: 403, challenge: null, body: { error: 'forbidden', reason: 'NO_CLIENT_ENTRY' } })
    const del = await send('DELETE', '/workspaces/ws-alice', alice)
    expect(del.status).toBe(403)
    expect(del.body.reason).toBe('METHOD_NEEDS_ROLE')
    const owner = await issuer.mint('bob', { 'ws-bob': ['ws_admin'] })
    expect((await send('DELETE', '/workspaces/ws-bob', owner)).body).toEqual({ deleted: 'ws-bob', by: 'bob' })
  })

  it('the platform admin may use any workspace', async () => {
    const admin = await issuer.mint('carol', { 'workspace-api': ['admin'] })
    const res = await send('GET', '/workspaces/ws-bob', admin)
    expect(res.status).toBe(200)
    expect(res.body.reason).toBe('PLATFORM_ADMIN')
  })

  it('401 with WWW-Authenticate: no token, an expired token, a token signed by another key', async () => {
    const none = await send('GET', '/workspaces/ws-alice')
    expect(none).toEqual({ status: 401, challenge: 'Bearer realm="workspace-api"', body: { error: 'unauthorized', reason: 'NO_TOKEN' } })
    const expired = await send('GET', '/workspaces/ws-alice', await issuer.mint('alice', { 'ws-alice': ['ws_access'] }, { expiresInSec: -3600 }))
    expect(expired.status).toBe(401)
    expect(expired.body.reason).toBe('TOKEN_EXPIRED')
    expect(expired.challenge).toContain('error="invalid_token"')
    const stranger = await createDemoIssuer()
    const forged = await send('GET', '/workspaces/ws-alice', await stranger.mint('alice', { 'ws-alice': ['ws_access'] }))
    expect(forged.status).toBe(401)
    expect(forged.body.reason).toBe('TOKEN_INVALID')
  })

  it('an ambiguous path is refused before any rule (400 AMBIGUOUS_PATH)', async () => {
    const alice = await issuer.mint('alice', { 'ws-alice': ['ws_access'] })
    const res = await send('GET', '/workspaces/ws-alice/..%2Fws-bob', alice)
    expect(res.status).toBe(400)
    expect(res.body.reason).toBe('AMBIGUOUS_PATH')
  })

  it('the demo starts, answers and stops', () => {
    const run = runExample('express-workspace-api/server.ts')
    expect(run.status, run.stderr).toBe(0)
    expect(run.lines[0]).toMatch(/^workspace API on http:\/\/127\.0\.0\.1:\d+$/)
    expect(run.stdout).toContain('alice reads her workspace: GET /workspaces/ws-alice → 200')
    expect(run.stdout).toContain(`alice reads bob's workspace: GET /workspaces/ws-bob → 403 {"error":"forbidden","reason":"NO_CLIENT_ENTRY"}`)
    expect(run.stdout).toContain('no token: GET /workspaces/ws-alice → 401 {"error":"unauthorized","reason":"NO_TOKEN"}')
    expect(run.stdout).toContain('bob deletes his workspace: DELETE /workspaces/ws-bob → 200')
  })
})
