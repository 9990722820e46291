import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CondaStorePermissions } from '../../src/conda-store/index.js'

// explainEnvironments keeps, per namespace, the grant of each name-dependent binding that alone gives
// `environment::read` there (shared by the environments it matches), and decides name-dependent reads
// with one match. These tests put several such bindings in the same namespaces, overlapping, with and
// without a namespace-wide read, and compare every entry with explain() on a fresh set.

const roles = ['viewer', 'developer', 'admin'] as const

function deployment(): Record<string, string[]> {
  const b: Record<string, string[]> = {}
  for (let i = 0; i < 12; i++) b[`*/shared-${i}`] = [roles[i % 3]!]
  // Two name-only grants that both match `pair-k` names (`*/pair-*` and `*/pair-k`), and one without read.
  b['*/pair-*'] = ['viewer']
  for (let i = 0; i < 4; i++) b[`*/pair-${i}`] = ['developer']
  b['*/listed-only'] = []
  for (let i = 0; i < 10; i++) b[`team-${i}/env-${i % 4}`] = ['admin']
  for (let i = 0; i < 10; i += 2) b[`team-${i}/*`] = [roles[i % 3]!]
  b['proj-*/*'] = ['viewer']
  b['proj-1/e*'] = ['developer']
  return b
}

function environments(): string[] {
  const names = [...Array.from({ length: 12 }, (_, i) => `shared-${i}`), ...Array.from({ length: 6 }, (_, i) => `pair-${i}`), 'listed-only', 'env-0', 'env-1', 'env-2', 'env-3', 'other', 'e1']
  const out: string[] = []
  for (const ns of [...Array.from({ length: 10 }, (_, i) => `team-${i}`), 'proj-1', 'proj-2', 'nobody']) for (const n of names) out.push(`${ns}/${n}`)
  return out
}

describe('explainEnvironments with several name-dependent grants per namespace', () => {
  it('gives each environment the bindings and decision explain() gives, on first and later calls, in any order', () => {
    const bindings = deployment()
    const envs = environments()
    const perms = CondaStorePermissions.create({ primaryNamespace: 'alice', roleBindings: bindings })
    const reference = CondaStorePermissions.create({ primaryNamespace: 'alice', roleBindings: bindings })
    let nameDependent = 0
    for (const xs of [envs, [...envs].reverse(), envs]) {
      const explained = perms.explainEnvironments(xs)
      expect(explained.map((a) => a.environment)).toEqual(xs.filter((e) => reference.can('environment::read', e)))
      for (const a of explained) {
        const fresh = reference.explain('environment::read', a.environment)
        expect(a.bindings).toEqual(fresh.grant)
        expect(JSON.stringify(a.decision)).toBe(JSON.stringify(fresh))
        if (a.bindings.some((b) => !b.arn.endsWith('/*'))) nameDependent++
      }
    }
    // The comparison covered many name-dependent grants (not only namespace-wide ones).
    expect(nameDependent).toBeGreaterThan(300)
  })

  it('shares one frozen grant among the environments one name-only binding lets through in a namespace', () => {
    const perms = CondaStorePermissions.create({ primaryNamespace: 'alice', roleBindings: { 'ml/*': ['viewer'], '*/gpu-*': ['developer'], 'ml/cpu': ['admin'] } })
    const [a, b, c] = perms.explainEnvironments(['ml/gpu-a', 'ml/gpu-b', 'ml/cpu'])
    expect(a!.bindings.map((x) => x.arn)).toEqual(['ml/*', '*/gpu-*'])
    expect(b!.bindings).toBe(a!.bindings)
    expect(Object.isFrozen(a!.bindings)).toBe(true)
    expect(c!.bindings.map((x) => x.arn)).toEqual(['ml/*', 'ml/cpu'])
  })
})

