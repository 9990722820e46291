/**
 * One answer, live and from the file (issue 14 item 1), on the real Keycloak: for every user of the
 * bundled realm and of generated realms with 4 and 50 workspace clients (each imported as a new realm
 * with a unique name, deleted afterwards), `AdminApiSource` with no client list gives the principal
 * `RealmExportSource` gives for the file Keycloak imported, and every component answer computed from
 * the two principals is equal: each workspace's routes, conda-store permissions per namespace, the
 * JupyterHub scopes, and a JupyterHub `!group=` filter checked against *other* users, whose groups
 * come from the same source (`targetGroups`). Admin API requests per uncached user are counted
 * (≤ 3 at 4 and at 50 clients), and a client created after start-up is seen — with the admin-event
 * watcher, and after the TTL without it. Also the CLI: `check --keycloak …` equals the file answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { summarizePrincipal, type Principal } from '../../src/core/principal.js'
import { condaStorePermissionsFor } from '../../src/conda-store/index.js'
import { hasScope, jupyterhubPrincipal, type ExpandedScope, type NebariJupyterHubOptions } from '../../src/jupyterhub/index.js'
import { AdminApiSource, AdminEventWatcher, RealmExportSource, targetGroups } from '../../src/keycloak/index.js'
import { workspaceApiPolicy } from '../../src/workspaces/index.js'
import { cli } from '../cli/helpers.js'
import { generateRealm } from '../review/generate-realm.js'
import { startCountingProxy, type CountingProxy } from './helpers/counting-proxy.js'
import { adminCall, masterAdminToken } from './helpers/keycloak-admin.js'
import { describeLive, KEYCLOAK_URL, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { REALM_FILE } from './helpers/realm.js'
import { sleep } from './helpers/realm-fixtures.js'

const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`
const NAMESPACES = ['default', 'global', 'analyst', 'developer', 'ml', 'nebari-git', 'ns-0', 'ns-1', 'ns-2', 'ns-3']
const GROUP_SCOPES = ['read:users', 'list:users', 'read:users:name', 'access:servers'] as const

/** Every answer the built-in components give for one principal, as plain data. */
function answers(principal: Principal, context: { workspaces: readonly string[]; others: readonly string[]; groupsOf: (u: string) => readonly string[]; hub: NebariJupyterHubOptions }): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const routes = workspaceApiPolicy()
  for (const ws of context.workspaces) {
    for (const [method, path] of [['GET', `/workspaces/${ws}/files`], ['PUT', `/workspaces/${ws}/files/a`], ['DELETE', `/workspaces/${ws}`], ['GET', `/workspaces/${ws}`]] as const) {
      const d = routes.check({ method, path }, principal)
      out[`route ${method} ${path}`] = [d.allowed, d.reason]
    }
  }
  const conda = condaStorePermissionsFor(principal)
  for (const ns of NAMESPACES) out[`conda-store ${ns}/env`] = conda.permissionsOn(`${ns}/env`)
  out['conda-store response'] = conda.toPermissionResponse()
  const hub = jupyterhubPrincipal(principal, context.hub)
  out['jupyterhub login rejected'] = hub.loginRejected
  out['jupyterhub scopes'] = [...hub.scopes.scopes].sort()
  for (const other of context.others) {
    for (const scope of GROUP_SCOPES) {
      out[`jupyterhub ${scope}!user=${other}`] = hasScope(`${scope}!user=${other}` as ExpandedScope, hub.scopes, { groupsOf: context.groupsOf })
    }
  }
  return out
}

interface Realmish {
  readonly name: string
  readonly file: RealmExportSource
  readonly workspaces: readonly string[]
  readonly hub: NebariJupyterHubOptions
  readonly credentials: { clientId: string; clientSecret: string }
}

