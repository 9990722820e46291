/**
 * A real JupyterHub (Debian's jupyterhub 3.0, configurable-http-proxy, jupyter-server single-user)
 * spawns through `serve` on the live Keycloak with the `pre_spawn_hook` and client of docs/python.md,
 * taken verbatim from the Markdown: the allowed user gets exactly the environments and profiles the
 * CLI computes, a refused user gets the reason, a role granted while the hub runs counts at the next
 * spawn (same session, admin-event watcher), and a stopped `serve` or a Keycloak unreachable past the
 * cache TTL refuses the spawn (fail closed) until it is back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../cli/helpers.js'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { startCountingProxy, type CountingProxy } from './helpers/counting-proxy.js'
import { createServiceAccountClient } from './helpers/keycloak-admin.js'
import { KEYCLOAK_URL, live, REALM } from './helpers/live.js'
import { RealmFixtures, sleep, type Created } from './helpers/realm-fixtures.js'
import { describeHub, freePort, processEnvironment, pythonBlocks, pythonVersions, PYTHON_DOCS, startHub, type Hub } from './hub/hub.js'

const PREFIX = `kp-hub-${process.pid}`
const ENVIRONMENTS = 'examples/realm/example-environments.json'
const CALLER_TOKEN = `caller-${process.pid}-${Date.now()}`
/** serve's cache TTL here (configuration `cache.ttlSeconds`): short, so an outage outlasts it quickly. */
const TTL_SECONDS = 3
const docs = pythonBlocks(PYTHON_DOCS)


/** Logs in through the dummy authenticator's form and keeps the session cookies (a browser, minus the browser). */
class Browser {
  readonly cookies = new Map<string, string>()
  constructor(readonly hub: Hub) {}

  async request(method: string, path: string, body?: URLSearchParams): Promise<Response> {
    const res = await fetch(`${this.hub.url}${path}`, {
      method,
      redirect: 'manual',
      headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
      signal: AbortSignal.timeout(60_000),
    })
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return res
  }

  async login(username: string): Promise<void> {
    const res = await this.request('POST', '/hub/login', new URLSearchParams({ username, password: 'any' }))
    expect(res.status, `login ${username}`).toBe(302)
    expect([...this.cookies.keys()]).toContain('jupyterhub-hub-login')
  }

  /** GET /hub/spawn/{user}, following the hub's redirects; the last page (status and text). */
  async spawn(username: string): Promise<{ status: number; text: string; location: string }> {
    let path = `/hub/spawn/${username}`
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.request('GET', path)
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location) {
        // Stop at the user's server (the single-user login round trip is not the hub's decision).
        if (location.includes(`/user/${username}/`) && !location.includes('/hub/')) return { status: res.status, text: '', location }
        path = new URL(location, this.hub.url).pathname + new URL(location, this.hub.url).search
        continue
      }
      return { status: res.status, text: await res.text(), location: path }
    }
    throw new Error('too many redirects')
  }
}

