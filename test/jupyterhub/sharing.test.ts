import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { JupyterHubUsageError, expandScopes, jupyterhubPrincipal, shareDecision } from '../../src/jupyterhub/index.js'

describe('shareDecision (jupyterhub.md §12)', () => {
  it('the example realm\'s sharing role: share your own servers with anyone, by name', async () => {
    const alice = jupyterhubPrincipal(await RealmExportSource.example().resolve('alice'))
    expect(shareDecision(alice.scopes, 'alice/', { user: 'bob' })).toMatchObject({
      status: 200,
      allowed: true,
      reason: 'SHARE_ALLOWED',
      scopes: ['access:servers!server=alice/'],
    })
    expect(shareDecision(alice.scopes, 'alice/lab', { group: '/projects/ml' }).status).toBe(200)
    expect(shareDecision(alice.scopes, 'bob/', { user: 'carol' })).toMatchObject({ status: 404, message: 'No access to resources or resources not found' })
  })

  it('Nebari\'s default unfiltered shares lets the holder share any server', () => {
    const held = expandScopes(['self', 'shares', 'read:users:name', 'read:groups:name'], { owner: { kind: 'user', name: 'alice' } })
    expect(shareDecision(held, 'bob/', { user: 'carol' }).status).toBe(200)
  })

  it('refuses other filters, scopes not held, and targets not readable by name, with upstream messages', () => {
    const held = expandScopes(['self', 'shares!user'], { owner: { kind: 'user', name: 'alice' } })
    expect(shareDecision(held, 'alice/', { user: 'bob' }, { scopes: ['access:servers!user=alice'] })).toMatchObject({
      status: 400,
      message: '!user=alice not allowed on sharing access:servers!user=alice, only !server=alice/',
    })
    expect(shareDecision(held, 'alice/', { user: 'bob' }, { scopes: ['read:usr'] })).toMatchObject({ status: 400, reason: 'SHARE_SCOPE_INVALID' })
    expect(shareDecision(held, 'alice/', { user: 'bob' }, { scopes: ['admin:servers'] })).toMatchObject({
      status: 403,
      message: 'Do not have permission to grant share with scope admin:servers!server=alice/',
    })
    expect(shareDecision(held, 'alice/', { user: 'bob' })).toMatchObject({ status: 403, message: "Need scope 'read:users:name' to share with users by name" })
    expect(shareDecision(held, 'alice/', { group: '/g' })).toMatchObject({ status: 403, message: "Need scope 'read:groups:name' to share with groups by name" })
    expect(shareDecision(expandScopes(['read:users']), 'alice/', { user: 'bob' })).toMatchObject({
      status: 403,
      message: 'Action is not authorized with current scopes; requires any of [shares]',
    })
    expect(() => shareDecision(held, 'alice', { user: 'bob' })).toThrow(JupyterHubUsageError)
  })
})
