import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseJUnit } from 'junit2json'
import { describe, expect, it } from 'vitest'
import { createRegistry, type ComponentRegistry } from '../../src/components/index.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import type { Principal } from '../../src/core/principal.js'
import {
  ExpectationsInvalidError,
  parseExpectations,
  renderExpectationsJUnit,
  renderExpectationsText,
  runExpectations,
  type ExpectationsReport,
} from '../../src/review/index.js'
import { generateRealm } from './generate-realm.js'

const realm = RealmExportSource.example()
const principals = realm.usernames().map((u) => realm.resolveSync(u))
const registry = createRegistry({ components: [{ name: 'binderhub', actions: ['build'], resourceKind: 'repo' }] }, { groupsOf: (u) => realm.resolveSync(u).groups })
const run = async (yaml: string, over: readonly Principal[] = principals, reg: ComponentRegistry = registry) =>
  runExpectations(parseExpectations(yaml, 'access.yaml'), { principals: over, registry: reg })
const failure = (yaml: string) => run(yaml).then(() => undefined, (e: unknown) => e)

describe('runExpectations', () => {
  // Every subject kind × every check kind: each user's outcome is exactly the registry's own answer
  // (the same check `check` and `serve` make), and only the selected users are covered.
  const checks = {
    route: 'route: GET /workspaces/ws-alpha/files',
    condaStore: 'condaStore: environment::read ml/torch',
    jupyterhub: 'jupyterhub: read:users\n    resource: user=alice',
    component: 'component: binderhub build gitlab.example.com/team/proj',
  }
  const requests = {
    route: { component: 'workspaces', action: 'GET', resource: '/workspaces/ws-alpha/files' },
    condaStore: { component: 'conda-store', action: 'environment::read', resource: 'ml/torch' },
    jupyterhub: { component: 'jupyterhub', action: 'read:users', resource: 'user=alice' },
    component: { component: 'binderhub', action: 'build', resource: 'gitlab.example.com/team/proj' },
  }
  const subjects: Record<string, [string, (p: Principal) => boolean]> = {
    user: ['user: bob', (p) => p.username === 'bob'],
    users: ['users: [alice, Dave]', (p) => ['alice', 'dave'].includes(p.username)],
    members: ['members: /projects', (p) => p.groups.some((g) => g.startsWith('/projects/') || g === '/projects')],
    outside: ['outside: /projects', (p) => !p.groups.some((g) => g.startsWith('/projects/') || g === '/projects')],
    everyone: ['everyone: true', () => true],
    except: ['everyone: true\n    except: [carol, erin]', (p) => !['carol', 'erin'].includes(p.username)],
  }
  for (const [subjectKind, [subject, selects]] of Object.entries(subjects)) {
    for (const [checkKind, check] of Object.entries(checks)) {
      it(`${subjectKind} × ${checkKind}`, async () => {
        const report = await run(`cases:\n  - ${subject}\n    ${check}\n    expect: allow\n`)
        const covered = principals.filter(selects)
        expect(covered.length).toBeGreaterThan(0)
        const want = await Promise.all(covered.map((p) => registry.check(p, requests[checkKind as keyof typeof requests])))
        const outcomes = report.cases[0]!.outcomes
        expect(outcomes.map((o) => [o.user, o.allowed, o.reason, o.chain])).toEqual(covered.map((p, i) => [p.username, want[i]!.decision.allowed, want[i]!.decision.reason, want[i]!.chain]))
        expect(report.cases[0]!.passed).toBe(want.every((w) => w.decision.allowed))
        expect([report.passed, report.failed]).toEqual(report.cases[0]!.passed ? [1, 0] : [0, 1])
      })
    }
  }

  it('checks the reason when one is given', async () => {
    const right = await run('cases:\n  - user: bob\n    route: GET /workspaces/ws-beta\n    expect: deny\n    reason: NO_CLIENT_ENTRY\n')
    const wrong = await run('cases:\n  - user: bob\n    route: GET /workspaces/ws-beta\n    expect: deny\n    reason: METHOD_NEEDS_ROLE\n')
    expect([right.passed, wrong.failed]).toEqual([1, 1])
  })

  it('a quantified rule fails on exactly the users who break it, with their chains', async () => {
    const report = await run('cases:\n  - name: nobody outside /admin manages users\n    outside: /admin\n    jupyterhub: admin:users\n    expect: deny\n')
    const broken = report.cases[0]!.outcomes.filter((o) => !o.passed)
    expect(broken.map((o) => o.user)).toEqual(['carol'])
    const text = renderExpectationsText([report])
    expect(text).toContain('FAIL access.yaml:2 nobody outside /admin manages users [5 users]')
    expect(text).toContain(`carol: allowed SCOPE_HELD, expected deny\n         ${broken[0]!.chain}`)
    expect(text.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed')
  })

  it('the bundled example expectations pass on the bundled realm', async () => {
    const file = resolve(import.meta.dirname, '../../examples/permission-tests/access.yaml')
    const report = await runExpectations(parseExpectations(readFileSync(file, 'utf8'), file), { principals, registry })
    expect(report.cases.filter((c) => !c.passed).map((c) => c.name)).toEqual([])
    expect(report.cases.length).toBeGreaterThanOrEqual(8)
  })

  it('runs on a generated realm of 1,000 users: a rule over everyone covers all of them', async () => {
    const big = new RealmExportSource(generateRealm({ users: 1000, groups: 50, namespaces: 200, workspaces: 100 }))
    const all = big.usernames().map((u) => big.resolveSync(u))
    const reg = createRegistry()
    const report = await run('cases:\n  - everyone: true\n    condaStore: environment::read ns-0/env\n    expect: deny\n', all, reg)
    expect(report.cases[0]!.outcomes).toHaveLength(all.length)
    const answers = await Promise.all(all.map((p) => reg.check(p, { component: 'conda-store', action: 'environment::read', resource: 'ns-0/env' })))
    const allowed = all.filter((_, i) => answers[i]!.decision.allowed).map((p) => p.username)
    expect(allowed.length).toBeGreaterThan(0)
    expect(report.cases[0]!.outcomes.filter((o) => !o.passed).map((o) => o.user)).toEqual(allowed)
    expect(report.failed).toBe(1)
  }, 120_000)
})

describe('input errors name the line', () => {
  const cases: [string, string, number, RegExp][] = [
    ['unknown user', 'cases:\n  - user: bob\n    route: GET /x\n    expect: deny\n  - user: zed\n    route: GET /x\n    expect: deny\n', 5, /unknown user "zed"/],
    ['unknown user in except', 'cases:\n  - everyone: true\n    except: [nobody]\n    route: GET /x\n    expect: deny\n', 2, /unknown user "nobody"/],
    ['unknown group', 'cases:\n  - members: /projects/ai\n    route: GET /x\n    expect: deny\n', 2, /unknown group "\/projects\/ai"/],
    ['group basename instead of path', 'cases:\n  - outside: admin\n    route: GET /x\n    expect: deny\n', 2, /unknown group "admin" \(groups are full paths/],
    ['unknown conda-store permission', 'cases:\n  - user: bob\n    condaStore: environment::reed ml/torch\n    expect: allow\n', 2, /unknown conda-store permission "environment::reed".*valid:/],
    ['unknown JupyterHub scope', 'cases:\n  - user: bob\n    jupyterhub: read:usr\n    expect: allow\n', 2, /read:usr/],
    ['unknown component', 'cases:\n  - user: bob\n    component: binderhab build x/y\n    expect: allow\n', 2, /unknown component "binderhab".*valid:/],
    ['unknown component action', 'cases:\n  - user: bob\n    component: binderhub push x/y\n    expect: allow\n', 2, /push/],
    ['unknown HTTP method', 'cases:\n  - user: bob\n    route: FETCH /workspaces/ws-alpha\n    expect: allow\n', 2, /FETCH/],
    ['route with one word', 'cases:\n  - user: bob\n    route: /workspaces/ws-alpha\n    expect: allow\n', 2, /route \(METHOD PATH\) takes two words/],
    ['two subjects', 'cases:\n  - user: bob\n    members: /admin\n    route: GET /x\n    expect: allow\n', 2, /exactly one of user, users, members, outside, everyone/],
    ['no check', 'cases:\n  - user: bob\n    expect: allow\n', 2, /exactly one check/],
    ['bad expect', 'cases:\n  - user: bob\n    route: GET /x\n    expect: yes\n', 4, /expect/],
    ['unknown key', 'cases:\n  - user: bob\n    route: GET /x\n    expct: allow\n', 2, /expct/],
    ['resource without jupyterhub', 'cases:\n  - user: bob\n    route: GET /x\n    resource: user=a\n    expect: allow\n', 4, /resource goes with a jupyterhub check only/],
    ['YAML syntax', 'cases:\n  - user: bob\n    route: [GET\n', 4, /./],
    ['duplicate key', 'cases:\n  - user: bob\n    user: alice\n    route: GET /x\n    expect: allow\n', 3, /[Mm]ap keys must be unique/],
    ['no cases', 'cases: []\n', 1, /at cases/],
  ]
  it.each(cases)('%s', async (_what, yaml, line, message) => {
    const err = await failure(yaml)
    expect(err).toBeInstanceOf(ExpectationsInvalidError)
    expect(err).toMatchObject({ code: 'EXPECTATIONS_INVALID', file: 'access.yaml', line })
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).toContain(`access.yaml line ${line}`)
  })

  it('JSON files work, with lines', async () => {
    const json = JSON.stringify({ cases: [{ user: 'bob', route: 'GET /workspaces/ws-alpha/files', expect: 'allow' }, { user: 'nobody', route: 'GET /x', expect: 'deny' }] }, null, 2)
    const err = await run(json).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'EXPECTATIONS_INVALID', line: 8 })
  })
})

