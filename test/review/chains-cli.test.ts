/**
 * The CLI draws the same chain values as the library: `explain` (text tree and --json), `envs` reasons,
 * `resolve --json` role chains — each the chain model of src/core/chain.ts, rendered once.
 */
import { describe, expect, it } from 'vitest'
import { roleChains } from '../../src/core/chain.js'
import { condaStorePermissionsFor } from '../../src/conda-store/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { chainLine, chainsJson, decisionChains, renderChainsText } from '../../src/review/index.js'
import { cli } from '../cli/helpers.js'

const realm = RealmExportSource.example()

describe('explain, envs and resolve draw the chain model', () => {
  it('explain: dave holds global/* by two separate paths (text tree = --json chains = the library)', () => {
    const dave = realm.resolveSync('dave')
    const want = decisionChains(dave, condaStorePermissionsFor(dave).explain('environment::update', 'global/r-base'), { component: 'conda-store', resource: 'global/r-base' })
    expect(want).toHaveLength(2)
    const text = cli(['explain', '--user', 'dave', '--conda-store', 'environment::update', 'global/r-base'])
    expect(text.status).toBe(0)
    expect(text.stdout).toBe(`allowed BINDING_GRANTS (rule default)\n${renderChainsText(want)}`)
    // conda_store_viewer is held directly: its own branch from the user, never under conda_store_developer.
    expect(text.stdout).toMatch(/^└─ role conda_store\/conda_store_viewer$/mu)
    const json = cli(['explain', '--user', 'dave', '--conda-store', 'environment::update', 'global/r-base', '--json']).json()
    expect(json.chains).toEqual(chainsJson(want))
  })

  it('explain: erin — the default bindings and the superadmin binding are separate branches', () => {
    const text = cli(['explain', '--user', 'erin', '--conda-store', 'environment::read', 'default/x']).stdout
    expect(text).toContain(['user erin', '├─ source conda-store default bindings', '│  └─ grant default/*: viewer', '│     └─ resource default/x', '└─ role conda_store/conda_store_superadmin'].join('\n'))
  })

  it('explain: alice — each JupyterHub role that holds the scope is its own path', () => {
    const json = cli(['explain', '--user', 'alice', '--jupyterhub', 'access:servers', '--resource', 'server=alice/', '--json']).json()
    expect(json.allowed).toBe(true)
    const lines: string[] = json.chains.map((c: { label: string }[]) => c.map((s) => s.label).join(' → '))
    expect(lines).toContain('alice → /analyst → JupyterHub role user → access:servers!server=alice/')
    // No path runs one JupyterHub role into another (the old trace drew allow-app-sharing-role → user).
    for (const c of json.chains as { kind: string }[][]) expect(c.filter((s) => s.kind === 'item' || s.kind === 'rule')).toHaveLength(1)
  })

  it('a denial has no chains; its trace is printed as before', () => {
    const denied = cli(['explain', '--user', 'bob', '--route', 'DELETE', '/workspaces', '--json'])
    expect(denied.status).toBe(1)
    expect(denied.json().chains).toEqual([])
  })

  it('envs: each environment\'s reason is its chains, one per path', () => {
    const out = cli(['envs', '--user', 'dave', '--json']).json()
    const global = out.namespacePatterns.find((p: { pattern: string }) => p.pattern === 'global/*')
    expect(global.chains.map((c: { label: string }[]) => c.map((s) => s.label).join(' → '))).toEqual([
      'dave → /developer → conda_store/conda_store_developer → nebari login: global-namespace → global/*: developer',
      'dave → conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer',
    ])
    expect(global.reason).toBe(
      '/developer → conda_store/conda_store_developer → nebari login: global-namespace → global/*: developer; conda_store/conda_store_viewer → nebari login: global-namespace → global/*: developer',
    )
  })

  it('resolve --json: every role carries its chains', () => {
    const out = cli(['resolve', '--user', 'bob', '--json']).json()
    const bob = realm.resolveSync('bob')
    expect(out.clients['ws-alpha'][0].chains).toEqual(chainsJson(roleChains(bob, { client: 'ws-alpha', name: 'ws_access' })))
    expect(out.clients['ws-alpha'][0].chains.map((c: never) => chainLine(c))).toEqual(['bob → /projects/ml → /projects → ws-alpha/ws_access'])
  })
})
