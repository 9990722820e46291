/**
 * Gateway mode behind a real nginx (Debian's nginx with `auth_request`), started here on 127.0.0.1 with
 * the configuration docs/http.md gives, in front of a real backend (node:http, recording every request it
 * receives) and `keycloak-permissions serve --keycloak …` verifying real Keycloak tokens.
 *
 * The invariant, for every target of the shared attack list: no request for a workspace the token does
 * not hold ever reaches the backend.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServe, type ServeProcess } from '../cli/serve-process.js'
import { connect } from 'node:net'
import { attackTargets, EXPECTED_STATUS } from './helpers/attack-targets.js'
import { jwtPayload, userToken, tokenRequest } from './helpers/keycloak-admin.js'
import { describeLive, KEYCLOAK_URL, REALM, SERVICE_ACCOUNT } from './helpers/live.js'
import { RealmFixtures, sleep } from './helpers/realm-fixtures.js'

const NGINX = process.env['NGINX_BIN'] ?? '/usr/sbin/nginx'
const HELD = 'ws-alpha' // bob's workspace (group /projects/ml)
const OTHER = 'ws-beta'

interface Received {
  method: string
  url: string
  user: string | undefined
  userId: string | undefined
  reason: string | undefined
}

async function freePort(): Promise<number> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

/** The protected server block of docs/http.md ("Gateway mode" → nginx), on 127.0.0.1. */
function nginxConfig(dir: string, port: number, backend: number, serve: number): string {
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : ''
  return `${asRoot}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;

    server {
        listen 127.0.0.1:${port};
        server_name ws.example.org;

        location / {
            auth_request /_keycloak_permissions;
            auth_request_set $kp_user    $upstream_http_x_auth_user;
            auth_request_set $kp_user_id $upstream_http_x_auth_user_id;
            auth_request_set $kp_reason  $upstream_http_x_auth_reason;
            proxy_set_header X-Auth-User    $kp_user;
            proxy_set_header X-Auth-User-Id $kp_user_id;
            proxy_set_header X-Auth-Reason  $kp_reason;
            error_page 500 = @keycloak_permissions_refused;
            proxy_pass http://127.0.0.1:${backend};
        }

        location @keycloak_permissions_refused {
            if ($kp_reason = AMBIGUOUS_PATH) { return 400; }
            return 500;
        }

        location = /_keycloak_permissions {
            internal;
            proxy_pass http://127.0.0.1:${serve}/v1/forward-auth/nginx/workspaces;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }
    }
}
`
}

