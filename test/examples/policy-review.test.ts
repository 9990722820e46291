import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXAMPLE_QUESTIONS, EXAMPLE_REALM, reviewRealm } from '../../examples/policy-review/review.js'
import { runExample } from './run-example.js'

describe('examples/policy-review', () => {
  it('runs lint and explain through the built CLI and prints the findings', () => {
    const run = runExample('policy-review/review.ts')
    expect(run.status, run.stderr).toBe(0)
    expect(run.lines).toContain('# examples/realm/example-realm.json')
    expect(run.lines).toContain('lint: 1 error(s), 0 warning(s) (exit 1)')
    expect(run.stdout).toContain('error NEBARI_SCOPE_ROLE_REJECTED: role conda_store/broken-scopes grants nothing')
    expect(run.stdout).toContain('error COMPONENT_ROLE_REJECTED: binderhub/typo-role')
    expect(run.lines).toContain('may bob update ml/torch? allowed (exit 0)')
    expect(run.lines).toContain('  bob → /projects/ml → conda_store/ml-team-scopes → admin!namespace=ml → ml/*: admin → ml/torch (allowed: BINDING_GRANTS)')
    expect(run.lines).toContain('may alice call GET /workspaces/ws-alpha? denied (exit 1)')
    expect(run.lines.at(-1)).toBe('2 lint error(s) in 2 realm(s)')
  })

  it('--strict is a CI gate: exit 1 while lint reports errors', () => {
    expect(runExample('policy-review/review.ts', ['--strict']).status).toBe(1)
  })

  it('a fixed realm lints clean (exit 0); the example realm reports exactly its one broken role', () => {
    const realm = JSON.parse(readFileSync(EXAMPLE_REALM, 'utf8'))
    const broken = realm.roles.client.conda_store.find((r: any) => r.name === 'broken-scopes')
    broken.attributes.scopes = ['developer!namespace=ml,viewer!namespace=global']
    const file = join(mkdtempSync(join(tmpdir(), 'kp-review-')), 'realm.json')
    writeFileSync(file, JSON.stringify(realm))
    const question = { question: 'may dave read global/shared-tools?', args: ['--user', 'dave', '--conda-store', 'environment::read', 'global/shared-tools'] }
    const fixed = reviewRealm(file, [question])
    expect([fixed.errors, fixed.lintStatus]).toEqual([0, 0])
    expect(fixed.byRole).toEqual({})
    expect(fixed.decisions[0]!.decision.allowed).toBe(true)
    const before = reviewRealm(EXAMPLE_REALM, EXAMPLE_QUESTIONS)
    expect([before.errors, before.lintStatus]).toEqual([1, 1])
    expect(Object.keys(before.byRole)).toEqual(['conda_store/broken-scopes'])
    expect(before.decisions.map((d) => [d.decision.allowed, d.status])).toEqual([
      [true, 0],
      [false, 1],
      [true, 0],
      [false, 1],
    ])
  })
})
