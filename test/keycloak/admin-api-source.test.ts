/**
 * AdminApiSource against a loopback HTTP server that speaks the few Admin API endpoints it uses
 * (shapes as Keycloak 26 answers them), so failure modes can be produced on demand. The live
 * behaviour is asserted in test/integration/.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { ClientNotFoundError, InsufficientPermissionsError, SourceUnavailableError, UserNotFoundError } from '../../src/core/errors.js'
import { AdminApiSource, type AdminApiSourceOptions } from '../../src/keycloak/index.js'

interface FakeUser {
  id: string
  username: string
  groups: string[]
  roles: Record<string, { name: string; attributes?: unknown }[]>
}

const USERS: FakeUser[] = [
  {
    id: 'u-alice',
    username: 'alice',
    groups: ['/analyst', '/projects', '/projects/ml', '/a~/b', '/z'],
    roles: { 'uuid-conda_store': [{ name: 'viewer', attributes: { scopes: ['viewer!namespace=global'], bad: 'not-a-list' } }, { name: 'dev' }] },
  },
  { id: 'u-bob', username: 'bob', groups: [], roles: {} },
  { id: 'u-carol', username: 'carol', groups: [], roles: { 'uuid-conda_store': [{ name: 'admin', attributes: {} }] } },
]

interface Fake {
  url: string
  log: string[]
  /** Status forced on every Admin API response (0: normal). */
  failWith: number
  /** Answer the next N Admin API requests with 401. */
  unauthorizedNext: number
  delayMs: number
  tokens: number
  /** Ids answered with 404 "User not found" (deleted users). */
  gone: Set<string>
  close(): Promise<void>
}