/** Compares live and file for every user; returns the per-uncached-user request counts and whether a group filter matched. */
async function compareEveryUser(realm: Realmish, proxy: CountingProxy): Promise<{ perUser: number[]; catalogue: number; clients: number; groupFilterHits: number }> {
  const live = new AdminApiSource({ baseUrl: proxy.url, realm: realm.name, credentials: realm.credentials, cache: { max: 1_000, ttlMs: 600_000 } })
  const report = await live.selfCheck()
  expect(Object.keys(report.clients)).toEqual(expect.arrayContaining([...realm.workspaces]))
  const users = realm.file.usernames()
  const perUser: number[] = []
  for (const username of users) {
    proxy.reset()
    await live.resolve(username)
    perUser.push(proxy.adminRequests().length)
  }
  const groupsLive = await targetGroups(live, users)
  const groupsFile = await targetGroups(realm.file, users)
  let groupFilterHits = 0
  for (const username of users) {
    const [l, f] = [await live.resolve(username), await realm.file.resolve(username)]
    expect(summarizePrincipal(l), `${realm.name}: principal of ${username}`).toEqual(summarizePrincipal(f))
    expect(l.enabled, `${realm.name}: enabled of ${username}`).toBe(f.enabled)
    const others = users.filter((u) => u !== username)
    const a = answers(l, { workspaces: realm.workspaces, others, groupsOf: groupsLive, hub: realm.hub })
    const b = answers(f, { workspaces: realm.workspaces, others, groupsOf: groupsFile, hub: realm.hub })
    expect(a, `${realm.name}: component answers for ${username}`).toEqual(b)
    groupFilterHits += Object.entries(a).filter(([k, v]) => k.includes('!user=') && v === true).length
  }
  return { perUser, catalogue: report.catalogue.requests, clients: report.catalogue.clients, groupFilterHits }
}

/** A generated realm export with `workspaces` workspace clients, ready to import under a unique name. */
function generated(workspaces: number): { name: string; json: any; secret: string } {
  const name = `kp-parity-${workspaces}-${RUN}`
  const json = generateRealm({ users: 12, groups: 10, namespaces: 4, workspaces, seed: 7 + workspaces })
  json.realm = name
  json.adminEventsEnabled = true
  json.adminEventsDetailsEnabled = true
  for (const user of json.users) user.realmRoles = user.realmRoles.map((r: string) => (r === 'default-roles-generated' ? `default-roles-${name}` : r))
  json.users[5].enabled = false // a disabled account: both sources must say so (enabled: false), and components deny it
  // A JupyterHub role that filters by group, held by one team, so the target-user group lookup matters.
  json.roles.client.jupyterhub.push({ name: 'dept-0-reader', attributes: { component: ['jupyterhub'], scopes: ['read:users!group=/dept-0,list:users!group=/dept-0'] } })
  json.groups[0].clientRoles.jupyterhub.push('dept-0-reader')
  const secret = `${name}-secret`
  json.clients.push({ clientId: 'permission-resolver', enabled: true, publicClient: false, secret, serviceAccountsEnabled: true, standardFlowEnabled: false })
  json.users.push({
    username: 'service-account-permission-resolver',
    enabled: true,
    serviceAccountClientId: 'permission-resolver',
    realmRoles: [`default-roles-${name}`],
    clientRoles: { 'realm-management': ['view-users', 'view-clients', 'view-realm', 'view-events'] },
  })
  return { name, json, secret }
}

