import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { createRegistry, defineComponent } from '../../src/components/index.js'
import { accessMatrix, lintRoles, matrixColumn, renderAccessReport, scopeHighlight, userAccess, type AccessMatrix, type ReviewInput } from '../../src/review/index.js'
import { generateEnvironments, generateRealm } from './generate-realm.js'

const exampleEnvironments = JSON.parse(readFileSync('examples/realm/example-environments.json', 'utf8')).data.map((e: any) => ({ namespace: e.namespace.name, name: e.name }))

const binderhub = defineComponent({ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] })

function inputOf(source: RealmExportSource): ReviewInput {
  return { principals: source.usernames().map((u) => source.resolveSync(u)), roles: source.roles() }
}

/** The level a binding's roles give, written independently of the library: highest of admin > developer (= editor) > viewer. */
function expectedCondaLevel(roles: string[]): string {
  if (roles.length === 0) return 'listed'
  if (roles.includes('admin')) return 'admin'
  if (roles.includes('developer') || roles.includes('editor')) return 'developer'
  if (roles.includes('viewer')) return 'viewer'
  return [...roles].sort().join(', ')
}

const byComponent = (grants: AccessMatrix['users'][number]['grants'], component: string) => grants.filter((g) => g.component === component)

/** Compares every user's report row with the registry's `resolve` view and `environments` answer (what `resolve` and `envs` print). */
async function expectSameAsResolve(source: RealmExportSource, options: { environments?: boolean; components?: boolean } = {}) {
  const components = options.components ? [binderhub] : []
  const registry = createRegistry({}, { components })
  const matrix = accessMatrix(inputOf(source), { components, ...(options.environments ? { environments: exampleEnvironments } : {}) })
  expect(matrix.users.map((u) => u.user)).toEqual(source.usernames())
  for (const row of matrix.users) {
    const resolved = registry.resolve(source.resolveSync(row.user))
    const c = resolved.components as any
    const conda = byComponent(row.grants, 'conda-store')
    expect(Object.fromEntries(conda.map((g) => [g.resource, g.level])), row.user).toEqual(
      Object.fromEntries(Object.entries(c['conda-store'].permissions.entity_roles as Record<string, string[]>).map(([arn, roles]) => [arn, expectedCondaLevel(roles)])),
    )
    expect(byComponent(row.grants, 'jupyterhub').map((g) => g.resource).sort(), row.user).toEqual(c.jupyterhub.scopes)
    expect(byComponent(row.grants, 'shared-directory').map((g) => g.resource), row.user).toEqual(c['shared-directory'].mounts)
    expect(byComponent(row.grants, 'jupyterlab-profiles').map((g) => g.resource), row.user).toEqual(c['jupyterlab-profiles'].profiles)
    expect(byComponent(row.grants, 'workspaces').map((g) => g.resource), row.user).toEqual(c.workspaces.workspaces)
    expect(row.diagnostics, row.user).toEqual(resolved.diagnostics)
    if (options.components) {
      const expected = new Map<string, Set<string>>()
      for (const g of c.binderhub.grants as { action: string; pattern: string }[]) expected.set(g.pattern, (expected.get(g.pattern) ?? new Set()).add(g.action))
      expect(Object.fromEntries(byComponent(row.grants, 'binderhub').map((g) => [g.resource, g.level]))).toEqual(
        Object.fromEntries([...expected].map(([p, a]) => [p, [...a].sort().join(', ')])),
      )
    }
    if (options.environments) {
      const envs = registry.environments(source.resolveSync(row.user), exampleEnvironments)
      expect(byComponent(row.grants, 'conda-store-environments').map((g) => g.resource), row.user).toEqual(envs.environments!.map((e) => `${e.namespace}/${e.name}`))
    }
    for (const g of row.grants) {
      expect(g.via.length, `${row.user} ${g.component} ${g.resource}`).toBeGreaterThan(0)
      for (const chain of g.via) expect(chain.startsWith(`${row.user} → `)).toBe(true)
    }
  }
  expect(matrix.diagnostics).toEqual(registry.lint(source.roles()))
  return matrix
}

