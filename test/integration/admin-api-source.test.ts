import { beforeAll, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { UserNotFoundError } from '../../src/core/errors.js'
import { summarizePrincipal, type Principal } from '../../src/core/principal.js'
import { AdminApiSource, RealmExportSource } from '../../src/keycloak/index.js'
import { describeLive, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { EXPECTED, REALM_FILE, USERNAMES } from './helpers/realm.js'


const names = (list: readonly { name: string }[] | undefined) => (list ?? []).map((r) => r.name)

describeLive('AdminApiSource against the live Keycloak', () => {
  const clock = new ManualClock(1_767_225_600_000)
  let source: AdminApiSource
  let offline: RealmExportSource
  const principals = new Map<string, Principal>()

  beforeAll(async () => {
    source = new AdminApiSource({
      baseUrl: live!.url,
      realm: REALM,
      credentials: SERVICE_ACCOUNT, // no client list: every client of the realm
      cache: { max: 100, ttlMs: 60_000 },
      clock,
    })
    offline = await RealmExportSource.fromFile(REALM_FILE)
    await source.selfCheck()
    for (const username of USERNAMES) principals.set(username, await source.resolve(username))
  })

  it('covers every user of the realm file', () => {
    expect(USERNAMES).toEqual([...offline.usernames()].sort())
  })

  it.each(USERNAMES)('%s: the live principal equals RealmExportSource on the same realm file', async (username) => {
    const principal = principals.get(username)!
    expect(summarizePrincipal(principal)).toEqual(summarizePrincipal(await offline.resolve(username)))
  })

  it.each(USERNAMES)('%s: effective client roles, realm roles and groups equal example-realm.expected.json', (username) => {
    const principal = principals.get(username)!
    const expected = EXPECTED.users[username]!
    const actualClients = Object.fromEntries(Object.entries(principal.clientRoles).map(([client, list]) => [client, names(list)]))
    expect(actualClients).toEqual(Object.fromEntries(Object.entries(expected.clientRoles).map(([c, roles]) => [c, [...roles].sort()])))
    expect(names(principal.realmRoles)).toEqual([...expected.realmRoles].sort())
    expect(principal.groups).toEqual([...expected.groups].sort())
  })

  it('builds the principal as src/core/principal.ts defines it for this source', () => {
    for (const principal of principals.values()) {
      expect(principal.realm).toBe(REALM)
      expect(principal.userId).toMatch(/^[0-9a-f-]{36}$/)
      expect(principal.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: true })
      expect(principal.origin).toEqual({ kind: 'admin-api', resolvedAt: clock.now(), cached: false, stale: false, tier: 'source' })
      for (const [client, list] of Object.entries(principal.clientRoles)) {
        expect(list.length).toBeGreaterThan(0)
        expect(names(list)).toEqual([...names(list)].sort())
        for (const role of list) {
          expect(role.client).toBe(client)
          expect(role.via.length).toBeGreaterThan(0)
        }
      }
      expect(names(principal.realmRoles)).toEqual([...names(principal.realmRoles)].sort())
      for (const role of principal.realmRoles) expect(role).not.toHaveProperty('client')
    }
  })

  it.each(USERNAMES)('%s: every role is held by the same paths (via) as RealmExportSource says', async (username) => {
    const viaOf = (p: Principal) => {
      const out: Record<string, string[]> = {}
      for (const role of [...p.realmRoles, ...Object.values(p.clientRoles).flat()]) {
        out[`${role.client ?? ''}/${role.name}`] = role.via.map((v) => JSON.stringify(v)).sort()
      }
      return out
    }
    expect(viaOf(principals.get(username)!)).toEqual(viaOf(await offline.resolve(username)))
  })

  it('carries role attributes from the catalogue (no per-role calls)', () => {
    const dave = principals.get('dave')!
    const broken = dave.clientRoles.conda_store?.find((r) => r.name === 'broken-scopes')
    expect(broken?.attributes).toEqual({ component: ['conda-store'], scopes: ['developer!namespace=ml, viewer!namespace=global'] })
    const profiles = dave.clientRoles.jupyterhub?.find((r) => r.name === 'jupyterlab-profiles')
    expect([...(profiles?.attributes.profiles ?? [])].sort()).toEqual(['gpu', 'small'])
  })

  it('serves the cache while fresh (cached: true, resolvedAt unchanged) and refetches after the TTL', async () => {
    const first = principals.get('bob')!
    const again = await source.resolve('bob')
    expect(again.origin).toEqual({ ...first.origin, cached: true, tier: 'memory' })
    clock.advance(60_000)
    const refetched = await source.resolve('bob')
    expect(refetched.origin).toEqual({ kind: 'admin-api', resolvedAt: clock.now(), cached: false, stale: false, tier: 'source' })
    expect(summarizePrincipal(refetched)).toEqual(summarizePrincipal(first))
  })

  it('resolves by id (a token sub), by id + username, and case-insensitively by username', async () => {
    const alice = principals.get('alice')!
    const byId = await source.resolve({ id: alice.userId! })
    const both = await source.resolve({ id: alice.userId!, username: 'Alice' })
    const upper = await source.resolve('ALICE')
    for (const p of [byId, both, upper]) {
      expect(summarizePrincipal(p)).toEqual(summarizePrincipal(alice))
      expect(p.userId).toBe(alice.userId)
    }
  })

  it('an unknown user is a UserNotFoundError that names missing rights as a possible cause', async () => {
    const err = await source.resolve('nobody-here').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserNotFoundError)
    expect((err as UserNotFoundError).user).toBe('nobody-here')
    expect((err as Error).message).toContain('view-users')
    await expect(source.resolve({ id: '00000000-0000-0000-0000-000000000000' })).rejects.toBeInstanceOf(UserNotFoundError)
  })

  it('clientRoles/realmRoles (the role catalogue) equal RealmExportSource on the same file', async () => {
    for (const client of ['conda_store', 'jupyterhub', 'workspace-api', 'ws-alpha', 'ws-beta']) {
      const liveRoles = await source.clientRoles(client)
      const fileRoles = await offline.clientRoles(client)
      expect(liveRoles && Object.fromEntries(liveRoles)).toEqual(fileRoles && Object.fromEntries(fileRoles))
    }
    expect(Object.fromEntries(await source.realmRoles())).toEqual(Object.fromEntries(await offline.realmRoles()))
    expect(await source.clientRoles('no-such-client')).toBeUndefined()
  })
})
