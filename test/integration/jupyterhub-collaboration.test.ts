/**
 * Collaboration on a shared server, for real: a JupyterHub 3.0 spawns alice's jupyter-server 1.23 with
 * the `Authorizer` of docs/python.md (verbatim from the Markdown), which asks `serve` (live Keycloak,
 * `collaboration` check kind) about every request. A collaborator holding only the read mapping can
 * open alice's notebook but not save it or run code; one holding the execute mapping can do both; the
 * owner can do everything; someone without `access:servers!server=alice/` in Keycloak gets nothing —
 * even though the hub lets every test user reach the server, so the authorizer alone decides. Each
 * answer of the real server equals `serve`'s and the CLI's for the same question.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { DEFAULT_COLLABORATION_SCOPES } from '../../src/jupyterhub/index.js'
import { cli } from '../cli/helpers.js'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { KEYCLOAK_URL, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { RealmFixtures, sleep, type Created } from './helpers/realm-fixtures.js'
import { describeHub, freePort, pythonBlocks, PYTHON_DOCS, startHub, type Hub } from './hub/hub.js'

const PREFIX = `kp-collab-${process.pid}`
const OWNER = 'alice'
const SERVER = `${OWNER}/`
const CALLER_TOKEN = `caller-${process.pid}-${Date.now()}`
const docs = pythonBlocks(PYTHON_DOCS)


type Operation = 'open' | 'save' | 'start kernel' | 'run code'
/** Each operation, and the jupyter-server check its handler makes. */
const OPERATIONS: Record<Operation, { action: 'read' | 'write' | 'execute'; resource: string }> = {
  open: { action: 'read', resource: 'contents' },
  save: { action: 'write', resource: 'contents' },
  'start kernel': { action: 'write', resource: 'kernels' },
  'run code': { action: 'execute', resource: 'kernels' },
}

const NOTEBOOK = {
  type: 'notebook',
  content: { cells: [{ cell_type: 'code', source: 'print(6 * 7)', metadata: {}, outputs: [], execution_count: null }], metadata: {}, nbformat: 4, nbformat_minor: 5 },
}

/**
 * A kernel's websocket upgrade over a raw socket: jupyter-server authorises `execute` on `kernels`
 * before it switches protocols, so `101` means the code channel is open to this user, `403` that it is not.
 */
async function kernelChannelStatus(hubUrl: string, path: string, token: string): Promise<number> {
  const { hostname, port } = new URL(hubUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Version: 13',
          `Sec-WebSocket-Key: ${Buffer.from(`kp-${Math.random()}`.slice(0, 16).padEnd(16, '0')).toString('base64')}`,
          `Authorization: token ${token}`,
          '',
          '',
        ].join('\r\n'),
      )
    })
    let head = ''
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer to the websocket upgrade')))
    socket.on('data', (d) => {
      head += d.toString('latin1')
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)
      if (status) {
        socket.destroy()
        resolve(Number(status[1]))
      }
    })
    socket.on('error', reject)
  })
}

