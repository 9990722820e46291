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
