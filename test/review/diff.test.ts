import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { diffAccess, realmChanges, renderAccessDiff, type AccessChange, type ReviewInput } from '../../src/review/index.js'
import { generateRealm } from './generate-realm.js'

const example = () => JSON.parse(readFileSync('examples/realm/example-realm.json', 'utf8'))

function inputOf(realm: unknown, options: { catalogue?: boolean } = {}): ReviewInput {
  const source = new RealmExportSource(realm)
  return { principals: source.usernames().map((u) => source.resolveSync(u)), ...(options.catalogue === false ? {} : { roles: source.roles() }) }
}

const group = (realm: any, path: string): any => {
  const walk = (list: any[]): any => {
    for (const g of list) {
      if (g.path === path) return g
      const found = walk(g.subGroups ?? [])
      if (found) return found
    }
    return undefined
  }
  return walk(realm.groups)
}
const role = (realm: any, client: string, name: string) => realm.roles.client[client].find((r: any) => r.name === name)
const user = (realm: any, name: string) => realm.users.find((u: any) => u.username === name)
const line = (c: AccessChange) => `${c.user} ${c.change} ${c.component} ${c.resource}`

function diffOf(change: (realm: any) => void, options: { catalogue?: boolean } = {}) {
  const before = example()
  const after = example()
  change(after)
  return diffAccess(inputOf(before, options), inputOf(after, options))
}

