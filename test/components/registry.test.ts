import { describe, expect, it } from 'vitest'
import { InvalidOptionsError, UnknownNameError } from '../../src/core/errors.js'
import type { Principal } from '../../src/core/principal.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { CONDA_STORE_PERMISSIONS } from '../../src/conda-store/index.js'
import { createRegistry, defineComponent, HTTP_METHODS, routePolicyFor, USER_DISABLED } from '../../src/components/index.js'

const realm = RealmExportSource.example()
const user = (name: string): Principal => realm.resolveSync(name)
const disabled = (name: string): Principal => ({ ...user(name), enabled: false })
const environments = [
  { namespace: 'ml', name: 'torch' },
  { namespace: 'analyst', name: 'pandas' },
  { namespace: 'global', name: 'r-base' },
]
const binderhub = defineComponent({ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] })

/** One check of every component, allowed for the user named. */
const ALLOWED_CHECKS = [
  { user: 'bob', check: { component: 'conda-store', action: 'environment::read', resource: 'ml/torch' } },
  { user: 'alice', check: { component: 'jupyterhub', action: 'shares', resource: 'server=alice/' } },
  { user: 'bob', check: { component: 'shared-directory', action: 'write', resource: '/shared/ml' } },
  { user: 'dave', check: { component: 'jupyterlab-profiles', action: 'select', resource: 'gpu' } },
  { user: 'bob', check: { component: 'workspaces', action: 'GET', resource: '/workspaces/ws-alpha/files' } },
] as const

describe('createRegistry: one interface for every component', () => {
  const registry = createRegistry()

  it('lists the built-ins in display order, then custom components from settings and from code', () => {
    expect(registry.names()).toEqual(['conda-store', 'jupyterhub', 'shared-directory', 'jupyterlab-profiles', 'workspaces'])
    const custom = createRegistry({ components: [{ name: 'datasets', actions: ['read'], resourceKind: 'path' }] }, { components: [binderhub] })
    expect(custom.names()).toEqual(['conda-store', 'jupyterhub', 'shared-directory', 'jupyterlab-profiles', 'workspaces', 'datasets', 'binderhub'])
  })

  it('each built-in allows its check for a user who holds it, and explains it', async () => {
    for (const { user: name, check } of ALLOWED_CHECKS) {
      const { decision, chain, component } = await registry.check(user(name), check)
      expect(decision.allowed, `${check.component} ${decision.reason}`).toBe(true)
      expect(component).toBe(check.component)
      expect(chain).toMatch(new RegExp(`^${name} → .*\\(allowed: ${decision.reason}\\)$`))
    }
    const denied = await registry.check(user('carol'), { component: 'shared-directory', action: 'write', resource: '/shared/ml' })
    expect(denied.decision).toMatchObject({ allowed: false, reason: 'NO_SHARED_MOUNT' })
  })

  it('the JupyterHub decision names the roles that hold the scope', async () => {
    const { decision } = await registry.check(user('alice'), { component: 'jupyterhub', action: 'shares!server=alice/' })
    expect(decision).toMatchObject({ allowed: true, reason: 'SCOPE_HELD', grant: { roles: ['allow-app-sharing-role'] } })
    expect(decision.trace.filter((s) => s.kind === 'role').map((s) => s.label)).toEqual(['allow-app-sharing-role'])
  })

  it('resolve views and resource lists agree for every user', () => {
    for (const name of realm.usernames()) {
      const p = user(name)
      const { components } = registry.resolve(p) as { components: any }
      const { grants } = registry.resources(p)
      const of = (c: string) => grants.filter((g) => g.component === c).map((g) => g.resource)
      expect(of('jupyterhub').sort(), name).toEqual(components.jupyterhub.scopes)
      expect(of('workspaces'), name).toEqual(components.workspaces.workspaces)
      expect(of('shared-directory'), name).toEqual(components['shared-directory'].mounts)
      expect(of('jupyterlab-profiles'), name).toEqual(components['jupyterlab-profiles'].profiles)
      expect(of('conda-store').sort(), name).toEqual(Object.keys(components['conda-store'].permissions.entity_roles).sort())
    }
  })

  it('lint runs every component over a role catalogue', () => {
    expect(registry.lint(realm.roles()).map((d) => d.code)).toEqual(['NEBARI_SCOPE_ROLE_REJECTED'])
  })
})

