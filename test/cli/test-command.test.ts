import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parse as parseJUnit } from 'junit2json'
import { describe, expect, it } from 'vitest'
import { cli, tempFile } from './helpers.js'

const EXAMPLE = resolve(import.meta.dirname, '../../examples/permission-tests/access.yaml')
const REALM_WITH_DISABLED = resolve(import.meta.dirname, '../fixtures/realm-with-disabled-user.json')

describe('keycloak-permissions test', () => {
  it('passes the bundled example on the bundled realm: exit 0, one line per case, the totals', () => {
    const res = cli(['test', EXAMPLE])
    expect(res.stderr).toBe('')
    expect(res.status).toBe(0)
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines.filter((l) => l.startsWith('ok   '))).toHaveLength(8)
    expect(lines.at(-1)).toBe('8 passed, 0 failed')
  })

  it('a failing case: exit 1, the user, the answer and the chain that made it', () => {
    const file = tempFile('fail.yaml', 'cases:\n  - name: dave reads ml\n    user: dave\n    condaStore: environment::read ml/torch\n    expect: deny\n')
    const res = cli(['test', file])
    expect(res.status).toBe(1)
    expect(res.stdout).toContain(`FAIL ${file}:2 dave reads ml`)
    expect(res.stdout).toMatch(/dave: allowed BINDING_GRANTS, expected deny\n {9}dave → .*ml\/torch/)
    const explain = cli(['explain', '--user', 'dave', '--conda-store', 'environment::read', 'ml/torch', '--json']).json()
    expect(explain.allowed).toBe(true)
  })

  it('answers as check does, case by case (--json against check --json)', () => {
    const report = cli(['test', '--json', EXAMPLE]).json()
    const bob = report.files[0].cases.find((c: any) => c.case.user === 'bob' && c.case.route === 'GET /workspaces/ws-beta')
    const check = cli(['check', '--user', 'bob', '--route', 'GET', '/workspaces/ws-beta', '--json']).json()
    expect(bob.outcomes[0]).toMatchObject({ user: 'bob', allowed: check.allowed, reason: check.reason })
    expect([report.passed, report.failed]).toEqual([8, 0])
  })

  it('JUnit output parses back; several files are several suites', async () => {
    const failing = tempFile('second.yaml', 'cases:\n  - user: alice\n    jupyterhub: admin:users\n    expect: allow\n')
    const res = cli(['test', '--format', 'junit', EXAMPLE, failing])
    expect(res.status).toBe(1)
    const parsed = (await parseJUnit(res.stdout)) as any
    expect(parsed).toMatchObject({ tests: 9, failures: 1 })
    expect(parsed.testsuite.map((s: any) => [s.tests, s.failures])).toEqual([[8, 0], [1, 1]])
    expect(parsed.testsuite[1].testcase[0].failure[0].inner).toContain('alice: denied SCOPE_NOT_HELD')
    const out = tempFile('x.xml', '')
    expect(cli(['test', '--format', 'junit', '--out', out, EXAMPLE]).status).toBe(0)
    expect(readFileSync(out, 'utf8')).toContain('<testsuites name="keycloak-permissions" tests="8" failures="0"')
  })

  it('input errors exit 2 naming the file and line, before any case runs', () => {
    const good = tempFile('good.yaml', 'cases:\n  - user: bob\n    route: GET /workspaces/ws-alpha\n    expect: allow\n')
    const bad = tempFile('bad.yaml', 'cases:\n  - user: bob\n    route: GET /workspaces/ws-alpha\n    expect: allow\n  - members: /nope\n    condaStore: environment::read ml/torch\n    expect: deny\n')
    const res = cli(['test', good, bad])
    expect(res.status).toBe(2)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain(`${bad} line 5`)
    expect(res.stderr).toContain('unknown group "/nope"')
    const typo = cli(['test', tempFile('t.yaml', 'cases:\n  - user: bob\n    condaStore: environment::reed ml/torch\n    expect: deny\n')])
    expect([typo.status, typo.stderr]).toEqual([2, expect.stringMatching(/line 2.*unknown conda-store permission "environment::reed"/)])
    expect(cli(['test']).status).toBe(2)
    expect(cli(['test', '/nonexistent.yaml']).stderr).toMatch(/cannot read it/)
    expect(cli(['test', '--format', 'xml', good]).status).toBe(2)
  })

  it('a disabled account is denied in tests too (USER_DISABLED), unless --include-disabled', () => {
    const file = tempFile('frank.yaml', 'cases:\n  - user: frank\n    route: GET /workspaces/ws-beta\n    expect: deny\n    reason: USER_DISABLED\n')
    expect(cli(['test', '--realm', REALM_WITH_DISABLED, file]).status).toBe(0)
    expect(cli(['test', '--realm', REALM_WITH_DISABLED, '--include-disabled', file]).status).toBe(1)
  })

  it('every user excludes service accounts (Keycloak leaves them out of its user listing)', () => {
    const file = tempFile('all.yaml', 'cases:\n  - everyone: true\n    route: GET /workspaces/ws-alpha\n    expect: deny\n')
    const report = cli(['test', '--json', file]).json()
    expect(report.files[0].cases[0].outcomes.map((o: any) => o.user)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin'])
  })

  it('--config FILE: the configuration\'s source and components apply', () => {
    const dir = dirname(tempFile('realm.json', readFileSync(resolve(import.meta.dirname, '../../examples/binderhub/realm.json'), 'utf8')))
    const config = join(dir, 'kp.json')
    writeFileSync(config, JSON.stringify({ source: { realmFile: 'realm.json' }, components: { custom: [{ name: 'binderhub', actions: ['build', 'launch'], resourceKind: 'repo', clients: ['binderhub'] }] } }))
    const cases = join(dir, 'binder.yaml')
    writeFileSync(cases, 'cases:\n  - members: /team\n    component: binderhub build gitlab.example.com/team/proj\n    expect: allow\n  - user: bob\n    component: binderhub build gitlab.example.com/lab/proj\n    expect: deny\n')
    const res = cli(['test', '--config', config, '--json', cases])
    expect([res.status, res.stderr]).toEqual([0, ''])
    expect(res.json()).toMatchObject({ source: `realm export ${join(dir, 'realm.json')}`, passed: 2, failed: 0 })
    // Without it: the bundled realm (no /team group, no binderhub component): an input error naming the line.
    expect(cli(['test', cases]).stderr).toMatch(/line 2.*unknown group "\/team"/)
  })
})