describe('diffAccess on the bundled realm, one change kind at a time', () => {
  it('no change: no permission change, no realm change, no lint change', () => {
    const diff = diffOf(() => {})
    expect(diff).toEqual({ changes: [], lint: { introduced: [], fixed: [] }, realmChanges: [] })
    expect(renderAccessDiff(diff, 'text')).toBe('no permission changes\n')
  })

  it('role added to a group: members gain it, with the mapping as cause', () => {
    const diff = diffOf((r) => (group(r, '/projects/ml').clientRoles['ws-beta'] = ['ws_access']))
    expect(diff.realmChanges.map((c) => c.description)).toEqual(['role ws-beta/ws_access added to group /projects/ml'])
    expect(diff.changes.map(line)).toEqual(['bob gained workspaces ws-beta', 'dave changed workspaces ws-beta'])
    const bob = diff.changes[0]!
    expect(bob.after).toMatchObject({ level: 'ws_access', via: ['bob → /projects/ml → ws-beta/ws_access → /workspaces/{workspace}/**'] })
    expect(bob.causes).toEqual([{ kind: 'group-role', change: 'added', group: '/projects/ml', role: 'ws-beta/ws_access', description: 'role ws-beta/ws_access added to group /projects/ml' }])
    expect(diff.changes[1]).toMatchObject({ before: { level: 'ws_admin' }, after: { level: 'ws_access, ws_admin' } })
  })

  it('attribute edited: the level changes, caused by the edit', () => {
    const diff = diffOf((r) => (role(r, 'conda_store', 'ml-team-scopes').attributes.scopes = ['developer!namespace=ml,developer!namespace=nebari-git']))
    expect(diff.changes.map((c) => `${line(c)} ${c.before?.level}→${c.after?.level}`)).toEqual(['bob changed conda-store ml/* admin→developer', 'dave changed conda-store ml/* admin→developer'])
    expect(diff.changes[0]!.causes.map((c) => c.kind)).toEqual(['attribute'])
    expect(diff.changes[0]!.causes[0]).toMatchObject({ role: 'conda_store/ml-team-scopes', attribute: 'scopes', after: ['developer!namespace=ml,developer!namespace=nebari-git'] })
  })

  it('composite changed: the holder of the composite loses what it contained', () => {
    const diff = diffOf((r) => delete r.roles.realm[0].composites.client['workspace-api'])
    expect(diff.realmChanges.map((c) => c.description)).toEqual(['workspace-api/admin removed from composite role platform-admin'])
    expect(new Set(diff.changes.map((c) => c.user))).toEqual(new Set(['carol']))
    expect(diff.changes.filter((c) => c.component === 'workspaces').map((c) => `${c.change} ${c.resource}`)).toEqual([
      'lost account', 'lost conda_store', 'lost jupyterhub', 'lost workspace-api',
    ])
    for (const c of diff.changes) expect(c.causes.map((x) => x.kind)).toEqual(['composite'])
  })

  it('membership changed: the user gains the group grants, with the membership as cause', () => {
    const diff = diffOf((r) => user(r, 'alice').groups.push('/projects/ml'))
    expect(diff.realmChanges.map((c) => c.description)).toEqual(['user alice added to group /projects/ml'])
    expect(diff.changes.every((c) => c.user === 'alice')).toBe(true)
    expect(diff.changes.map(line)).toEqual(expect.arrayContaining(['alice gained conda-store ml/*', 'alice gained workspaces ws-alpha', 'alice gained shared-directory /shared/ml']))
    const ml = diff.changes.find((c) => c.resource === 'ml/*')!
    expect(ml.causes.map((c) => c.description)).toEqual(['user alice added to group /projects/ml'])
  })

  it('user removed: every grant lost, caused by the removal', () => {
    const diff = diffOf((r) => (r.users = r.users.filter((u: any) => u.username !== 'erin')))
    expect(diff.changes.length).toBeGreaterThan(10)
    expect(diff.changes.every((c) => c.user === 'erin' && c.change === 'lost' && c.after === undefined)).toBe(true)
    expect(diff.changes[0]!.causes).toEqual([{ kind: 'user', change: 'removed', user: 'erin', description: 'user erin removed' }])
  })

  it('role mapped to a user directly', () => {
    const diff = diffOf((r) => (user(r, 'bob').clientRoles = { 'ws-beta': ['ws_admin'] }))
    expect(diff.changes.map(line)).toEqual(['bob gained workspaces ws-beta'])
    expect(diff.changes[0]!.causes.map((c) => c.description)).toEqual(['role ws-beta/ws_admin mapped to user bob'])
  })

  it('a change whose only effect is a lint error: no permission change, the error introduced', () => {
    const diff = diffOf((r) =>
      r.roles.client.conda_store.push({ name: 'unheld-broken', attributes: { component: ['conda-store'], scopes: ['admin!namespace=x, viewer!namespace=y'] } }),
    )
    expect(diff.changes).toEqual([])
    expect(diff.realmChanges.map((c) => c.description)).toEqual(['role conda_store/unheld-broken created'])
    expect(diff.lint.introduced.map((d) => [d.severity, d.code, d.subject.role?.name])).toEqual([['error', 'NEBARI_SCOPE_ROLE_REJECTED', 'unheld-broken']])
    expect(diff.lint.fixed).toEqual([])
  })

  it('fixing a broken attribute: the lint error fixed, and the downgrade the fixed role causes', () => {
    const diff = diffOf((r) => (role(r, 'conda_store', 'broken-scopes').attributes.scopes = ['developer!namespace=ml,viewer!namespace=global']))
    expect(diff.lint.fixed.map((d) => d.code)).toEqual(['NEBARI_SCOPE_ROLE_REJECTED'])
    expect(diff.lint.introduced).toEqual([])
    // Keycloak-scope grants replace the login bindings per namespace (D5): dave drops from developer to viewer on global/*.
    expect(diff.changes.map((c) => `${line(c)} ${c.before?.level}→${c.after?.level}`)).toEqual(['dave changed conda-store global/* developer→viewer'])
    expect(diff.changes[0]!.after?.via).toEqual(['dave → conda_store/broken-scopes → viewer!namespace=global → global/*: viewer'])
    expect(diff.changes[0]!.causes.map((c) => c.description)).toEqual([
      'attribute scopes of conda_store/broken-scopes edited: ["developer!namespace=ml, viewer!namespace=global"] → ["developer!namespace=ml,viewer!namespace=global"]',
    ])
  })

  it('without role catalogues, composites and attributes are compared for the roles users hold', () => {
    const diff = diffOf((r) => (role(r, 'conda_store', 'ml-team-scopes').attributes.scopes = ['viewer!namespace=ml']), { catalogue: false })
    expect(diff.changes.filter((c) => c.resource === 'ml/*').map((c) => `${c.user} ${c.before?.level}→${c.after?.level}`)).toEqual(['bob admin→viewer', 'dave admin→viewer'])
    expect(diff.realmChanges.map((c) => c.kind)).toEqual(['attribute'])
    expect(diff.lint).toEqual({ introduced: [], fixed: [] })
  })

  it('renders json, md and text', () => {
    const diff = diffOf((r) => (group(r, '/projects/ml').clientRoles['ws-beta'] = ['ws_access']))
    expect(Object.keys(JSON.parse(renderAccessDiff(diff, 'json')))).toEqual(['changes', 'lint', 'realmChanges'])
    expect(renderAccessDiff(diff, 'text')).toContain('bob gained workspaces ws-beta (ws_access) ← role ws-beta/ws_access added to group /projects/ml')
    expect(renderAccessDiff(diff, 'md')).toContain('| bob | gained | workspaces | ws-beta | ws_access | role ws-beta/ws_access added to group /projects/ml |')
  })
})

