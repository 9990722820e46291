import { describe, expect, it } from 'vitest'
import { InvalidOptionsError, type Principal } from '../../src/index.js'
import { defineComponent, parseItems } from '../../src/components/index.js'

function principal(roles: { client?: string; name: string; attributes: Record<string, string[]> }[]): Principal {
  const clientRoles: Record<string, Principal['clientRoles'][string]> = {}
  const realmRoles: Principal['realmRoles'][number][] = []
  for (const r of roles) {
    const role = { ...r, via: [] as const }
    if (r.client === undefined) realmRoles.push(role)
    else clientRoles[r.client] = [...(clientRoles[r.client] ?? []), role]
  }
  return {
    realm: 'r', userId: 'u', username: 'u', groups: [], realmRoles, clientRoles,
    complete: { groups: true, realmRoles: true, attributes: true, provenance: true },
    origin: { kind: 'realm-export', resolvedAt: 0, cached: false, stale: false },
    diagnostics: [],
  }
}

const items = (scopes: string, extra: Record<string, string[]> = {}) => ({ component: ['datasets'], scopes: [scopes], ...extra })

describe('defineComponent', () => {
  const datasets = defineComponent({ name: 'datasets', actions: ['read', 'write'], resourceKind: 'path', clients: ['data'] })

  it('validates the definition eagerly', () => {
    expect(() => defineComponent({ name: '', actions: ['a'], resourceKind: 'k' })).toThrow(InvalidOptionsError)
    expect(() => defineComponent({ name: 'x', actions: [], resourceKind: 'k' })).toThrow(/actions/)
    expect(() => defineComponent({ name: 'x', actions: ['a', 'a'], resourceKind: 'k' })).toThrow(/unique/)
    expect(() => defineComponent({ name: 'x', actions: ['a!b'], resourceKind: 'k' })).toThrow(/actions\[0\]/)
    expect(() => defineComponent({ name: 'x', actions: ['a'], resourceKind: 'k=' })).toThrow(/resourceKind/)
    expect(() => defineComponent({ name: 'x', actions: ['a'], resourceKind: 'k', clients: [] })).toThrow(/clients/)
    expect(() => defineComponent({ name: 'x', actions: ['a'], resourceKind: 'k', grammar: 'loose' as never })).toThrow(/grammar/)
    expect(() => defineComponent({ name: 'x', actions: ['a'], resourceKind: 'k', colour: 1 } as never)).toThrow(/colour/)
    try {
      defineComponent({ name: 'x', actions: ['a'], resourceKind: 'k', match: 'glob' as never })
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError)
      expect((err as InvalidOptionsError).option).toBe('match')
    }
  })

  it('reads only roles of the configured clients selected by the component attribute', () => {
    const p = principal([
      { client: 'data', name: 'a', attributes: items('read!path=lake/*') },
      { client: 'other', name: 'b', attributes: items('write!path=lake/*') },
      { client: 'data', name: 'c', attributes: { component: ['jupyterhub'], scopes: ['write!path=lake/*'] } },
      { name: 'realm', attributes: items('write!path=lake/*') },
    ])
    expect(datasets.grants(p).grants.map((g) => `${g.role.client}/${g.role.name}:${g.action}`)).toEqual(['data/a:read'])
    expect(datasets.check(p, 'write', 'lake/x').allowed).toBe(false)
    const anyClient = defineComponent({ name: 'datasets', actions: ['read', 'write'], resourceKind: 'path' })
    expect(anyClient.grants(p).grants.map((g) => g.role.name)).toEqual(['realm', 'a', 'b'])
  })

  it('reports every bad item of a strict role and drops the role', () => {
    const p = principal([{ client: 'data', name: 'bad', attributes: items('read!path=lake/*,,delete!path=x,read!bucket=y,read,read!path=,read!path=a//b') }])
    const { grants, diagnostics } = datasets.grants(p)
    expect(grants).toEqual([])
    expect(diagnostics[0]?.details?.['items']).toEqual([
      { item: '', reason: 'empty' },
      { item: 'delete!path=x', reason: 'action' },
      { item: 'read!bucket=y', reason: 'kind' },
      { item: 'read', reason: 'syntax' },
      { item: 'read!path=', reason: 'pattern' },
      { item: 'read!path=a//b', reason: 'pattern' },
    ])
  })

  it('lenient grammar trims, skips empty items and drops only bad items', () => {
    const lenient = defineComponent({ name: 'datasets', actions: ['read', 'write'], resourceKind: 'path', grammar: 'lenient' })
    const p = principal([{ client: 'data', name: 'mixed', attributes: items(' read!path=lake/* ,, write!path=x y,write!path=lake/out ') }])
    const { grants, diagnostics } = lenient.grants(p)
    expect(grants.map((g) => `${g.action} ${g.pattern}`)).toEqual(['read lake/*', 'write lake/out'])
    expect(diagnostics.map((d) => [d.code, d.subject.item, d.details?.['reason']])).toEqual([['COMPONENT_ITEM_SKIPPED', 'write!path=x y', 'whitespace']])
  })

  it('reads every value of the attribute', () => {
    const p = principal([{ client: 'data', name: 'two', attributes: { component: ['datasets'], scopes: ['read!path=a/*', 'write!path=b/*'] } }])
    expect(datasets.check(p, 'write', 'b/1').allowed).toBe(true)
    expect(datasets.check(p, 'read', 'a/1').allowed).toBe(true)
  })

  it('an unknown action is a usage error naming the valid actions, not a denial', () => {
    const p = principal([{ client: 'data', name: 'a', attributes: items('read!path=*') }])
    expect(() => datasets.check(p, 'delete' as 'read', 'x')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_NAME', given: 'delete', known: datasets.actions }))
    expect(() => datasets.filter(p, 'delete' as 'read', ['x'])).toThrow(/unknown action of component .* "delete" \(valid: /)
  })

  it('accepts a custom parser and matcher', () => {
    const prefix = defineComponent({
      name: 'buckets',
      actions: ['get'],
      resourceKind: 'bucket',
      componentValue: 'object-store',
      attribute: 'buckets',
      parse: (value) => value.split(' ').map((name) => (name.startsWith('@') ? { item: name, problem: 'syntax' } : { item: name, action: 'get', pattern: name })),
      match: (pattern, resource) => resource === pattern || resource.startsWith(`${pattern}.`),
    })
    const p = principal([{ client: 's3', name: 'r', attributes: { component: ['object-store'], buckets: ['logs raw'] } }])
    expect(prefix.check(p, 'get', 'logs.2026').allowed).toBe(true)
    expect(prefix.check(p, 'get', 'logsX').allowed).toBe(false)
    const bad = principal([{ client: 's3', name: 'r', attributes: { component: ['object-store'], buckets: ['logs @x'] } }])
    expect(prefix.check(bad, 'get', 'logs').allowed).toBe(false)
    expect(prefix.grants(bad).diagnostics[0]?.code).toBe('COMPONENT_ROLE_REJECTED')
  })
})

describe('parseItems', () => {
  it('does not trim in strict mode', () => {
    expect(parseItems('build!repo=a/*, launch!repo=b', 'repo', 'strict')).toEqual([
      { item: 'build!repo=a/*', action: 'build', pattern: 'a/*' },
      { item: ' launch!repo=b', problem: 'whitespace' },
    ])
  })
})

describe('lint over a realm\'s roles', () => {
  it('reports the malformed roles the component reads, and only those', async () => {
    const { defineComponent } = await import('../../src/components/index.js')
    const c = defineComponent({ name: 'binderhub', actions: ['build'], resourceKind: 'repo', clients: ['binderhub'] })
    const found = c.lint([
      { client: 'binderhub', name: 'ok', attributes: { component: ['binderhub'], scopes: ['build!repo=a/*'] } },
      { client: 'binderhub', name: 'bad', attributes: { component: ['binderhub'], scopes: ['build!repo=a/*, build!repo=b/*'] } },
      { client: 'other', name: 'bad-elsewhere', attributes: { component: ['binderhub'], scopes: ['nonsense'] } },
      { client: 'binderhub', name: 'not-selected', attributes: { component: ['jupyterhub'], scopes: ['nonsense'] } },
    ])
    expect(found.map((d) => [d.code, d.subject.role?.name])).toEqual([['COMPONENT_ROLE_REJECTED', 'bad']])
  })
})