async function startFake(): Promise<Fake> {
  const fake: Fake = { url: '', log: [], failWith: 0, unauthorizedNext: 0, delayMs: 0, tokens: 0, gone: new Set(), close: async () => {} }
  const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname.replace(/\/+$/, '')
    fake.log.push(`${req.method} ${path}`)
    req.resume()
    if (path === '/realms/example/protocol/openid-connect/token') {
      fake.tokens++
      const claims = { resource_access: { 'realm-management': { roles: ['view-users', 'view-clients'] } }, n: fake.tokens }
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
      const m = path.match(/^\/admin\/realms\/example\/(.*)$/)
      const rest = m?.[1] ?? ''
      if (rest === 'clients') {
        const clientId = url.searchParams.get('clientId')
        return json(res, 200, clientId === 'conda_store' || clientId === 'jupyterhub' ? [{ id: `uuid-${clientId}`, clientId }] : [])
      }
      const roles = rest.match(/^clients\/(uuid-[^/]+)\/roles$/)
      if (roles) return json(res, 200, [{ name: 'viewer', attributes: { scopes: ['viewer!namespace=global'] } }, { name: 'dev', attributes: {} }])
      if (rest === 'users' && !url.searchParams.has('username')) return json(res, 200, USERS.slice(0, Number(url.searchParams.get('max') ?? 100)))
      if (rest === 'users') {
        const username = url.searchParams.get('username')
        return json(res, 200, USERS.filter((u) => u.username === username || u.username.startsWith(username ?? '\0')).map(({ id, username }) => ({ id, username })))
      }
      const user = USERS.find((u) => rest.startsWith(`users/${u.id}`) && !fake.gone.has(u.id))
      if (rest.startsWith('users/') && !user) return json(res, 404, { error: 'User not found' })
      if (user && rest === `users/${user.id}`) return json(res, 200, { id: user.id, username: user.username })
      const composite = rest.match(/^users\/[^/]+\/role-mappings\/clients\/([^/]+)\/composite$/)
      if (user && composite) {
        if (!composite[1]!.startsWith('uuid-')) return json(res, 404, { error: 'Client not found' })
        return json(res, 200, user.roles[composite[1]!] ?? [])
      }
      if (user && rest === `users/${user.id}/groups`) {
        const first = Number(url.searchParams.get('first') ?? 0)
        const max = Number(url.searchParams.get('max') ?? 1000)
        return json(res, 200, user.groups.slice(first, first + max).map((path) => ({ id: path, path, name: path.split('/').pop() })))
      }
      if (user && rest === `users/${user.id}/role-mappings/realm/composite`) return json(res, 200, [{ name: 'default-roles-example', attributes: {} }])
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
      clients: ['conda_store'],
      credentials: { clientId: 'svc', clientSecret: 'x' },
      cache: { max: 10, ttlMs: 30_000 },
      clock,
      ...extra,
    })
  const adminCalls = () => fake.log.filter((l) => l.includes('/admin/'))

  beforeAll(async () => {
    fake = await startFake()
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => {
    Object.assign(fake, { log: [], failWith: 0, unauthorizedNext: 0, delayMs: 0, gone: new Set() })
    clock = new ManualClock(5_000_000)
  })

  it('keeps a role whose attribute is malformed, drops that attribute and reports a diagnostic', async () => {
    const alice = await make().resolve('alice')
    expect(alice.clientRoles.conda_store?.map((r) => r.name)).toEqual(['dev', 'viewer'])
    expect(alice.clientRoles.conda_store?.[1]?.attributes).toEqual({ scopes: ['viewer!namespace=global'] })
    expect(alice.diagnostics).toEqual([
      expect.objectContaining({ code: 'KEYCLOAK_ATTRIBUTE_MALFORMED', subject: { role: { client: 'conda_store', name: 'viewer' }, attribute: 'bad' } }),
    ])
  })

  it('post-filters the username search to the exact (lower-cased) name', async () => {
    // The fake's search also returns prefix matches, as a non-exact search would.
    const principal = await make().resolve('CAROL')
    expect(principal.username).toBe('carol')
    expect(principal.userId).toBe('u-carol')
  })

  it('pages the groups listing explicitly and keeps full paths (with ~/ escapes)', async () => {
    const alice = await make({ groupsPageSize: 2 }).resolve('alice')
    expect(alice.groups).toEqual(['/analyst', '/a~/b', '/projects', '/projects/ml', '/z']) // code-unit order
    expect(fake.log.filter((l) => l.endsWith('/groups'))).toHaveLength(3)
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
    fake.gone.add('u-carol')
    await expect(source.resolve({ id: 'u-carol', username: 'carol' })).rejects.toBeInstanceOf(UserNotFoundError)
  })

  it('renews the token once and retries when the Admin API answers 401', async () => {
    const source = make()
    await source.resolve('carol')
    clock.advance(31_000)
    fake.unauthorizedNext = 1
    await source.resolve('carol')
    expect(fake.tokens).toBeGreaterThanOrEqual(2)
    fake.unauthorizedNext = 10
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
    const source = make({ groups: false })
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
    expect(adminCalls()).toHaveLength(2) // lookup + one composite
  })

  it('the principal cache is bounded (LRU)', async () => {
    const source = make({ cache: { max: 2, ttlMs: 30_000 }, groups: false })
    await source.resolve('alice')
    await source.resolve('bob')
    await source.resolve('carol') // evicts alice
    fake.log = []
    expect((await source.resolve('carol')).origin.cached).toBe(true)
    expect(fake.log).toHaveLength(0)
    expect((await source.resolve('alice')).origin.cached).toBe(false)
  })

  it('an unknown user by id (404) and by name ([]) are UserNotFoundErrors; an unknown client is ClientNotFoundError', async () => {
    await expect(make().resolve({ id: 'nope' })).rejects.toBeInstanceOf(UserNotFoundError)
    await expect(make().resolve('nobody')).rejects.toThrow(/view-users/)
    const err = await make({ clients: ['conda_store', 'ghost'] }).resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientNotFoundError)
    expect((err as ClientNotFoundError).clientId).toBe('ghost')
  })

  it('a 403 is an InsufficientPermissionsError naming the right', async () => {
    fake.failWith = 403
    const err = await make().resolve('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InsufficientPermissionsError)
    expect((err as InsufficientPermissionsError).missing).toEqual(['view-clients'])
  })

  it('realm roles and groups are fetched only when enabled, and complete says so', async () => {
    const off = await make({ groups: false }).resolve('carol')
    expect(off.complete).toEqual({ groups: false, realmRoles: false, attributes: true, provenance: false })
    expect(fake.log.some((l) => l.endsWith('/groups') || l.endsWith('/realm/composite'))).toBe(false)
    const on = await make({ realmRoles: true }).resolve('carol')
    expect(on.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: false })
    expect(on.realmRoles).toEqual([{ name: 'default-roles-example', attributes: {}, via: [] }])
  })

  it('the role catalogue is cached and bounded; an unknown client is undefined', async () => {
    const source = make()
    const roles = await source.clientRoles('conda_store')
    expect(roles && Object.fromEntries(roles)).toEqual({ dev: {}, viewer: { scopes: ['viewer!namespace=global'] } })
    fake.log = []
    expect(await source.clientRoles('conda_store')).toBe(roles)
    expect(fake.log).toHaveLength(0)
    expect(await source.clientRoles('ghost')).toBeUndefined()
    clock.advance(60_001) // past the default catalogue TTL
    await source.clientRoles('conda_store')
    expect(fake.log.filter((l) => l.endsWith('/roles'))).toHaveLength(1)
  })
})