describe('diffAccess on generated realms', () => {
  const base = () => generateRealm({ users: 60, groups: 15, namespaces: 25, workspaces: 8, seed: 5 })

  it('identical realms: no changes', () => {
    expect(diffAccess(inputOf(base()), inputOf(base())).changes).toEqual([])
  })

  it('every change has a cause, and every cause is one of the realm changes', () => {
    const before = base()
    const after = base()
    after.groups[0].subGroups[1].clientRoles['ws-3'] = ['ws_admin']
    after.users[4].groups = ['/admin']
    after.users.splice(10, 1)
    after.roles.client.conda_store.find((r: any) => r.name === 'ns-3-scopes').attributes.scopes = ['admin!namespace=ns-3']
    const diff = diffAccess(inputOf(before), inputOf(after))
    expect(diff.changes.length).toBeGreaterThan(0)
    const all = new Set(diff.realmChanges.map((c) => c.description))
    for (const c of diff.changes) {
      expect(c.causes.length, line(c)).toBeGreaterThan(0)
      for (const cause of c.causes) expect(all.has(cause.description)).toBe(true)
    }
    expect(realmChanges(inputOf(before), inputOf(after))).toEqual(diff.realmChanges)
  })

  it('every user changed at once: each change is caused by its own user\'s change, and by no other user\'s', () => {
    const before = base()
    const after = base()
    for (const u of after.users) u.groups = [...u.groups, '/admin']
    after.groups[0].subGroups[1].clientRoles['ws-3'] = ['ws_admin']
    const diff = diffAccess(inputOf(before), inputOf(after))
    const users = new Set(diff.changes.map((c) => c.user))
    expect(users.size).toBeGreaterThan(50)
    for (const c of diff.changes) {
      expect(c.causes.length, line(c)).toBeGreaterThan(0)
      for (const cause of c.causes) {
        // Per-user changes name this user; realm-wide ones (the group mapping) reach it through its groups.
        if (cause.kind === 'membership' || cause.kind === 'user' || cause.kind === 'user-role') expect(cause.user, line(c)).toBe(c.user)
        else expect(cause.kind).toBe('group-role')
      }
    }
    // The causes keep the order the realm changes are listed in.
    const order = new Map(diff.realmChanges.map((c, i) => [c.description, i]))
    for (const c of diff.changes) {
      const positions = c.causes.map((x) => order.get(x.description)!)
      expect(positions).toEqual([...positions].sort((a, b) => a - b))
    }
  })
})