/** Waits until the user's default server is ready (or the spawn failed), polling the REST API. */
async function waitReady(hub: Hub, username: string, timeoutMs = 45_000): Promise<{ pid: number } | { failed: string }> {
  const until = performance.now() + timeoutMs
  for (;;) {
    const { body } = await hub.api('GET', `/users/${username}`)
    const server = body?.servers?.['']
    if (server?.ready) return { pid: server.state.pid as number }
    if (!server || (!server.pending && !server.ready)) {
      const progress = await fetch(`${hub.url}/hub/api/users/${username}/server/progress`, { headers: { authorization: `token ${hub.token}` } }).then((r) => r.text())
      return { failed: progress }
    }
    if (performance.now() > until) throw new Error(`${username}: server not ready after ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** Stops the user's default server and waits until the hub says it is gone. */
async function stopServer(hub: Hub, username: string): Promise<void> {
  const res = await hub.api('DELETE', `/users/${username}/server`)
  expect([202, 204]).toContain(res.status)
  for (let i = 0; i < 300; i++) {
    const { body } = await hub.api('GET', `/users/${username}`)
    if (!body?.servers?.['']) return
    await sleep(100)
  }
  throw new Error(`${username}: server did not stop`)
}

/** Spawns through the REST API; the time until the server is ready, and its pid — or the refusal. */
async function apiSpawn(hub: Hub, username: string): Promise<{ status: number; ms: number; pid?: number; message?: string }> {
  const started = performance.now()
  const res = await hub.api('POST', `/users/${username}/server`)
  if (res.status !== 201 && res.status !== 202) return { status: res.status, ms: performance.now() - started, message: res.body?.message ?? String(res.body) }
  const ready = await waitReady(hub, username)
  if ('failed' in ready) return { status: res.status, ms: performance.now() - started, message: ready.failed }
  return { status: res.status, ms: performance.now() - started, pid: ready.pid }
}


describeHub('a real JupyterHub spawns through serve with the hook of docs/python.md', () => {
  const realm = new RealmFixtures(live?.url)
  let sa: { clientId: string; clientSecret: string; remove: () => Promise<void> }
  let user: Created
  let keycloak: CountingProxy
  let serve: ServeProcess
  let servePort: number
  let hub: Hub
  let configFile: string
  const serveArgs = () => [
    '--port', String(servePort),
    '--keycloak', keycloak.url, '--realm-name', REALM, '--client-id', sa.clientId,
    '--environments', ENVIRONMENTS, '--watch-admin-events', '--config', configFile,
  ]
  const serveEnv = () => ({ KEYCLOAK_CLIENT_SECRET: sa.clientSecret, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: CALLER_TOKEN })
  /** The CLI's own answer on the live Keycloak (a separate process, no cache shared with serve). */
  const expected = (username: string) => {
    const env = { KEYCLOAK_CLIENT_SECRET: sa.clientSecret }
    const live = ['--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', sa.clientId]
    const envs = cli(['envs', ...live, '--environments', ENVIRONMENTS, '--user', username, '--json'], { env })
    expect(envs.status, envs.stderr).toBe(0)
    const resolved = cli(['resolve', ...live, '--user', username, '--json'], { env })
    expect(resolved.status, resolved.stderr).toBe(0)
    return {
      environments: (envs.json().environments as { namespace: string; name: string }[]).map((e) => `${e.namespace}/${e.name}`),
      profiles: resolved.json().components['jupyterlab-profiles'].profiles as string[],
    }
  }

  beforeAll(async () => {
    expect(docs['keycloak_permissions_client.py'], 'docs/python.md: the client block').toBeDefined()
    expect(docs['jupyterhub_config.py'], 'docs/python.md: the hook block').toBeDefined()
    await realm.setRealm({ adminEventsEnabled: true })
    sa = await createServiceAccountClient(`${PREFIX}-sa`, ['view-users', 'view-clients', 'view-realm', 'view-events'], live!.url)
    // A user of our own (the bundled users keep their roles): a member of /analyst, which Nebari lets log in.
    user = await realm.user(`${PREFIX}-user`)
    const [analyst] = await realm.call<{ id: string }[]>('GET', 'groups?search=analyst&exact=true')
    await realm.call('PUT', `users/${user.id}/groups/${analyst!.id}`)
    keycloak = await startCountingProxy(live!.url)
    configFile = join(mkdtempSync(join(tmpdir(), 'kp-hub-serve-')), 'keycloak-permissions.config.json')
    writeFileSync(configFile, JSON.stringify({ cache: { ttlSeconds: TTL_SECONDS } }))
    servePort = await freePort()
    serve = await startServe(serveArgs(), serveEnv())
    hub = await startHub({
      config: [docs['jupyterhub_config.py']!],
      files: { 'keycloak_permissions_client.py': docs['keycloak_permissions_client.py']! },
      env: { KEYCLOAK_PERMISSIONS_URL: serve.url, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: CALLER_TOKEN },
      users: ['alice', 'bob', 'dave', user.name],
    })
    console.log(`FIGURE hub start (jupyterhub ${JSON.stringify(pythonVersions())}): ${hub.startMs.toFixed(0)} ms`)
    // allowed_users creates the hub's users at start-up.
    expect((await hub.api('GET', `/users/${user.name}`)).status).toBe(200)
  })

  afterAll(async () => {
    await hub?.stop()
    await serve?.stop()
    await keycloak?.close()
    await realm.cleanup()
    await sa?.remove()
    if (configFile) rmSync(dirname(configFile), { recursive: true, force: true })
  })

  it('an allowed user spawns with exactly the environments and profiles the CLI computes', async () => {
    for (const username of ['alice', 'dave']) {
      const spawned = await apiSpawn(hub, username)
      expect(spawned.pid, `${username}: ${spawned.message}`).toBeDefined()
      console.log(`FIGURE spawn with the hook (${username}, API): ${spawned.ms.toFixed(0)} ms`)
      const env = processEnvironment(spawned.pid!)
      const want = expected(username)
      expect(want.environments.length).toBeGreaterThan(0)
      expect(JSON.parse(env['CONDA_STORE_ENVIRONMENTS']!)).toEqual(want.environments)
      expect(JSON.parse(env['JUPYTERLAB_PROFILES']!)).toEqual(want.profiles)
      await stopServer(hub, username)
    }
    // dave holds the profiles role, alice does not: the hook's profile list is per user.
    expect(expected('dave').profiles.length).toBeGreaterThan(0)
    expect(expected('alice').profiles).toEqual([])
  })

  it('a user the realm refuses cannot spawn, and the hub shows the reason', async () => {
    // The browser path: log in, ask to spawn, read the error page.
    const browser = new Browser(hub)
    await browser.login('bob')
    const page = await browser.spawn('bob')
    expect(page.status).toBe(403)
    // JupyterHub 3's error page says "Failed to start your server"; its "spawn failed" page and the
    // progress stream carry the hook's message.
    const failed = await browser.request('GET', '/hub/spawn-pending/bob')
    const text = await failed.text()
    expect(text).toContain('The latest attempt to start your server')
    expect(text).toContain('bob may not start a server (SCOPE_NOT_HELD)')
    const progress = await fetch(`${hub.url}/hub/api/users/bob/server/progress`, { headers: { authorization: `token ${hub.token}` } })
    expect(await progress.text()).toContain('bob may not start a server (SCOPE_NOT_HELD)')
    // The REST API answers with the hook's status and message.
    const refused = await apiSpawn(hub, 'bob')
    expect(refused.pid).toBeUndefined()
    expect(refused.status).toBe(403)
    expect(refused.message).toBe('bob may not start a server (SCOPE_NOT_HELD)')
    const { body } = await hub.api('GET', '/users/bob')
    expect(body.servers).toEqual({})
  })

  it('a role granted through the Admin API counts at the next spawn of the same session (no re-login)', async () => {
    const browser = new Browser(hub)
    await browser.login(user.name)
    const first = await browser.spawn(user.name)
    expect(first.location, first.text.slice(0, 500)).toMatch(new RegExp(`^/(hub/spawn-pending|user)/${user.name}\\b`))
    const ready = await waitReady(hub, user.name)
    expect('pid' in ready, JSON.stringify(ready)).toBe(true)
    const before = processEnvironment((ready as { pid: number }).pid)
    const wantBefore = expected(user.name)
    expect(JSON.parse(before['CONDA_STORE_ENVIRONMENTS']!)).toEqual(wantBefore.environments)
    expect(wantBefore.environments.some((e) => e.startsWith('ml/'))).toBe(false)
    await stopServer(hub, user.name)

    const [condaStore] = await realm.call<{ id: string }[]>('GET', 'clients?clientId=conda_store')
    const [jupyterhub] = await realm.call<{ id: string }[]>('GET', 'clients?clientId=jupyterhub')
    const mlScopes = await realm.call('GET', `clients/${condaStore!.id}/roles/ml-team-scopes`)
    const profilesRole = await realm.call('GET', `clients/${jupyterhub!.id}/roles/jupyterlab-profiles`)
    const granted = performance.now()
    await realm.call('POST', `users/${user.id}/role-mappings/clients/${condaStore!.id}`, [mlScopes])
    await realm.call('POST', `users/${user.id}/role-mappings/clients/${jupyterhub!.id}`, [profilesRole])
    try {
      // The watcher applies the admin event within seconds; serve's own answer tells when.
      for (;;) {
        const res = await fetch(`${serve.url}/v1/users/${user.name}/environments`, { headers: { authorization: `Bearer ${CALLER_TOKEN}` } })
        const body = (await res.json()) as { environments: { namespace: string }[] }
        if (body.environments.some((e) => e.namespace === 'ml')) break
        if (performance.now() - granted > 10_000) throw new Error('serve did not see the grant within 10 s')
        await sleep(100)
      }
      console.log(`FIGURE role grant → serve answers with it: ${(performance.now() - granted).toFixed(0)} ms (admin-event watcher)`)
      const second = await browser.spawn(user.name)
      expect(second.location).toMatch(new RegExp(`^/(hub/spawn-pending|user)/${user.name}\\b`))
      const after = await waitReady(hub, user.name)
      const env = processEnvironment((after as { pid: number }).pid)
      const wantAfter = expected(user.name)
      expect(wantAfter.environments.some((e) => e.startsWith('ml/'))).toBe(true)
      expect(wantAfter.profiles).toEqual(['small', 'gpu'])
      expect(JSON.parse(env['CONDA_STORE_ENVIRONMENTS']!)).toEqual(wantAfter.environments)
      expect(JSON.parse(env['JUPYTERLAB_PROFILES']!)).toEqual(wantAfter.profiles)
      await stopServer(hub, user.name)
    } finally {
      await realm.call('DELETE', `users/${user.id}/role-mappings/clients/${condaStore!.id}`, [mlScopes])
      await realm.call('DELETE', `users/${user.id}/role-mappings/clients/${jupyterhub!.id}`, [profilesRole])
    }
  })

  describe('fail closed', () => {
    it('serve stopped: the spawn is refused; serve back on its address: it works again', async () => {
      await serve.stop()
      const refused = await apiSpawn(hub, 'alice')
      expect(refused.pid).toBeUndefined()
      expect(refused.status).toBe(503)
      expect(refused.message).toBe('Permission service unavailable; try again later')
      expect((await hub.api('GET', '/users/alice')).body.servers).toEqual({})
      serve = await startServe(serveArgs(), serveEnv())
      const back = await apiSpawn(hub, 'alice')
      expect(back.pid, back.message).toBeDefined()
      await stopServer(hub, 'alice')
    })

    it(`Keycloak unreachable past the cache TTL (${TTL_SECONDS} s): the spawn is refused; Keycloak back: it works again`, async () => {
      expect((await apiSpawn(hub, 'alice')).pid).toBeDefined()
      await stopServer(hub, 'alice')
      const port = Number(new URL(keycloak.url).port)
      await keycloak.close()
      // alice was resolved during the spawn above: her cached principal expires within the TTL.
      await sleep(TTL_SECONDS * 1000 + 500)
      const refused = await apiSpawn(hub, 'alice')
      expect(refused.pid).toBeUndefined()
      expect(refused.status).toBe(503)
      expect(refused.message).toBe('Permission service unavailable; try again later')
      keycloak = await startCountingProxy(live!.url, { port })
      const back = await apiSpawn(hub, 'alice')
      expect(back.pid, back.message).toBeDefined()
      await stopServer(hub, 'alice')
    })
  })

  /** Median spawn-until-ready time of three spawns of alice's server. */
  const medianSpawn = async (on: Hub): Promise<number> => {
    const times: number[] = []
    for (let i = 0; i < 3; i++) {
      const spawned = await apiSpawn(on, 'alice')
      expect(spawned.pid, spawned.message).toBeDefined()
      times.push(spawned.ms)
      await stopServer(on, 'alice')
    }
    return times.sort((a, b) => a - b)[1]!
  }

  it('FIGURE: spawn time with and without the hook (a second hub, same harness, no hook), and the hook\'s own calls', async () => {
    const withHook = await medianSpawn(hub)
    // The hook's three questions to serve, timed from here (cached principal): its share of a spawn.
    const calls: number[] = []
    const headers = { authorization: `Bearer ${CALLER_TOKEN}`, 'content-type': 'application/json' }
    for (let i = 0; i < 50; i++) {
      const started = performance.now()
      await fetch(`${serve.url}/v1/check`, { method: 'POST', headers, body: JSON.stringify({ user: 'alice', jupyterhub: { scope: 'servers', resource: { kind: 'user', value: 'alice' } } }) }).then((r) => r.text())
      await fetch(`${serve.url}/v1/users/alice/environments`, { headers }).then((r) => r.text())
      await fetch(`${serve.url}/v1/users/alice/principal`, { headers }).then((r) => r.text())
      calls.push(performance.now() - started)
    }
    calls.sort((a, b) => a - b)
    const plain = await startHub({ config: [], users: ['alice'] })
    try {
      const spawned = await apiSpawn(plain, 'alice')
      expect(spawned.pid, spawned.message).toBeDefined()
      expect(processEnvironment(spawned.pid!)['CONDA_STORE_ENVIRONMENTS']).toBeUndefined()
      await stopServer(plain, 'alice')
      const withoutHook = await medianSpawn(plain)
      console.log(`FIGURE spawn until ready (alice, REST API, median of 3): with the hook ${withHook.toFixed(0)} ms, without ${withoutHook.toFixed(0)} ms; hub start without the hook ${plain.startMs.toFixed(0)} ms`)
      console.log(`FIGURE the hook's three serve calls (check + environments + principal, cached): p50 ${calls[25]!.toFixed(1)} ms, p95 ${calls[47]!.toFixed(1)} ms`)
    } finally {
      await plain.stop()
    }
  })
})
