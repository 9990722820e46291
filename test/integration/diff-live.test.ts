/**
 * `diff --keycloak URL FILE` compares like with like: against the file the server imported at start
 * (examples/realm/example-realm.json, imported by scripts/keycloak.sh), no permission changes and exit 0;
 * after one role mapping added through the Admin API, exactly that change.
 *
 * The mapping goes to a user created for this file (the six bundled users must stay as imported for the
 * suites that run alongside); the proposed file is the imported one plus that user as Keycloak holds it
 * before the mapping (the default role, which the Admin API gives every new user — docs/semantics/keycloak.md §5.2).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openSource } from '../../src/cli/sources.js'
import { RealmExportSource } from '../../src/keycloak/index.js'
import { chainLine, diffAccess } from '../../src/review/index.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { REALM_FILE } from './helpers/realm.js'
import { RealmFixtures, type Created } from './helpers/realm-fixtures.js'

const BIN = resolve(import.meta.dirname, '../../dist/cli/main.cjs')
const USERNAME = `kp-chains-diff-${process.pid}`

function diff(file: string, ...extra: string[]) {
  const res = spawnSync(process.execPath, [BIN, 'diff', '--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId, file, ...extra], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret },
    timeout: 120_000,
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

describeLive('diff --keycloak against the file the server imported', () => {
  const fixtures = new RealmFixtures()
  let user: Created
  let proposed: string

  beforeAll(async () => {
    user = await fixtures.user(USERNAME)
    const realm = JSON.parse(readFileSync(REALM_FILE, 'utf8'))
    realm.users.push({ username: USERNAME, enabled: true, email: `${USERNAME}@example.org`, realmRoles: ['default-roles-example'] })
    proposed = join(mkdtempSync(join(tmpdir(), 'kp-diff-live-')), 'realm.json')
    writeFileSync(proposed, JSON.stringify(realm))
  }, 60_000)

  afterAll(() => fixtures.cleanup(), 60_000)

  it('the imported file: "no permission changes", exit 0 (text and JSON)', () => {
    const text = diff(REALM_FILE)
    expect(text.stderr).toBe('')
    expect(text.stdout).toBe('no permission changes\n')
    expect(text.status).toBe(0)
    const json = diff(REALM_FILE, '--format', 'json')
    expect(json.status).toBe(0)
    const out = JSON.parse(json.stdout)
    expect(out.changes).toEqual([])
    // Nothing Keycloak created by itself (built-in clients and roles, the default role's composites) is reported.
    expect(out.realmChanges).toEqual([])
  }, 180_000)

  it('the imported file plus a user created live, before any mapping: exit 0', () => {
    const r = diff(proposed)
    expect(r.stdout).toBe('no permission changes\n')
    expect(r.status).toBe(0)
  }, 180_000)

  it('one role mapping added through the Admin API: exactly that change', async () => {
    const [client] = await fixtures.call<{ id: string }[]>('GET', 'clients?clientId=ws-beta')
    const role = await fixtures.call<Record<string, unknown>>('GET', `clients/${client!.id}/roles/ws_access`)
    await fixtures.call('POST', `users/${user.id}/role-mappings/clients/${client!.id}`, [role])
    try {
      // The CLI compares the live realm (OLD) with the file (NEW): applying the file would revoke the mapping.
      const r = diff(proposed, '--format', 'json')
      expect(r.status).toBe(1)
      const out = JSON.parse(r.stdout)
      expect(out.changes.map((c: any) => [c.user, c.change, c.component, c.resource, c.before.level])).toEqual([[USERNAME, 'lost', 'workspaces', 'ws-beta', 'ws_access']])
      expect(out.changes[0].causes.map((c: any) => c.description)).toEqual([`role ws-beta/ws_access unmapped from user ${USERNAME}`])
      expect(out.realmChanges.map((c: any) => c.description)).toEqual([`role ws-beta/ws_access unmapped from user ${USERNAME}`])

      // The same snapshots the other way round (the file as OLD, the live realm as NEW): exactly that gain.
      process.env['KEYCLOAK_CLIENT_SECRET'] = SERVICE_ACCOUNT.clientSecret
      const live = await openSource({ source: { keycloak: { url: KEYCLOAK_URL, realm: REALM, clientId: SERVICE_ACCOUNT.clientId } } })
      try {
        const file = await RealmExportSource.fromFile(proposed)
        const users = file.usernames()
        const before = { principals: users.map((u) => file.resolveSync(u)) }
        const after = { principals: await Promise.all(users.map((u) => live.source.resolve(u))) }
        const gained = diffAccess(before, after)
        expect(gained.changes.map((c) => [c.user, c.change, c.component, c.resource, c.after?.level])).toEqual([[USERNAME, 'gained', 'workspaces', 'ws-beta', 'ws_access']])
        expect(gained.changes[0]!.after!.chains.map(chainLine)).toEqual([`${USERNAME} → ws-beta/ws_access → /workspaces/{workspace}/**`])
        expect(gained.realmChanges.map((c) => c.description)).toEqual([`role ws-beta/ws_access mapped to user ${USERNAME}`])
      } finally {
        await live.close?.()
      }
    } finally {
      await fixtures.call('DELETE', `users/${user.id}/role-mappings/clients/${client!.id}`, [role])
    }
    // Removed again: no change.
    expect(diff(proposed).status).toBe(0)
  }, 300_000)
})
