import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { normalizeRequestPath, routeTable, workspaceApiPolicy } from '../../src/workspaces/index.js'
import { plainSegmentStarts } from '../../src/workspaces/normalize.js'
import type { EffectiveRole, Principal } from '../../src/core/principal.js'
import { makePrincipal } from './helpers.js'

// The decision hot path matches plain targets in place (segment starts, no segment array) and builds the
// trace when it is read. These tests hold it to the general path: same segments, same decision value.

describe('plainSegmentStarts', () => {
  const alphabet = fc.constantFrom('/', '.', 'a', 'ws-1', '%2e', '%2F', ';', '?', '#', '\\', ' ', 'é', '~', '"', '..', '//', '\u0000')
  it('accepts only targets that are their own normal form, with the same segments', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }).map((parts) => parts.join('')), (target) => {
        const starts = new Int32Array(65)
        const count = plainSegmentStarts(target, starts)
        if (count < 0) return
        const normalized = normalizeRequestPath(target)
        expect(normalized.ok).toBe(true)
        if (!normalized.ok) return
        const segments = Array.from({ length: count }, (_, i) => target.slice(starts[i]!, starts[i + 1]! - 1))
        expect(segments).toEqual(normalized.segments)
        expect(normalized.path).toBe(target)
      }),
      { numRuns: 3_000 },
    )
  })

  it('leaves dots-only segments, empty segments and more segments than the scratch holds to the full algorithm', () => {
    const starts = new Int32Array(4)
    for (const target of ['/', '/a/', '/a//b', '/a/./b', '/a/../b', '/a/.../b', '/a/b/c/d']) expect(plainSegmentStarts(target, starts)).toBe(-1)
    expect(plainSegmentStarts('/a/.b/c', starts)).toBe(3)
  })
})

describe('lazily traced decisions', () => {
  const policy = workspaceApiPolicy({ methodRules: [{ path: '/workspaces/{ws}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }] })
  const alice = makePrincipal('alice', { 'ws-alice': ['ws_access'], 'ws-empty': [] }, { via: [{ kind: 'group', member: '/team' }] as never })
  const admin = makePrincipal('root', { 'workspace-api': ['admin'] })
  const cases: [string, string, typeof alice][] = [
    ['GET', '/workspaces/ws-alice/files', alice],
    ['GET', '/workspaces/ws-bob/files', alice],
    ['GET', '/workspaces/ws-empty', alice],
    ['DELETE', '/workspaces/ws-alice', alice],
    ['DELETE', '/workspaces/ws-bob', alice],
    ['GET', '/anything/at/all', admin],
  ]

  it('are the same value as the general path gives for an equivalent non-plain target', () => {
    for (const [method, path, principal] of cases) {
      const fast = policy.check({ method, path }, principal)
      // `/x/../` makes the target non-plain: normalised by the full algorithm to the same path.
      const slow = policy.check({ method, path: `/x/..${path}` }, principal)
      expect(JSON.parse(JSON.stringify(fast))).toEqual(JSON.parse(JSON.stringify(slow)))
      expect(Object.keys(JSON.parse(JSON.stringify(fast)))).toEqual(['allowed', 'reason', 'trace', 'rule', ...(fast.grant ? ['grant'] : [])])
      expect({ allowed: fast.allowed, reason: fast.reason, rule: fast.rule, grant: fast.grant, trace: fast.trace }).toEqual({
        allowed: slow.allowed,
        reason: slow.reason,
        rule: slow.rule,
        grant: slow.grant,
        trace: slow.trace,
      })
    }
  })

  it('read the same trace every time, starting with the path and the user', () => {
    const d = policy.check({ method: 'GET', path: '/workspaces/ws-alice/files' }, alice)
    expect(d.trace).toBe(d.trace)
    expect(d.trace.map((s) => s.kind)).toEqual(['path', 'user', 'claim', 'group', 'role', 'rule'])
    expect(d.trace[0]).toEqual({ kind: 'path', label: '/workspaces/ws-alice/files' })
  })

  it('keep a method override step in its place', () => {
    const table = routeTable({ rules: [{ path: '/p/{c}/**', require: { anyOf: ['r'] } }], methodOverrideHeader: 'x-http-method-override' })
    const p = makePrincipal('u', { c1: ['r'] })
    const d = table.check({ method: 'POST', path: '/p/c1/x', headers: { 'x-http-method-override': 'GET' } }, p)
    expect(d.trace.map((s) => s.kind)).toEqual(['path', 'method-override', 'user', 'claim', 'role', 'rule'])
  })
})

describe('the client index of a frozen clientRoles', () => {
  // A frozen `clientRoles` is looked up through a Map built once; an unfrozen one by key. Both must read
  // exactly the same entries: own keys whose values are role lists, never inherited members.
  const names = fc.constantFrom('ws-1', 'ws-2', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'workspace-api', 'account')
  const entry = fc.tuple(names, fc.oneof(fc.constant(['ws_access']), fc.constant(['admin']), fc.constant([]), fc.constant(null)))
  const policy = workspaceApiPolicy()

  function clientRolesOf(entries: readonly (readonly [string, readonly string[] | null])[], proto: object | null): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(proto)
    for (const [client, roles] of entries) {
      const value = roles === null ? 'not a list' : roles.map((name) => ({ client, name, attributes: {}, via: [] }))
      Object.defineProperty(out, client, { value, enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  it('decides every path as the keyed lookup does, prototype members and __proto__ included', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), fc.boolean(), names, fc.constantFrom('GET', 'DELETE'), (entries, plainProto, target, method) => {
        const proto = plainProto ? Object.prototype : null
        const base = makePrincipal('u', {})
        const open = { ...base, clientRoles: clientRolesOf(entries, proto) } as Principal
        const frozen = { ...base, clientRoles: Object.freeze(clientRolesOf(entries, proto)) } as Principal
        for (const path of [`/workspaces/${target}/files`, `/x/../workspaces/${target}`, '/anything']) {
          const a = policy.check({ method, path }, open)
          const b = policy.check({ method, path }, frozen)
          expect(JSON.parse(JSON.stringify(b))).toEqual(JSON.parse(JSON.stringify(a)))
        }
      }),
      { numRuns: 1_500 },
    )
  })

  it('is built once per frozen object and not used for one that was not frozen when first seen', () => {
    const roles = Object.freeze([{ client: 'ws-1', name: 'ws_access', attributes: {}, via: [] }])
    const clientRoles = { 'ws-1': roles } as Record<string, readonly EffectiveRole[]>
    const principal = { ...makePrincipal('u', {}), clientRoles }
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-1/x' }, principal).allowed).toBe(true)
    // Mutated after a decision: an unfrozen object is read by key every time, so the change is seen.
    delete clientRoles['ws-1']
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-1/x' }, principal).reason).toBe('NO_CLIENT_ENTRY')
    Object.freeze(clientRoles)
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-1/x' }, principal).reason).toBe('NO_CLIENT_ENTRY')
  })
})
