/**
 * "Which environments can this user use?" end to end on the bundled example realm:
 * RealmExportSource → principal → Nebari login bindings → a local conda-store's environment list →
 * the environments each user may use, each with its reason. Expected bindings are the derived
 * outputs of test/fixtures/example-realm.expected.json (users.*.derived.nebariCondaStore).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { CondaStoreClient, condaStorePermissionsFor, environmentsForUser, nebariLogin } from '../../src/conda-store/index.js'
import { startFakeCondaStore, type FakeCondaStore } from './fake-conda-store.js'

const UNIVERSE = ['alice/scratch', 'bob/scratch', 'carol/tools', 'dave/notes', 'erin/ops', 'analyst/pandas', 'ml/torch', 'ml/jax', 'developer/build', 'global/base', 'nebari-git/shared', 'default/starter', 'filesystem/fs', 'projects/p1', 'admin/tools', 'users/u1']

/** users.*.derived.nebariCondaStore of the reference's expected file. */
const DERIVED = {
  alice: {
    loginBindings: { 'alice/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': ['developer'], 'analyst/*': ['developer'] },
    keycloakScopeGrants: [['global', 'alice', 'viewer']],
    effectiveBindings: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'alice/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': ['viewer'], 'analyst/*': ['developer'] },
    diagnostics: [],
  },
  bob: {
    loginBindings: { 'bob/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': [], 'ml/*': [] },
    keycloakScopeGrants: [['ml', 'bob', 'admin'], ['nebari-git', 'bob', 'developer']],
    effectiveBindings: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'bob/*': ['admin'], 'nebari-git/*': ['developer'], 'global/*': [], 'ml/*': ['admin'] },
    diagnostics: [],
  },
  carol: {
    loginBindings: { 'carol/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': ['admin'] },
    keycloakScopeGrants: [],
    effectiveBindings: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'carol/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': ['admin'] },
    diagnostics: [],
  },
  dave: {
    loginBindings: { 'dave/*': ['admin'], 'nebari-git/*': ['viewer'], 'global/*': ['developer', 'viewer'], 'developer/*': ['developer', 'viewer'], 'ml/*': ['developer', 'viewer'] },
    keycloakScopeGrants: [['ml', 'dave', 'admin'], ['nebari-git', 'dave', 'developer']],
    effectiveBindings: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'dave/*': ['admin'], 'nebari-git/*': ['developer'], 'global/*': ['developer', 'viewer'], 'developer/*': ['developer', 'viewer'], 'ml/*': ['admin'] },
    diagnostics: [{ code: 'NEBARI_SCOPE_ROLE_REJECTED', role: 'broken-scopes', rejectedItems: [{ item: ' viewer!namespace=global', reason: 'whitespace' }] }],
  },
  erin: {
    loginBindings: { '*/*': ['admin'] },
    keycloakScopeGrants: [],
    effectiveBindings: { 'default/*': ['viewer'], 'filesystem/*': ['viewer'], '*/*': ['admin'] },
    diagnostics: [],
  },
} as const

/** The environments each user can use (readable), with the reason: user → group → role → item/rule → binding → environment. */
const ENVIRONMENTS: Record<keyof typeof DERIVED, [string, string][]> = {
  alice: [
    ['alice/scratch', 'alice → nebari login: user-namespace → alice/*: admin → alice/scratch'],
    ['analyst/pandas', 'alice → /analyst → conda_store/conda_store_developer → nebari login: group → analyst/*: developer → analyst/pandas'],
    ['global/base', 'alice → conda_store/analyst-global-viewer → viewer!namespace=global → global/*: viewer → global/base'],
    ['nebari-git/shared', 'alice → nebari login: default-namespace → nebari-git/*: viewer → nebari-git/shared'],
    ['default/starter', 'alice → conda-store default bindings → default/*: viewer → default/starter'],
    ['filesystem/fs', 'alice → conda-store default bindings → filesystem/*: viewer → filesystem/fs'],
  ],
  bob: [
    ['bob/scratch', 'bob → nebari login: user-namespace → bob/*: admin → bob/scratch'],
    ['ml/torch', 'bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/torch'],
    ['ml/jax', 'bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/jax'],
    ['nebari-git/shared', 'bob → /projects/ml → conda_store/ml-team-scopes → developer!namespace=nebari-git → nebari-git/*: developer → nebari-git/shared'],
    ['default/starter', 'bob → conda-store default bindings → default/*: viewer → default/starter'],
    ['filesystem/fs', 'bob → conda-store default bindings → filesystem/*: viewer → filesystem/fs'],
  ],
  carol: [
    ['carol/tools', 'carol → nebari login: user-namespace → carol/*: admin → carol/tools'],
    ['global/base', 'carol → platform-admin → conda_store/conda_store_admin → nebari login: global-namespace → global/*: admin → global/base'],
    ['nebari-git/shared', 'carol → nebari login: default-namespace → nebari-git/*: viewer → nebari-git/shared'],
    ['default/starter', 'carol → conda-store default bindings → default/*: viewer → default/starter'],
    ['filesystem/fs', 'carol → conda-store default bindings → filesystem/*: viewer → filesystem/fs'],
  ],
  dave: [
    ['dave/notes', 'dave → nebari login: user-namespace → dave/*: admin → dave/notes'],
    ['ml/torch', 'dave → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/torch'],
    ['ml/jax', 'dave → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/jax'],
    ['developer/build', 'dave → /developer → conda_store/conda_store_developer → conda_store/conda_store_viewer → nebari login: group → developer/*: developer, viewer → developer/build'],
    ['global/base', 'dave → /developer → conda_store/conda_store_developer → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer, viewer → global/base'],
    ['nebari-git/shared', 'dave → /projects/ml → conda_store/ml-team-scopes → developer!namespace=nebari-git → nebari-git/*: developer → nebari-git/shared'],
    ['default/starter', 'dave → conda-store default bindings → default/*: viewer → default/starter'],
    ['filesystem/fs', 'dave → conda-store default bindings → filesystem/*: viewer → filesystem/fs'],
  ],
  erin: UNIVERSE.map((env) => [
    env,
    env.startsWith('default/') || env.startsWith('filesystem/')
      ? `erin → conda-store default bindings → ${env.split('/')[0]}/*: viewer → conda_store/conda_store_superadmin → nebari login: superadmin → */*: admin → ${env}`
      : `erin → conda_store/conda_store_superadmin → nebari login: superadmin → */*: admin → ${env}`,
  ]),
}