// A property over random mixed deployments: exact `ns/*`, wildcard-namespace, per-environment, name-only
// (`*/name`) and wildcard-name grants, with empty role sets, over few namespaces (so a listing meets the
// same namespace with different name-dependent grants) and names that agree in length, first and last
// character modulo 32 while differing (`e0`, `eP`, `ep`; `a`, `A`): the name pre-check must turn none of
// them away wrongly, and no binding list may be shared between environments whose grants differ.
const namespaces = ['team-1', 'team-2', 'proj-a', 'proj-b', 'ml'] as const
const names = ['env-1', 'env-2', 'env-P', 'env-p', 'env-0', 'e0', 'eP', 'ep', 'a', 'A', 'shared', 'sharee', 'Shared', 'x'] as const
const arnOf = fc.oneof(
  fc.constantFrom(...namespaces).map((ns) => `${ns}/*`),
  fc.constantFrom('proj-*/*', 'team-*/*', '*/*', '*-1/*', 't*/*'),
  fc.tuple(fc.constantFrom(...namespaces), fc.constantFrom(...names)).map(([ns, n]) => `${ns}/${n}`),
  fc.constantFrom(...names).map((n) => `*/${n}`),
  fc.constantFrom('*/env-*', '*/e*', 'ml/e*', 'team-*/env-*', '*/*P', 'proj-*/a', '*/*-1'),
)
const mixedBindings = fc.dictionary(arnOf, fc.subarray(['viewer', 'developer', 'admin']), { maxKeys: 12 })
const mixedEnvironments = fc.array(
  fc.tuple(fc.constantFrom(...namespaces, 'other'), fc.constantFrom(...names)).map(([ns, n]) => `${ns}/${n}`),
  { maxLength: 60 },
)

/** The literal rule, written separately from the library's matcher: `*` matches any run of characters. */
function glob(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) (p++, t++)
    else if (p < pattern.length && pattern[p] === '*') (star = p++, (resume = t))
    else if (star >= 0) (p = star + 1), (t = ++resume)
    else return false
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** The ARNs that grant `environment::read` on `ns/name`, in merge order, by the oracle above (no metacharacters in these bindings). */
function oracleGrant(perms: CondaStorePermissions, environment: string): string[] {
  const slash = environment.indexOf('/')
  return perms.bindings
    .filter((b) => b.permissions.includes('environment::read'))
    .filter((b) => {
      const cut = b.arn.indexOf('/')
      return glob(b.arn.slice(0, cut), environment.slice(0, slash)) && glob(b.arn.slice(cut + 1), environment.slice(slash + 1))
    })
    .map((b) => b.arn)
}

describe('explainEnvironments over random mixed bindings', () => {
  it('gives every environment the bindings, decision and trace that explain() and check() give, whether or not the namespace cache is warm', () => {
    let sharedDifferently = 0
    fc.assert(
      fc.property(mixedBindings, mixedEnvironments, fc.boolean(), (b, xs, warm) => {
        const create = () => CondaStorePermissions.create({ primaryNamespace: 'alice', roleBindings: b }, { username: 'alice' })
        const perms = create()
        const reference = create()
        if (warm) perms.filterEnvironments([...xs].reverse())
        const explained = perms.explainEnvironments(xs)
        // Which environments, and with which bindings, by an oracle that shares no code with the matcher.
        expect(explained.map((a) => a.environment)).toEqual(xs.filter((e) => oracleGrant(reference, e).length > 0))
        expect(explained.map((a) => a.environment)).toEqual(xs.filter((e) => reference.can('environment::read', e)))
        const grantOf = new Map<string, string>()
        for (const a of explained) {
          expect(`${a.namespace}/${a.name}`).toBe(a.environment)
          const fresh = reference.explain('environment::read', a.environment)
          expect(a.bindings.map((x) => x.arn)).toEqual(oracleGrant(reference, a.environment))
          expect(a.bindings).toEqual(fresh.grant)
          expect(a.bindings).toEqual(reference.check('environment::read', a.environment).grant)
          expect(a.decision.trace).toEqual(fresh.trace)
          expect(JSON.stringify(a.decision)).toBe(JSON.stringify(fresh))
          expect(JSON.stringify(a)).toBe(JSON.stringify({ environment: a.environment, namespace: a.namespace, name: a.name, bindings: fresh.grant, decision: fresh }))
          // Count namespaces where environments got different grants in one listing (the sharing this test guards).
          const arns = a.bindings.map((x) => x.arn).join(' ')
          const seen = grantOf.get(a.namespace)
          if (seen === undefined) grantOf.set(a.namespace, arns)
          else if (seen !== arns) sharedDifferently++
        }
      }),
      { numRuns: 600 },
    )
    expect(sharedDifferently).toBeGreaterThan(40)
  })
})
