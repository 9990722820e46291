import { afterAll, beforeAll, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { summarizePrincipal } from '../../src/core/principal.js'
import { AdminApiSource, type AdminApiSourceOptions } from '../../src/keycloak/index.js'
import { startCountingProxy, type CountingProxy, type ProxiedRequest } from './helpers/counting-proxy.js'
import { userToken } from './helpers/keycloak-admin.js'
import { describeLive, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { EXPECTED } from './helpers/realm.js'

const isUserLookup = (r: ProxiedRequest) => r.path === `/admin/realms/${REALM}/users`
const isMappings = (r: ProxiedRequest) => /\/users\/[^/]+\/role-mappings$/.test(r.path)
const isGroups = (r: ProxiedRequest) => /\/users\/[^/]+\/groups$/.test(r.path)

describeLive('AdminApiSource request budget (counted through a loopback proxy)', () => {
  let proxy: CountingProxy
  const clock = new ManualClock(Date.now())
  const make = (extra: Partial<AdminApiSourceOptions> = {}) =>
    new AdminApiSource({
      baseUrl: proxy.url,
      realm: REALM,
      credentials: SERVICE_ACCOUNT,
      cache: { max: 100, ttlMs: 30_000 },
      clock,
      ...extra,
    })

  beforeAll(async () => {
    proxy = await startCountingProxy(live!.url)
  })
  afterAll(async () => {
    await proxy?.close()
  })

  it('an uncached user costs 3 Admin API requests (lookup, role mappings, groups) for every client of the realm; a cached one costs 0', async () => {
    const source = make()
    const report = await source.selfCheck() // warms the token and the catalogue, as at start-up
    expect(Object.keys(report.clients).length).toBeGreaterThanOrEqual(12)
    proxy.reset()
    const dave = await source.resolve('dave')
    expect(proxy.tokenRequests()).toHaveLength(0)
    expect(proxy.adminRequests()).toHaveLength(3)
    expect(proxy.total(isUserLookup)).toBe(1)
    expect(proxy.total(isMappings)).toBe(1)
    expect(proxy.total(isGroups)).toBe(1)
    const groups = proxy.requests.find(isGroups)!.url
    expect(groups).toContain('briefRepresentation=false')
    expect(groups).toMatch(/[?&]max=\d+/) // paged explicitly
    expect(Object.keys(dave.clientRoles).sort()).toEqual(Object.keys(EXPECTED.users.dave!.clientRoles).sort())

    proxy.reset()
    const cached = await source.resolve('dave')
    expect(proxy.total()).toBe(0)
    expect(cached.origin.cached).toBe(true)
  })

  it('50 concurrent resolutions of one uncached user cost the same as one', async () => {
    const source = make()
    await source.selfCheck()
    proxy.reset()
    const results = await Promise.all(Array.from({ length: 50 }, () => source.resolve('alice')))
    expect(proxy.total()).toBe(3)
    for (const r of results) expect(summarizePrincipal(r)).toEqual(summarizePrincipal(results[0]!))
  })

  it('an allow-list costs the same 3 requests and narrows the principal', async () => {
    const source = make({ clients: ['conda_store', 'jupyterhub'] })
    await source.selfCheck()
    proxy.reset()
    const bob = await source.resolve('bob')
    expect(proxy.adminRequests()).toHaveLength(3)
    expect(Object.keys(bob.clientRoles)).toEqual(['conda_store', 'jupyterhub'])
    expect(bob.groups).toEqual(EXPECTED.users.bob!.groups)
  })

  it('a known id + username (a verified token) skips the lookup: 2 requests', async () => {
    const ids = await make().resolve('carol')
    const fresh = make()
    await fresh.selfCheck()
    proxy.reset()
    await fresh.resolve({ id: ids.userId!, username: 'carol' })
    expect(proxy.total()).toBe(2)
  })

  it('cold: one token request and one catalogue; the catalogue outlives principals when its TTL is longer; token renewal costs one', async () => {
    const source = make({ catalogueCache: { max: 100_000, ttlMs: 600_000 } })
    proxy.reset()
    await source.resolve('erin') // cold: token + catalogue + 3
    expect(proxy.tokenRequests()).toHaveLength(1)
    const catalogue = source.catalogueRequests
    expect(catalogue).toBeGreaterThan(0)
    expect(proxy.adminRequests()).toHaveLength(catalogue + 3)

    proxy.reset()
    clock.advance(60_000) // past the principal TTL, token still fresh (lifetime 300 s), catalogue still fresh
    await source.resolve('erin')
    expect(proxy.tokenRequests()).toHaveLength(0)
    expect(proxy.total()).toBe(3)

    proxy.reset()
    clock.advance(211_000) // 271 s after issue: inside the 30 s renewal margin
    await source.resolve('erin')
    expect(proxy.tokenRequests()).toHaveLength(1)
    expect(proxy.adminRequests()).toHaveLength(3)
    expect(source.catalogueRequests).toBe(catalogue)
  })

  it("replays Nebari's 3 + N login pattern on the same server, for comparison (printed)", async () => {
    const rows: string[] = []
    const ours = make()
    await ours.selfCheck()
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const password = EXPECTED.users[username]!.password!
      const bearer = await userToken(username, password)
      // Nebari classic, per conda-store login: userinfo, a new service-account token, the full
      // client list, the brief composite, then one roles-by-id per effective role.
      proxy.reset()
      const nebariStart = performance.now()
      const userinfo = (await getJson(`${proxy.url}/realms/${REALM}/protocol/openid-connect/userinfo`, bearer)) as { sub: string }
      const tokenRes = await fetch(`${proxy.url}/realms/${REALM}/protocol/openid-connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: SERVICE_ACCOUNT.clientId, client_secret: SERVICE_ACCOUNT.clientSecret }),
      })
      const admin = ((await tokenRes.json()) as { access_token: string }).access_token
      const clients = (await getJson(`${proxy.url}/admin/realms/${REALM}/clients/`, admin)) as { id: string; clientId: string }[]
      const uuid = clients.find((c) => c.clientId === 'conda_store')!.id
      const roles = (await getJson(`${proxy.url}/admin/realms/${REALM}/users/${userinfo.sub}/role-mappings/clients/${uuid}/composite`, admin)) as { id: string }[]
      const full = await Promise.all(roles.map((r) => getJson(`${proxy.url}/admin/realms/${REALM}/roles-by-id/${r.id}?client=${uuid}`, admin)))
      const nebariMs = performance.now() - nebariStart
      const nebariTotal = proxy.total() - 1 // userinfo is not an Admin API / token call
      const n = roles.length
      expect(nebariTotal).toBe(3 + n)
      expect(full).toHaveLength(n)

      // Ours for the same conda-store login: uncached, by username and by the token's sub.
      const condaOnly = make({ clients: ['conda_store'] })
      await condaOnly.selfCheck()
      proxy.reset()
      const oursStart = performance.now()
      const principal = await condaOnly.resolve(username)
      const oursMs = performance.now() - oursStart
      const byName = proxy.total()
      const fresh = make({ clients: ['conda_store'] })
      await fresh.selfCheck()
      proxy.reset()
      await fresh.resolve({ id: userinfo.sub, username })
      const bySub = proxy.total()
      expect(byName).toBe(3)
      expect(bySub).toBe(2)
      expect((principal.clientRoles.conda_store ?? []).map((r) => r.name).sort()).toEqual(
        (full as { name: string }[]).map((r) => r.name).sort(),
      )
      proxy.reset()
      await condaOnly.resolve(username)
      const cachedCost = proxy.total()
      rows.push(`${username.padEnd(6)} N=${String(n).padEnd(3)} nebari=${String(nebariTotal).padEnd(3)} ours(username)=${byName} ours(sub)=${bySub} ours(cached)=${cachedCost}  time: nebari ${nebariMs.toFixed(1)} ms (incl. userinfo), ours ${oursMs.toFixed(1)} ms`)
    }
    console.log(`Admin API requests per conda-store login (Nebari 3 + N vs AdminApiSource ≤ 3, every client, catalogue warm):\n${rows.join('\n')}`)
  })
})

async function getJson(url: string, bearer: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}
