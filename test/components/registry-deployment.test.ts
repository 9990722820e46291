/**
 * The registry's deployment settings that the configuration file maps onto: who may log in to
 * JupyterHub (`allowedGroups: null` = everyone), which clients are workspaces, and the route rule sets
 * under the configured STAC prefix.
 */
import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { createRegistry, NOT_A_WORKSPACE, routePoliciesFor } from '../../src/components/index.js'

const realm = RealmExportSource.example()
const bob = realm.resolveSync('bob')
const dave = realm.resolveSync('dave')
const carol = realm.resolveSync('carol')

describe('JupyterHub login: allowedGroups null lets every user in', () => {
  it('bob is rejected under the Nebari groups and allowed with null; admin groups stay as configured', async () => {
    const nebari = createRegistry()
    const everyone = createRegistry({ jupyterhub: { allowedGroups: null, adminGroups: [] } })
    const view = (r: ReturnType<typeof createRegistry>) => r.resolve(bob).components['jupyterhub'] as { loginRejected: boolean; roles: Record<string, string[]> }
    expect(view(nebari).loginRejected).toBe(true)
    expect(view(everyone).loginRejected).toBe(false)
    expect(Object.keys(view(everyone).roles)).toContain('user')
    const access = { component: 'jupyterhub', action: 'access:servers', resource: 'server=bob/' }
    expect((await nebari.check(bob, access)).decision.allowed).toBe(false)
    expect((await everyone.check(bob, access)).decision.allowed).toBe(true)
    // The review sees the same: bob holds the user role's scopes, by the rule that lets everyone in.
    const grant = everyone.resources(bob).grants.find((g) => g.component === 'jupyterhub' && g.resource === 'access:servers!user=bob')
    expect(grant?.paths[0]?.tail.map((s) => s.label)).toEqual(['every user may log in (allowedGroups: null)', 'JupyterHub role user', 'access:servers!user=bob'])
  })

  it('an empty list is nobody (but admins); the schema refuses anything else', () => {
    const none = createRegistry({ jupyterhub: { allowedGroups: [] } })
    expect((none.resolve(dave).components['jupyterhub'] as { loginRejected: boolean }).loginRejected).toBe(true)
    expect(() => createRegistry({ jupyterhub: { allowedGroups: 'everyone' as never } })).toThrow(InvalidOptionsError)
  })
})

describe('workspaces.clients: which clients are workspaces (segment globs)', () => {
  it('a workspace role on a client outside the globs is NOT_A_WORKSPACE; inside, unchanged', async () => {
    const registry = createRegistry({ workspaces: { clients: ['ws-b*'] } })
    const alpha = await registry.check(bob, { component: 'workspaces', action: 'GET', resource: '/workspaces/ws-alpha/files' })
    expect(alpha.decision).toMatchObject({ allowed: false, reason: NOT_A_WORKSPACE })
    expect(alpha.decision.trace.at(-1)?.label).toBe('ws-alpha is not a workspace client (workspaces.clients: ws-b*)')
    const beta = await registry.check(dave, { component: 'workspaces', action: 'DELETE', resource: '/workspaces/ws-beta' })
    expect(beta.decision).toMatchObject({ allowed: true, reason: 'WORKSPACE_ROLE' })
    expect((registry.resolve(bob).components['workspaces'] as { workspaces: string[] }).workspaces).toEqual([])
    expect((registry.resolve(dave).components['workspaces'] as { workspaces: string[] }).workspaces).toEqual(['ws-beta'])
    expect(registry.resources(bob).grants.filter((g) => g.component === 'workspaces')).toEqual([])
  })

  it('the platform admin keeps every path, and lists only workspace clients', async () => {
    const registry = createRegistry({ workspaces: { clients: ['ws-*'] } })
    const plain = createRegistry()
    const listed = (r: ReturnType<typeof createRegistry>) => (r.resolve(carol).components['workspaces'] as { workspaces: string[] }).workspaces
    expect(listed(plain).some((c) => !c.startsWith('ws-'))).toBe(true)
    expect(listed(registry).every((c) => c.startsWith('ws-'))).toBe(true)
    expect((await registry.check(carol, { component: 'workspaces', action: 'GET', resource: '/workspaces/anything' })).decision.reason).toBe('PLATFORM_ADMIN')
  })

  it('globs are literal but for * within one segment (no regular expression)', async () => {
    const registry = createRegistry({ workspaces: { clients: ['ws-.*', 'ws-(alpha)'] } })
    const d = await registry.check(bob, { component: 'workspaces', action: 'GET', resource: '/workspaces/ws-alpha' })
    expect(d.decision.reason).toBe(NOT_A_WORKSPACE)
  })
})

describe('routes: the rule sets under the settings, for serve forward auth and middleware', () => {
  it('policyFor picks STAC by the configured prefix, whole segments; the STAC rules use the prefix too', () => {
    const routes = createRegistry({ stac: { prefix: '/catalogue' } }).routes
    expect(routes.policyFor('/catalogue/collections/c1').name).toBe('stac')
    expect(routes.policyFor('/catalogue2/collections').name).toBe('workspace-api')
    expect(routes.policyFor('/stac/collections/c1').name).toBe('workspace-api')
    expect(routes.stac.check({ method: 'GET', path: '/catalogue/collections/ws-alpha.c1' }, bob)).toMatchObject({ allowed: true, reason: 'WORKSPACE_ROLE' })
    expect(routes.stac.check({ method: 'GET', path: '/stac/collections/ws-alpha.c1' }, bob).reason).toBe('PATH_UNMATCHED')
  })

  it('the exposed rule sets are the ones the registry decides with (restricted to the workspace clients)', async () => {
    const registry = createRegistry({ workspaces: { clients: ['ws-b*'] }, stac: { prefix: '/catalogue' } })
    for (const [principal, method, path] of [
      [bob, 'GET', '/workspaces/ws-alpha/files'],
      [dave, 'DELETE', '/workspaces/ws-beta'],
      [bob, 'GET', '/catalogue/collections/ws-alpha.c1'],
    ] as const) {
      const viaRegistry = (await registry.check(principal, { component: 'workspaces', action: method, resource: path })).decision
      const viaRoutes = registry.routes.policyFor(path).check({ method, path }, principal)
      expect({ allowed: viaRoutes.allowed, reason: viaRoutes.reason }).toEqual({ allowed: viaRegistry.allowed, reason: viaRegistry.reason })
    }
    expect(registry.routes.workspaces.filter(['ws-alpha', 'ws-beta'], dave, (c) => ({ method: 'GET', path: `/workspaces/${c}` }))).toEqual(['ws-beta'])
    expect(routePoliciesFor({ workspaces: { clients: ['ws-b*'] } }).workspaces.check({ method: 'GET', path: '/workspaces/ws-alpha' }, bob).reason).toBe(NOT_A_WORKSPACE)
  })
})
