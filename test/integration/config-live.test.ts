/**
 * The configuration file naming the live Keycloak: `check`, `POST /v1/check` and forward auth (real
 * Keycloak tokens) answer alike under the configured workspace clients and STAC prefix; the client
 * secret comes from the environment only and is never printed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cli } from '../cli/helpers.js'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { userToken } from './helpers/keycloak-admin.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

const SECRET = { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret }

describeLive('a configuration file naming the live Keycloak', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-config-live-'))
  const config = join(dir, 'keycloak-permissions.config.json')
  writeFileSync(
    config,
    JSON.stringify({
      source: { keycloak: { url: KEYCLOAK_URL, realm: REALM, clientId: SERVICE_ACCOUNT.clientId, tokenAudience: 'workspace-api', tokenIssuer: `${KEYCLOAK_URL}/realms/${REALM}` } },
      components: { workspaces: { clients: ['ws-b*'], stacPrefix: '/catalogue' } },
      cache: { ttlSeconds: 30, maxUsers: 100 },
    }),
  )
  let serve: ServeProcess
  let tokens: Record<string, string>

  beforeAll(async () => {
    serve = await startServe(['--config', config], SECRET)
    tokens = { bob: await userToken('bob', 'bob-pw', 'workspace-api', 'workspace-api-secret'), dave: await userToken('dave', 'dave-pw', 'workspace-api', 'workspace-api-secret') }
  }, 60_000)
  afterAll(() => serve?.stop())

  it('check, POST /v1/check and forward auth give one answer per request, under the configured clients and prefix', async () => {
    const cases: [string, 'workspaces' | 'stac', string, string][] = [
      ['bob', 'workspaces', '/workspaces/ws-alpha/files', 'NOT_A_WORKSPACE'],
      ['dave', 'workspaces', '/workspaces/ws-beta', 'WORKSPACE_ROLE'],
      ['dave', 'stac', '/catalogue/collections/ws-beta.c1/items', 'WORKSPACE_ROLE'],
      ['bob', 'stac', '/catalogue/collections/ws-alpha.c1', 'NOT_A_WORKSPACE'],
    ]
    for (const [user, policy, path, reason] of cases) {
      const checked = cli(['check', '--config', config, '--user', user, '--route', 'GET', path, '--json'], { env: SECRET })
      expect(checked.json().reason, `check ${user} ${path}`).toBe(reason)
      // A connection per request: the CLI runs synchronously between requests (see ServeProcess.request).
      const posted = (await serve.request('/v1/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, route: { method: 'GET', path } }) })).json()
      expect(posted.reason, `POST ${user} ${path}`).toBe(reason)
      const forwarded = await serve.request(`/v1/forward-auth/nginx/${policy}`, {
        headers: { authorization: `Bearer ${tokens[user]}`, 'x-original-uri': path, 'x-original-method': 'GET' },
      })
      expect([forwarded.status, forwarded.headers['x-auth-reason']], `forward auth ${user} ${path}`).toEqual([reason === 'WORKSPACE_ROLE' ? 200 : 403, reason])
    }
  })

  it('--print-config shows the file\'s source and the secret as set, never its value', () => {
    const res = cli(['serve', '--config', config, '--print-config'], { env: SECRET })
    expect(res.status).toBe(0)
    expect(res.stdout).not.toContain(SERVICE_ACCOUNT.clientSecret)
    expect(res.stdout).toMatch(/source\.keycloak\.url\s+"http:\/\/.*"\s+← file /)
    expect(res.stdout).toMatch(/source\.keycloak\.clientSecret\s+\(set, not shown\)\s+← environment KEYCLOAK_CLIENT_SECRET/)
    expect(res.stdout).toMatch(/cache\.maxUsers\s+100\s+← file /)
  })
})
