/**
 * Keycloak load (the performance issue, scenario 5): 200 distinct users × 4 clients, cold and warm;
 * 1,000 concurrent resolutions over 50 users; Nebari's 3 + N login pattern replayed against the same
 * server. Requests are counted through a loopback proxy; figures are printed (not asserted as times).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { AdminApiSource } from '../../src/keycloak/index.js'
import { startCountingProxy, type CountingProxy } from './helpers/counting-proxy.js'
import { adminCall, masterAdminToken } from './helpers/keycloak-admin.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

const USERS = Array.from({ length: 200 }, (_, i) => `kp-load-${String(i).padStart(3, '0')}`)
const CLIENTS = ['conda_store', 'jupyterhub', 'workspace-api', 'ws-alpha']
const GROUPS = ['/analyst', '/developer', '/projects/ml', '/admin']

async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!)
      }
    }),
  )
  return out
}

describeLive('Keycloak load: AdminApiSource vs the Nebari pattern on the same server', () => {
  let proxy: CountingProxy
  let adminToken: string
  const ids = new Map<string, string>()
  const report: string[] = []

  beforeAll(async () => {
    adminToken = await masterAdminToken()
    await adminCall(adminToken, 'POST', `${REALM}/partialImport`, {
      ifResourceExists: 'SKIP',
      users: USERS.map((username, i) => ({
        username,
        enabled: true,
        realmRoles: ['default-roles-example'],
        groups: [GROUPS[i % GROUPS.length]],
        clientRoles: i % 3 === 0 ? { conda_store: ['analyst-global-viewer'] } : {},
      })),
    })
    for (let first = 0; first < USERS.length; first += 100) {
      const page = await adminCall<Array<{ id: string; username: string }>>(adminToken, 'GET', `${REALM}/users?search=kp-load-&first=${first}&max=100&briefRepresentation=true`)
      for (const u of page) ids.set(u.username, u.id)
    }
    expect(ids.size).toBe(USERS.length)
    proxy = await startCountingProxy(KEYCLOAK_URL)
  }, 240_000)

  afterAll(async () => {
    console.log(`Keycloak load (live 26.7.3, loopback, ${USERS.length} users):\n${report.join('\n')}`)
    await proxy?.close()
    await pool([...ids.values()], 8, (id) => adminCall(adminToken, 'DELETE', `${REALM}/users/${id}`).catch(() => undefined))
  }, 240_000)

  const source = (clients: readonly string[]) =>
    new AdminApiSource({
      baseUrl: proxy.url,
      realm: REALM,
      clients,
      credentials: { clientId: SERVICE_ACCOUNT.clientId, clientSecret: SERVICE_ACCOUNT.clientSecret },
      cache: { max: 1_000, ttlMs: 300_000 },
    })

  it('200 distinct users, every client: cold costs 3 per user (lookup, role mappings, groups), warm costs nothing', async () => {
    const ours = source(CLIENTS)
    await ours.selfCheck()
    proxy.reset()
    let t = performance.now()
    const principals = await pool(USERS, 8, (u) => ours.resolve(u))
    const coldMs = performance.now() - t
    const cold = proxy.adminRequests().length
    expect(cold).toBe(USERS.length * 3)
    expect(principals.every((p, i) => p.groups[0] === GROUPS[i % GROUPS.length])).toBe(true)
    proxy.reset()
    t = performance.now()
    await pool(USERS, 8, (u) => ours.resolve(u))
    const warmMs = performance.now() - t
    expect(proxy.total()).toBe(0)
    report.push(`ours, every client: cold ${cold} requests in ${coldMs.toFixed(0)} ms (${(coldMs / USERS.length).toFixed(1)} ms/user, 8 in flight); warm 0 requests in ${warmMs.toFixed(1)} ms`)
  }, 240_000)

  it('1,000 concurrent resolutions over 50 users cost one resolution per user', async () => {
    const ours = source(CLIENTS)
    await ours.selfCheck()
    proxy.reset()
    const t = performance.now()
    const fifty = USERS.slice(0, 50)
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => ours.resolve(fifty[i % 50]!)))
    const ms = performance.now() - t
    expect(results.every((p, i) => p.username === fifty[i % 50])).toBe(true)
    const requests = proxy.adminRequests().length
    expect(requests).toBe(50 * 3)
    report.push(`ours, 1,000 concurrent over 50 users: ${requests} requests (${50 * 3} = 50 × 3) in ${ms.toFixed(0)} ms`)
  }, 240_000)

  it("Nebari's 3 + N per conda-store login vs ours for the same 200 users (K = 1)", async () => {
    const get = async (url: string, bearer: string) => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } })
      if (!res.ok) throw new Error(`${url}: ${res.status}`)
      return res.json() as Promise<any>
    }
    proxy.reset()
    let t = performance.now()
    await pool(USERS, 8, async (username) => {
      // Nebari classic: a new service-account token, the client list, the brief composite, one roles-by-id per role.
      const tokenRes = await fetch(`${proxy.url}/realms/${REALM}/protocol/openid-connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: SERVICE_ACCOUNT.clientId, client_secret: SERVICE_ACCOUNT.clientSecret }),
      })
      const admin = ((await tokenRes.json()) as { access_token: string }).access_token
      const clients = (await get(`${proxy.url}/admin/realms/${REALM}/clients/`, admin)) as Array<{ id: string; clientId: string }>
      const uuid = clients.find((c) => c.clientId === 'conda_store')!.id
      const roles = (await get(`${proxy.url}/admin/realms/${REALM}/users/${ids.get(username)}/role-mappings/clients/${uuid}/composite`, admin)) as Array<{ id: string }>
      for (const r of roles) await get(`${proxy.url}/admin/realms/${REALM}/roles-by-id/${r.id}?client=${uuid}`, admin)
    })
    const nebariMs = performance.now() - t
    const nebari = proxy.total()

    const ours = source(['conda_store'])
    await ours.selfCheck()
    proxy.reset()
    t = performance.now()
    await pool(USERS, 8, (u) => ours.resolve({ id: ids.get(u)!, username: u }))
    const oursMs = performance.now() - t
    const oursRequests = proxy.total()
    expect(oursRequests).toBe(USERS.length * 2) // role mappings + groups; the id is known (a token's sub)
    expect(nebari).toBeGreaterThan(oursRequests)
    report.push(
      `conda-store login for ${USERS.length} users (8 in flight): Nebari 3 + N = ${nebari} requests in ${nebariMs.toFixed(0)} ms; ours (sub known, + groups) ${oursRequests} requests in ${oursMs.toFixed(0)} ms; ratio ${(nebari / oursRequests).toFixed(1)}× requests, ${(nebariMs / oursMs).toFixed(1)}× time`,
    )
  }, 240_000)
})
