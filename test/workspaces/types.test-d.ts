import { expectTypeOf, test } from 'vitest'
import type { Principal } from '../../src/index.js'
import { routeTable, workspaceApiPolicy, type RouteDecision, type RouteReason, type RouteRule } from '../../src/workspaces/index.js'

test('route decisions carry typed reasons and grants', () => {
  const d = workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-a' }, null)
  expectTypeOf(d).toEqualTypeOf<RouteDecision>()
  expectTypeOf(d.reason).toEqualTypeOf<RouteReason>()
  expectTypeOf(d.grant?.roles).toEqualTypeOf<readonly string[] | undefined>()
  const p = {} as Principal
  expectTypeOf(workspaceApiPolicy().filter(['a'], p, (ws) => ({ method: 'GET', path: `/workspaces/${ws}` }))).toEqualTypeOf<string[]>()
})

test('a role requirement takes anyOf or allOf, not both', () => {
  const ok: RouteRule = { path: '/a/{x}', require: { allOf: ['r'] } }
  expectTypeOf(ok).toMatchTypeOf<RouteRule>()
  // @ts-expect-error anyOf and allOf together
  routeTable({ rules: [{ path: '/a/{x}', require: { anyOf: ['r'], allOf: ['s'] } }] })
  // @ts-expect-error 'open' is not a requirement
  routeTable({ rules: [{ path: '/a', require: 'open' }] })
})
