/**
 * AdminEventWatcher against a loopback server speaking the admin-events endpoint (newest first,
 * `dateFrom`/`first`/`max` as Keycloak 26 answers them) and the id lookups; the live behaviour is in
 * test/integration/freshness*.test.ts.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InsufficientPermissionsError, InvalidOptionsError, SourceUnavailableError } from '../../src/core/errors.js'
import { AdminEventWatcher, classifyAdminEvent, type AdminEvent, type Invalidation } from '../../src/keycloak/index.js'

interface Fake {
  url: string
  events: AdminEvent[]
  queries: URLSearchParams[]
  paths: string[]
  failWith: number
  rights: string[]
  realm: Record<string, unknown>
  close(): Promise<void>
}

async function startFake(): Promise<Fake> {
  const fake: Fake = { url: '', events: [], queries: [], paths: [], failWith: 0, rights: ['view-events'], realm: { adminEventsEnabled: true, adminEventsDetailsEnabled: true }, close: async () => {} }
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    req.resume()
    if (url.pathname === '/realms/example/protocol/openid-connect/token') {
      const claims = { resource_access: { 'realm-management': { roles: fake.rights } } }
      return json(res, 200, { access_token: `x.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.y`, expires_in: 300 })
    }
    fake.paths.push(url.pathname)
    if (fake.failWith) return json(res, fake.failWith, { error: 'nope' })
    const rest = url.pathname.replace('/admin/realms/example', '')
    if (rest === '') return json(res, 200, fake.realm)
    if (rest === '/admin-events') {
      if (!fake.rights.includes('view-events')) return json(res, 403, { error: 'HTTP 403 Forbidden' })
      fake.queries.push(url.searchParams)
      const from = Number(url.searchParams.get('dateFrom') ?? 0)
      const first = Number(url.searchParams.get('first') ?? 0)
      const max = Number(url.searchParams.get('max') ?? 100)
      const hits = fake.events.filter((e) => e.time >= from).sort((a, b) => b.time - a.time)
      return json(res, 200, hits.slice(first, first + max))
    }
    if (rest === '/groups/g-projects') return json(res, 200, { id: 'g-projects', name: 'projects', path: '/projects' })
    if (rest === '/clients/c-conda') return json(res, 200, { id: 'c-conda', clientId: 'conda_store' })
    if (rest === '/roles-by-id/r-admin') return json(res, 200, { id: 'r-admin', name: 'conda_store_admin', clientRole: true, containerId: 'c-conda' })
    if (rest === '/roles-by-id/r-platform') return json(res, 200, { id: 'r-platform', name: 'platform-admin', clientRole: false, containerId: 'realm-id' })
    return json(res, 404, { error: 'not found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.close = () => new Promise((resolve) => server.close(() => resolve()))
  return fake
}

const ev = (id: string, time: number, operationType: string, resourceType: string, resourcePath: string): AdminEvent => ({ id, time, operationType, resourceType, resourcePath })

describe('classifyAdminEvent', () => {
  const cases: [string, string, string, ReturnType<typeof classifyAdminEvent>['kind'], Record<string, unknown>?][] = [
    ['CREATE', 'CLIENT_ROLE_MAPPING', 'users/u1/role-mappings/clients/c1', 'user', { userId: 'u1' }],
    ['DELETE', 'REALM_ROLE_MAPPING', 'users/u1/role-mappings/realm', 'user', { userId: 'u1' }],
    ['CREATE', 'GROUP_MEMBERSHIP', 'users/u1/groups/g1', 'user', { userId: 'u1' }],
    ['UPDATE', 'USER', 'users/u1', 'user', { userId: 'u1' }],
    ['DELETE', 'USER', 'users/u1', 'user', { userId: 'u1' }],
    ['CREATE', 'USER', 'users', 'none'],
    ['CREATE', 'CLIENT_ROLE_MAPPING', 'groups/g1/role-mappings/clients/c1', 'group', { groupId: 'g1', renamedOrRemoved: false }],
    ['UPDATE', 'GROUP', 'groups/g1', 'group', { groupId: 'g1', renamedOrRemoved: true }],
    ['DELETE', 'GROUP', 'groups/g1', 'group', { groupId: 'g1', renamedOrRemoved: true }],
    ['CREATE', 'GROUP', 'groups/g1/children', 'all'],
    ['CREATE', 'GROUP', 'groups', 'all'],
    ['UPDATE', 'CLIENT_ROLE', 'clients/c1/roles/ml-team-scopes', 'client-role', { clientUuid: 'c1', name: 'ml-team-scopes' }],
    ['CREATE', 'CLIENT_ROLE', 'clients/c1/roles/a%20b/composites', 'client-role', { clientUuid: 'c1', name: 'a b' }],
    ['CREATE', 'CLIENT_ROLE', 'clients/c1/roles', 'none'],
    ['DELETE', 'REALM_ROLE', 'roles/platform-admin', 'realm-role', { name: 'platform-admin' }],
    ['CREATE', 'REALM_ROLE', 'roles/default-roles-example/composites', 'realm-role', { name: 'default-roles-example' }],
    ['CREATE', 'REALM_ROLE', 'roles-by-id/r1/composites', 'role-id', { roleId: 'r1' }],
    ['UPDATE', 'CLIENT', 'clients/c1', 'all'],
    ['CREATE', 'CLIENT', 'clients/c1', 'none'],
    ['CREATE', 'CLIENT_SCOPE_MAPPING', 'clients/c1/scope-mappings/realm', 'none'],
    ['UPDATE', 'PROTOCOL_MAPPER', 'clients/c1/protocol-mappers/models/m1', 'none'],
    ['DELETE', 'USER_SESSION', 'users/u1/sessions', 'none'],
    ['UPDATE', 'REALM', '', 'all'],
    ['ACTION', 'SOMETHING_NEW', 'somewhere/else', 'all'],
  ]
  it.each(cases)('%s %s %s → %s', (op, type, path, kind, fields) => {
    const target = classifyAdminEvent(ev('1', 0, op, type, path))
    expect(target.kind).toBe(kind)
    if (fields) expect(target).toMatchObject(fields)
  })
})

describe('AdminEventWatcher (loopback admin-events endpoint)', () => {
  let fake: Fake
  let received: Invalidation[]
  const clock = new ManualClock(1_000_000)
  const make = (extra: Record<string, unknown> = {}) =>
    new AdminEventWatcher({
      baseUrl: fake.url, realm: 'example', credentials: { clientId: 'c', clientSecret: 's' },
      target: { invalidate: (inv) => void received.push(inv) }, clock, intervalMs: 10, maxBackoffMs: 40, ...extra,
    })

  beforeAll(async () => {
    fake = await startFake()
  })
  afterAll(() => fake.close())
  beforeEach(() => {
    fake.events = []
    fake.queries = []
    fake.paths = []
    fake.failWith = 0
    fake.rights = ['view-events']
    received = []
  })

  it('pages by dateFrom with an overlap, de-duplicates by id, and delivers oldest first', async () => {
    const watcher = make({ overlapMs: 5_000, from: 990_000 })
    fake.events = [ev('a', 995_000, 'CREATE', 'GROUP_MEMBERSHIP', 'users/u1/groups/g'), ev('b', 996_000, 'DELETE', 'USER', 'users/u2')]
    const first = await watcher.pollOnce()
    expect(fake.queries[0]!.get('dateFrom')).toBe('990000')
    expect(first.events).toBe(2)
    expect(received.map((i) => (i.kind === 'user' ? i.userId : i.kind))).toEqual(['u1', 'u2'])
    // The cursor is max(newest event, poll start) − overlap; the same events come again and are skipped.
    expect(first.cursor).toBe(1_000_000 - 5_000)
    fake.events.push(ev('c', 997_000, 'UPDATE', 'USER', 'users/u3'))
    const second = await watcher.pollOnce()
    expect(fake.queries[1]!.get('dateFrom')).toBe('995000')
    expect(second.events).toBe(1)
    expect(received).toHaveLength(3)
    expect(watcher.status().eventsSeen).toBe(3)
  })

  it('a new client or role invalidates no principal but tells the target its catalogue is out of date, once per poll', async () => {
    let told = 0
    const watcher = make({ target: { invalidate: (inv: Invalidation) => void received.push(inv), catalogueChanged: () => void told++ }, from: 990_000 })
    fake.events = [ev('n1', 995_000, 'CREATE', 'CLIENT', 'clients/c9'), ev('n2', 995_001, 'CREATE', 'CLIENT_ROLE', 'clients/c9/roles'), ev('n3', 995_002, 'CREATE', 'REALM_ROLE', 'roles')]
    const poll = await watcher.pollOnce()
    expect(poll.invalidations).toEqual([])
    expect(received).toEqual([])
    expect(told).toBe(1)
    fake.events.push(ev('u1', 996_000, 'UPDATE', 'USER', 'users/u1'))
    await watcher.pollOnce()
    expect(told).toBe(1) // a user change leaves catalogues alone
    expect(classifyAdminEvent(fake.events[0]!)).toEqual({ kind: 'none', why: 'a new client has no holders', catalogue: true })
  })

  it('reads every page of a burst (events with equal time included) and invalidates everything past maxPages', async () => {
    fake.events = Array.from({ length: 25 }, (_, i) => ev(`e${i}`, 999_000, 'UPDATE', 'USER', `users/u${i}`))
    const paged = await make({ pageSize: 10, maxPages: 3, dedupeMax: 100 }).pollOnce()
    expect(fake.queries.map((q) => q.get('first'))).toEqual(['0', '10', '20'])
    expect(paged.invalidations).toHaveLength(25)
    received = []
    const overflow = await make({ pageSize: 10, maxPages: 2, dedupeMax: 100 }).pollOnce()
    expect(overflow.invalidations).toEqual([expect.objectContaining({ kind: 'all' })])
  })

  it('turns ids into names with lookups, and invalidates broadly when a lookup fails', async () => {
    fake.events = [
      ev('1', 999_001, 'CREATE', 'CLIENT_ROLE_MAPPING', 'groups/g-projects/role-mappings/clients/c-conda'),
      ev('2', 999_002, 'UPDATE', 'CLIENT_ROLE', 'clients/c-conda/roles/ml-team-scopes'),
      ev('3', 999_003, 'CREATE', 'CLIENT_ROLE', 'roles-by-id/r-admin/composites'),
      ev('4', 999_004, 'CREATE', 'REALM_ROLE', 'roles-by-id/r-platform/composites'),
      ev('5', 999_005, 'UPDATE', 'CLIENT_SCOPE', 'client-scopes/s1'),
    ]
    const poll = await make().pollOnce()
    expect(poll.invalidations.map(({ cause: _, ...rest }) => rest)).toEqual([
      { kind: 'group', path: '/projects' },
      { kind: 'role', role: { client: 'conda_store', name: 'ml-team-scopes' } },
      { kind: 'role', role: { client: 'conda_store', name: 'conda_store_admin' } },
      { kind: 'role', role: { name: 'platform-admin' } },
    ])
    received = []
    fake.events = [ev('6', 999_006, 'CREATE', 'CLIENT_ROLE_MAPPING', 'groups/g-gone/role-mappings/realm')]
    const gone = await make().pollOnce()
    expect(gone.invalidations).toEqual([expect.objectContaining({ kind: 'all' })])
    // A renamed/removed group: only a path known from before the event may be used.
    received = []
    const watcher = make()
    fake.events = [ev('7', 999_007, 'CREATE', 'CLIENT_ROLE_MAPPING', 'groups/g-projects/role-mappings/realm')]
    await watcher.pollOnce()
    fake.events.push(ev('8', 999_008, 'DELETE', 'GROUP', 'groups/g-projects'))
    const removed = await watcher.pollOnce()
    expect(removed.invalidations).toEqual([expect.objectContaining({ kind: 'group', path: '/projects' })])
    fake.events.push(ev('9', 999_009, 'DELETE', 'GROUP', 'groups/g-unknown'))
    expect((await watcher.pollOnce()).invalidations).toEqual([expect.objectContaining({ kind: 'all' })])
  })

  it('backs off while events cannot be read, reports the outage once, and catches up on recovery', async () => {
    const errors: unknown[] = []
    const watcher = make({ onError: (e: unknown) => errors.push(e), from: 990_000 })
    fake.failWith = 503
    watcher.start()
    await new Promise((r) => setTimeout(r, 200))
    const failing = watcher.status()
    expect(failing.consecutiveFailures).toBeGreaterThanOrEqual(2)
    // Back-off: 10, 20, 40, 40 … ms between attempts, so far fewer attempts than 200 ms / 10 ms.
    expect(failing.consecutiveFailures).toBeLessThan(12)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(SourceUnavailableError)
    fake.events = [ev('x', 995_000, 'DELETE', 'USER', 'users/late')]
    fake.failWith = 0
    await new Promise((r) => setTimeout(r, 150))
    await watcher.stop()
    expect(watcher.status().consecutiveFailures).toBe(0)
    expect(received).toEqual([expect.objectContaining({ kind: 'user', userId: 'late' })])
  })

  it('a 403 is InsufficientPermissionsError naming view-events', async () => {
    fake.rights = []
    await expect(make().pollOnce()).rejects.toSatisfy((e: unknown) => e instanceof InsufficientPermissionsError && e.missing.includes('view-events'))
  })

  it('selfCheck() reports disabled admin events and a missing view-events, with fixes', async () => {
    fake.rights = []
    fake.realm = { adminEventsEnabled: false }
    const bad = await make().selfCheck()
    expect(bad).toMatchObject({ ok: false, adminEventsEnabled: false, adminEventsDetailsEnabled: false, viewEvents: false, canReadEvents: false })
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['KEYCLOAK_ADMIN_EVENTS_DISABLED', 'KEYCLOAK_MISSING_VIEW_EVENTS'])
    expect(bad.diagnostics.every((d) => typeof d.fix === 'string' && d.fix.length > 0)).toBe(true)
    fake.rights = ['view-events']
    fake.realm = { adminEventsEnabled: true, adminEventsDetailsEnabled: true }
    expect(await make().selfCheck()).toMatchObject({ ok: true, diagnostics: [] })
  })

  it('validates its options eagerly', () => {
    const base = { baseUrl: 'http://127.0.0.1:1', realm: 'example', credentials: { clientId: 'c', clientSecret: 's' }, target: { invalidate: () => undefined } }
    const bad: [Record<string, unknown>, string][] = [
      [{ ...base, target: {} }, 'target'],
      [{ ...base, intervalMs: 0 }, 'intervalMs'],
      [{ ...base, intervalMs: 1_000, maxBackoffMs: 10 }, 'maxBackoffMs'],
      [{ ...base, pageSize: 0 }, 'pageSize'],
      [{ ...base, dedupeMax: 5 }, 'dedupeMax'],
      [{ ...base, from: -1 }, 'from'],
      [{ ...base, tokenProvider: { getAccessToken: async () => 't' } }, 'credentials'],
      [{ ...base, colour: 'red' }, 'colour'],
    ]
    for (const [options, option] of bad) {
      expect(() => new AdminEventWatcher(options as never), option).toThrow(InvalidOptionsError)
      try {
        new AdminEventWatcher(options as never)
      } catch (err) {
        expect((err as InvalidOptionsError).option).toBe(option)
      }
    }
  })
})