describe('accessMatrix equals resolve for every user', () => {
  it('on the bundled realm (with the environment list)', async () => {
    const matrix = await expectSameAsResolve(RealmExportSource.example(), { environments: true })
    expect(matrix.users.reduce((n, u) => n + u.grants.length, 0)).toBeGreaterThan(100)
  })

  it('on the BinderHub example realm with a custom component', async () => {
    await expectSameAsResolve(new RealmExportSource(JSON.parse(readFileSync('examples/binderhub/realm.json', 'utf8'))), { components: true })
  })

  it('on generated realms (three seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const matrix = await expectSameAsResolve(new RealmExportSource(generateRealm({ users: 40, groups: 12, namespaces: 30, workspaces: 10, seed })))
      expect(matrix.diagnostics.some((d) => d.code === 'NEBARI_SCOPE_ROLE_REJECTED')).toBe(true)
    }
  })

  it('lists readable environments of a generated realm exactly as envs does', async () => {
    const source = new RealmExportSource(generateRealm({ users: 15, groups: 8, namespaces: 10, workspaces: 4, seed: 9 }))
    const environments = generateEnvironments(10, 2).data.map((e: any) => ({ namespace: e.namespace.name, name: e.name }))
    const matrix = accessMatrix(inputOf(source), { environments })
    for (const row of matrix.users) {
      const conda = (await import('../../src/conda-store/index.js')).condaStorePermissionsFor(source.resolveSync(row.user))
      expect(byComponent(row.grants, 'conda-store-environments').map((g) => g.resource)).toEqual(conda.filterEnvironments(environments).map((e: any) => `${e.namespace}/${e.name}`))
    }
  })
})

describe('grant chains and highlights', () => {
  const matrix = accessMatrix(inputOf(RealmExportSource.example()), { environments: exampleEnvironments })
  const row = (u: string) => matrix.users.find((x) => x.user === u)!
  const grant = (u: string, component: string, resource: string) => row(u).grants.find((g) => g.component === component && g.resource === resource)

  it('renders user → group → role → item → grant (→ resource) chains', () => {
    expect(grant('bob', 'conda-store', 'ml/*')).toMatchObject({
      level: 'admin',
      via: ['bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin'],
      groups: ['/projects/ml'],
      roles: ['conda_store/ml-team-scopes'],
    })
    expect(grant('bob', 'conda-store-environments', 'ml/torch')?.via).toEqual(['bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/torch'])
    expect(grant('bob', 'workspaces', 'ws-alpha')?.via).toEqual(['bob → /projects/ml → /projects → ws-alpha/ws_access → /workspaces/{workspace}/**'])
    expect(grant('carol', 'conda-store', 'global/*')?.via).toEqual(['carol → platform-admin → conda_store/conda_store_admin → nebari login: global-namespace → global/*: admin'])
    expect(grant('dave', 'workspaces', 'ws-beta')).toMatchObject({ level: 'ws_admin', via: ['dave → ws-beta/ws_admin → /workspaces/{workspace}/**'] })
    expect(grant('dave', 'jupyterlab-profiles', 'gpu')?.via).toEqual(['dave → /developer → jupyterhub/jupyterlab-profiles → profiles=gpu'])
    expect(grant('bob', 'conda-store', 'global/*')?.level).toBe('listed')
  })

  it('highlights admin-level and unfiltered sharing scopes', () => {
    expect(grant('carol', 'jupyterhub', 'admin:users')).toMatchObject({ level: 'admin', highlight: 'admin' })
    expect(grant('erin', 'jupyterhub', 'shares')?.highlight).toBe('unfiltered-share')
    expect(grant('alice', 'jupyterhub', 'shares!user=alice')?.highlight).toBeUndefined()
    expect(row('alice').grants.some((g) => g.highlight)).toBe(false)
    expect([scopeHighlight('tokens'), scopeHighlight('tokens!user=x'), scopeHighlight('users:shares'), scopeHighlight('read:users')]).toEqual(['admin', undefined, 'unfiltered-share', undefined])
  })

  it('a JupyterHub grant names the roles whose scopes hold it', () => {
    expect(grant('dave', 'jupyterhub', 'read:users!group=/projects/ml')?.via).toEqual([
      'dave → /projects/ml → jupyterhub/ml-group-reader → scopes=read:users!group=/projects/ml,list:users!group=/projects/ml → read:users!group=/projects/ml',
    ])
    // carol's workspace-api/admin is named like JupyterHub's default admin role but carries no scopes.
    expect(grant('carol', 'jupyterhub', 'admin:users')?.roles).not.toContain('workspace-api/admin')
  })

  it('userAccess is the same row as accessMatrix', () => {
    const source = RealmExportSource.example()
    expect(userAccess(source.resolveSync('dave'), { environments: exampleEnvironments })).toEqual(row('dave'))
  })

  it('lintRoles is what lint reports', () => {
    expect(lintRoles(RealmExportSource.example().roles()).map((d) => d.code)).toEqual(['NEBARI_SCOPE_ROLE_REJECTED'])
  })
})