describe('unknown names are usage errors with the valid names, never denials', () => {
  const registry = createRegistry({}, { components: [binderhub] })
  const bob = user('bob')
  const refused = async (check: Parameters<typeof registry.check>[1], kind: string, valid: readonly string[]) => {
    const err = await registry.check(bob, check).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err, JSON.stringify(check)).toBeInstanceOf(UnknownNameError)
    const e = err as UnknownNameError
    expect(e.code).toBe('ERR_UNKNOWN_NAME')
    expect(e.kind).toBe(kind)
    expect(e.known).toEqual(expect.arrayContaining([...valid]))
    for (const name of valid) expect(e.message).toContain(name)
  }

  it('conda-store permission, JupyterHub scope, component, action, HTTP method', async () => {
    await refused({ component: 'conda-store', action: 'environment::reed', resource: 'ml/torch' }, 'conda-store permission', CONDA_STORE_PERMISSIONS)
    await refused({ component: 'jupyterhub', action: 'read:uers' }, 'JupyterHub scope', ['read:users', 'access:servers'])
    await refused({ component: 'nope', action: 'a', resource: 'r' }, 'component', ['conda-store', 'workspaces', 'binderhub'])
    await refused({ component: 'binderhub', action: 'deploy', resource: 'r' }, 'action of component binderhub', ['build', 'launch'])
    await refused({ component: 'workspaces', action: 'GETT', resource: '/workspaces/ws-alpha' }, 'HTTP method', HTTP_METHODS)
    await refused({ component: 'shared-directory', action: 'read', resource: '/shared/ml' }, 'action of component shared-directory', ['write'])
  })

  it('even for a disabled account: the name is checked before the account', async () => {
    await expect(registry.check(disabled('bob'), { component: 'conda-store', action: 'environment::reed', resource: 'ml/torch' })).rejects.toThrow(UnknownNameError)
  })

  it('custom JupyterHub scopes are names once the settings define them', async () => {
    const withCustom = createRegistry({ jupyterhub: { customScopes: { 'custom:rtc:write': { description: 'Edit shared notebooks' } } } })
    expect((await withCustom.check(bob, { component: 'jupyterhub', action: 'custom:rtc:write' })).decision.reason).toBe('SCOPE_NOT_HELD')
    await expect(registry.check(bob, { component: 'jupyterhub', action: 'custom:rtc:write' })).rejects.toThrow(/unknown JupyterHub scope "custom:rtc:write"/)
  })
})

describe('disabled accounts are denied everywhere (USER_DISABLED), unless the caller opts out', () => {
  const registry = createRegistry()

  it('every component check denies with USER_DISABLED', async () => {
    for (const { user: name, check } of ALLOWED_CHECKS) {
      const { decision, chain } = await registry.check(disabled(name), check)
      expect(decision, check.component).toMatchObject({ allowed: false, reason: USER_DISABLED })
      expect(chain).toContain(USER_DISABLED)
    }
  })

  it('resolve, resources and environments hold nothing, with a diagnostic naming the opt-out', () => {
    const bob = disabled('bob')
    expect(registry.isDenied(bob)).toBe(true)
    const resolved = registry.resolve(bob)
    expect(resolved).toMatchObject({ components: {}, disabled: true })
    expect(resolved.diagnostics.find((d) => d.code === USER_DISABLED)?.fix).toMatch(/allowDisabledUsers/)
    expect(registry.resources(bob, { environments })).toMatchObject({ grants: [], disabled: true })
    expect(registry.environments(bob, environments)).toMatchObject({ environments: [], bindings: [], disabled: true })
    expect(registry.environments(user('bob'), environments).environments!.map((e) => `${e.namespace}/${e.name}`)).toContain('ml/torch')
  })

  it('allowDisabledUsers: true decides as for an enabled account (and still says it is disabled)', async () => {
    const open = createRegistry({ allowDisabledUsers: true })
    for (const { user: name, check } of ALLOWED_CHECKS) {
      const { decision } = await open.check(disabled(name), check)
      expect(decision, check.component).toEqual((await registry.check(user(name), check)).decision)
    }
    expect(open.resolve(disabled('bob')).disabled).toBe(true)
    expect(open.resources(disabled('bob')).grants.length).toBe(registry.resources(user('bob')).grants.length)
  })

  it('an account the source cannot judge (enabled absent) is enabled', async () => {
    const { enabled: _drop, ...unknown } = user('bob')
    expect((await registry.check(unknown as Principal, ALLOWED_CHECKS[0].check)).decision.allowed).toBe(true)
  })
})

