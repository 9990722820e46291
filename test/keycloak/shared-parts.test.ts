/**
 * SharedParts: equal parts are one frozen object; the table is bounded (past `max`, parts are built
 * and frozen but not shared, and equal to the shared ones); records stay plain records whichever way
 * they are built.
 */
import { describe, expect, it } from 'vitest'
import type { EffectiveRole, RoleAttributes, RoleVia } from '../../src/core/principal.js'
import { NO_CLIENT_ROLES, NO_GROUPS, NO_ROLES, RECORD_SHAPES_MAX, SharedParts } from '../../src/keycloak/shared-parts.js'

const scopes: RoleAttributes = Object.freeze({ scopes: Object.freeze(['admin!namespace=ml']) })
const viaGroup = (member: string): RoleVia => ({ kind: 'group', group: '/projects', member })

describe('SharedParts', () => {
  it('returns one frozen object for equal roles, and different ones when provenance differs', () => {
    const shared = new SharedParts(1_000)
    const a = shared.role({ client: 'conda_store', name: 'ml' }, scopes, [viaGroup('/projects/ml')])
    const b = shared.role({ client: 'conda_store', name: 'ml' }, scopes, [{ ...viaGroup('/projects/ml') }])
    const c = shared.role({ client: 'conda_store', name: 'ml' }, scopes, [viaGroup('/projects/ai')])
    expect(a).toBe(b)
    expect(a).not.toBe(c)
    expect(a).toStrictEqual({ client: 'conda_store', name: 'ml', attributes: scopes, via: [viaGroup('/projects/ml')] })
    expect([a, a.via, a.via[0]].every(Object.isFrozen)).toBe(true)
    // A realm role has no `client` key at all.
    expect(Object.keys(shared.role({ name: 'offline_access' }, scopes, [{ kind: 'default' }]))).toEqual(['name', 'attributes', 'via'])
  })

  it('shares a composite parent reference as a frozen copy', () => {
    const shared = new SharedParts(1_000)
    const parent = { client: 'jupyterhub', name: 'admin' }
    const role = shared.role({ client: 'jupyterhub', name: 'dev' }, scopes, [{ kind: 'composite', parent }])
    const via = role.via[0] as Extract<RoleVia, { kind: 'composite' }>
    expect(via.parent).toStrictEqual(parent)
    expect(via.parent).not.toBe(parent)
    expect(Object.isFrozen(via.parent)).toBe(true)
  })

  it('shares lists of shared parts and the empty ones', () => {
    const shared = new SharedParts(1_000)
    const role = shared.role({ client: 'c', name: 'r' }, scopes, [{ kind: 'direct' }])
    expect(shared.roles([role])).toBe(shared.roles([role]))
    expect(shared.roles([])).toBe(NO_ROLES)
    expect(shared.groups(['/a', '/b'])).toBe(shared.groups(['/a', '/b']))
    expect(shared.groups(['/a', '/b'])).not.toBe(shared.groups(['/a/b']))
    expect(shared.groups([])).toBe(NO_GROUPS)
    expect(shared.clientRoles([])).toBe(NO_CLIENT_ROLES)
    const record = shared.clientRoles([['c', shared.roles([role])]])
    expect(record).toBe(shared.clientRoles([['c', shared.roles([role])]]))
    expect(Object.isFrozen(record)).toBe(true)
  })

  it('stops sharing at max, still building equal frozen parts', () => {
    const bounded = new SharedParts(5)
    const unbounded = new SharedParts(1_000)
    const build = (shared: SharedParts, i: number) => {
      const role = shared.role({ client: `ws-${i}`, name: 'ws_access' }, scopes, [viaGroup(`/projects/p${i}`)])
      return shared.clientRoles([[`ws-${i}`, shared.roles([role])]])
    }
    for (let i = 0; i < 50; i++) {
      const record = build(bounded, i)
      expect(record).toStrictEqual(build(unbounded, i))
      expect(Object.isFrozen(record)).toBe(true)
      expect(Object.isFrozen(record[`ws-${i}`])).toBe(true)
    }
    expect(bounded.size).toBe(5)
    // Past the bound, equal parts are no longer one object.
    expect(build(bounded, 49)).not.toBe(build(bounded, 49))
  })

  it('starts over when full in restart mode, never answering with a part built for other ids', () => {
    for (const max of [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]) {
      const shared = new SharedParts(max, 'restart')
      for (let n = 0; n < 120; n++) {
        const i = (n * 7) % 13
        const via = [viaGroup(`/projects/p${i % 5}`)]
        const role = shared.role({ client: `ws-${i}`, name: 'ws_access' }, scopes, via)
        expect(role).toStrictEqual({ client: `ws-${i}`, name: 'ws_access', attributes: scopes, via })
        const list = shared.roles([role])
        expect(list).toStrictEqual([role])
        const record = shared.clientRoles([[`ws-${i}`, list]])
        expect(Object.keys(record)).toEqual([`ws-${i}`])
        expect(record[`ws-${i}`]![0]).toStrictEqual(role)
        expect(shared.words(`scope-${i} profile`)).toStrictEqual([`scope-${i}`, 'profile'])
        expect(shared.size).toBeLessThanOrEqual(max)
      }
    }
    // Right after a start-over, equal parts are shared again.
    const shared = new SharedParts(7, 'restart')
    const role = shared.role({ name: 'r' }, scopes, [{ kind: 'direct' }])
    expect(shared.role({ name: 'r' }, scopes, [{ kind: 'direct' }])).toBe(role)
  })

  it('builds records past the hidden-class bound as plain records too, "__proto__" included', () => {
    const shared = new SharedParts(100_000)
    const role = (client: string) => shared.role({ client, name: 'r' }, scopes, [{ kind: 'direct' }])
    const record = (i: number) =>
      shared.clientRoles([
        ['__proto__', shared.roles([role('__proto__')])],
        [`ws-${i}`, shared.roles([role(`ws-${i}`)])],
      ])
    const first = record(0)
    for (let i = 1; i < RECORD_SHAPES_MAX + 10; i++) record(i)
    const late = record(RECORD_SHAPES_MAX + 5)
    for (const r of [first, late]) {
      expect(Object.getPrototypeOf(r)).toBe(Object.prototype)
      expect(Object.keys(r)).toEqual(['__proto__', expect.stringMatching(/^ws-/)])
      expect(Object.hasOwn(r, '__proto__')).toBe(true)
      expect(r['__proto__']![0]!.client).toBe('__proto__')
      expect(Object.isFrozen(r)).toBe(true)
      expect(JSON.stringify(r)).toMatch(/^\{"__proto__":\[\{"client":"__proto__","name":"r"/)
    }
    expect(Object.keys(late)[1]).toBe(`ws-${RECORD_SHAPES_MAX + 5}`)
    expect((late as Record<string, readonly EffectiveRole[]>)[`ws-${RECORD_SHAPES_MAX + 5}`]![0]!.client).toBe(`ws-${RECORD_SHAPES_MAX + 5}`)
  })
})