describeLive('forward auth behind a real nginx (auth_request) with real Keycloak tokens', () => {
  let serve: ServeProcess
  let nginx: ChildProcess
  let backend: Server
  let port: number
  let dir: string
  const received: Received[] = []
  const fixtures = new RealmFixtures()
  let bob: string
  let carol: string
  let expiring: string

  beforeAll(async () => {
    if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: install Debian's nginx (apt-get install nginx), as .ci/run does`)
    // A client whose access tokens live 1 s: its token is a real Keycloak token that expires during the test.
    const suffix = Math.random().toString(36).slice(2, 8)
    const shortLived = `kp-nginx-expiring-${suffix}`
    await fixtures.client(shortLived, {
      directAccessGrantsEnabled: true,
      attributes: { 'access.token.lifespan': '1' },
      protocolMappers: [
        {
          name: 'audience workspace-api',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-audience-mapper',
          config: { 'included.client.audience': 'workspace-api', 'access.token.claim': 'true', 'id.token.claim': 'false' },
        },
      ],
    })
    expiring = (await tokenRequest({ grant_type: 'password', client_id: shortLived, client_secret: `${shortLived}-secret`, username: 'bob', password: 'bob-pw', scope: 'openid' }))
      .access_token as string
    bob = await userToken('bob', 'bob-pw', 'workspace-api', 'workspace-api-secret')
    carol = await userToken('carol', 'carol-pw', 'workspace-api', 'workspace-api-secret')

    backend = createServer((req, res) => {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined)
      received.push({ method: req.method ?? '', url: req.url ?? '', user: header('x-auth-user'), userId: header('x-auth-user-id'), reason: header('x-auth-reason') })
      const body = JSON.stringify({ backend: true, url: req.url })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
    })
    backend.listen(0, '127.0.0.1')
    await once(backend, 'listening')

    serve = await startServe(
      ['--keycloak', KEYCLOAK_URL, '--realm-name', REALM, '--client-id', SERVICE_ACCOUNT.clientId, '--token-audience', 'workspace-api', '--token-issuer', `${KEYCLOAK_URL}/realms/${REALM}`],
      { KEYCLOAK_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret },
    )

    dir = mkdtempSync(join(tmpdir(), 'kp-nginx-'))
    for (const sub of ['tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) mkdirSync(join(dir, sub), { recursive: true })
    port = await freePort()
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, (backend.address() as AddressInfo).port, Number(new URL(serve.url).port)))
    const tested = spawnSync(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' })
    if (tested.status !== 0) throw new Error(`nginx -t failed: ${tested.stderr}`)
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
    // Ready when it answers (any status) on its port.
    for (let i = 0; ; i++) {
      try {
        await rawRequest(port, 'GET', '/', {})
        break
      } catch (err) {
        if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${readLog(dir)} ${String(err)}`)
        await sleep(50)
      }
    }
  })

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM')
      await once(nginx, 'exit')
    }
    await serve?.stop()
    await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()))
    await fixtures.cleanup()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const get = (target: string, token?: string, method = 'GET') => rawRequest(port, method, target, token ? { authorization: `Bearer ${token}` } : {})
  const reachedSince = (n: number) => received.slice(n)

  it('allowed: the backend receives the raw target with X-Auth-User / X-Auth-User-Id / X-Auth-Reason', async () => {
    const before = received.length
    const res = await get(`/workspaces/${HELD}/files?x=1`, bob)
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({ backend: true, url: `/workspaces/${HELD}/files?x=1` })
    expect(reachedSince(before)).toEqual([{ method: 'GET', url: `/workspaces/${HELD}/files?x=1`, user: 'bob', userId: jwtPayload(bob)['sub'], reason: 'WORKSPACE_ROLE' }])
    const admin = await get(`/workspaces/${OTHER}/files`, carol, 'DELETE')
    expect(admin.status).toBe(200)
    expect(received.at(-1)).toMatchObject({ method: 'DELETE', user: 'carol', reason: 'PLATFORM_ADMIN' })
  })

  it('a client-supplied X-Auth-User never reaches the backend', async () => {
    const before = received.length
    const res = await rawRequest(port, 'GET', `/workspaces/${HELD}/files`, { authorization: `Bearer ${bob}`, 'x-auth-user': 'carol', 'x-auth-reason': 'PLATFORM_ADMIN' })
    expect(res.status).toBe(200)
    expect(reachedSince(before)).toMatchObject([{ user: 'bob', reason: 'WORKSPACE_ROLE' }])
  })

  it('denied: 403, and nothing reaches the backend', async () => {
    const before = received.length
    expect((await get(`/workspaces/${OTHER}/files`, bob)).status).toBe(403)
    expect((await get('/workspaces', bob)).status).toBe(403)
    expect(reachedSince(before)).toEqual([])
  })

  it('no token or a tampered token: 401 with the WWW-Authenticate challenge passed through by nginx', async () => {
    const before = received.length
    const none = await get(`/workspaces/${HELD}/files`)
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toBe('Bearer realm="keycloak-permissions"')
    const tampered = await get(`/workspaces/${HELD}/files`, `${bob.slice(0, -6)}AAAAAA`)
    expect(tampered.status).toBe(401)
    expect(tampered.headers['www-authenticate']).toContain('error_description="TOKEN_INVALID"')
    expect(reachedSince(before)).toEqual([])
  })

  it('ambiguous path: 400 (serve answers 400 AMBIGUOUS_PATH; nginx would make it 500, the named location keeps 400), never proxied', async () => {
    const before = received.length
    const target = `/workspaces/${OTHER}/../${HELD}/files`
    const res = await get(target, bob)
    expect(res.status).toBe(400)
    // What serve answered nginx's subrequest, asked directly with the same headers nginx sends:
    const direct = await rawRequest(Number(new URL(serve.url).port), 'GET', '/v1/forward-auth/nginx/workspaces', {
      authorization: `Bearer ${bob}`,
      'x-original-uri': target,
      'x-original-method': 'GET',
    })
    expect([direct.status, direct.headers['x-auth-reason']]).toEqual([400, 'AMBIGUOUS_PATH'])
    expect(readLog(dir)).toContain('auth request unexpected status: 400')
    expect(reachedSince(before)).toEqual([])
  })

  it('the attack list: no request for a workspace the token does not hold reaches the backend', async () => {
    const targets = attackTargets(HELD, OTHER)
    expect(targets.length).toBeGreaterThanOrEqual(40)
    const outcomes: string[] = []
    for (const t of targets) {
      const before = received.length
      const res = await get(t.target, bob)
      const reached = reachedSince(before)
      outcomes.push(`${t.id} ${res.status} ${reached.length ? 'reached' : '-'}`)
      for (const r of reached) {
        // Whatever reached the backend names the held workspace, read raw (as Express/Fastify route it)…
        const rawSegment = r.url.split('?')[0]!.split('/')[2] ?? ''
        expect(decodeURIComponent(rawSegment), `${t.id} ${t.target} reached as ${r.url}`).toBe(HELD)
        // …and read as a WHATWG-URL server would (dots resolved, backslashes as separators).
        expect(decodeURIComponent(new URL(r.url, 'http://x').pathname.split('/')[2] ?? ''), `${t.id} ${t.target}`).toBe(HELD)
        expect(r.user).toBe('bob')
      }
      if (t.family === 'absolute-form') {
        // nginx reduces an absolute-form target to its path for $request_uri and for the backend alike:
        // the decision and the backend read the same origin-form target, so the path decides.
        expect([200, 400, 403], `${t.id} ${t.target}`).toContain(res.status)
        expect(reached, `${t.id} ${t.target}`).toHaveLength(res.status === 200 ? 1 : 0)
      } else {
        expect(res.status, `${t.id} ${t.target} (${t.note})`).toBe(EXPECTED_STATUS[t.expected])
        expect(reached, `${t.id} ${t.target} (${t.note})`).toHaveLength(t.expected === 'allowed' ? 1 : 0)
      }
    }
    const byStatus = new Map<string, number>()
    for (const o of outcomes) {
      const key = o.split(' ').slice(1).join(' ')
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1)
    }
    console.log(`nginx forward auth: ${targets.length} attack targets: ${[...byStatus].map(([k, n]) => `${n}× ${k}`).join(', ')} — ${outcomes.join('; ')}`)
  })

  it('latency: a forward-auth check per request, through nginx and directly', async () => {
    const n = 200
    const direct = Number(new URL(serve.url).port)
    const backendPort = (backend.address() as AddressInfo).port
    // Interleaved, so that the three share the (busy, shared) machine's conditions.
    const total = { serve: 0, nginx: 0, backend: 0 }
    for (let i = 0; i < n; i++) {
      let t = performance.now()
      await rawRequest(direct, 'GET', '/v1/forward-auth/nginx/workspaces', { authorization: `Bearer ${bob}`, 'x-original-uri': `/workspaces/${HELD}/f${i}`, 'x-original-method': 'GET' })
      total.serve += performance.now() - t
      t = performance.now()
      await get(`/workspaces/${HELD}/f${i}`, bob)
      total.nginx += performance.now() - t
      t = performance.now()
      await rawRequest(backendPort, 'GET', `/workspaces/${HELD}/f${i}`)
      total.backend += performance.now() - t
    }
    const [t0, t1, t2, t3] = [0, total.serve, total.serve + total.nginx, total.serve + total.nginx + total.backend]
    console.log(
      `forward auth latency (${n} sequential requests, new connection each): serve endpoint ${((t1 - t0) / n).toFixed(2)} ms/request; ` +
        `through nginx (auth + proxy) ${((t2 - t1) / n).toFixed(2)} ms; backend alone ${((t3 - t2) / n).toFixed(2)} ms`,
    )
  })

  it('expired: a real Keycloak token past its exp (plus the 30 s tolerance) is 401 TOKEN_EXPIRED', async () => {
    const exp = jwtPayload(expiring)['exp'] as number
    await sleep(Math.max(0, (exp + 31) * 1000 - Date.now()))
    const before = received.length
    const res = await get(`/workspaces/${HELD}/files`, expiring)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toContain('error_description="TOKEN_EXPIRED"')
    expect(reachedSince(before)).toEqual([])
  }, 90_000)
})

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  json: () => any
}

/**
 * One request with the target written verbatim on the request line. Unlike a client that half-closes
 * after sending (which nginx answers with nothing: "client prematurely closed connection"), the socket
 * stays open until the server closes it (`Connection: close`).
 */
function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer for ${method} ${target}`)))
    socket.on('connect', () => {
      let head = `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n`
      for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
      socket.write(`${head}\r\n`, 'latin1')
    })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const raw = Buffer.concat(chunks)
      const end = raw.indexOf('\r\n\r\n')
      if (end === -1) return reject(new Error(`${method} ${target}: incomplete response ${JSON.stringify(raw.toString('latin1'))}`))
      const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      let body = raw.subarray(end + 4)
      if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']))
      const text = body.toString('utf8')
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text, json: () => JSON.parse(text) })
    })
  })
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8')
  } catch {
    return ''
  }
}