describeLive('Live parity: AdminApiSource sees every client and answers as the realm export does', () => {
  let proxy: CountingProxy
  let adminToken: string
  const imported: string[] = []
  const rows: string[] = []
  const realms = new Map<number, Realmish>()

  beforeAll(async () => {
    proxy = await startCountingProxy(live!.url)
    adminToken = await masterAdminToken()
    for (const workspaces of [4, 50]) {
      const { name, json, secret } = generated(workspaces)
      const res = await fetch(`${live!.url}/admin/realms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      })
      if (!res.ok) throw new Error(`importing realm ${name}: HTTP ${res.status} ${await res.text()}`)
      imported.push(name)
      const groups = new RealmExportSource(json).groupPaths()
      realms.set(workspaces, {
        name,
        file: new RealmExportSource(json),
        workspaces: Array.from({ length: workspaces }, (_, i) => `ws-${i}`),
        hub: { allowedGroups: groups },
        credentials: { clientId: 'permission-resolver', clientSecret: secret },
      })
    }
  }, 120_000)

  afterAll(async () => {
    if (rows.length > 0) console.log(`Live parity (Keycloak ${live?.url}):\n${rows.join('\n')}`)
    await proxy?.close()
    const token = await masterAdminToken().catch(() => adminToken)
    for (const name of imported) await adminCall(token, 'DELETE', encodeURIComponent(name)).catch(() => undefined)
  }, 60_000)

  it('the bundled realm: every user, every answer equal; at most 3 requests per uncached user', async () => {
    const file = await RealmExportSource.fromFile(REALM_FILE)
    const bundled: Realmish = { name: REALM, file, workspaces: ['ws-alpha', 'ws-beta'], hub: {}, credentials: SERVICE_ACCOUNT }
    const { perUser, catalogue, clients, groupFilterHits } = await compareEveryUser(bundled, proxy)
    expect(Math.max(...perUser)).toBeLessThanOrEqual(3)
    expect(groupFilterHits).toBeGreaterThan(0) // a `!group=` scope matched another user: the lookup was exercised
    rows.push(`bundled realm (${clients} clients in Keycloak): requests per uncached user ${JSON.stringify(perUser)}; catalogue ${catalogue} requests; ${groupFilterHits} group-filter matches`)
  }, 120_000)

  for (const workspaces of [4, 50]) {
    it(`a generated realm with ${workspaces} workspace clients: every user, every answer equal; at most 3 requests per uncached user`, async () => {
      const realm = realms.get(workspaces)!
      const { perUser, catalogue, clients, groupFilterHits } = await compareEveryUser(realm, proxy)
      expect(perUser.every((n) => n === 3)).toBe(true) // lookup + role mappings + groups, whatever the number of clients
      expect(groupFilterHits).toBeGreaterThan(0)
      rows.push(`generated, ${workspaces} workspaces (${clients} clients in Keycloak, ${realm.file.usernames().length} users): requests per uncached user ${JSON.stringify(perUser)}; catalogue ${catalogue} requests; ${groupFilterHits} group-filter matches`)
    }, 180_000)
  }

  describe('a client created after start-up is seen', () => {
    const createClient = async (realm: string, clientId: string): Promise<{ id: string; roleId: string }> => {
      await adminCall(adminToken, 'POST', `${realm}/clients`, { clientId, enabled: true, publicClient: false })
      const [client] = await adminCall<{ id: string }[]>(adminToken, 'GET', `${realm}/clients?clientId=${clientId}`)
      await adminCall(adminToken, 'POST', `${realm}/clients/${client!.id}/roles`, { name: 'ws_access', attributes: { component: ['workspace'] } })
      const role = await adminCall<{ id: string }>(adminToken, 'GET', `${realm}/clients/${client!.id}/roles/ws_access`)
      return { id: client!.id, roleId: role.id }
    }
    const userId = async (realm: string, username: string) => (await adminCall<{ id: string }[]>(adminToken, 'GET', `${realm}/users?username=${username}&exact=true`))[0]!.id
    const groupId = async (realm: string, path: string) => (await adminCall<{ id: string }>(adminToken, 'GET', `${realm}/group-by-path${path}`)).id

    it('with the admin-event watcher: a direct mapping and an ancestor-group mapping to a new client, long before the TTL', async () => {
      const realm = realms.get(4)!
      adminToken = await masterAdminToken()
      const source = new AdminApiSource({ baseUrl: live!.url, realm: realm.name, credentials: realm.credentials, cache: { max: 100, ttlMs: 600_000 } })
      const checkStarted = performance.now()
      await source.selfCheck()
      const catalogueMs = Math.round(performance.now() - checkStarted)
      const watcher = new AdminEventWatcher({ baseUrl: live!.url, realm: realm.name, credentials: realm.credentials, target: source, intervalMs: 250 })
      await watcher.pollOnce()
      watcher.start()
      try {
        const [direct, member] = [realm.file.usernames()[0]!, realm.file.usernames()[1]!]
        const memberGroup = (await source.resolve(member)).groups[0]!
        const ancestor = `/${memberGroup.split('/')[1]!}`
        await source.resolve(direct)
        const client = await createClient(realm.name, `ws-new-watch-${RUN}`)
        const [uid, gid] = [await userId(realm.name, direct), await groupId(realm.name, ancestor)]
        await adminCall(adminToken, 'POST', `${realm.name}/users/${uid}/role-mappings/clients/${client.id}`, [{ id: client.roleId, name: 'ws_access' }])
        await adminCall(adminToken, 'POST', `${realm.name}/groups/${gid}/role-mappings/clients/${client.id}`, [{ id: client.roleId, name: 'ws_access' }])
        const started = performance.now() // the changes are made: from here the watcher must notice them
        const seen = async (username: string, via: string) => {
          for (;;) {
            const p = await source.resolve(username)
            const role = p.clientRoles[`ws-new-watch-${RUN}`]?.[0]
            if (role) {
              expect(JSON.stringify(role.via)).toContain(via)
              return Math.round(performance.now() - started)
            }
            if (performance.now() - started > 15_000) throw new Error(`${username} never saw the new client`)
            await sleep(50)
          }
        }
        const times = [await seen(direct, 'direct'), await seen(member, ancestor)]
        // The path: one poll (250 ms) + a catalogue fetch (the new client's roles) + 3 requests; the TTL is 10 min.
        rows.push(`new client seen with the watcher after ${times.join(' ms, ')} ms (direct mapping, mapping on ${ancestor}); a catalogue fetch took ${catalogueMs} ms here`)
        expect(Math.max(...times)).toBeLessThan(15_000)
        // The route check of the new workspace now allows, live, as a realm file with the change would.
        expect(workspaceApiPolicy().check({ method: 'GET', path: `/workspaces/ws-new-watch-${RUN}/files` }, await source.resolve(direct)).allowed).toBe(true)
      } finally {
        await watcher.stop()
      }
    }, 60_000)

    it('without a watcher: after the TTL (same for principal and catalogue), through a direct and an ancestor-group mapping', async () => {
      const realm = realms.get(50)!
      adminToken = await masterAdminToken()
      const clock = new ManualClock(Date.now())
      const ttlMs = 30_000
      const source = new AdminApiSource({ baseUrl: live!.url, realm: realm.name, credentials: realm.credentials, cache: { max: 100, ttlMs }, clock })
      await source.selfCheck()
      const [direct, member] = [realm.file.usernames()[2]!, realm.file.usernames()[3]!]
      const memberGroup = (await source.resolve(member)).groups[0]!
      const ancestor = `/${memberGroup.split('/')[1]!}`
      await source.resolve(direct)
      const clientId = `ws-new-ttl-${RUN}`
      const client = await createClient(realm.name, clientId)
      await adminCall(adminToken, 'POST', `${realm.name}/users/${await userId(realm.name, direct)}/role-mappings/clients/${client.id}`, [{ id: client.roleId, name: 'ws_access' }])
      await adminCall(adminToken, 'POST', `${realm.name}/groups/${await groupId(realm.name, ancestor)}/role-mappings/clients/${client.id}`, [{ id: client.roleId, name: 'ws_access' }])
      // Within the TTL the cached principals still answer (no watcher: nothing told the source).
      expect((await source.resolve(direct)).clientRoles[clientId]).toBeUndefined()
      clock.advance(ttlMs)
      const [d, m] = [await source.resolve(direct), await source.resolve(member)]
      expect(d.clientRoles[clientId]?.map((r) => r.name)).toEqual(['ws_access'])
      expect(m.clientRoles[clientId]?.[0]?.via).toEqual(expect.arrayContaining([{ kind: 'group', group: ancestor, member: memberGroup }]))
    }, 60_000)
  })

  it('the CLI: `check --user bob --route GET /workspaces/ws-alpha/files --keycloak …` equals the realm-file answer (and dave DELETE ws-beta)', () => {
    const env = { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret }
    const liveFlags = ['--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId]
    for (const [user, method, path] of [['bob', 'GET', '/workspaces/ws-alpha/files'], ['dave', 'DELETE', '/workspaces/ws-beta'], ['carol', 'GET', '/workspaces/ws-alpha/files']] as const) {
      const file = cli(['check', '--user', user, '--route', method, path, '--realm', REALM_FILE, '--json'])
      const liveAnswer = cli(['check', '--user', user, '--route', method, path, ...liveFlags, '--json'], { env })
      expect(liveAnswer.status, liveAnswer.stderr).toBe(file.status)
      expect(JSON.parse(liveAnswer.stdout)).toEqual(JSON.parse(file.stdout))
    }
    const bob = cli(['check', '--user', 'bob', '--route', 'GET', '/workspaces/ws-alpha/files', ...liveFlags], { env })
    expect(bob.stdout.trim()).toBe('allowed WORKSPACE_ROLE') // the reproduction: was `denied NO_CLIENT_ENTRY`
  }, 120_000)
})

