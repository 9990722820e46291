/**
 * AdminApiSource against a loopback HTTP server that speaks the Admin API endpoints it uses (shapes
 * as Keycloak 26 answers them), over a small mutable realm model, so failure modes and changes can
 * be produced on demand. The live behaviour is asserted in test/integration/.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { ClientNotFoundError, InsufficientPermissionsError, SourceUnavailableError, UserNotFoundError } from '../../src/core/errors.js'
import { AdminApiSource, MemoryPrincipalCache, UserDisabledError, type AdminApiSourceOptions, type Invalidation } from '../../src/keycloak/index.js'

interface FakeRole {
  id: string
  name: string
  client?: string
  attributes?: unknown
  composites?: string[]
}
interface FakeGroup {
  id: string
  path: string
  realmRoles: string[]
  clientRoles: Record<string, string[]>
}
interface FakeUser {
  id: string
  username: string
  enabled?: boolean
  groups: string[]
  /** Direct mappings, by role id. */
  roles: string[]
}
interface Realm {
  clients: string[]
  roles: FakeRole[]
  groups: FakeGroup[]
  users: FakeUser[]
}

function exampleRealm(extraClients = 0): Realm {
  const roles: FakeRole[] = [
    { id: 'r-default', name: 'default-roles-example', composites: ['r-offline'] },
    { id: 'r-offline', name: 'offline_access' },
    { id: 'r-platform', name: 'platform-admin', composites: ['c-admin'] },
    { id: 'c-viewer', client: 'conda_store', name: 'viewer', attributes: { scopes: ['viewer!namespace=global'], bad: 'not-a-list' } },
    { id: 'c-dev', client: 'conda_store', name: 'dev', attributes: {} },
    { id: 'c-admin', client: 'conda_store', name: 'admin', attributes: {}, composites: ['c-dev'] },
    { id: 'j-user', client: 'jupyterhub', name: 'user', attributes: { scopes: ['self'] } },
  ]
  const clients = ['conda_store', 'jupyterhub']
  for (let i = 0; i < extraClients; i++) {
    clients.push(`ws-${i}`)
    roles.push({ id: `ws-${i}-access`, client: `ws-${i}`, name: 'ws_access', attributes: { component: ['workspace'] } })
  }
  return {
    clients,
    roles,
    groups: [
      { id: 'g-analyst', path: '/analyst', realmRoles: [], clientRoles: { jupyterhub: ['user'] } },
      { id: 'g-projects', path: '/projects', realmRoles: [], clientRoles: { conda_store: ['dev'] } },
      { id: 'g-ml', path: '/projects/ml', realmRoles: [], clientRoles: {} },
      { id: 'g-ab', path: '/a~/b', realmRoles: [], clientRoles: {} },
      { id: 'g-z', path: '/z', realmRoles: [], clientRoles: {} },
    ],
    users: [
      { id: 'u-alice', username: 'alice', groups: ['/analyst', '/projects', '/projects/ml', '/a~/b', '/z'], roles: ['c-viewer', 'r-default'] },
      { id: 'u-bob', username: 'bob', groups: [], roles: [] },
      { id: 'u-carol', username: 'carol', groups: [], roles: ['r-platform', ...Array.from({ length: extraClients }, (_, i) => `ws-${i}-access`)] },
      { id: 'u-dan', username: 'dan', enabled: false, groups: ['/analyst'], roles: [] },
    ],
  }
}

interface Fake {
  url: string
  realm: Realm
  log: string[]
  /** Status forced on every Admin API response (0: normal). */
  failWith: number
  /** Paths (after /admin/realms/example/) answered 403. */
  forbid: RegExp | undefined
  /** Answer the next N Admin API requests with 401. */
  unauthorizedNext: number
  delayMs: number
  tokens: number
  close(): Promise<void>
}

