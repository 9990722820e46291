import { describe, expect, it } from 'vitest'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { binderhub, realmPath } from '../../examples/binderhub/binderhub.js'

describe('examples/binderhub', async () => {
  const source = await RealmExportSource.fromFile(realmPath)
  const alice = await source.resolve('alice')
  const bob = await source.resolve('bob')
  const carol = await source.resolve('carol')

  it('grants build on a repository of the team through the group role', () => {
    const d = binderhub.check(alice, 'build', 'gitlab.example.com/team/proj')
    expect(d).toMatchObject({ allowed: true, reason: 'COMPONENT_GRANT', rule: 'binderhub:team-builders' })
    expect(d.grant).toEqual({
      action: 'build',
      pattern: 'gitlab.example.com/team/*',
      item: 'build!repo=gitlab.example.com/team/*',
      role: { client: 'binderhub', name: 'team-builders' },
    })
    expect(binderhub.explain(d)).toBe(
      'alice → /team → binderhub:team-builders → "build!repo=gitlab.example.com/team/*" → gitlab.example.com/team/*: build → gitlab.example.com/team/proj (allowed: COMPONENT_GRANT)',
    )
  })

  it('matches segment-wise: neither deeper nor shallower repositories', () => {
    expect(binderhub.check(alice, 'build', 'gitlab.example.com/team/sub/proj').reason).toBe('NO_GRANT')
    expect(binderhub.check(alice, 'build', 'gitlab.example.com/team').reason).toBe('NO_GRANT')
    expect(binderhub.check(alice, 'build', 'gitlab.example.com/teamX/proj').reason).toBe('NO_GRANT')
  })

  it('keeps actions apart', () => {
    expect(binderhub.check(alice, 'launch', 'github.com/demos/intro').allowed).toBe(true)
    expect(binderhub.check(alice, 'build', 'github.com/demos/intro').allowed).toBe(false)
  })

  it('rejects a role with a malformed item as a whole, with a diagnostic naming role and item', () => {
    const { grants, diagnostics } = binderhub.grants(bob)
    expect(grants).toEqual([])
    expect(diagnostics).toHaveLength(1)
    expect(diagnostics[0]).toMatchObject({
      severity: 'error',
      code: 'COMPONENT_ROLE_REJECTED',
      subject: { role: { client: 'binderhub', name: 'typo-role' }, attribute: 'scopes', component: 'binderhub', item: ' launch!repo=gitlab.example.com/lab/*' },
      details: { items: [{ item: ' launch!repo=gitlab.example.com/lab/*', reason: 'whitespace' }] },
    })
    const d = binderhub.check(bob, 'build', 'gitlab.example.com/lab/x')
    expect(d.allowed).toBe(false)
    expect(d.diagnostics?.[0]?.code).toBe('COMPONENT_ROLE_REJECTED')
  })

  it('ignores roles selected for another component', () => {
    expect(binderhub.check(bob, 'build', 'gitlab.example.com/team/proj').allowed).toBe(false)
  })

  it('denies by default and filters with the same decision', () => {
    expect(binderhub.check(carol, 'build', 'gitlab.example.com/team/proj').reason).toBe('NO_GRANT')
    const repos = ['gitlab.example.com/team/a', 'gitlab.example.com/team/a/b', 'github.com/demos/x', 'gitlab.example.com/team/b']
    for (const user of [alice, bob, carol]) {
      for (const action of ['build', 'launch'] as const) {
        expect(binderhub.filter(user, action, repos)).toEqual(repos.filter((r) => binderhub.check(user, action, r).allowed))
      }
    }
    expect(binderhub.filter(alice, 'build', repos)).toEqual(['gitlab.example.com/team/a', 'gitlab.example.com/team/b'])
  })
})