describe('options are validated eagerly', () => {
  const input = inputOf(RealmExportSource.example())
  it('rejects malformed options with InvalidOptionsError naming the option', () => {
    expect(() => accessMatrix(input, { components: [{} as any] })).toThrow(InvalidOptionsError)
    expect(() => accessMatrix(input, { components: [binderhub, binderhub] })).toThrow(/components\.1\.name/)
    expect(() => accessMatrix(input, { components: [defineComponent({ name: 'jupyterhub', actions: ['x'], resourceKind: 'y' })] })).toThrow(/duplicate/)
    expect(() => accessMatrix(input, { environments: 'x' as any })).toThrow(/environments/)
    expect(() => accessMatrix({ principals: 'x' } as any)).toThrow(/input\.principals/)
    expect(() => renderAccessReport({ users: [], diagnostics: [] }, 'pdf' as any)).toThrow(/format/)
  })
})

describe('renderings', () => {
  const matrix = accessMatrix(inputOf(RealmExportSource.example()))
  const evil: AccessMatrix = {
    users: [
      {
        user: '</script><img src=x onerror=alert(1)>',
        grants: [{ component: 'conda-store', kind: 'namespace', resource: '=HYPERLINK("http://x")', level: 'a|b', chains: [], via: ['u → "quoted", with comma'], groups: [], roles: [] }],
        diagnostics: [],
      },
    ],
    diagnostics: [],
  }

  it('json has the contract shape', () => {
    const json = JSON.parse(renderAccessReport(matrix, 'json'))
    expect(Object.keys(json)).toEqual(['users', 'diagnostics'])
    expect(Object.keys(json.users[0])).toEqual(['user', 'grants', 'diagnostics'])
    expect(json.users[0].grants[0]).toEqual(expect.objectContaining({ component: 'conda-store', resource: 'default/*', level: 'viewer', via: expect.any(Array) }))
    expect(json.diagnostics.map((d: any) => d.code)).toEqual(['NEBARI_SCOPE_ROLE_REJECTED'])
  })

  it('csv has one row per grant, quotes fields and neutralises formulas', () => {
    const csv = renderAccessReport(matrix, 'csv').trimEnd().split('\r\n')
    expect(csv[0]).toBe('user,component,kind,resource,level,highlight,via')
    expect(csv.length - 1).toBe(matrix.users.reduce((n, u) => n + u.grants.length, 0))
    expect(renderAccessReport(evil, 'csv').split('\r\n')[1]).toBe(`</script><img src=x onerror=alert(1)>,conda-store,namespace,"'=HYPERLINK(""http://x"")",a|b,,"u → ""quoted"", with comma"`)
  })

  it('markdown escapes table syntax', () => {
    const md = renderAccessReport(evil, 'md')
    expect(md).toContain('| conda-store | =HYPERLINK("http://x") | a\\|b |')
    expect(renderAccessReport(matrix, 'md')).toContain('## bob')
  })

  it('html is self-contained and cannot be broken out of by data', () => {
    const html = renderAccessReport(evil, 'html', { title: 'T <b>', generatedAt: new Date(0) })
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i)
    expect(html.match(/<\/script>/g)?.length).toBe(2)
    expect(html).toContain('<title>T &lt;b&gt;</title>')
    expect(html).toContain("default-src 'none'")
    expect(html).toContain('1970-01-01T00:00:00.000Z')
  })

  it('matrix columns collapse the user themself to {self}', () => {
    expect(matrixColumn('bob', { component: 'jupyterhub', resource: 'servers!server=bob/lab' })).toBe('servers!server={self}/lab')
    expect(matrixColumn('bob', { component: 'jupyterhub', resource: 'servers!user=bobby' })).toBe('servers!user=bobby')
    expect(matrixColumn('bob', { component: 'conda-store', resource: 'bobby/*' })).toBe('bobby/*')
  })
})
