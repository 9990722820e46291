import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { ManualClock, RealmExportInvalidError, UserNotFoundError, InvalidOptionsError, formatRole, summarizePrincipal } from '../../src/index.js'

const expected = JSON.parse(readFileSync(new URL('../fixtures/example-realm.expected.json', import.meta.url), 'utf8'))
const exampleJson = JSON.parse(readFileSync(new URL('../../examples/realm/example-realm.json', import.meta.url), 'utf8'))

const names = (roles: readonly { name: string }[]) => roles.map((r) => r.name)

describe('RealmExportSource on the bundled example realm', () => {
  const source = RealmExportSource.example()

  it('lists the realm users', () => {
    expect(source.usernames()).toEqual(Object.keys(expected.users).sort())
  })

  for (const [username, want] of Object.entries<any>(expected.users)) {
    it(`resolves ${username} exactly as the expected file (checked against a live Keycloak)`, async () => {
      const p = await source.resolve(username)
      expect(p.username).toBe(username)
      expect(p.realm).toBe('example')
      expect(p.groups).toEqual(want.groups)
      expect(names(p.realmRoles)).toEqual([...want.realmRoles].sort())
      const clients: Record<string, string[]> = {}
      for (const [client, roles] of Object.entries(p.clientRoles)) clients[client] = names(roles)
      const wantClients: Record<string, string[]> = {}
      for (const [client, roles] of Object.entries<string[]>(want.clientRoles)) wantClients[client] = [...roles].sort()
      expect(clients).toEqual(wantClients)
      expect(p.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: true })
    })
  }

  it('carries attributes verbatim (multi-values kept)', async () => {
    const bob = await source.resolve('bob')
    const role = bob.clientRoles['conda_store']!.find((r) => r.name === 'ml-team-scopes')!
    expect(role.attributes).toEqual({ component: ['conda-store'], scopes: ['admin!namespace=ml,developer!namespace=nebari-git'] })
  })

  it('records provenance: parent-group inheritance, composites, default role', async () => {
    const bob = await source.resolve('bob')
    expect(bob.clientRoles['ws-alpha']![0]!.via).toEqual([{ kind: 'group', group: '/projects', member: '/projects/ml' }])
    const carol = await source.resolve('carol')
    const dev = carol.clientRoles['jupyterhub']!.find((r) => r.name === 'jupyterhub_developer')!
    expect(dev.via).toEqual([{ kind: 'composite', parent: { client: 'jupyterhub', name: 'jupyterhub_admin' } }])
    const admin = carol.clientRoles['jupyterhub']!.find((r) => r.name === 'jupyterhub_admin')!
    expect(admin.via).toEqual([{ kind: 'composite', parent: { name: 'platform-admin' } }])
    expect(carol.realmRoles.find((r) => r.name === 'default-roles-example')!.via).toEqual([{ kind: 'default' }])
    expect(carol.realmRoles.find((r) => r.name === 'offline_access')!.via).toEqual([
      { kind: 'composite', parent: { name: 'default-roles-example' } },
    ])
  })

  it('gives erin no default roles (an import does not add them)', async () => {
    const erin = await source.resolve('erin')
    expect(erin.realmRoles).toEqual([])
    expect(erin.clientRoles['account']).toBeUndefined()
  })

  it('matches usernames case-insensitively, as Keycloak stores them lower-cased', async () => {
    expect((await source.resolve('ALICE')).username).toBe('alice')
  })

  it('throws UserNotFoundError with a stable code for an unknown user', async () => {
    await expect(source.resolve('mallory')).rejects.toBeInstanceOf(UserNotFoundError)
    await expect(source.resolve('mallory')).rejects.toMatchObject({ code: 'KEYCLOAK_USER_NOT_FOUND', user: 'mallory' })
  })

  it('restricts client roles to the configured clients', async () => {
    const restricted = RealmExportSource.example({ clients: ['conda_store'] })
    const alice = await restricted.resolve('alice')
    expect(Object.keys(alice.clientRoles)).toEqual(['conda_store'])
    expect(names(alice.realmRoles)).toContain('offline_access')
  })

  it('stamps resolvedAt from the injected clock', async () => {
    const clock = new ManualClock(42)
    expect((await RealmExportSource.example({ clock }).resolve('bob')).origin).toEqual({
      kind: 'realm-export', resolvedAt: 42, cached: false, stale: false,
    })
  })

  it('acts as a role catalogue (attributes by role name)', async () => {
    const roles = await source.clientRoles('jupyterhub')
    expect(roles?.get('allow-read-access-to-services-role')).toEqual({ component: ['jupyterhub'], scopes: ['read:services'] })
    expect(await source.clientRoles('no-such-client')).toBeUndefined()
    expect((await source.realmRoles()).has('platform-admin')).toBe(true)
  })

  it('lists every role with attributes for lint', () => {
    const withScopes = source.roles().filter((r) => r.attributes['scopes']).map(formatRole)
    expect(withScopes).toContain('conda_store/broken-scopes')
    expect(source.groupPaths()).toEqual(['/admin', '/analyst', '/developer', '/projects', '/projects/ml'])
  })
})

