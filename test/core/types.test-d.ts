import { describe, expectTypeOf, it } from 'vitest'
import type { Decision, Principal, RoleVia, Diagnostic, Severity, TokenRejectionReason } from '../../src/index.js'
import { allow, deny, TokenRejectedError } from '../../src/index.js'
import type { RoleSource, UserRef } from '../../src/keycloak/index.js'

describe('public core types', () => {
  it('decisions carry their reason type; deny never has a grant', () => {
    const d = deny('ROLE_MISSING')
    expectTypeOf(d.reason).toEqualTypeOf<'ROLE_MISSING'>()
    expectTypeOf(d.grant).toEqualTypeOf<undefined>()
    const a = allow('WORKSPACE_ROLE', [], { grant: { role: 'ws_access' } })
    expectTypeOf(a).toMatchTypeOf<Decision<'WORKSPACE_ROLE', { role: string }>>()
  })

  it('principals are read-only', () => {
    expectTypeOf<Principal['groups']>().toEqualTypeOf<readonly string[]>()
    // @ts-expect-error groups cannot be mutated
    ;(null as unknown as Principal).groups.push('/x')
  })

  it('provenance is a discriminated union', () => {
    const describe = (via: RoleVia): string => {
      switch (via.kind) {
        case 'group':
          return via.member
        case 'composite':
          return via.parent.name
        case 'direct':
        case 'default':
          return via.kind
      }
    }
    expectTypeOf(describe).returns.toBeString()
    // @ts-expect-error unknown provenance kind
    const bad: RoleVia = { kind: 'inherited' }
    void bad
  })

  it('severities and token reasons are closed unions', () => {
    expectTypeOf<Severity>().toEqualTypeOf<'error' | 'warning' | 'info'>()
    expectTypeOf<Diagnostic['severity']>().toEqualTypeOf<Severity>()
    // @ts-expect-error not a token rejection reason
    new TokenRejectedError('NOPE', 'MALFORMED', 'x')
    expectTypeOf<'TOKEN_EXPIRED'>().toMatchTypeOf<TokenRejectionReason>()
  })

  it('a UserRef is a username or an id', () => {
    expectTypeOf<'alice'>().toMatchTypeOf<UserRef>()
    expectTypeOf<{ id: 'x' }>().toMatchTypeOf<UserRef>()
    // @ts-expect-error neither username nor id
    const none: UserRef = {}
    void none
    expectTypeOf<RoleSource['resolve']>().returns.resolves.toEqualTypeOf<Principal>()
  })
})
