/**
 * One replica for the multi-replica test (run as a child process: `node --import tsx replica.ts`):
 * its own AdminApiSource + RedisPrincipalCache (+ the supervised admin-event watcher) and a tiny
 * node:http endpoint. Prints `{"port": N}` on stdout when listening.
 *
 *   GET /principal?username=…  → 200 { summary, origin } | 404/503 { error: code }
 *   GET /status                → the cache tier's status
 *
 * Env: KC_BASE (Keycloak or a counting proxy), KC_REALM, KC_CLIENT_ID, KC_CLIENT_SECRET, KC_CLIENTS
 * (comma-separated), REDIS_URL, TTL_MS.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { summarizePrincipal } from '../../../src/core/principal.js'
import { AdminApiSource, AdminEventWatcher } from '../../../src/keycloak/index.js'
import { RedisPrincipalCache } from '../../../src/redis/index.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`replica: ${name} is required`)
  return value
}
const baseUrl = env('KC_BASE')
const realm = env('KC_REALM')
const credentials = { clientId: env('KC_CLIENT_ID'), clientSecret: env('KC_CLIENT_SECRET') }
const principalCache = new RedisPrincipalCache({ url: env('REDIS_URL'), local: { max: 1_000 }, log: (m) => console.error(`[replica ${process.pid}] ${m}`) })
const source = new AdminApiSource({
  baseUrl, realm, credentials, clients: env('KC_CLIENTS').split(','), principalCache,
  cache: { max: 1_000, ttlMs: Number(process.env.TTL_MS ?? 60_000) },
})
principalCache.superviseWatcher(({ from, onPoll }) =>
  new AdminEventWatcher({
    baseUrl, realm, credentials, onPoll, ...(from !== undefined && { from }),
    target: {
      invalidate: (invalidation) => {
        console.error(`[replica ${process.pid}] invalidation ${JSON.stringify(invalidation)}`)
        return source.invalidate(invalidation)
      },
    },
  }))

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://replica')
  const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  if (url.pathname === '/status') return reply(200, principalCache.status())
  if (url.pathname !== '/principal') return reply(404, { error: 'not found' })
  source.resolve(url.searchParams.get('username') ?? '').then(
    (p) => reply(200, { summary: summarizePrincipal(p), origin: p.origin, pid: process.pid }),
    (err: { code?: string; message?: string }) => reply(err.code === 'KEYCLOAK_USER_NOT_FOUND' ? 404 : 503, { error: err.code ?? 'ERROR', message: err.message }),
  )
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })))
const shutdown = () => {
  server.close()
  principalCache.close().finally(() => process.exit(0))
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