describe('like with like: what Keycloak creates or fills in by itself is not a change', () => {
  // What the live Keycloak 26.7.3 exported after importing examples/realm/example-realm.json (partial export:
  // every built-in client and role, the default role with its composites, ids; users added with ids).
  const exported = () => JSON.parse(readFileSync('test/fixtures/example-realm.exported.json', 'utf8'))

  it('the hand-written file and the export of the realm Keycloak imported from it: no change at all', () => {
    const diff = diffAccess(inputOf(example()), inputOf(exported()))
    expect(diff).toEqual({ changes: [], lint: { introduced: [], fixed: [] }, realmChanges: [] })
    expect(realmChanges(inputOf(exported()), inputOf(example()))).toEqual([])
  })

  it('keycloakBuiltIns: compare shows what the default leaves out (roles Keycloak 26.7 adds beyond the offline model)', () => {
    const all = realmChanges(inputOf(example()), inputOf(exported()), { keycloakBuiltIns: 'compare' })
    expect(all.length).toBeGreaterThan(0)
    for (const c of all) expect(c.description).toMatch(/realm-management\//)
    expect(() => diffAccess(inputOf(example()), inputOf(example()), { keycloakBuiltIns: 'yes' as never })).toThrow(/keycloakBuiltIns/)
  })

  it('what you change stays: a role added to the default role, a built-in role mapped to a user', () => {
    const after = exported()
    after.roles.realm.find((r: any) => r.name === 'default-roles-example').composites.client.conda_store = ['conda_store_viewer']
    user(after, 'bob').clientRoles = { 'realm-management': ['view-users'] }
    const diff = diffAccess(inputOf(example()), inputOf(after))
    expect(diff.realmChanges.map((c) => c.description)).toEqual([
      'role realm-management/view-users mapped to user bob',
      'conda_store/conda_store_viewer added to composite role default-roles-example',
    ])
    // Everyone with the default role now reads global/* (was: listed only) through it: default-role → composite.
    expect(diff.changes.map(line)).toEqual(['bob changed conda-store global/*', 'service-account-permission-resolver changed conda-store global/*'])
    const bob = diff.changes[0]!
    expect([bob.before!.level, bob.after!.level]).toEqual(['listed', 'viewer'])
    expect(bob.after!.via).toEqual(['bob → default-roles-example → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: viewer'])
    expect(bob.after!.chains[0]!.map((s) => s.kind)).toEqual(['user', 'default-role', 'composite', 'rule', 'grant'])
    expect(bob.causes.map((c) => c.description)).toEqual(['conda_store/conda_store_viewer added to composite role default-roles-example'])
  })

  it('an empty attribute list is the same as no attribute', () => {
    const after = example()
    role(after, 'conda_store', 'conda_store_admin').attributes = { scopes: [] }
    expect(diffAccess(inputOf(example()), inputOf(after)).realmChanges).toEqual([])
  })

  it('the text and Markdown diffs draw the chains of each change', () => {
    const after = example()
    group(after, '/projects/ml').clientRoles['ws-beta'] = ['ws_access']
    const diff = diffAccess(inputOf(example()), inputOf(after))
    expect(renderAccessDiff(diff, 'text')).toContain(
      [
        'bob gained workspaces ws-beta (ws_access) ← role ws-beta/ws_access added to group /projects/ml',
        '  held through:',
        '    user bob',
        '    └─ group /projects/ml',
        '       └─ role ws-beta/ws_access',
        '          └─ rule /workspaces/{workspace}/**',
      ].join('\n'),
    )
    expect(renderAccessDiff(diff, 'md')).toContain(
      '| bob | gained | workspaces | ws-beta | ws_access | role ws-beta/ws_access added to group /projects/ml | _user_ bob → _group_ /projects/ml → _role_ ws-beta/ws\\_access → _rule_ /workspaces/{workspace}/\\*\\* |',
    )
  })
})