async function startFake(): Promise<Fake> {
  const fake: Fake = { url: '', realm: exampleRealm(), log: [], failWith: 0, forbid: undefined, unauthorizedNext: 0, delayMs: 0, tokens: 0, close: async () => {} }
  const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const page = <T,>(list: T[], url: URL) => {
    const first = Number(url.searchParams.get('first') ?? 0)
    const max = url.searchParams.has('max') ? Number(url.searchParams.get('max')) : list.length
    return list.slice(first, first + max)
  }
  const brief = (r: FakeRole) => ({ id: r.id, name: r.name, composite: (r.composites ?? []).length > 0, clientRole: r.client !== undefined, containerId: r.client ? `uuid-${r.client}` : 'realm-id' })
  const full = (r: FakeRole) => ({ ...brief(r), attributes: r.attributes ?? {} })
  // Depth by unescaped separators: `~/` belongs to a name.
  const depth = (path: string) => path.replaceAll('~/', '').split('/').length - 1
  const isChild = (child: string, parent: string) => child.startsWith(`${parent}/`) && depth(child) === depth(parent) + 1
  const groupRep = (g: FakeGroup) => ({
    id: g.id,
    name: g.path.split('/').pop(),
    path: g.path,
    subGroupCount: fake.realm.groups.filter((c) => isChild(c.path, g.path)).length,
    realmRoles: g.realmRoles,
    clientRoles: g.clientRoles,
  })
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname.replace(/\/+$/, '')
    fake.log.push(`${req.method} ${path}`)
    req.resume()
    if (path === '/realms/example/protocol/openid-connect/token') {
      fake.tokens++
      const claims = { resource_access: { 'realm-management': { roles: ['view-users', 'view-clients', 'view-realm'] } }, n: fake.tokens }
      json(res, 200, { access_token: `x.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.y`, expires_in: 300 })
      return
    }
    setTimeout(() => {
      if (res.destroyed) return
      if (fake.unauthorizedNext > 0) {
        fake.unauthorizedNext--
        return json(res, 401, { error: 'HTTP 401 Unauthorized' })
      }
      if (fake.failWith) return json(res, fake.failWith, { error: 'unavailable' })
      const realm = fake.realm
      const rest = path.match(/^\/admin\/realms\/example(?:\/(.*))?$/)?.[1] ?? ''
      if (fake.forbid?.test(rest)) return json(res, 403, { error: 'HTTP 403 Forbidden' })
      if (rest === '') return json(res, 200, { realm: 'example', defaultRole: { id: 'r-default', name: 'default-roles-example' } })
      if (rest === 'clients') return json(res, 200, page(realm.clients.map((clientId) => ({ id: `uuid-${clientId}`, clientId })), url))
      const clientRoles = rest.match(/^clients\/uuid-([^/]+)\/roles$/)
      if (clientRoles) return json(res, 200, realm.roles.filter((r) => r.client === clientRoles[1]).map(full))
      if (rest === 'roles') return json(res, 200, realm.roles.filter((r) => r.client === undefined).map(full))
      const composites = rest.match(/^roles-by-id\/([^/]+)\/composites$/)
      if (composites) {
        const role = realm.roles.find((r) => r.id === composites[1])
        return role ? json(res, 200, (role.composites ?? []).map((id) => brief(realm.roles.find((r) => r.id === id)!))) : json(res, 404, { error: 'Could not find role' })
      }
      if (rest === 'groups') return json(res, 200, page(realm.groups.filter((g) => depth(g.path) === 1).map(groupRep), url))
      const children = rest.match(/^groups\/([^/]+)\/children$/)
      if (children) {
        const parent = realm.groups.find((g) => g.id === children[1])!
        return json(res, 200, page(realm.groups.filter((g) => isChild(g.path, parent.path)).map(groupRep), url))
      }
      if (rest === 'users' && !url.searchParams.has('username')) return json(res, 200, realm.users.slice(0, Number(url.searchParams.get('max') ?? 100)))
      if (rest === 'users') {
        const username = url.searchParams.get('username')
        // Also prefix matches, as a non-exact search would.
        return json(res, 200, realm.users.filter((u) => u.username.startsWith(username ?? '\0')).map(({ id, username, enabled }) => ({ id, username, enabled: enabled ?? true })))
      }
      const user = realm.users.find((u) => rest.startsWith(`users/${u.id}`))
      if (rest.startsWith('users/') && !user) return json(res, 404, { error: 'User not found' })
      if (user && rest === `users/${user.id}`) return json(res, 200, { id: user.id, username: user.username, enabled: user.enabled ?? true })
      if (user && rest === `users/${user.id}/role-mappings`) {
        const mapped = user.roles.map((id) => realm.roles.find((r) => r.id === id)!)
        const clientMappings: Record<string, unknown> = {}
        for (const r of mapped.filter((m) => m.client !== undefined)) {
          const entry = (clientMappings[r.client!] ??= { id: `uuid-${r.client}`, client: r.client, mappings: [] }) as { mappings: unknown[] }
          entry.mappings.push(brief(r))
        }
        return json(res, 200, { realmMappings: mapped.filter((r) => r.client === undefined).map(brief), ...(Object.keys(clientMappings).length > 0 && { clientMappings }) })
      }
      if (user && rest === `users/${user.id}/groups`) {
        const groups = user.groups.map((p) => realm.groups.find((g) => g.path === p)!)
        const briefRep = url.searchParams.get('briefRepresentation') !== 'false'
        return json(res, 200, page(groups, url).map((g) => (briefRep ? { id: g.id, path: g.path } : groupRep(g))))
      }
      json(res, 404, { error: 'unknown route' })
    }, fake.delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.close = () => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(() => resolve()))
  }
  return fake
}