describe('RealmExportSource semantics on crafted realms', () => {
  const realm = (extra: object) => ({ realm: 'r', ...extra })

  it('survives composite cycles', async () => {
    const source = new RealmExportSource(
      realm({
        roles: {
          realm: [
            { name: 'a', composite: true, composites: { realm: ['b'] } },
            { name: 'b', composite: true, composites: { realm: ['a'], client: { c: ['x'] } } },
          ],
          client: { c: [{ name: 'x', composite: true, composites: { realm: ['a'] } }] },
        },
        users: [{ username: 'u', realmRoles: ['a'] }],
      }),
    )
    const u = await source.resolve('u')
    expect(names(u.realmRoles)).toEqual(['a', 'b'])
    expect(names(u.clientRoles['c']!)).toEqual(['x'])
    expect(u.realmRoles.find((r) => r.name === 'a')!.via).toEqual([{ kind: 'direct' }, { kind: 'composite', parent: { name: 'b' } }, { kind: 'composite', parent: { client: 'c', name: 'x' } }])
  })

  it('inherits roles from every ancestor of a deep subgroup, with ~/ escapes in names', async () => {
    const source = new RealmExportSource(
      realm({
        roles: { realm: [{ name: 'top' }, { name: 'mid' }, { name: 'leaf' }] },
        groups: [{ name: 'a', realmRoles: ['top'], subGroups: [{ name: 'b/c', realmRoles: ['mid'], subGroups: [{ name: 'd', realmRoles: ['leaf'] }] }] }],
        users: [{ username: 'u', groups: ['/a/b~/c/d'] }],
      }),
    )
    const u = await source.resolve('u')
    expect(names(u.realmRoles)).toEqual(['leaf', 'mid', 'top'])
    expect(u.realmRoles.find((r) => r.name === 'top')!.via).toEqual([{ kind: 'group', group: '/a', member: '/a/b~/c/d' }])
  })

  it('uses the export defaultRole when it is defined there', async () => {
    const source = new RealmExportSource(
      realm({
        defaultRole: { name: 'default-roles-r' },
        roles: { realm: [{ name: 'default-roles-r', composite: true, composites: { realm: ['extra'] } }, { name: 'extra' }] },
        users: [{ username: 'u', realmRoles: ['default-roles-r'] }],
      }),
    )
    expect(names((await source.resolve('u')).realmRoles)).toEqual(['default-roles-r', 'extra'])
  })

  it('rejects invalid exports with the path of the bad value', () => {
    const bad = (value: unknown) => () => new RealmExportSource(value)
    expect(bad({ realm: 'r', users: [{ username: 'u', groups: 'oops' }] })).toThrow(RealmExportInvalidError)
    expect(bad({ realm: 'r', users: [{ username: 'u', groups: 'oops' }] })).toThrow(/users\.0\.groups/)
    expect(bad({ realm: 'r', users: [{ username: 'u', groups: ['/nope'] }] })).toThrow(/users\.0\.groups\.0: unknown group/)
    expect(bad({ realm: 'r', users: [{ username: 'u', realmRoles: ['ghost'] }] })).toThrow(/users\.0\.realmRoles\.0: unknown realm role "ghost"/)
    expect(bad({ realm: 'r', roles: { realm: [{ name: 'a', composites: { client: { c: ['x'] } } }] } })).toThrow(/roles\.realm\.0\.composites\.client\.c\.0/)
    expect(bad({ realm: 'r', users: [{ username: 'u' }, { username: 'U' }] })).toThrow(/duplicate user/)
    expect(bad([])).toThrow(RealmExportInvalidError)
    try {
      bad({ realm: 1 })()
    } catch (err) {
      expect(err).toMatchObject({ code: 'KEYCLOAK_REALM_EXPORT_INVALID', path: 'realm' })
    }
  })

  it('reports unreadable and non-JSON files as invalid exports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-'))
    await expect(RealmExportSource.fromFile(join(dir, 'missing.json'))).rejects.toThrow(/cannot read .*ENOENT/)
    writeFileSync(join(dir, 'bad.json'), '{ nope')
    await expect(RealmExportSource.fromFile(join(dir, 'bad.json'))).rejects.toBeInstanceOf(RealmExportInvalidError)
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(exampleJson))
    expect((await RealmExportSource.fromFile(join(dir, 'ok.json'))).realm).toBe('example')
  })

  it('validates options eagerly', () => {
    expect(() => RealmExportSource.example({ clients: [''] })).toThrow(InvalidOptionsError)
    expect(() => RealmExportSource.example({ clients: 'conda_store' as never })).toThrow(/Invalid option clients/)
  })
})