describe('settings', () => {
  it('are validated eagerly, naming the field', () => {
    expect(() => createRegistry({ jupyterhub: { version: 7 as 5 } })).toThrow(InvalidOptionsError)
    expect(() => createRegistry({ jupyterhub: { version: 7 as 5 } })).toThrow(/jupyterhub\.version/)
    expect(() => createRegistry({ stac: { prefx: '/x' } } as never)).toThrow(/stac/)
    expect(() => createRegistry({ stac: { prefix: '/stac?x' } })).toThrow(/prefix/)
    expect(() => createRegistry({ components: [{ name: 'jupyterhub', actions: ['x'], resourceKind: 'y' }] })).toThrow(/components\.0\.name: duplicate/)
    expect(() => createRegistry({}, { components: [binderhub, binderhub] })).toThrow(/extensions\.components\.1\.name/)
  })

  it('the STAC prefix decides the routing, on whole segments', async () => {
    const route = routePolicyFor({ stac: { prefix: '/catalogue' } })
    expect(route('/catalogue/collections/c1').name).toBe('stac')
    expect(route('/catalogue').name).toBe('stac')
    expect(route('/catalogues/collections/c1').name).toBe('workspace-api')
    expect(route('/stac/collections/c1').name).toBe('workspace-api')
    expect(routePolicyFor()('/stac/search').name).toBe('stac')
    expect(routePolicyFor()('/stacks').name).toBe('workspace-api')

    const bob = user('bob')
    const moved = createRegistry({ stac: { prefix: '/catalogue' } })
    const read = (registry: ReturnType<typeof createRegistry>, path: string) => registry.check(bob, { component: 'workspaces', action: 'GET', resource: path })
    expect((await read(moved, '/catalogue/collections/c1')).decision.reason).toBe('PUBLIC_READ')
    expect((await read(moved, '/stac/collections/c1')).decision.reason).toBe('PATH_UNMATCHED')
    expect((await read(createRegistry(), '/stac/collections/c1')).decision.reason).toBe('PUBLIC_READ')
    // `policy` forces a rule set.
    expect((await moved.check(bob, { component: 'workspaces', action: 'GET', resource: '/catalogue/collections/c1', policy: 'workspaces' })).decision.reason).toBe('PATH_UNMATCHED')
  })

  it('Nebari allowed and admin groups are settings', async () => {
    // bob is only in /projects/ml: Nebari's default groups refuse his JupyterHub login.
    const check = { component: 'jupyterhub', action: 'read:users:name', resource: 'user=bob' }
    expect((await createRegistry().check(user('bob'), check)).decision.allowed).toBe(false)
    const ml = createRegistry({ jupyterhub: { allowedGroups: ['/projects/ml'] } })
    expect((await ml.check(user('bob'), check)).decision.allowed).toBe(true)
    expect((ml.resolve(user('bob')).components as any).jupyterhub.loginRejected).toBe(false)
    const admins = createRegistry({ jupyterhub: { adminGroups: ['/projects/ml'] } })
    expect((await admins.check(user('bob'), { component: 'jupyterhub', action: 'admin:users' })).decision.allowed).toBe(true)
    const row = admins.resources(user('bob')).grants.find((g) => g.resource === 'admin:users')
    expect(row?.paths.some((p) => p.lead?.some((s) => s.label === '/projects/ml'))).toBe(true)
  })

  it('JupyterHub version 6 changes what `servers` holds', () => {
    const scopes = (registry: ReturnType<typeof createRegistry>) => (registry.resolve(user('alice')).components as any).jupyterhub.scopes as string[]
    expect(scopes(createRegistry())).not.toContain('start:servers!user=alice')
    expect(scopes(createRegistry({ jupyterhub: { version: 6 } }))).toContain('start:servers!user=alice')
  })
})

