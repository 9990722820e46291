import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { EffectiveRole, Principal } from '../../src/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import {
  hasScope,
  jupyterhubPrincipal,
  jupyterhubRoles,
  lintJupyterHubRoles,
  profileSlugs,
  scopesFromRoleAttributes,
  sharedDirectories,
  visibleProfiles,
  type ProfileDefinition,
} from '../../src/jupyterhub/index.js'

const expected = JSON.parse(readFileSync(new URL('../fixtures/example-realm.expected.json', import.meta.url), 'utf8'))
const source = RealmExportSource.example()
const people = Object.keys(expected.users).filter((u) => expected.users[u].derived)

function principal(fields: Partial<Principal> & { username: string }): Principal {
  return {
    realm: 't',
    userId: undefined,
    groups: [],
    realmRoles: [],
    clientRoles: {},
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
    ...fields,
  }
}
const jh = (name: string, attributes: Record<string, string[]>, via: EffectiveRole['via'] = [{ kind: 'direct' }]): EffectiveRole => ({ client: 'jupyterhub', name, attributes, via })

describe('scopes from a role attribute (nebari.md §5)', () => {
  it('is all-or-nothing by default, with Nebari\'s log line and JupyterHub\'s message', () => {
    const r = scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: ['read:users, read:groups'] }, { role: { client: 'jupyterhub', name: 'r' } })
    expect(r.scopes).toEqual([])
    expect(r.diagnostics).toHaveLength(1)
    const d = r.diagnostics[0]!
    expect(d).toMatchObject({ severity: 'error', code: 'JUPYTERHUB_ROLE_SCOPES_REJECTED', subject: { role: { client: 'jupyterhub', name: 'r' }, item: ' read:groups' } })
    expect(d.details?.['message']).toBe("Scope ' read:groups'  does not exist")
    expect(d.details?.['nebariLog']).toBe("Invalid scopes, skipping: ['read:users', ' read:groups'] (\"Scope ' read:groups'  does not exist\")")
  })

  it('lenient trims, skips empty items and drops only the bad ones', () => {
    const r = scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: ['read:users, read:groups,, nope,'] }, { grammar: 'lenient' })
    expect(r.scopes).toEqual(['read:users', 'read:groups'])
    expect(r.diagnostics.map((d) => [d.code, d.subject.item])).toEqual([['JUPYTERHUB_SCOPE_ITEM_DROPPED', 'nope']])
    expect(() => scopesFromRoleAttributes({}, { grammar: 'loose' as never })).toThrow(/grammar/)
  })

  it('reads only component exactly ["jupyterhub"] and the first value', () => {
    expect(scopesFromRoleAttributes({ component: ['jupyterhub', 'x'], scopes: ['read:users'] }).scopes).toEqual([])
    const multi = scopesFromRoleAttributes({ component: ['jupyterhub'], scopes: ['read:users', 'shares'] })
    expect(multi.scopes).toEqual(['read:users'])
    expect(multi.diagnostics.map((d) => d.code)).toEqual(['NEBARI_SCOPE_EXTRA_VALUES_IGNORED'])
  })

  it('a 6.0-only scope drops the whole role on 5.x, not on 6', () => {
    const attrs = { component: ['jupyterhub'], scopes: ['start:servers!user,read:users:name'] }
    expect(scopesFromRoleAttributes(attrs).scopes).toEqual([])
    expect(scopesFromRoleAttributes(attrs, { jupyterhubVersion: 6 }).scopes).toEqual(['start:servers!user', 'read:users:name'])
  })
})

describe('the auth model (nebari.md §5 step 4–5)', () => {
  it('invalid role names are reported and reject the login: every check denies', () => {
    const p = principal({
      username: 'nebari',
      groups: ['/analyst'],
      clientRoles: { jupyterhub: [jh('Team Leads', { component: ['jupyterhub'], scopes: ['read:users'] })] },
    })
    const model = jupyterhubPrincipal(p)
    expect(model.loginRejected).toBe(true)
    expect(model.roles.find((r) => r.name === 'Team Leads')?.nameError).toMatch(/^InvalidNameError: Invalid role name: 'Team Leads'\./)
    expect(model.diagnostics.map((d) => d.code)).toContain('JUPYTERHUB_ROLE_NAME_INVALID')
    expect(model.scopes.scopes).toEqual([])
    expect(hasScope('read:users!user=nebari', model.scopes)).toBe(false)
  })

  it('a token without the roles claim lists only the client roles (JUPYTERHUB_ROLES_CLAIM_MISSING)', () => {
    const p = principal({
      username: 'x',
      groups: ['/analyst'],
      realmRoles: [{ name: 'offline_access', attributes: {}, via: [] }],
      token: { issuer: 'i', audience: [], scope: [], expiresAt: 0, claims: { sub: 'u3' } },
    })
    const model = jupyterhubRoles(p)
    expect(model.roles.map((r) => r.name)).toEqual(['user'])
    expect(model.diagnostics.map((d) => d.code)).toEqual(['JUPYTERHUB_ROLES_CLAIM_MISSING'])
  })

  it('an empty filter value makes every request fail: no scopes, an error diagnostic', () => {
    const p = principal({ username: 'u', groups: ['/analyst'], clientRoles: { jupyterhub: [jh('bad-filter', { component: ['jupyterhub'], scopes: ['read:users!user='] })] } })
    const model = jupyterhubPrincipal(p)
    expect(model.roleScopes['bad-filter']).toEqual(['read:users!user='])
    expect(model.scopes.scopes).toEqual([])
    expect(model.diagnostics.map((d) => d.code)).toContain('JUPYTERHUB_EMPTY_FILTER_VALUE')
  })
})

