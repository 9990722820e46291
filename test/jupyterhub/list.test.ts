import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/core/errors.js'
import { expandScopes, listAccess, parseScopes } from '../../src/jupyterhub/index.js'

const users = [
  { name: 'alice', groups: ['/analyst'] },
  { name: 'bob', groups: [] },
]

describe('listAccess (JupyterHub list handlers)', () => {
  it('answers 403 with needs_scope’s message without any list scope', () => {
    const a = listAccess('users', expandScopes(['read:users']))
    expect(a).toMatchObject({ allowed: false, status: 403, reason: 'SCOPE_MISSING', message: 'Action is not authorized with current scopes; requires any of [list:users]' })
    expect(a.filter(users)).toEqual([])
  })
  it('answers 403 Forbidden for a filter of the wrong kind, as upstream (not an empty list)', () => {
    for (const [kind, scope] of [['users', 'list:users!server=alice/'], ['groups', 'list:groups!user=alice'], ['users', 'list:users!service=x']] as const) {
      const a = listAccess(kind, expandScopes([scope]))
      expect(a).toMatchObject({ allowed: false, status: 403, reason: 'INVALID_LIST_FILTER', message: 'Forbidden' })
      expect(a.includes({ name: 'alice', groups: ['/analyst'] })).toBe(false)
    }
  })
  it('lists users by name or group, and every list filter goes through includes()', () => {
    const a = listAccess('users', expandScopes(['list:users!group=/analyst', 'list:users!user=bob']))
    expect(a).toMatchObject({ allowed: true, status: 200, reason: 'LIST_FILTERED' })
    expect(a.filter(users).map((u) => u.name)).toEqual(['alice', 'bob'])
    expect(listAccess('users', parseScopes(['list:users'])).filter(users)).toHaveLength(2)
  })
  it('services: other filter kinds list nothing (upstream checks no kind there)', () => {
    const a = listAccess('services', expandScopes(['list:services!user=alice']))
    expect(a.status).toBe(200)
    expect(a.filter([{ name: 'alice' }])).toEqual([])
  })
  it('rejects an unknown list kind', () => {
    expect(() => listAccess('servers' as never, expandScopes([]))).toThrow(InvalidOptionsError)
  })
})