const source = RealmExportSource.example()
let fake: FakeCondaStore
let client: CondaStoreClient

beforeAll(async () => {
  fake = await startFakeCondaStore({ environments: UNIVERSE, serviceToken: 'jhub-apps-service-token', maxPageSize: 5 })
  client = new CondaStoreClient({ baseUrl: fake.url, token: 'jhub-apps-service-token' })
})
afterAll(async () => {
  await fake.close()
})

const byListOrder = (envs: readonly [string, string][]) => [...envs].sort((a, b) => UNIVERSE.indexOf(a[0]) - UNIVERSE.indexOf(b[0]))
const fakeOrder = (envs: readonly [string, string][]) => [...envs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

describe('example realm: Nebari bindings per user', () => {
  for (const [user, derived] of Object.entries(DERIVED)) {
    it(`${user}: login bindings, Keycloak-scope grants, effective bindings and diagnostics match the reference`, async () => {
      const principal = await source.resolve(user)
      const login = nebariLogin(principal)
      expect(login.loginBindings).toEqual(derived.loginBindings)
      expect(login.grants).toEqual(derived.keycloakScopeGrants)
      expect(condaStorePermissionsFor(principal).toPermissionResponse().entity_roles).toEqual(derived.effectiveBindings)
      expect(
        login.diagnostics.map((d) => ({ code: d.code, role: d.subject.role?.name, rejectedItems: d.details?.['rejectedItems'] })),
      ).toEqual(derived.diagnostics)
    })
  }
  it("dave with grammar 'lenient': the malformed role grants and downgrades global/* to viewer", async () => {
    const principal = await source.resolve('dave')
    const login = nebariLogin(principal, { grammar: 'lenient' })
    expect([...login.grants].sort()).toEqual([['global', 'dave', 'viewer'], ['ml', 'dave', 'admin'], ['nebari-git', 'dave', 'developer']])
    expect(condaStorePermissionsFor(principal, { grammar: 'lenient' }).toPermissionResponse().entity_roles).toEqual({
      'default/*': ['viewer'], 'filesystem/*': ['viewer'], 'dave/*': ['admin'], 'nebari-git/*': ['developer'], 'global/*': ['viewer'], 'developer/*': ['developer', 'viewer'], 'ml/*': ['admin'],
    })
    expect(login.diagnostics.map((d) => [d.code, d.details?.['namespace'], d.details?.['kept']])).toEqual([['NEBARI_DUPLICATE_NAMESPACE', 'ml', 'admin']])
  })
})

describe('example realm: environments each user can use, end to end through conda-store', () => {
  for (const [user, expected] of Object.entries(ENVIRONMENTS)) {
    it(`${user}: ${expected.length} environment(s), each with its reason`, async () => {
      fake.requests.length = 0
      const { environments, diagnostics } = await environmentsForUser(await source.resolve(user), client)
      const actual: [string, string][] = environments.map((a) => [`${a.namespace}/${a.name}`, a.decision.trace.map((s) => s.label).join(' → ')])
      expect(actual).toEqual(fakeOrder(byListOrder(expected)))
      // Every allowed environment names the granting binding; the same code path as can().
      const perms = condaStorePermissionsFor(await source.resolve(user))
      expect(environments.map((a) => `${a.namespace}/${a.name}`)).toEqual(UNIVERSE.filter((e) => perms.can('environment::read', e)).sort())
      expect(fake.requests).toHaveLength(Math.ceil(UNIVERSE.length / 5))
      expect(diagnostics.map((d) => d.code)).toEqual(DERIVED[user as keyof typeof DERIVED].diagnostics.map((d) => d.code))
    })
  }
  it("bob: global/* has no roles, so global/base is listed (conda-store's listing) but not readable (D4)", async () => {
    const bob = await source.resolve('bob')
    const listed = await environmentsForUser(bob, client, { visibility: 'listed' })
    const readable = await environmentsForUser(bob, client)
    const names = (x: typeof listed) => x.environments.map((a) => `${a.namespace}/${a.name}`)
    expect(names(listed).filter((e) => !names(readable).includes(e))).toEqual(['global/base'])
    expect(listed.environments.find((a) => a.name === 'base')?.bindings.map((b) => [b.arn, b.roles])).toEqual([['global/*', []]])
  })
})
