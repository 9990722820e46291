import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { lintJupyterHubRoles, type LintRole } from '../../src/jupyterhub/index.js'

const role = (name: string, scopes: string, component = ['jupyterhub']): LintRole => ({ client: 'jupyterhub', name, attributes: { component, scopes: [scopes] } })
const codes = (roles: LintRole[], options = {}) => lintJupyterHubRoles(roles, options).map((d) => d.code)

describe('lintJupyterHubRoles', () => {
  it('the example realm\'s JupyterHub roles are clean; the malformed conda_store role is not a JupyterHub finding', () => {
    const catalogue = RealmExportSource.example().roles() // RoleDefinition is a LintRole
    expect(catalogue.some((r) => r.name === 'broken-scopes')).toBe(true)
    expect(lintJupyterHubRoles(catalogue)).toEqual([])
  })

  it('Nebari\'s default sharing role: unfiltered shares', () => {
    const d = lintJupyterHubRoles([role('allow-app-sharing-role', 'shares,read:users:name,read:groups:name')])
    expect(d).toHaveLength(1)
    expect(d[0]).toMatchObject({ severity: 'warning', code: 'JUPYTERHUB_UNFILTERED_SHARES', subject: { item: 'shares', role: { client: 'jupyterhub', name: 'allow-app-sharing-role' } } })
    expect(d[0]!.fix).toMatch(/shares!user/)
  })

  it('a space after a comma drops the whole role: an error with JupyterHub\'s message and every rejected item', () => {
    const d = lintJupyterHubRoles([role('typo', 'read:users, read:groups,shares!user,read:usr')])
    const rejected = d.find((x) => x.code === 'JUPYTERHUB_ROLE_SCOPES_REJECTED')!
    expect(rejected.severity).toBe('error')
    expect(rejected.message).toContain("Scope ' read:groups'  does not exist")
    expect(rejected.details?.['rejected']).toEqual([
      { item: ' read:groups', message: "Scope ' read:groups'  does not exist" },
      { item: 'read:usr', message: "Scope 'read:usr'  does not exist" },
    ])
    expect(rejected.fix).toMatch(/spaces/)
  })

  it('filters: slash-less server, group not a path, empty, empty value, never-matching kind, bare server', () => {
    expect(codes([role('role-a', 'access:servers!server=lab')])).toEqual(['JUPYTERHUB_SERVER_FILTER_WITHOUT_SLASH'])
    expect(codes([role('role-b', 'read:users!group=analyst')])).toEqual(['JUPYTERHUB_GROUP_FILTER_NOT_A_PATH'])
    expect(codes([role('role-b', 'read:users!group=analyst')], { groupNamesArePaths: false })).toEqual([])
    expect(codes([role('role-c', 'read:users!')])).toEqual(['JUPYTERHUB_EMPTY_FILTER'])
    expect(codes([role('role-d', 'read:users!user=')])).toEqual(['JUPYTERHUB_EMPTY_FILTER_VALUE'])
    expect(codes([role('role-e', 'read:users!service=svc,list:groups!user=alice,read:hub!user=x')])).toEqual([
      'JUPYTERHUB_FILTER_NEVER_MATCHES',
      'JUPYTERHUB_FILTER_NEVER_MATCHES',
      'JUPYTERHUB_FILTER_NEVER_MATCHES',
    ])
    expect(codes([role('role-f', 'access:servers!server')])).toEqual(['JUPYTERHUB_FILTER_WITHOUT_TARGET'])
    expect(codes([role('role-g', 'access:servers,shares!user,read:servers!group=/g,access:servers!server=bob/')])).toEqual(['JUPYTERHUB_UNFILTERED_ACCESS_SERVERS'])
  })

  it('versions, component, role names, extra values', () => {
    expect(codes([role('six-only', 'start:servers!user')])).toEqual(['JUPYTERHUB_VERSION_SCOPE', 'JUPYTERHUB_ROLE_SCOPES_REJECTED'])
    expect(codes([role('six-only', 'start:servers!user')], { jupyterhubVersion: 6 })).toEqual([])
    expect(codes([role('comp', 'read:users', ['jupyterhub', 'x'])])).toEqual(['JUPYTERHUB_COMPONENT_NOT_EXACT'])
    expect(codes([role('Team Leads', 'read:users')])).toEqual(['JUPYTERHUB_ROLE_NAME_INVALID'])
    expect(codes([{ client: 'jupyterhub', name: 'multi', attributes: { component: ['jupyterhub'], scopes: ['read:users', 'x'] } }])).toEqual([
      'NEBARI_SCOPE_EXTRA_VALUES_IGNORED',
    ])
    expect(codes([{ client: 'conda_store', name: 'cs-role', attributes: { component: ['jupyterhub'], scopes: ['nonsense'] } }])).toEqual([])
  })

  it('on a principal: its jupyterhub roles and the role names Nebari passes on', async () => {
    const dave = await RealmExportSource.example().resolve('dave')
    expect(lintJupyterHubRoles(dave)).toEqual([])
    const broken = {
      ...dave,
      clientRoles: { ...dave.clientRoles, jupyterhub: [...(dave.clientRoles['jupyterhub'] ?? []), { client: 'jupyterhub', name: 'Bad Name', attributes: { component: ['jupyterhub'], scopes: ['shares'] }, via: [] }] },
    }
    expect(lintJupyterHubRoles(broken).map((d) => d.code).sort()).toEqual(['JUPYTERHUB_ROLE_NAME_INVALID', 'JUPYTERHUB_UNFILTERED_SHARES'])
  })
})