describe('hostile names', () => {
  it('refuses a __proto__ key (it would silently drop roles) with the path of the key', () => {
    // JSON.parse, as a file would be read: an object literal's __proto__ key would set the prototype.
    const json = JSON.parse('{"realm":"r","roles":{"client":{"__proto__":[{"name":"x"}]}},"users":[{"username":"u"}]}')
    expect(() => new RealmExportSource(json)).toThrow(RealmExportInvalidError)
    expect(() => new RealmExportSource(json)).toThrow(/roles\.client\.__proto__/)
  })
})

describe('RealmExportSource: disabled accounts (Principal.enabled)', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/realm-with-disabled-user.json', import.meta.url), 'utf8'))
  const source = new RealmExportSource(fixture)

  it('the test fixture is the example realm plus frank, disabled, with alice\'s rights and ws-beta access', async () => {
    expect(source.usernames()).toEqual([...Object.keys(expected.users), 'frank'].sort())
    const frank = await source.resolve('frank')
    const alice = await source.resolve('alice')
    expect(frank.enabled).toBe(false)
    expect(alice.enabled).toBeUndefined()
    // Roles are still resolved (explain can show what the account would have); components deny it.
    expect(names(frank.clientRoles['conda_store']!)).toEqual(names(alice.clientRoles['conda_store']!))
    expect(names(frank.clientRoles['ws-beta']!)).toEqual(['ws_access'])
    expect(summarizePrincipal(frank)).toMatchObject({ username: 'frank', enabled: false })
    expect(summarizePrincipal(alice)).not.toHaveProperty('enabled')
  })

  it('the six bundled users are unchanged by the fixture', async () => {
    const bundled = RealmExportSource.example()
    for (const user of bundled.usernames()) {
      expect(summarizePrincipal(await source.resolve(user))).toEqual(summarizePrincipal(await bundled.resolve(user)))
    }
  })

  it('only an explicit "enabled": false disables; true and an absent key are enabled', async () => {
    const s = new RealmExportSource({
      realm: 'r',
      users: [
        { username: 'off', enabled: false },
        { username: 'on', enabled: true },
        { username: 'unsaid' },
      ],
    })
    expect((await s.resolve('off')).enabled).toBe(false)
    expect(await s.resolve('on')).not.toHaveProperty('enabled')
    expect(await s.resolve('unsaid')).not.toHaveProperty('enabled')
    expect((await s.resolve({ username: 'OFF' })).enabled).toBe(false)
  })

  it('"enabled" of the wrong type is a RealmExportInvalidError naming the path', () => {
    expect(() => new RealmExportSource({ realm: 'r', users: [{ username: 'u', enabled: 'no' }] })).toThrow(/users\.0\.enabled/)
  })
})

describe('RealmExportSource: principals of one user share their resolved roles', () => {
  it('the same frozen role lists and attribute maps on every resolve, with a fresh origin', () => {
    const clock = new ManualClock(1_000)
    const source = RealmExportSource.example({ clock })
    const a = source.resolveSync('bob')
    clock.advance(5)
    const b = source.resolveSync('bob')
    expect(b).toEqual({ ...a, origin: { ...a.origin, resolvedAt: 1_005 } })
    expect(b.clientRoles).toBe(a.clientRoles)
    expect(b.realmRoles).toBe(a.realmRoles)
    expect(Object.isFrozen(a.clientRoles) && Object.isFrozen(a.realmRoles) && Object.isFrozen(a.groups)).toBe(true)
    for (const role of [...a.realmRoles, ...Object.values(a.clientRoles).flat()]) expect(Object.isFrozen(role) && Object.isFrozen(role.via)).toBe(true)
    expect(b.origin).not.toBe(a.origin)
    expect(source.resolveSync('alice').clientRoles).not.toBe(a.clientRoles)
  })
})
