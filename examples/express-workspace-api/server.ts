/**
 * An Express workspace API protected by `keycloakMiddleware`: every request's bearer token is verified
 * by a `TokenSource` (signature, issuer, audience, expiry, `typ`), then decided by the EOEPCA workspace
 * rule (`workspaceApiPolicy`): `/workspaces/<ws>/…` needs a workspace role (`ws_access` or `ws_admin`)
 * on the client `<ws>`; here `DELETE` additionally needs `ws_admin`; the platform admin
 * (`workspace-api` client role `admin`) may do anything. Denials never reach the handlers: 401 with
 * `WWW-Authenticate` (no, bad or expired token), 403 with `{ error, reason }` (valid token, no role).
 *
 * For the demo the signing key and its JWKS are generated locally (`createDemoIssuer`); against a real
 * Keycloak, drop `jwks` and the realm's `<issuer>/protocol/openid-connect/certs` is fetched (or set
 * `jwksUrl` to the in-cluster address).
 *
 * In an application, import from the package instead of the relative source paths:
 *
 * ```ts
 * import { keycloakMiddleware, authorizationOf } from 'keycloak-permissions/express'
 * import { TokenSource } from 'keycloak-permissions/keycloak'
 * import { workspaceApiPolicy } from 'keycloak-permissions/workspaces'
 * ```
 *
 * Run the demo with `npx tsx examples/express-workspace-api/server.ts` (starts on an ephemeral port on
 * 127.0.0.1, sends a few requests, prints the answers and stops).
 *
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express, { type Express } from 'express'
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose'
import { authorizationOf, keycloakMiddleware } from '../../src/express/index.js'
import { TokenSource } from '../../src/keycloak/index.js'
import { workspaceApiPolicy } from '../../src/workspaces/index.js'

/** The issuer the demo tokens carry (a Keycloak realm URL). */
export const DEMO_ISSUER = 'http://127.0.0.1:8180/realms/eoepca'

/** A locally generated RS256 key: its public JWKS, and a function minting access tokens with it. */
export interface DemoIssuer {
  readonly jwks: JSONWebKeySet
  /** Signs a Keycloak-shaped access token for `username` with these `resource_access` roles. */
  mint(username: string, resourceAccess: Record<string, readonly string[]>, options?: { readonly expiresInSec?: number }): Promise<string>
}

/** Generates a signing key and its JWKS (what Keycloak publishes at `…/protocol/openid-connect/certs`). */
export async function createDemoIssuer(): Promise<DemoIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'demo-1', alg: 'RS256', use: 'sig' }
  return {
    jwks: { keys: [jwk] },
    mint(username, resourceAccess, options = {}) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({
        typ: 'Bearer',
        azp: 'workspace-api',
        preferred_username: username,
        resource_access: Object.fromEntries(Object.entries(resourceAccess).map(([client, roles]) => [client, { roles }])),
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'demo-1', typ: 'JWT' })
        .setIssuer(DEMO_ISSUER)
        .setAudience(['workspace-api'])
        .setSubject(`user-${username}`)
        .setIssuedAt(now - 5)
        .setExpirationTime(now + (options.expiresInSec ?? 300))
        .sign(privateKey)
    },
  }
}

/** The Express app: the middleware in front of a few workspace routes. */
export function createWorkspaceApp(jwks: JSONWebKeySet): Express {
  const app = express()
  app.use(
    keycloakMiddleware({
      policy: workspaceApiPolicy({
        methodRules: [{ name: 'delete-needs-admin', path: '/workspaces/{workspace}/**', methods: ['DELETE'], require: { anyOf: ['ws_admin'] } }],
      }),
      authenticate: new TokenSource({ issuers: [DEMO_ISSUER], audience: 'workspace-api', jwks }),
      realm: 'workspace-api',
    }),
  )
  // Handlers run only for allowed requests; the decision says which rule and roles let it through.
  app.get('/workspaces/:workspace', (req, res) => {
    const auth = authorizationOf(req)!
    res.json({ workspace: req.params.workspace, user: auth.principal?.username, reason: auth.decision.reason, grant: auth.decision.grant })
  })
  app.get('/workspaces/:workspace/files', (req, res) => {
    res.json({ workspace: req.params.workspace, files: ['README.md', 'notebooks/'] })
  })
  app.delete('/workspaces/:workspace', (req, res) => {
    res.json({ deleted: req.params.workspace, by: authorizationOf(req)!.principal?.username })
  })
  return app
}

/** A running API. */
export interface RunningApi {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

/** Starts the app on `host:port` (port 0: an ephemeral port). */
export function startWorkspaceApi(jwks: JSONWebKeySet, options: { readonly host?: string; readonly port?: number } = {}): Promise<RunningApi> {
  const server = createServer(createWorkspaceApp(jwks))
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const { address, port } = server.address() as AddressInfo
      resolve({ url: `http://${address}:${port}`, server, close: () => new Promise<void>((done) => server.close(() => done())) })
    })
  })
}

async function demo(): Promise<void> {
  const issuer = await createDemoIssuer()
  const api = await startWorkspaceApi(issuer.jwks)
  const alice = await issuer.mint('alice', { 'ws-alice': ['ws_access'] })
  const bob = await issuer.mint('bob', { 'ws-bob': ['ws_admin'] })
  const expired = await issuer.mint('alice', { 'ws-alice': ['ws_access'] }, { expiresInSec: -3600 })
  const requests: [string, string, string | undefined, string][] = [
    ['GET', '/workspaces/ws-alice', alice, 'alice reads her workspace'],
    ['GET', '/workspaces/ws-alice/files', alice, 'alice lists her files'],
    ['GET', '/workspaces/ws-bob', alice, "alice reads bob's workspace"],
    ['DELETE', '/workspaces/ws-alice', alice, 'alice deletes her workspace (needs ws_admin)'],
    ['DELETE', '/workspaces/ws-bob', bob, 'bob deletes his workspace'],
    ['GET', '/workspaces/ws-alice', undefined, 'no token'],
    ['GET', '/workspaces/ws-alice', expired, 'an expired token'],
    ['GET', '/workspaces/ws-alice/..%2Fws-bob', alice, 'an encoded slash'],
  ]
  try {
    console.log(`workspace API on ${api.url}`)
    for (const [method, path, token, what] of requests) {
      const res = await fetch(api.url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} })
      const challenge = res.headers.get('www-authenticate')
      console.log(`${what}: ${method} ${path} → ${res.status} ${await res.text()}${challenge ? `  (WWW-Authenticate: ${challenge})` : ''}`)
    }
  } finally {
    await api.close()
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await demo()