describe("another user's groups for JupyterHub group filters", () => {
  const collaboration = new RealmExportSource({
    realm: 'collab',
    roles: {
      client: {
        jupyterhub: [
          { name: 'jupyterhub_developer' },
          { name: 'ml-readers', attributes: { component: ['jupyterhub'], scopes: ['read:users!group=/projects/ml'] } },
        ],
      },
    },
    groups: [
      { name: 'developer', clientRoles: { jupyterhub: ['jupyterhub_developer'] } },
      { name: 'projects', subGroups: [{ name: 'ml', clientRoles: { jupyterhub: ['ml-readers'] } }] },
    ],
    users: [
      { username: 'ann', groups: ['/developer', '/projects/ml'] },
      { username: 'ben', groups: ['/projects/ml'] },
      { username: 'cid', groups: ['/developer'] },
    ],
  } as never)

  it('are looked up once per check, through the extension, and unknown users have none', async () => {
    const asked: string[] = []
    const registry = createRegistry({}, {
      groupsOf: async (name) => {
        asked.push(name)
        return (await collaboration.resolve(name)).groups
      },
    })
    const ann = collaboration.resolveSync('ann')
    const read = (target: string) => registry.check(ann, { component: 'jupyterhub', action: 'read:users', resource: `user=${target}` })
    expect((await read('ben')).decision.allowed).toBe(true)
    expect((await read('cid')).decision.allowed).toBe(false)
    expect((await read('nobody')).decision.allowed).toBe(false)
    expect(asked).toEqual(['ben', 'cid', 'nobody'])
    // Unfiltered and group-filtered checks need nobody's groups.
    await registry.check(ann, { component: 'jupyterhub', action: 'read:users', resource: 'group=/projects/ml' })
    expect(asked).toHaveLength(3)
    // Without a lookup, a group filter grants no other user (fail closed).
    expect((await createRegistry().check(ann, { component: 'jupyterhub', action: 'read:users', resource: 'user=ben' })).decision.allowed).toBe(false)
  })
})

describe('component results cached with their principal', () => {
  it('the same principal (or its parts) gets the same conda-store permission set; a replaced principal a new one; the answers agree', () => {
    const registry = createRegistry()
    const source = RealmExportSource.example()
    const bob = source.resolveSync('bob')
    const set = registry.condaStore(bob)
    expect(registry.condaStore(bob)).toBe(set)
    // Resolved again from the same export: a new object with the same frozen parts (test/components/derived-cache.test.ts).
    const again = source.resolveSync('bob')
    expect(again).not.toBe(bob)
    expect(registry.condaStore(again)).toBe(set)
    // From another source (a reloaded export): new parts, a new set with the same answers.
    const reloaded = RealmExportSource.example().resolveSync('bob')
    const other = registry.condaStore(reloaded)
    expect(other).not.toBe(set)
    expect(other.toPermissionResponse()).toEqual(set.toPermissionResponse())
    const view = (p: Principal) => JSON.stringify(registry.resolve(p).components['jupyterhub'])
    expect(view(bob)).toBe(view(bob))
    expect(view(again)).toBe(view(bob))
    expect(view(reloaded)).toBe(view(bob))
  })
})
