/**
 * Token-only mode while Keycloak becomes unreachable (issue 13): a real token of the live Keycloak,
 * the JWKS and the role catalogue (a real AdminApiSource) both read through a loopback proxy that is
 * then closed. The principal stays available, marked stale, for the bounded time, then the token is
 * refused with TOKEN_UNVERIFIABLE — never a plain error, never a guess. Keycloak itself is not touched.
 */
import { beforeAll, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { summarizePrincipal } from '../../src/core/principal.js'
import { TokenRejectedError } from '../../src/core/errors.js'
import { AdminApiSource, RealmExportSource, TokenSource } from '../../src/keycloak/index.js'
import { startCountingProxy } from './helpers/counting-proxy.js'
import { userToken } from './helpers/keycloak-admin.js'
import { describeLive, live, REALM, SERVICE_ACCOUNT } from './helpers/live.js'

describeLive('TokenSource while Keycloak becomes unreachable (live Keycloak behind a closed proxy)', () => {
  let token: string

  beforeAll(async () => {
    token = await userToken('alice', 'alice-pw', 'jupyterhub', 'jupyterhub-secret', live!.url)
  })

  it('stale JWKS and catalogue within serveStaleMs (origin.stale + diagnostics), then TOKEN_UNVERIFIABLE; the roles equal the offline source', async () => {
    const proxy = await startCountingProxy(live!.url)
    const clock = new ManualClock(Date.now())
    const catalogue = new AdminApiSource({
      baseUrl: proxy.url,
      realm: REALM,
      clients: ['conda_store', 'jupyterhub'],
      credentials: SERVICE_ACCOUNT,
      cache: { max: 10, ttlMs: 60_000 },
      clock,
      timeoutMs: 2_000,
    })
    const tokens = new TokenSource({
      issuers: [live!.issuer],
      jwksUrl: `${proxy.url}/realms/${REALM}/protocol/openid-connect/certs`,
      // cacheMaxAgeMs 0: jose reloads the key set on every use, so the outage is seen at once.
      jwksRemote: { cacheMaxAgeMs: 0, serveStaleMs: 600_000, retryMs: 5_000 },
      catalogue,
      catalogueCache: { ttlMs: 60_000, serveStaleMs: 600_000, retryMs: 5_000 },
      groupsMapperConfigured: true,
      clock,
    })
    let closed = false
    try {
      const fresh = await tokens.resolve(token)
      expect(fresh.origin.stale).toBe(false)
      expect(summarizePrincipal(fresh)).toEqual(summarizePrincipal(await RealmExportSource.example().resolve('alice')))
      expect(proxy.total((r) => r.path.endsWith('/certs'))).toBeGreaterThanOrEqual(1)

      await proxy.close() // Keycloak is now unreachable for this process
      closed = true
      clock.advance(60_000) // every catalogue map is past its TTL
      const stale = await tokens.resolve(token)
      expect(stale.origin.stale).toBe(true)
      expect(stale.diagnostics.map((d) => d.code).sort()).toEqual(['KEYCLOAK_CATALOGUE_STALE', 'KEYCLOAK_JWKS_STALE'])
      expect(summarizePrincipal(stale)).toEqual(summarizePrincipal(fresh))

      clock.advance(600_001) // past both serve-stale bounds
      let caught: unknown
      try {
        await tokens.resolve(token)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(TokenRejectedError)
      expect({ reason: (caught as TokenRejectedError).reason, retryable: (caught as TokenRejectedError).retryable }).toEqual({ reason: 'TOKEN_UNVERIFIABLE', retryable: true })
      expect(['JWKS_UNAVAILABLE', 'CATALOGUE_UNAVAILABLE']).toContain((caught as TokenRejectedError).detail)
    } finally {
      if (!closed) await proxy.close()
    }
  })
})