describe('AdminApiSource (loopback Admin API)', () => {
  let fake: Fake
  let clock: ManualClock
  const make = (extra: Partial<AdminApiSourceOptions> = {}) =>
    new AdminApiSource({
      baseUrl: fake.url,
      realm: 'example',
      credentials: { clientId: 'svc', clientSecret: 'x' },
      cache: { max: 10, ttlMs: 30_000 },
      clock,
      ...extra,
    })
  const adminCalls = () => fake.log.filter((l) => l.includes('/admin/'))
  const userCalls = () => adminCalls().filter((l) => / \/admin\/realms\/example\/users(\/|$)/.test(l))
  const names = (list: readonly { name: string }[] | undefined) => (list ?? []).map((r) => r.name)

  beforeAll(async () => {
    fake = await startFake()
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => {
    Object.assign(fake, { realm: exampleRealm(), log: [], failWith: 0, forbid: undefined, unauthorizedNext: 0, delayMs: 0 })
    clock = new ManualClock(5_000_000)
  })

  it('sees every client with none configured: direct, default, group, ancestor-group and composite roles, with provenance', async () => {
    const alice = await make().resolve('alice')
    expect(Object.keys(alice.clientRoles)).toEqual(['conda_store', 'jupyterhub'])
    expect(names(alice.clientRoles.conda_store)).toEqual(['dev', 'viewer'])
    expect(names(alice.clientRoles.jupyterhub)).toEqual(['user'])
    expect(names(alice.realmRoles)).toEqual(['default-roles-example', 'offline_access'])
    expect(alice.clientRoles.conda_store![0]!.via).toEqual([
      { kind: 'group', group: '/projects', member: '/projects' },
      { kind: 'group', group: '/projects', member: '/projects/ml' },
    ])
    expect(alice.realmRoles[0]!.via).toEqual([{ kind: 'default' }])
    expect(alice.realmRoles[1]!.via).toEqual([{ kind: 'composite', parent: { name: 'default-roles-example' } }])
    expect(alice.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: true })
    const carol = await make().resolve('carol')
    expect(names(carol.clientRoles.conda_store)).toEqual(['admin', 'dev']) // realm composite → client role → its composite
    expect(carol.clientRoles.conda_store![1]!.via).toEqual([{ kind: 'composite', parent: { client: 'conda_store', name: 'admin' } }])
  })

  it('an allow-list narrows the client roles; an allow-listed client that does not exist is ClientNotFoundError', async () => {
    const alice = await make({ clients: ['jupyterhub'] }).resolve('alice')
    expect(Object.keys(alice.clientRoles)).toEqual(['jupyterhub'])
    const err = await make({ clients: ['conda_store', 'ghost'] }).resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientNotFoundError)
    expect((err as ClientNotFoundError).clientId).toBe('ghost')
  })

  it('costs at most 3 requests per uncached user whatever the number of clients (2, then 42); the catalogue is fetched once', async () => {
    for (const extra of [0, 40]) {
      fake.realm = exampleRealm(extra)
      const source = make()
      await source.selfCheck()
      const catalogueCost = source.catalogueRequests
      fake.log = []
      for (const username of ['alice', 'bob', 'carol']) await source.resolve(username)
      expect(userCalls()).toHaveLength(9)
      expect(adminCalls()).toHaveLength(9) // nothing else: the catalogue is cached
      expect(source.catalogueRequests).toBe(catalogueCost)
      const carol = await source.resolve('carol')
      expect(Object.keys(carol.clientRoles)).toHaveLength(1 + extra)
      // realm + clients + realm roles + C client listings + 3 composites + top-level groups + /projects' children
      expect(catalogueCost).toBe(3 + 2 + extra + 3 + 2)
    }
  })

  it('keeps a role whose attribute is malformed, drops that attribute and reports a diagnostic', async () => {
    const alice = await make().resolve('alice')
    expect(alice.clientRoles.conda_store?.[1]?.attributes).toEqual({ scopes: ['viewer!namespace=global'] })
    expect(alice.diagnostics).toEqual([
      expect.objectContaining({ code: 'KEYCLOAK_ATTRIBUTE_MALFORMED', subject: { role: { client: 'conda_store', name: 'viewer' }, attribute: 'bad' } }),
    ])
  })

  it('post-filters the username search to the exact (lower-cased) name', async () => {
    const principal = await make().resolve('CAROL')
    expect(principal.username).toBe('carol')
    expect(principal.userId).toBe('u-carol')
  })

  it('pages the groups listing explicitly and keeps full paths (with ~/ escapes)', async () => {
    const alice = await make({ groupsPageSize: 2 }).resolve('alice')
    expect(alice.groups).toEqual(['/analyst', '/a~/b', '/projects', '/projects/ml', '/z']) // code-unit order
    expect(fake.log.filter((l) => l.endsWith('/users/u-alice/groups'))).toHaveLength(3)
  })

  it('enabled: false from the user representation; checkEnabled refuses the user', async () => {
    const dan = await make().resolve('dan')
    expect(dan.enabled).toBe(false)
    expect(names(dan.clientRoles.jupyterhub)).toEqual(['user'])
    expect(await make().resolve('alice')).not.toHaveProperty('enabled')
    await expect(make({ checkEnabled: true }).resolve('dan')).rejects.toBeInstanceOf(UserDisabledError)
    await expect(make({ checkEnabled: true }).resolve({ id: 'u-dan', username: 'dan' })).rejects.toBeInstanceOf(UserDisabledError)
  })

  it('groupsOf() answers through the same cache as resolve()', async () => {
    const source = make()
    expect(await source.groupsOf('alice')).toEqual(['/analyst', '/a~/b', '/projects', '/projects/ml', '/z'])
    fake.log = []
    expect(await source.groupsOf('alice')).toEqual((await source.resolve('alice')).groups)
    expect(fake.log).toHaveLength(0)
    await expect(make({ groups: false }).groupsOf('alice')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' })
  })

  it('a user without roles gets an info diagnostic naming missing rights as a possible cause', async () => {
    const bob = await make().resolve('bob')
    expect(bob.clientRoles).toEqual({})
    expect(bob.diagnostics[0]).toMatchObject({ severity: 'info', code: 'KEYCLOAK_NO_ROLES' })
    expect(bob.diagnostics[0]?.fix).toContain('view-users')
  })

  it('a server error is a SourceUnavailableError with the status; no empty principal', async () => {
    const source = make()
    await source.selfCheck()
    fake.failWith = 503
    const err = await source.resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect(err).toMatchObject({ status: 503, retryable: true, source: 'admin-api' })
  })

  it('serve-stale: only while failing, only within ttl + serveStaleMs, marked stale', async () => {
    const source = make({ serveStaleMs: 60_000 })
    const fresh = await source.resolve('alice')
    clock.advance(30_000)
    const refetched = await source.resolve('alice') // source healthy: past-TTL entry is refetched, not served stale
    expect(refetched.origin).toMatchObject({ cached: false, stale: false, resolvedAt: clock.now() })
    fake.failWith = 500
    clock.advance(30_000)
    const stale = await source.resolve('alice')
    expect(stale.origin).toEqual({ ...refetched.origin, cached: true, stale: true, tier: 'memory' })
    expect(stale.clientRoles).toEqual(fresh.clientRoles)
    clock.advance(60_000)
    await expect(source.resolve('alice')).rejects.toBeInstanceOf(SourceUnavailableError)
  })

  it('never serves stale for errors other than unavailability (a deleted user is not found)', async () => {
    const source = make({ serveStaleMs: 60_000 })
    await source.resolve({ id: 'u-carol', username: 'carol' })
    clock.advance(30_000)
    fake.realm.users = fake.realm.users.filter((u) => u.id !== 'u-carol')
    await expect(source.resolve({ id: 'u-carol', username: 'carol' })).rejects.toBeInstanceOf(UserNotFoundError)
  })

  it('renews the token once and retries when the Admin API answers 401', async () => {
    const source = make()
    await source.resolve('carol')
    clock.advance(31_000)
    fake.unauthorizedNext = 1
    await source.resolve('carol')
    expect(fake.tokens).toBeGreaterThanOrEqual(2)
    fake.unauthorizedNext = 100
    clock.advance(31_000)
    await expect(source.resolve('carol')).rejects.toMatchObject({ code: 'KEYCLOAK_SOURCE_UNAVAILABLE', status: 401 })
  })

  it('times out a slow server with SourceUnavailableError', async () => {
    const source = make({ timeoutMs: 50 })
    fake.delayMs = 300
    const err = await source.resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect((err as Error).message).toContain('timed out after 50 ms')
  })

  it('coalesces concurrent resolutions; an aborting caller leaves the others unaffected', async () => {
    const source = make()
    await source.selfCheck()
    fake.log = []
    fake.delayMs = 30
    const controller = new AbortController()
    const aborted = source.resolve('alice', { signal: controller.signal })
    const others = Array.from({ length: 20 }, () => source.resolve('alice'))
    controller.abort(new Error('gave up'))
    await expect(aborted).rejects.toThrow('gave up')
    const results = await Promise.all(others)
    expect(new Set(results.map((r) => r.userId))).toEqual(new Set(['u-alice']))
    expect(adminCalls(), adminCalls().join('\n')).toHaveLength(3) // lookup + role mappings + groups
  })

  it('the principal cache is bounded (LRU)', async () => {
    const source = make({ cache: { max: 2, ttlMs: 30_000 } })
    await source.resolve('alice')
    await source.resolve('bob')
    await source.resolve('carol') // evicts alice
    fake.log = []
    expect((await source.resolve('carol')).origin.cached).toBe(true)
    expect(fake.log).toHaveLength(0)
    expect((await source.resolve('alice')).origin.cached).toBe(false)
  })

  it('an unknown user by id (404) and by name ([]) are UserNotFoundErrors', async () => {
    await expect(make().resolve({ id: 'nope' })).rejects.toBeInstanceOf(UserNotFoundError)
    await expect(make().resolve('nobody')).rejects.toThrow(/view-users/)
  })

  it('a 403 is an InsufficientPermissionsError naming the right', async () => {
    fake.forbid = /^clients$/
    const clients = await make().resolve('alice').catch((e: unknown) => e)
    expect(clients).toBeInstanceOf(InsufficientPermissionsError)
    expect((clients as InsufficientPermissionsError).missing).toEqual(['view-clients'])
    fake.forbid = /^users/
    const users = await make().resolve('alice').catch((e: unknown) => e)
    expect((users as InsufficientPermissionsError).missing).toEqual(['view-users'])
  })

  it('without view-realm on the realm settings the conventional default-role name is used', async () => {
    fake.forbid = /^$/
    const alice = await make().resolve('alice')
    expect(alice.realmRoles[0]).toMatchObject({ name: 'default-roles-example', via: [{ kind: 'default' }] })
  })

  it('groups: false and realmRoles: false leave them out of principals (same requests), and complete says so', async () => {
    const source = make({ groups: false, realmRoles: false })
    await source.selfCheck()
    fake.log = []
    const off = await source.resolve('alice')
    expect(adminCalls()).toHaveLength(3)
    expect(off.complete).toEqual({ groups: false, realmRoles: false, attributes: true, provenance: true })
    expect(off.groups).toEqual([])
    expect(off.realmRoles).toEqual([])
    expect(names(off.clientRoles.jupyterhub)).toEqual(['user']) // group roles still count
  })

  it('the role catalogue is cached; an unknown client is undefined; it is refetched after its TTL', async () => {
    const source = make()
    const roles = await source.clientRoles('conda_store')
    expect(roles && Object.fromEntries(roles)).toEqual({ admin: {}, dev: {}, viewer: { scopes: ['viewer!namespace=global'] } })
    fake.log = []
    expect(await source.clientRoles('conda_store')).toEqual(roles)
    expect(fake.log).toHaveLength(0)
    expect(await source.clientRoles('ghost')).toBeUndefined() // one refetch in case it is new
    expect(fake.log.filter((l) => l.endsWith('/example/clients'))).toHaveLength(1)
    expect(await source.clientRoles('ghost')).toBeUndefined() // not again within a second
    expect(fake.log.filter((l) => l.endsWith('/example/clients'))).toHaveLength(1)
    fake.log = []
    clock.advance(30_001) // past the catalogue TTL (default: the principal TTL)
    await source.clientRoles('conda_store')
    expect(fake.log.filter((l) => l.endsWith('/example/clients'))).toHaveLength(1)
  })

  it('a client, role and mapping created after start-up are seen: the unknown reference refetches the catalogue', async () => {
    const source = make()
    await source.selfCheck()
    fake.realm.clients.push('ws-new')
    fake.realm.roles.push({ id: 'new-access', client: 'ws-new', name: 'ws_access', attributes: { component: ['workspace'] } })
    fake.realm.users.find((u) => u.username === 'bob')!.roles.push('new-access')
    clock.advance(1_000)
    const bob = await source.resolve('bob')
    expect(bob.clientRoles['ws-new']).toEqual([{ client: 'ws-new', name: 'ws_access', attributes: { component: ['workspace'] }, via: [{ kind: 'direct' }] }])
    expect(bob.diagnostics).toEqual([])
  })

  it('a new group mapping through an ancestor is seen once the catalogue is dropped (watcher) or expires (TTL)', async () => {
    const source = make()
    await source.resolve('alice')
    fake.realm.groups.find((g) => g.path === '/projects')!.clientRoles.jupyterhub = ['user']
    fake.realm.groups.find((g) => g.path === '/analyst')!.clientRoles = {}
    await source.invalidate({ kind: 'group', path: '/projects', cause: 'test' })
    await source.invalidate({ kind: 'group', path: '/analyst', cause: 'test' })
    const alice = await source.resolve('alice')
    expect(alice.clientRoles.jupyterhub![0]!.via).toEqual([
      { kind: 'group', group: '/projects', member: '/projects' },
      { kind: 'group', group: '/projects', member: '/projects/ml' },
    ])
  })

  it('a user invalidation keeps the catalogue; role and group invalidations drop it', async () => {
    const source = make()
    await source.selfCheck()
    const base = source.catalogueRequests
    await source.resolve('alice')
    await source.invalidateUser('u-alice')
    await source.resolve('alice')
    expect(source.catalogueRequests).toBe(base)
    await source.invalidateRole({ client: 'conda_store', name: 'viewer' })
    await source.resolve('alice')
    expect(source.catalogueRequests).toBe(2 * base)
    source.catalogueChanged()
    await source.resolve('alice') // cached principal: no catalogue needed
    await source.clientRoles('conda_store')
    expect(source.catalogueRequests).toBe(3 * base)
  })

  it("another replica's role or group invalidation (shared cache) drops the catalogue; a user one does not", async () => {
    class Shared extends MemoryPrincipalCache {
      listeners: ((inv: Invalidation) => void)[] = []
      onRemoteInvalidation(listener: (inv: Invalidation) => void) {
        this.listeners.push(listener)
      }
      remote(inv: Invalidation) {
        this.invalidateSync(inv)
        for (const l of this.listeners) l(inv)
      }
    }
    const shared = new Shared({ max: 10, clock })
    const source = make({ principalCache: shared })
    await source.selfCheck()
    const base = source.catalogueRequests
    shared.remote({ kind: 'user', userId: 'u-alice' })
    await source.clientRoles('conda_store')
    expect(source.catalogueRequests).toBe(base)
    shared.remote({ kind: 'role', role: { client: 'conda_store', name: 'viewer' } })
    await source.clientRoles('conda_store')
    expect(source.catalogueRequests).toBe(2 * base)
  })

  it('a catalogue larger than catalogueCache.max is refused, not held unbounded', async () => {
    const err = await make({ catalogueCache: { max: 5, ttlMs: 1_000 } }).resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect((err as Error).message).toContain('catalogueCache.max')
  })

  it('selfCheck reports every client (or the allow-list) and what the catalogue cost', async () => {
    const report = await make().selfCheck()
    expect(report.clients).toEqual({ conda_store: 'uuid-conda_store', jupyterhub: 'uuid-jupyterhub' })
    expect(report.catalogue, JSON.stringify(report.catalogue)).toEqual({ requests: 10, clients: 2, roles: 7, groups: 5 })
    expect((await make({ clients: ['jupyterhub'] }).selfCheck()).clients).toEqual({ jupyterhub: 'uuid-jupyterhub' })
    await expect(make({ clients: ['ghost'] }).selfCheck()).rejects.toBeInstanceOf(ClientNotFoundError)
  })
})
