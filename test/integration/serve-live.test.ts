import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { startCountingProxy, type CountingProxy } from './helpers/counting-proxy.js'
import { adminCall, jwtPayload, masterAdminToken, userToken } from './helpers/keycloak-admin.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

const EXTRA = Array.from({ length: 5 }, (_, i) => `kp-serve-user-${i}`)
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', ...EXTRA]

describeLive('serve against the live Keycloak (HTTP decision mode, shared cached source)', () => {
  let proxy: CountingProxy
  let serve: ServeProcess
  let adminToken: string
  const createdIds: string[] = []

  beforeAll(async () => {
    // Ten users: the five of the realm and five created for this test (members of /analyst).
    adminToken = await masterAdminToken()
    const [analyst] = await adminCall<Array<{ id: string }>>(adminToken, 'GET', `${REALM}/groups?search=analyst&exact=true`)
    for (const username of EXTRA) {
      await adminCall(adminToken, 'POST', `${REALM}/users`, { username, enabled: true })
      const [user] = await adminCall<Array<{ id: string }>>(adminToken, 'GET', `${REALM}/users?username=${username}&exact=true`)
      createdIds.push(user!.id)
      await adminCall(adminToken, 'PUT', `${REALM}/users/${user!.id}/groups/${analyst!.id}`)
    }
    proxy = await startCountingProxy(KEYCLOAK_URL)
    serve = await startServe(
      [
        '--keycloak', proxy.url, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId,
        '--environments', 'examples/realm/example-environments.json',
        '--live-roles', '--token-audience', 'jupyterhub', '--token-issuer', `${KEYCLOAK_URL}/realms/${REALM}`,
      ],
      { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret },
    )
  })

  afterAll(async () => {
    await serve?.stop()
    await proxy?.close()
    for (const id of createdIds) await adminCall(adminToken, 'DELETE', `${REALM}/users/${id}`).catch(() => {})
  })

  it('100 concurrent environment requests for 10 users cost Keycloak at most one lookup per user', async () => {
    proxy.reset()
    const started = performance.now()
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${serve.url}/v1/users/${USERS[i % USERS.length]}/environments`).then(async (r) => ({ status: r.status, body: (await r.json()) as any })),
      ),
    )
    const elapsed = performance.now() - started
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200))
    for (const user of USERS) {
      const answers = new Set(responses.filter((r) => r.body.user === user).map((r) => JSON.stringify(r.body.environments)))
      expect(answers.size, user).toBe(1)
    }
    const lookups = proxy.requests.filter((r) => r.method === 'GET' && r.path === `/admin/realms/${REALM}/users`).length
    const admin = proxy.adminRequests().length
    // Per uncached user: lookup + role mappings + groups, for every client (the catalogue was read at start-up).
    console.log(`serve: 100 requests for ${USERS.length} users in ${elapsed.toFixed(0)} ms: ${lookups} user lookups, ${admin} Admin API requests, ${proxy.tokenRequests().length} token requests`)
    expect(lookups).toBe(USERS.length)
    expect(admin).toBeLessThanOrEqual(USERS.length * 6)
    const created = responses.find((r) => r.body.user === EXTRA[0])!.body
    expect(created.environments.map((e: any) => `${e.namespace}/${e.name}`)).toEqual(expect.arrayContaining(['analyst/pandas', `default/python-3.12`]))

    proxy.reset()
    await Promise.all(USERS.map((u) => fetch(`${serve.url}/v1/users/${u}/environments`).then((r) => r.json())))
    expect(proxy.adminRequests()).toHaveLength(0)
  })

  it('POST /v1/check decides from the live principal', async () => {
    const res = await fetch(`${serve.url}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'carol', route: { method: 'DELETE', path: '/workspaces/ws-beta' } }),
    })
    expect(await res.json()).toMatchObject({ allowed: true, reason: 'PLATFORM_ADMIN' })
  })

  it('POST /v1/check with a bearer token: verified, then live roles; a bad token is a denial', async () => {
    const check = async (token: string, scope: string) =>
      (await (await fetch(`${serve.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, jupyterhub: { scope } }) })).json()) as any
    const alice = await userToken('alice', 'alice-pw')
    expect(await check(alice, 'read:services')).toMatchObject({ allowed: true, reason: 'SCOPE_HELD' })
    expect(await check(alice, 'admin:users')).toMatchObject({ allowed: false, reason: 'SCOPE_NOT_HELD' })
    expect(await check(`${alice.slice(0, -4)}AAAA`, 'read:services')).toMatchObject({ allowed: false, reason: 'TOKEN_INVALID' })
    // Keycloak's audience mapper puts every client the user holds roles on into aud, so a token issued to
    // workspace-api still names jupyterhub for alice: accepted on its aud, as configured.
    const viaWorkspaceApi = await userToken('alice', 'alice-pw', 'workspace-api', 'workspace-api-secret')
    expect(jwtPayload(viaWorkspaceApi)['aud']).toContain('jupyterhub')
    expect(await check(viaWorkspaceApi, 'read:services')).toMatchObject({ allowed: true })
  })
})
