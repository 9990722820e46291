/**
 * nebari-dev/nebari at 1ef6a619, ported: the role-loading deployment tests
 * `tests/tests_deployment/test_conda_store_roles_loaded.py` and the scope-attribute test of
 * `tests/tests_deployment/test_jupyterhub_api.py`. The live deployment becomes what it establishes:
 * the CI user `nebari` (constants.KEYCLOAK_USERNAME) in `/analyst`, `/developer`, `/users` holding
 * `conda_store_developer`, with conda-store namespaces for those groups, `global`, `nebari-git` and
 * the user's own (the user has logged in before, as in CI).
 */
import type { EffectiveRole, Principal } from '../../../src/core/principal.js'
import { condaStorePermissionsFor } from '../../../src/conda-store/index.js'
import { expandScopes, scopesFromRoleAttributes } from '../../../src/jupyterhub/index.js'
import { all, eq, sameSet } from '../expect.js'
import { CS_MODES, JH_MODES, NEBARI_COMMIT, versionOf, type CondaStoreMode, type JupyterHubMode, type UpstreamCase } from '../types.js'

const CONDA = 'nebari-dev/nebari tests/tests_deployment/test_conda_store_roles_loaded.py'
const JHUB = 'nebari-dev/nebari tests/tests_deployment/test_jupyterhub_api.py'
const p = (x: unknown) => JSON.stringify(x)

function principal(extraRoles: { client: string; name: string; attributes: Record<string, string[]> }[]): Principal {
  const role = (client: string, name: string, attributes: Record<string, string[]> = {}): EffectiveRole => ({ client, name, attributes, via: [] })
  const conda = [role('conda_store', 'conda_store_developer'), ...extraRoles.filter((r) => r.client === 'conda_store').map((r) => role(r.client, r.name, r.attributes))]
  const hub = extraRoles.filter((r) => r.client === 'jupyterhub').map((r) => role(r.client, r.name, r.attributes))
  return {
    realm: 'nebari',
    userId: undefined,
    username: 'nebari',
    groups: ['/analyst', '/developer', '/users'],
    realmRoles: [],
    clientRoles: { conda_store: conda, ...(hub.length > 0 ? { jupyterhub: hub } : {}) },
    complete: { groups: true, realmRoles: true, attributes: true, provenance: false },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}
const EXISTING = ['analyst', 'developer', 'global', 'nebari', 'nebari-git', 'users']

const condaCases: UpstreamCase<CondaStoreMode>[] = []
const ROLES_LOADED: [string, Record<string, string[]>][] = [
  ['admin!namespace=analyst,developer!namespace=nebari-git', { 'nebari-git/*': ['developer'], 'analyst/*': ['admin'] }],
  ['admin!namespace=analyst,developer!namespace=invalid-namespace', { 'analyst/*': ['admin'] }],
  ['admin!namespace=analyst,developer!namespace=analyst', { 'analyst/*': ['admin'] }], // duplicate: highest kept
  ['invalid-role!namespace=analyst', {}],
]
for (const [scopes, changed] of ROLES_LOADED) {
  condaCases.push({
    file: CONDA,
    test: 'test_conda_store_roles_loaded_from_keycloak',
    params: `scopes=${scopes}, changed_scopes=${p(changed)}`,
    commit: NEBARI_COMMIT,
    modes: CS_MODES,
    run: (mode) => {
      const options = { existingNamespaces: EXISTING, ...(mode === 'compat' ? { compat: 'nebari' as const } : {}) }
      const before = condaStorePermissionsFor(principal([]), options).toPermissionResponse().entity_roles
      const custom = { client: 'conda_store', name: 'test-custom-role', attributes: { scopes: [scopes], component: ['conda-store'] } }
      const after = condaStorePermissionsFor(principal([custom]), options).toPermissionResponse().entity_roles
      return all(
        ...Object.entries(changed).map(([ns, roles]) => eq(`before: ${ns} differs`, p(before[ns]) !== p(roles), true)),
        eq('entity_roles after', after, { ...before, ...changed }),
      )
    },
  })
}

const jhubCases: UpstreamCase<JupyterHubMode>[] = []
const ATTRIBUTES: [string, string, string[]][] = [
  ['jupyterhub', 'read:users:shares,read:groups:shares,users:shares', ['read:groups:shares', 'users:shares', 'read:users:shares']],
  ['invalid-component', 'read:users:shares,read:groups:shares,users:shares', []],
  ['invalid-component', 'admin:invalid-scope', []],
]
for (const [component, scopes, difference] of ATTRIBUTES) {
  jhubCases.push({
    file: JHUB,
    test: 'test_keycloak_roles_attributes_parsed_as_jhub_scopes',
    params: `component=${component}, scopes=${scopes}, expected_scopes_difference=${p(difference)}`,
    commit: NEBARI_COMMIT,
    modes: JH_MODES,
    // Upstream's final assert compares the expected difference with itself (it rebinds the parameter);
    // we assert what the test means: the token gains exactly these scopes.
    differs: 'upstream asserts a tautology here; the port asserts the intended difference',
    run: (mode) => {
      const options = { jupyterhubVersion: versionOf(mode) }
      const owner = { owner: { kind: 'user' as const, name: 'nebari' } }
      const before = expandScopes(['self'], owner, options).scopes
      const role = scopesFromRoleAttributes({ component: [component], scopes: [scopes] }, options)
      const after = expandScopes(['self', ...role.scopes], owner, options).scopes
      const gained = after.filter((s) => !before.includes(s))
      return sameSet('token scopes gained', gained, difference)
    },
  })
}

export const nebariCases: readonly UpstreamCase<CondaStoreMode | JupyterHubMode>[] = [...condaCases, ...jhubCases] as UpstreamCase<any>[]