describe('JUnit output', () => {
  it('parses back with a JUnit parser: suites, cases, failures with the chain', async () => {
    const passing = await run('cases:\n  - user: bob\n    condaStore: environment::read ml/torch\n    expect: allow\n')
    const failing: ExpectationsReport = await run('cases:\n  - name: "<alice> & \\"quotes\\""\n    user: alice\n    condaStore: environment::read ml/torch\n    expect: allow\n  - user: erin\n    jupyterhub: admin:users\n    expect: allow\n')
    const xml = renderExpectationsJUnit([passing, { ...failing, file: 'second.yaml' }])
    const parsed = (await parseJUnit(xml)) as any
    expect(parsed).toMatchObject({ name: 'keycloak-permissions', tests: 3, failures: 1 })
    expect(parsed.testsuite.map((s: any) => [s.name, s.tests, s.failures])).toEqual([['access.yaml', 1, 0], ['second.yaml', 2, 1]])
    const bad = parsed.testsuite[1].testcase[0]
    expect(bad.name).toBe('<alice> & "quotes"')
    expect(bad.failure[0].message).toBe('1 of 1 users: expected allow')
    expect(bad.failure[0].inner).toContain(failing.cases[0]!.outcomes[0]!.chain)
    expect(parsed.testsuite[1].testcase[1].failure).toBeUndefined()
  })
})

describe('expectations.schema.json', () => {
  it('is the one derived from the zod schema (regenerate: npm run schemas)', async () => {
    const { expectationsJsonSchema } = await import('../../src/review/index.js')
    const published = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../expectations.schema.json'), 'utf8'))
    expect(published).toEqual(expectationsJsonSchema())
  })
})
