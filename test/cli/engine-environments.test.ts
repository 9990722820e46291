import { describe, expect, it } from 'vitest'
import type { Chain } from '../../src/core/chain.js'
import type { Principal } from '../../src/core/principal.js'
import { Engine } from '../../src/cli/engine.js'
import type { CliSource } from '../../src/cli/sources.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { chainContext, condaStoreBindingChains, extendChains } from '../../src/review/chains.js'
import { chainLine, chainsJson } from '../../src/review/chain-render.js'
import { generateEnvironments, generateRealm } from '../review/generate-realm.js'
import { tempFile } from './helpers.js'

// `envs --json` / GET /v1/users/{u}/environments builds each binding's chains once per permission set
// and principal identity and reuses them across environments and requests. These tests compare that
// answer with the straightforward one (every binding's chains built again for every environment) over
// many users and environments, on the first call and on later calls that read the kept chains.

const reasonOf = (chains: readonly Chain[]) => chains.map((c) => chainLine(c.filter((s) => s.kind !== 'user' && s.kind !== 'resource'))).join('; ')

/** The answer built without reuse, from the same registry answer. */
function straightforward(engine: Engine, principal: Principal, list: Parameters<Engine['registry']['environments']>[1], visibility: 'readable' | 'listed') {
  const answer = engine.registry.environments(principal, list, { visibility })
  const ctx = chainContext(principal)
  if (answer.environments === undefined) {
    return answer.bindings.map((b) => {
      const chains = condaStoreBindingChains(ctx, b)
      return { pattern: b.arn, roles: [...b.roles], reason: reasonOf(chains), chains: chainsJson(chains) }
    })
  }
  return answer.environments.map((e) => {
    const chains = extendChains(
      e.bindings.flatMap((b) => condaStoreBindingChains(ctx, b)),
      { kind: 'resource', label: `${e.namespace}/${e.name}` },
    )
    return { namespace: e.namespace, name: e.name, reason: reasonOf(chains), chains: chainsJson(chains), bindings: e.bindings.map((b) => b.arn) }
  })
}

function sourceOf(realm: RealmExportSource): CliSource {
  return { description: 'test realm', source: realm, realmExport: realm }
}

describe('Engine.environmentsJson with binding chains built once per permission set', () => {
  const realm = new RealmExportSource(generateRealm({ users: 150, groups: 20, namespaces: 25, workspaces: 8, seed: 7 }))
  const page = generateEnvironments(25, 3)
  const file = tempFile('environments.json', JSON.stringify(page))

  it('gives every user of a generated realm the straightforward answer, on first and later calls, both visibilities', async () => {
    const engine = new Engine({ source: sourceOf(realm), environments: { file } })
    const list = page.data
    let environments = 0
    for (let round = 0; round < 2; round++) {
      for (const user of realm.usernames()) {
        for (const visibility of ['readable', 'listed'] as const) {
          const got = await engine.environmentsJson(user, { listed: visibility === 'listed' })
          const principal = await engine.principal(user)
          expect(got.environments).toEqual(straightforward(engine, principal, list, visibility))
          environments += got.environments!.length
        }
      }
    }
    // The comparison covered real listings (not only empty ones).
    expect(environments).toBeGreaterThan(1_000)
  })

  it('gives the straightforward namespace patterns without an environment list', async () => {
    const engine = new Engine({ source: sourceOf(realm) })
    for (let round = 0; round < 2; round++) {
      for (const user of realm.usernames().slice(0, 60)) {
        const got = await engine.environmentsJson(user)
        expect('namespacePatterns' in got ? got.namespacePatterns : undefined).toEqual(straightforward(engine, await engine.principal(user), undefined, 'readable'))
      }
    }
  })

  it('gives the bundled users the straightforward answer', async () => {
    const example = RealmExportSource.example()
    const engine = new Engine({ source: sourceOf(example), environments: { file: 'examples/realm/example-environments.json' } })
    const list = (await import('../../examples/realm/example-environments.json', { with: { type: 'json' } })).default.data
    for (let round = 0; round < 2; round++) {
      for (const user of example.usernames()) {
        const got = await engine.environmentsJson(user)
        expect(got.environments).toEqual(straightforward(engine, await engine.principal(user), list as never, 'readable'))
      }
    }
  })

  it('builds the chains again for a principal whose role parts are not frozen and have changed', async () => {
    // One principal object with mutable parts: the registry keeps its permission set for the object, so a
    // change of the roles' paths (not of the bindings) must still show in the chains.
    const alice = realm.resolveSync(realm.usernames()[0]!)
    const realmRoles = alice.realmRoles.map((r) => ({ ...r, via: [...r.via] }))
    const clientRoles = Object.fromEntries(Object.entries(alice.clientRoles).map(([c, roles]) => [c, roles.map((r) => ({ ...r, via: [...r.via] }))]))
    const principal = { ...alice, realmRoles, clientRoles } as Principal
    const source: CliSource = { description: 'one mutable principal', source: { resolve: async () => principal } as never }
    const engine = new Engine({ source, environments: { file } })
    const before = await engine.environmentsJson(principal.username)
    expect(before.environments).toEqual(straightforward(engine, principal, page.data, 'readable'))
    // Every conda_store role now held directly (no group path).
    for (const roles of Object.values(clientRoles)) for (const r of roles) r.via.splice(0, r.via.length, { kind: 'direct' } as never)
    const after = await engine.environmentsJson(principal.username)
    expect(after.environments).toEqual(straightforward(engine, principal, page.data, 'readable'))
    expect(after.environments).not.toEqual(before.environments)
  })
})