describe('the bundled example realm', () => {
  for (const username of people) {
    const want = expected.users[username].derived
    it(`${username}: JupyterHub role scopes, shared directories and profile slugs as expected`, async () => {
      const p = await source.resolve(username)
      const model = jupyterhubPrincipal(p)
      const clientRoleScopes = Object.fromEntries(model.roles.filter((r) => r.source === 'client-role').map((r) => [r.name, [...(r.scopes ?? [])]]))
      expect(clientRoleScopes).toEqual(want.jupyterhubRoleScopes)
      const shared = sharedDirectories(p)
      expect(shared.groups).toEqual(want.sharedMountGroups)
      expect(shared.mounts.map((m) => m.mountPath)).toEqual(want.sharedMounts)
      expect(profileSlugs(p)).toEqual(want.jupyterlabProfileSlugs)
      expect(lintJupyterHubRoles(p).filter((d) => d.severity === 'error')).toEqual([])
    })
  }

  it('alice may share her own servers with anyone by name, but not access bob\'s', async () => {
    const alice = jupyterhubPrincipal(await source.resolve('alice'))
    expect(alice.loginRejected).toBe(false)
    expect(alice.roles.map((r) => r.name)).toContain('user')
    expect(hasScope('shares!server=alice/', alice.scopes)).toBe(true)
    expect(hasScope('access:servers!server=alice/lab', alice.scopes)).toBe(true)
    expect(hasScope('access:servers!server=bob/', alice.scopes)).toBe(false)
    expect(hasScope('read:users:name!user=bob', alice.scopes)).toBe(true)
    expect(hasScope('read:services', alice.scopes)).toBe(true)
    expect(hasScope('admin:users', alice.scopes)).toBe(false)
  })

  it('dave reads /projects/ml members through the group filter (needs group data)', async () => {
    const dave = jupyterhubPrincipal(await source.resolve('dave'))
    const groupsOf = (u: string) => (u === 'bob' || u === 'dave' ? ['/projects/ml'] : [])
    expect(hasScope('read:users!user=bob', dave.scopes, { groupsOf })).toBe(true)
    expect(hasScope('read:users!user=bob', dave.scopes)).toBe(false)
    expect(hasScope('read:users!user=alice', dave.scopes, { groupsOf })).toBe(false)
  })

  it('carol and erin are JupyterHub admins (jupyterhub_admin): the admin role\'s scopes', async () => {
    for (const name of ['carol', 'erin']) {
      const m = jupyterhubPrincipal(await source.resolve(name))
      expect(m.admin, name).toBe(true)
      expect(hasScope('admin:users', m.scopes)).toBe(true)
      expect(hasScope('access:servers!server=anyone/', m.scopes)).toBe(true)
    }
  })

  it('bob (only /projects/ml) is not in Nebari\'s allowed groups: login rejected, every check denies', async () => {
    const bob = jupyterhubPrincipal(await source.resolve('bob'))
    expect(bob).toMatchObject({ allowed: false, admin: false, loginRejected: true })
    expect(bob.diagnostics.map((d) => d.code)).toContain('JUPYTERHUB_LOGIN_NOT_ALLOWED')
    expect(hasScope('read:users!user=bob', bob.scopes)).toBe(false)
    expect(jupyterhubPrincipal(await source.resolve('bob'), { allowed: true }).scopes.scopes).toContain('read:users!group=/projects/ml')
  })

  it('profiles: successor by slug from the role; classic by the claim; yaml by basename; unknown access hidden', async () => {
    const dave = await source.resolve('dave')
    const profiles: ProfileDefinition[] = [
      { display_name: 'Small', slug: 'small', access: 'keycloak' },
      { display_name: 'GPU', slug: 'gpu', access: 'keycloak' },
      { display_name: 'Huge', slug: 'huge', access: 'keycloak' },
      { display_name: 'ML', slug: 'ml', access: 'yaml', groups: ['ml'] },
      { display_name: 'Dev path', slug: 'devp', access: 'yaml', groups: ['/developer'] },
      { display_name: 'Odd', slug: 'odd', access: 'everyone' },
      { display_name: 'Default', slug: 'default' },
    ]
    const successor = visibleProfiles(dave, profiles, { flavour: 'successor' })
    expect(successor.profiles.map((p) => p.profile.slug)).toEqual(['small', 'gpu', 'ml', 'default'])
    expect(successor.profiles[0]!.sharedMounts).toEqual(['/shared/developer', '/shared/ml'])
    expect(successor.profiles[0]!.condaStoreMounts).toEqual([])
    expect(successor.diagnostics.map((d) => d.code).sort()).toEqual(['NEBARI_PROFILE_ACCESS_UNKNOWN', 'NEBARI_PROFILE_GROUP_IS_PATH'])
    const compat = visibleProfiles(dave, profiles, { flavour: 'classic', compat: true, profilesClaim: ['Huge'] })
    expect(compat.profiles.map((p) => p.profile.slug)).toEqual(['huge', 'ml', 'odd', 'default'])
    expect(compat.profiles[0]!.condaStoreMounts).toEqual(['/home/conda/dave', '/home/conda/nebari-git', '/home/conda/global', '/home/conda/developer', '/home/conda/ml'])
    const alice = await source.resolve('alice')
    expect(visibleProfiles(alice, profiles, { flavour: 'successor' }).profiles.map((p) => p.profile.slug)).toEqual(['default'])
  })
})