describeHub('a real jupyter-server authorises collaborators through serve (docs/python.md Authorizer)', () => {
  const realm = new RealmFixtures(live?.url)
  const names = { reader: `${PREFIX}-reader`, editor: `${PREFIX}-editor`, outsider: `${PREFIX}-outsider` }
  const users: Record<string, Created> = {}
  let serve: ServeProcess
  let servePort: number
  let hub: Hub
  let scopesFile: string
  const tokens: Record<string, string> = {}
  let kernelId: string
  const serveArgs = () => [
    '--port', String(servePort),
    '--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId,
    '--custom-scopes', scopesFile,
  ]
  const serveEnv = { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: CALLER_TOKEN }

  /** What serve says for (user, operation) — the question the authorizer asks. */
  const serveSays = async (user: string, operation: Operation) => {
    const { action, resource } = OPERATIONS[operation]
    // A connection per request: the CLI runs synchronously between these requests (see ServeProcess.request).
    const res = await serve.request('/v1/check', {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user, collaboration: { server: SERVER, action, resource } }),
    })
    expect(res.status).toBe(200)
    return res.json() as { allowed: boolean; reason: string }
  }

  /** Performs the operation on alice's server as `user` (through the hub's proxy, with the user's hub token): allowed? */
  const perform = async (user: string, operation: Operation): Promise<boolean> => {
    const base = `${hub.url}/user/${OWNER}/api`
    const headers = { authorization: `token ${tokens[user]}`, 'content-type': 'application/json' }
    const status = async (res: Response) => {
      await res.text()
      return res.status
    }
    let code: number
    if (operation === 'open') code = await status(await fetch(`${base}/contents/shared.ipynb`, { headers }))
    else if (operation === 'save') code = await status(await fetch(`${base}/contents/shared.ipynb`, { method: 'PUT', headers, body: JSON.stringify(NOTEBOOK) }))
    else if (operation === 'start kernel') {
      const res = await fetch(`${base}/kernels`, { method: 'POST', headers, body: '{}' })
      const body = res.status === 201 ? ((await res.json()) as { id: string }) : undefined
      if (!body) await res.text()
      code = res.status
      if (body) await fetch(`${base}/kernels/${body.id}`, { method: 'DELETE', headers: { authorization: `token ${tokens[OWNER]}` } })
    } else code = await kernelChannelStatus(hub.url, `/user/${OWNER}/api/kernels/${kernelId}/channels`, tokens[user]!)
    // save: 201 when it creates the file, 200 when it replaces it.
    const allowedCodes = { open: [200], save: [200, 201], 'start kernel': [201], 'run code': [101] }
    if (!allowedCodes[operation].includes(code) && code !== 403) throw new Error(`${user} ${operation}: unexpected HTTP ${code}`)
    return code !== 403
  }

  beforeAll(async () => {
    for (const block of ['keycloak_permissions_authorizer.py', 'jupyter_server_config.py']) expect(docs[block], `docs/python.md: ${block}`).toBeDefined()
    const [jupyterhub] = await realm.call<{ id: string }[]>('GET', 'clients?clientId=jupyterhub')
    const [analyst] = await realm.call<{ id: string }[]>('GET', 'groups?search=analyst&exact=true')
    const client = { id: jupyterhub!.id, name: 'jupyterhub' }
    // Nebari-style JupyterHub roles: client roles of `jupyterhub` with component=jupyterhub and a scopes attribute.
    const read = await realm.clientRole(client, `${PREFIX}-read`, { component: ['jupyterhub'], scopes: [`access:servers!server=${SERVER},custom:rtc:read!server=${SERVER}`] })
    const execute = await realm.clientRole(client, `${PREFIX}-execute`, { component: ['jupyterhub'], scopes: [`access:servers!server=${SERVER},custom:rtc:execute!server=${SERVER}`] })
    for (const [key, name] of Object.entries(names)) {
      users[key] = await realm.user(name)
      await realm.call('PUT', `users/${users[key]!.id}/groups/${analyst!.id}`)
    }
    await realm.call('POST', `users/${users['reader']!.id}/role-mappings/clients/${client.id}`, [read])
    await realm.call('POST', `users/${users['editor']!.id}/role-mappings/clients/${client.id}`, [execute])

    servePort = await freePort()
    const hubDir = mkdtempSync(join(tmpdir(), 'kp-collab-'))
    scopesFile = join(hubDir, 'custom-scopes.json')
    writeFileSync(scopesFile, JSON.stringify(DEFAULT_COLLABORATION_SCOPES))
    serve = await startServe(serveArgs(), serveEnv)

    const py = (v: unknown) => JSON.stringify(v)
    const serverConfig = join(hubDir, 'jupyter_server_config.py')
    writeFileSync(serverConfig, docs['jupyter_server_config.py']!)
    writeFileSync(join(hubDir, 'keycloak_permissions_authorizer.py'), docs['keycloak_permissions_authorizer.py']!)
    const everyone = [OWNER, ...Object.values(names)]
    hub = await startHub({
      users: everyone,
      env: { PYTHONPATH: hubDir },
      config: [
        [
          // The same custom scopes as serve's --custom-scopes file.
          `c.JupyterHub.custom_scopes = ${py(DEFAULT_COLLABORATION_SCOPES)}`,
          // The hub lets every test user reach alice's server (Nebari would sync this from Keycloak),
          // so what they may do there is the authorizer's decision alone.
          `c.JupyterHub.load_roles.append({"name": "kp-collab-edge", "users": ${py(everyone)}, "scopes": ["access:servers!server=${SERVER}"]})`,
          `c.Spawner.args = ["--allow-root", ${py(`--config=${serverConfig}`)}]`,
          `c.Spawner.environment = {"KEYCLOAK_PERMISSIONS_URL": ${py(serve.url)}, "KEYCLOAK_PERMISSIONS_CALLER_TOKEN": ${py(CALLER_TOKEN)}}`,
        ].join('\n'),
      ],
    })
    const spawned = await hub.api('POST', `/users/${OWNER}/server`)
    expect([201, 202], JSON.stringify(spawned.body)).toContain(spawned.status)
    for (let i = 0; ; i++) {
      const { body } = await hub.api('GET', `/users/${OWNER}`)
      if (body.servers?.['']?.ready) break
      if (i > 400) throw new Error(`alice's server did not start:\n${hub.log().slice(-3000)}`)
      await sleep(100)
    }
    for (const user of everyone) {
      const res = await hub.api('POST', `/users/${user}/tokens`, { note: 'kp collaboration test' })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      tokens[user] = res.body.token
    }
    // The owner creates the notebook and starts the kernel the collaborators try to use.
    expect(await perform(OWNER, 'save')).toBe(true)
    const kernel = await fetch(`${hub.url}/user/${OWNER}/api/kernels`, { method: 'POST', headers: { authorization: `token ${tokens[OWNER]}` }, body: '{}' })
    expect(kernel.status).toBe(201)
    kernelId = ((await kernel.json()) as { id: string }).id
  })

  afterAll(async () => {
    await hub?.stop()
    await serve?.stop()
    await realm.cleanup()
    if (scopesFile) rmSync(dirname(scopesFile), { recursive: true, force: true })
  })

  const matrix: [string, (n: typeof names) => string, Record<Operation, boolean>][] = [
    ['the owner can do everything', () => OWNER, { open: true, save: true, 'start kernel': true, 'run code': true }],
    ['a collaborator with only the read mapping opens the notebook, cannot save it or run code', (n) => n.reader, { open: true, save: false, 'start kernel': false, 'run code': false }],
    ['a collaborator with access:servers and the execute mapping can save and run code', (n) => n.editor, { open: true, save: true, 'start kernel': true, 'run code': true }],
    ['someone without access:servers!server=alice/ in Keycloak gets nothing, though the hub lets them reach the server', (n) => n.outsider, { open: false, save: false, 'start kernel': false, 'run code': false }],
  ]
  for (const [title, who, want] of matrix) {
    it(title, async () => {
      const user = who(names)
      const got: Record<string, boolean> = {}
      for (const operation of Object.keys(OPERATIONS) as Operation[]) {
        got[operation] = await perform(user, operation)
        // One answer: the real server, serve, and the CLI agree on every operation.
        const decision = await serveSays(user, operation)
        expect(decision.allowed, `${user} ${operation}: serve says ${decision.reason}`).toBe(got[operation])
        const { action, resource } = OPERATIONS[operation]
        const viaCli = cli(['check', '--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId, '--custom-scopes', scopesFile, '--user', user, '--collaboration', SERVER, action, resource, '--json'], {
          env: { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret },
        })
        expect(viaCli.status, viaCli.stderr).toBe(decision.allowed ? 0 : 1) // check: exit 1 = denied
        expect(viaCli.json()).toMatchObject({ allowed: decision.allowed, reason: decision.reason })
      }
      expect(got).toEqual(want)
    })
  }

  it('the reasons are the library codes', async () => {
    expect((await serveSays(OWNER, 'save')).reason).toBe('OWNER')
    expect((await serveSays(names.reader, 'open')).reason).toBe('SCOPE_GRANT')
    expect((await serveSays(names.reader, 'save')).reason).toBe('NO_MATCHING_SCOPE')
    expect((await serveSays(names.outsider, 'open')).reason).toBe('NO_SERVER_ACCESS')
  })

  it('an unknown action or resource is HTTP 400 / exit 2 with the valid names', async () => {
    const bad = await fetch(`${serve.url}/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: OWNER, collaboration: { server: SERVER, action: 'delete', resource: 'contents' } }),
    })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(await bad.json())).toContain('execute')
    const viaCli = cli(['check', '--user', OWNER, '--collaboration', SERVER, 'read', 'kernals'])
    expect(viaCli.status).toBe(2)
    expect(viaCli.stderr).toContain('kernels')
  })

  it('FIGURE: authorizer latency per request (the docs class, in Python, against serve)', () => {
    const script = [
      'import time, statistics',
      'from keycloak_permissions_authorizer import KeycloakPermissionsAuthorizer',
      'a = KeycloakPermissionsAuthorizer()',
      `user = {"name": ${JSON.stringify(names.reader)}}`,
      'assert a.is_authorized(None, user, "read", "contents") is True',
      'assert a.is_authorized(None, user, "write", "contents") is False',
      'samples = []',
      'for i in range(300):',
      '    t = time.perf_counter(); a.is_authorized(None, user, "read", "contents"); samples.append((time.perf_counter() - t) * 1000)',
      'samples.sort()',
      'print(f"{statistics.median(samples):.2f} {samples[int(len(samples) * 0.95)]:.2f}")',
    ].join('\n')
    const res = spawnSync('/usr/bin/python3', ['-c', script], {
      cwd: hub.dir,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', PYTHONPATH: dirname(scopesFile), KEYCLOAK_PERMISSIONS_URL: serve.url, KEYCLOAK_PERMISSIONS_CALLER_TOKEN: CALLER_TOKEN, JUPYTERHUB_USER: OWNER },
      timeout: 60_000,
    })
    expect(res.status, res.stderr).toBe(0)
    const [p50, p95] = res.stdout.trim().split(' ')
    console.log(`FIGURE authorizer latency per request (is_authorized → serve, cached principal, 300 calls): p50 ${p50} ms, p95 ${p95} ms`)
  })

  it('FIGURE: a request through the hub to the shared server, with the authorizer', async () => {
    const samples: number[] = []
    for (let i = 0; i < 50; i++) {
      const started = performance.now()
      expect(await perform(names.reader, 'open')).toBe(true)
      samples.push(performance.now() - started)
    }
    samples.sort((a, b) => a - b)
    console.log(`FIGURE GET /user/alice/api/contents/shared.ipynb as a reader (hub proxy + hub token check + authorizer), 50 requests: p50 ${samples[25]!.toFixed(1)} ms, p95 ${samples[47]!.toFixed(1)} ms`)
  })

  it('fails closed: with serve stopped even the owner is refused; back on its address, allowed again', async () => {
    await serve.stop()
    expect(await perform(OWNER, 'open')).toBe(false)
    expect(await perform(OWNER, 'save')).toBe(false)
    serve = await startServe(serveArgs(), serveEnv)
    expect(await perform(OWNER, 'open')).toBe(true)
  })
})
