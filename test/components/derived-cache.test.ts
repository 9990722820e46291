import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/core/principal.js'
import { createRegistry } from '../../src/components/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { generateRealm } from '../review/generate-realm.js'

// Sources hand out a new principal object per call for the same user, sharing the user's frozen parts.
// The registry's derived results (conda-store permission set, JupyterHub view) are reused across those
// objects only when every part is the very same frozen object, and only for the same user.

describe('derived component results across principal objects of one user', () => {
  const source = RealmExportSource.example()

  it('are reused for a new principal object with the same frozen parts', () => {
    const registry = createRegistry()
    const first = source.resolveSync('alice')
    const second = source.resolveSync('alice')
    expect(second).not.toBe(first)
    expect(registry.condaStore(second)).toBe(registry.condaStore(first))
  })

  it('are not reused for another user, nor for a principal whose parts differ or are not frozen', () => {
    const registry = createRegistry()
    const alice = source.resolveSync('alice')
    const permissions = registry.condaStore(alice)
    // Same parts, another username: the derivations read the username (own namespace, `!user` filters).
    expect(registry.condaStore({ ...alice, username: 'mallory' })).not.toBe(permissions)
    // A copy of the parts (equal, not the same objects).
    expect(registry.condaStore({ ...alice, groups: Object.freeze([...alice.groups]) })).not.toBe(permissions)
    // Mutable parts: a change after the first decision must be seen.
    const clientRoles: Record<string, Principal['clientRoles'][string]> = { ...alice.clientRoles }
    const open = { ...alice, clientRoles }
    const before = registry.condaStore(open)
    delete clientRoles['conda_store']
    const next = { ...alice, clientRoles }
    expect(registry.condaStore(next)).not.toBe(before)
    expect(registry.condaStore(next).can('environment::read', 'analyst/env')).toBe(createRegistry().condaStore(next).can('environment::read', 'analyst/env'))
  })

  it('give every user of a generated realm the answers a fresh registry gives', () => {
    const realm = new RealmExportSource(generateRealm({ users: 300, groups: 20, namespaces: 30, workspaces: 10 }))
    const registry = createRegistry()
    for (const user of realm.usernames()) registry.environments(realm.resolveSync(user), undefined)
    for (const user of realm.usernames()) {
      const principal = realm.resolveSync(user)
      const cached = registry.environments(principal, undefined)
      const fresh = createRegistry().environments(principal, undefined)
      expect(cached.bindings).toEqual(fresh.bindings)
      expect(registry.resolve(principal).components).toEqual(createRegistry().resolve(principal).components)
    }
  })
})
