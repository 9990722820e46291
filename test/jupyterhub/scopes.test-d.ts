import { describe, expectTypeOf, it } from 'vitest'
import {
  createCollaborationAuthorizer,
  defineCustomScopes,
  expandScopes,
  hasScope,
  needsScope,
  validateScopes,
  type BuiltinScopeName,
  type CustomScopes,
  type ExpandedScope,
  type Scope,
  type ScopeName,
} from '../../src/jupyterhub/index.js'

describe('typed scope names', () => {
  it('built-in names are a literal union', () => {
    expectTypeOf<'read:users'>().toExtend<BuiltinScopeName>()
    expectTypeOf<'start:servers'>().toExtend<BuiltinScopeName>()
    expectTypeOf<'read:user'>().not.toExtend<BuiltinScopeName>()
    expectTypeOf<string>().not.toExtend<ScopeName>()
  })

  it('filtered and raw scopes are typed', () => {
    expectTypeOf<'access:servers!server=bob/lab'>().toExtend<ExpandedScope>()
    expectTypeOf<'read:users!group=/analyst'>().toExtend<ExpandedScope>()
    expectTypeOf<'shares!user'>().toExtend<Scope>()
    expectTypeOf<'shares!user'>().not.toExtend<ExpandedScope>()
    expectTypeOf<'shares!usr'>().not.toExtend<Scope>()
    expectTypeOf<'read:users!uzer=bob'>().not.toExtend<Scope>()
    expectTypeOf<'custom:rtc:read!server=a/'>().toExtend<ExpandedScope>()
  })

  it('an unknown literal scope is a compile error in typed APIs', () => {
    const held = expandScopes(['self'], { owner: { kind: 'user', name: 'alice' } })
    hasScope('read:users:name!user=alice', held)
    // @ts-expect-error misspelt scope name
    hasScope('read:user!user=alice', held)
    // @ts-expect-error unknown filter kind
    hasScope('read:users!usr=alice', held)
    // @ts-expect-error bare filters are not expanded scopes
    hasScope('read:users!user', held)
    needsScope(['read:users', 'read:users:name'])
    // @ts-expect-error misspelt required scope
    needsScope(['read:usrs'])
    // @ts-expect-error required scopes are names, not filtered scopes
    needsScope(['read:users!user=alice'])
  })

  it('strings from Keycloak are validated at run time and come back typed', () => {
    const fromKeycloak: string = 'shares!user,read:users:name'
    expectTypeOf(validateScopes(fromKeycloak.split(','))).toEqualTypeOf<Scope[]>()
    // @ts-expect-error an arbitrary string is not a Scope without validation
    const unchecked: Scope = fromKeycloak
    void unchecked
  })

  it('custom scope definitions keep their names; collaboration actions are typed', () => {
    const custom = defineCustomScopes({ 'custom:rtc:read': { description: 'r' } })
    expectTypeOf(custom).toEqualTypeOf<CustomScopes<'custom:rtc:read'>>()
    expectTypeOf(custom.names).toEqualTypeOf<readonly 'custom:rtc:read'[]>()
    const authz = createCollaborationAuthorizer()
    const who = { username: 'bob', scopes: expandScopes([]) }
    authz.authorize(who, 'alice/', 'read', 'contents')
    // @ts-expect-error unknown action
    authz.authorize(who, 'alice/', 'delete', 'contents')
    expectTypeOf(authz.authorize(who, 'alice/', 'read', 'contents').reason).toEqualTypeOf<
      'OWNER' | 'ACCESS_SERVERS' | 'SCOPE_GRANT' | 'LOGIN_REJECTED' | 'NO_SERVER_ACCESS' | 'NO_MATCHING_SCOPE'
    >()
  })
})
