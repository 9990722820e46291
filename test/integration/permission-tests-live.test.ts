/**
 * `keycloak-permissions test` against the live Keycloak gives the same results as against the realm
 * export that server imported: every case, every user covered, every answer and reason.
 */
import { resolve } from 'node:path'
import { expect, it } from 'vitest'
import { cli } from '../cli/helpers.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

const EXAMPLE = resolve(import.meta.dirname, '../../examples/permission-tests/access.yaml')
const REALM_FILE = resolve(import.meta.dirname, '../../examples/realm/example-realm.json')
const live = ['--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId]
const env = { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret }

// The realm's own users; other suites create short-lived `kp-` users in the same live realm (and
// delete them), so those are left out of the comparison — any other extra user fails it.
const FILE_USERS = ['alice', 'bob', 'carol', 'dave', 'erin']
const answers = (report: any) => {
  const extras = report.files.flatMap((f: any) => f.cases.flatMap((c: any) => c.outcomes.map((o: any) => o.user))).filter((u: string) => !FILE_USERS.includes(u))
  expect(extras.filter((u: string) => !u.startsWith('kp-'))).toEqual([])
  return report.files.flatMap((f: any) =>
    f.cases.map((c: any) => {
      const outcomes = c.outcomes.filter((o: any) => FILE_USERS.includes(o.user))
      return { line: c.line, passed: outcomes.every((o: any) => o.passed), outcomes: outcomes.map((o: any) => [o.user, o.allowed, o.reason]) }
    }),
  )
}

describeLive('keycloak-permissions test (live Keycloak)', () => {
  it('the bundled expectations give the same results from the live realm and from its export', () => {
    const fromFile = cli(['test', '--json', '--realm', REALM_FILE, EXAMPLE])
    const fromLive = cli(['test', '--json', ...live, EXAMPLE], { env })
    expect(fromLive.stderr).toBe('')
    expect([fromFile.status, fromLive.status]).toEqual([0, 0])
    expect(answers(fromLive.json())).toEqual(answers(fromFile.json()))
  })

  it('quantified rules and failures agree too: a rule over everyone, and one that fails for carol', () => {
    const file = resolve(import.meta.dirname, '../fixtures/permission-tests-quantified.yaml')
    const fromFile = cli(['test', '--json', '--realm', REALM_FILE, file])
    const fromLive = cli(['test', '--json', ...live, file], { env })
    expect(fromFile.status).toBe(1)
    const a = answers(fromLive.json())
    expect(a).toEqual(answers(fromFile.json()))
    expect(a.flatMap((c: any) => c.outcomes).length).toBeGreaterThan(10)
  })

  it('an unknown group is an input error live as well (exit 2, the line)', () => {
    const res = cli(['test', ...live, resolve(import.meta.dirname, '../fixtures/permission-tests-unknown-group.yaml')], { env })
    expect(res.status).toBe(2)
    expect(res.stderr).toMatch(/line 2 at members: unknown group "\/projects\/ai"/)
  })
})
