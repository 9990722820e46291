/**
 * A one-shot command with a live Keycloak source and `--redis` must print its error and exit with
 * status 2 when opening the source fails, whatever state Redis is in: a spawner hook shelling out to
 * the CLI would otherwise hang on every spawn. The built binary runs as a child process against an
 * unreachable Keycloak or a token endpoint answering 401, with Redis on a closed local port. The
 * child's `timeout` is only a safety net: a child it had to kill has no exit status and fails the
 * assertions.
 */
import { execFile } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/errors.js'
import { BIN } from './helpers.js'
import { startServe } from './serve-process.js'

interface Exit {
  status: number | null
  signal: NodeJS.Signals | null
  stderr: string
  stdout: string
}

/** Runs the built CLI without blocking this process (the fake token endpoint answers from here). */
function cliAsync(args: readonly string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', KEYCLOAK_CLIENT_SECRET: 'not-the-secret' }, timeout: 20_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const failed = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null }) | null
        resolve({
          status: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0,
          signal: failed?.signal ?? null,
          stdout,
          stderr,
        })
      },
    )
  })
}

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

let tokenEndpoint: Server
let keycloak: Server
let keycloakUp: string
let tokenRequests = 0
let keycloak401: string
let keycloakDown: string
let redisDown: string

beforeAll(async () => {
  // Keycloak reachable, wrong client secret: the token endpoint refuses the service account.
  tokenEndpoint = createServer((req, res) => {
    req.resume()
    tokenRequests++
    res.writeHead(401, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' }))
  })
  await new Promise<void>((resolve) => tokenEndpoint.listen(0, '127.0.0.1', resolve))
  keycloak401 = `http://127.0.0.1:${(tokenEndpoint.address() as AddressInfo).port}`
  keycloakDown = `http://127.0.0.1:${await closedPort()}`
  keycloak = createServer(fakeKeycloak)
  await new Promise<void>((resolve) => keycloak.listen(0, '127.0.0.1', resolve))
  keycloakUp = `http://127.0.0.1:${(keycloak.address() as AddressInfo).port}`
  redisDown = `redis://127.0.0.1:${await closedPort()}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => tokenEndpoint.close(() => resolve()))
  keycloak.closeAllConnections()
  await new Promise<void>((resolve) => keycloak.close(() => resolve()))
})

/** The Admin API endpoints the self-check and one user's lookup read: realm "example", one user "bob" with no roles. */
function fakeKeycloak(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  const url = new URL(req.url ?? '/', 'http://x')
  const path = url.pathname.replace(/\/+$/, '')
  const json = (body: unknown, status = 200) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  if (path === '/realms/example/protocol/openid-connect/token') {
    const claims = { resource_access: { 'realm-management': { roles: ['view-users', 'view-clients', 'view-realm', 'view-events'] } } }
    return json({ access_token: `x.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.y`, expires_in: 300 })
  }
  const rest = /^\/admin\/realms\/example(?:\/(.*))?$/.exec(path)?.[1] ?? ''
  const bob = { id: 'u-bob', username: 'bob', enabled: true }
  if (rest === '') return json({ realm: 'example', defaultRole: { id: 'r-default', name: 'default-roles-example' } })
  if (rest === 'clients') return json(Number(url.searchParams.get('first') ?? 0) > 0 ? [] : [{ id: 'uuid-jupyterhub', clientId: 'jupyterhub' }])
  if (rest === 'roles') return json([{ id: 'r-default', name: 'default-roles-example', composite: false, clientRole: false, containerId: 'realm', attributes: {} }])
  if (/^clients\/[^/]+\/roles$/.test(rest) || /^roles-by-id\/[^/]+\/composites$/.test(rest) || rest === 'groups' || rest === 'admin-events') return json([])
  if (rest === 'users') return json(url.searchParams.get('username') === 'bob' ? [bob] : [])
  if (rest === 'users/u-bob') return json(bob)
  if (rest === 'users/u-bob/role-mappings') return json({ realmMappings: [] })
  if (rest === 'users/u-bob/groups') return json([])
  json({ error: 'unknown route' }, 404)
}

const live = (keycloak: string) => ['--keycloak', keycloak, '--realm-name', 'example', '--client-id', 'kp']
/** The error line: the last line of stderr (Redis may log its outage before it). */
const errorLine = (stderr: string) => stderr.trim().split('\n').at(-1) ?? ''

describe('a live source that cannot be opened, with Redis unreachable', () => {
  it('resolve: Keycloak unreachable → the error and status 2, like without --redis', async () => {
    const withRedis = await cliAsync(['resolve', '--user', 'bob', ...live(keycloakDown), '--redis', redisDown])
    expect(withRedis.signal).toBeNull()
    expect(withRedis.status).toBe(EXIT.input)
    expect(withRedis.stdout).toBe('')
    expect(errorLine(withRedis.stderr)).toMatch(/^keycloak-permissions: admin-api unavailable: token request to .* failed: .*\[KEYCLOAK_SOURCE_UNAVAILABLE\]$/)
    const without = await cliAsync(['resolve', '--user', 'bob', ...live(keycloakDown)])
    expect(without.status).toBe(withRedis.status)
    expect(errorLine(without.stderr)).toBe(errorLine(withRedis.stderr))
  })

  it('check: a token endpoint answering 401 (wrong secret) → the error and status 2, like without --redis', async () => {
    const before = tokenRequests
    const withRedis = await cliAsync(['check', '--user', 'bob', '--jupyterhub', 'access:servers', ...live(keycloak401), '--redis', redisDown])
    expect(withRedis.signal).toBeNull()
    expect(withRedis.status).toBe(EXIT.input)
    expect(withRedis.stdout).toBe('')
    expect(errorLine(withRedis.stderr)).toMatch(/^keycloak-permissions: .*401.*\[[A-Z_]+\]$/)
    expect(tokenRequests).toBeGreaterThan(before)
    const without = await cliAsync(['check', '--user', 'bob', '--jupyterhub', 'access:servers', ...live(keycloak401)])
    expect(without.status).toBe(withRedis.status)
    expect(errorLine(without.stderr)).toBe(errorLine(withRedis.stderr))
  })

  it('resolve with --watch-admin-events: the same error and status 2', async () => {
    const res = await cliAsync(['resolve', '--user', 'bob', ...live(keycloak401), '--redis', redisDown, '--watch-admin-events'])
    expect(res.signal).toBeNull()
    expect(res.status).toBe(EXIT.input)
    expect(errorLine(res.stderr)).toMatch(/^keycloak-permissions: .*401.*\[[A-Z_]+\]$/)
  })
})

describe('a live source that opens, with Redis unreachable', () => {
  it('check --watch-admin-events answers (denied: status 1) from Keycloak alone and exits', async () => {
    const res = await cliAsync(['check', '--user', 'bob', '--jupyterhub', 'access:servers', ...live(keycloakUp), '--redis', redisDown, '--watch-admin-events'])
    expect(res.signal).toBeNull()
    expect(res.status).toBe(EXIT.denied)
    expect(res.stdout).toBe('denied SCOPE_NOT_HELD\n')
    expect(res.stderr).toMatch(/keycloak-permissions\/redis: Redis at redis:\/\/127\.0\.0\.1:\d+ unavailable/)
  })

  it('serve stops on SIGTERM and exits 0', async () => {
    const serve = await startServe([...live(keycloakUp), '--redis', redisDown, '--watch-admin-events'], { KEYCLOAK_CLIENT_SECRET: 'x' })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => serve.child.once('exit', (code, signal) => resolve({ code, signal })))
    // Safety net only: a serve that does not stop is killed and the assertion below fails.
    const net = setTimeout(() => serve.child.kill('SIGKILL'), 20_000)
    // As soon as the "listening" line is read, as a supervisor would: the handlers are installed before it.
    serve.child.kill('SIGTERM')
    const { code, signal } = await exited
    clearTimeout(net)
    expect(signal).toBeNull()
    expect(code).toBe(EXIT.ok)
  })
})
