import { describe, expect, it } from 'vitest'
import { SourceUnavailableError } from '../../src/core/errors.js'
import type { Principal } from '../../src/core/principal.js'
import { expandScopes, hasScope, type ExpandedScope } from '../../src/jupyterhub/index.js'
import { RealmExportSource, targetGroups, type RoleSource } from '../../src/keycloak/index.js'

describe('targetGroups', () => {
  const realm = RealmExportSource.example()

  it("looks the target users' groups up through the source; a JupyterHub !group= filter then matches another user", async () => {
    const groupsOf = await targetGroups(realm, ['Alice', 'bob', 'nobody'])
    expect(groupsOf('alice')).toEqual((await realm.resolve('alice')).groups)
    expect(groupsOf('ALICE')).toEqual(groupsOf('alice'))
    expect(groupsOf('bob')).toEqual(['/projects/ml'])
    expect(groupsOf('nobody')).toEqual([]) // unknown: no groups, so a group filter does not match
    expect(groupsOf('carol')).toEqual([]) // not fetched
    const held = expandScopes(['read:users!group=/projects/ml'])
    expect(hasScope('read:users!user=bob' as ExpandedScope, held, { groupsOf })).toBe(true)
    expect(hasScope('read:users!user=alice' as ExpandedScope, held, { groupsOf })).toBe(groupsOf('alice').includes('/projects/ml'))
  })

  it('asks the source once per distinct user, and never turns an outage into "no groups"', async () => {
    const asked: string[] = []
    const counting: RoleSource = { realm: 'example', resolve: async (user) => (asked.push(String(user)), realm.resolve(user)) }
    await targetGroups(counting, ['bob', 'BOB', 'bob'])
    expect(asked).toEqual(['bob'])
    const down: RoleSource = { realm: 'example', resolve: async (): Promise<Principal> => { throw new SourceUnavailableError('admin-api', 'down') } }
    await expect(targetGroups(down, ['bob'])).rejects.toBeInstanceOf(SourceUnavailableError)
  })
})