describe('shared directories (nebari.md §7)', () => {
  const mount = { component: ['shared-directory'], scopes: ['write:shared-mount'] }

  it('classic: direct holders only (a parent group holding the role does not count)', () => {
    const p = principal({
      username: 'u',
      groups: ['/projects/ml', '/analyst'],
      clientRoles: {
        jupyterhub: [
          jh('mount-a', mount, [{ kind: 'group', group: '/analyst', member: '/analyst' }]),
          jh('mount-p', mount, [{ kind: 'group', group: '/projects', member: '/projects/ml' }]),
          jh('not-mount', { component: ['shared-directory', 'x'], scopes: ['other'] }, [{ kind: 'group', group: '/projects/ml', member: '/projects/ml' }]),
        ],
      },
    })
    expect(sharedDirectories(p).groups).toEqual(['/analyst'])
    expect(sharedDirectories(p, { groupsHoldingRole: { 'mount-p': ['/projects/ml', '/projects'] } }).groups).toEqual(['/analyst', '/projects/ml'])
  })

  it('successor: only the named role, attributes by membership; allowlist; collisions reported', () => {
    const p = principal({
      username: 'u',
      groups: ['/a/ml', '/b/ml', '/c'],
      clientRoles: {
        jupyterhub: [
          jh('allow-group-directory-creation-role', { component: ['x', 'shared-directory'], scopes: ['write:shared-mount', 'y'] }, [
            { kind: 'group', group: '/a/ml', member: '/a/ml' },
            { kind: 'group', group: '/b/ml', member: '/b/ml' },
            { kind: 'group', group: '/c', member: '/c' },
          ]),
          jh('other-mount', mount, [{ kind: 'group', group: '/c', member: '/c' }]),
        ],
      },
    })
    const r = sharedDirectories(p, { flavour: 'successor' })
    expect(r.mounts.map((m) => m.mountPath)).toEqual(['/shared/ml', '/shared/c'])
    expect(r.diagnostics.map((d) => d.code)).toEqual(['NEBARI_GROUP_BASENAME_COLLISION'])
    expect(sharedDirectories(p, { flavour: 'successor', allowlist: ['/c'] }).groups).toEqual(['/c'])
    expect(sharedDirectories(p).groups).toEqual(['/c'])
  })

  it('without provenance and without a holders map, no mount and a warning', () => {
    const p = principal({
      username: 'u',
      groups: ['/analyst'],
      complete: { groups: true, realmRoles: true, attributes: true, provenance: false },
      clientRoles: { jupyterhub: [jh('m', mount, [])] },
    })
    const r = sharedDirectories(p)
    expect(r.groups).toEqual([])
    expect(r.diagnostics.map((d) => d.code)).toEqual(['SHARED_DIRECTORY_HOLDERS_UNKNOWN'])
  })
})
