/**
 * LiveRolesSource: the token-side checks made before the cached Admin API source is asked (the full
 * path against a live Keycloak is in test/integration/freshness-live-roles.test.ts).
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError, TokenRejectedError } from '../../src/core/errors.js'
import type { Principal } from '../../src/core/principal.js'
import { AdminApiSource, LiveRolesSource, TokenSource } from '../../src/keycloak/index.js'

const ISSUER = 'http://127.0.0.1:1/realms/example'
let sign: (claims: Record<string, unknown>) => Promise<string>
let tokens: TokenSource

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  tokens = new TokenSource({ issuers: [ISSUER, 'http://127.0.0.1:1/realms/other'], jwks: { keys: [jwk] } })
  sign = (claims) => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ typ: 'Bearer', iat: now, exp: now + 300, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey)
  }
})

const roles = (realm = 'example') =>
  new AdminApiSource({ baseUrl: 'http://127.0.0.1:1', realm, clients: [], credentials: { clientId: 'c', clientSecret: 's' }, cache: { max: 1, ttlMs: 1_000 }, timeoutMs: 200 })

describe('LiveRolesSource', () => {
  it('rejects a token of another realm before asking Keycloak', async () => {
    const live = new LiveRolesSource({ tokens, roles: roles() })
    const err = await live.resolve(await sign({ iss: 'http://127.0.0.1:1/realms/other', sub: 'u1', preferred_username: 'alice' })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenRejectedError)
    expect((err as TokenRejectedError).reason).toBe('ISSUER_MISMATCH')
  })

  it('rejects a token without sub and preferred_username (a lightweight access token)', async () => {
    const live = new LiveRolesSource({ tokens, roles: roles() })
    const err = await live.resolve(await sign({ iss: ISSUER, azp: 'jupyterhub' })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TokenRejectedError)
    expect((err as TokenRejectedError).detail).toBe('MISSING_CLAIM')
  })

  it('rejects an expired token exactly as token-only mode does', async () => {
    const live = new LiveRolesSource({ tokens, roles: roles() })
    const err = await live.resolve(await sign({ iss: ISSUER, sub: 'u1', exp: Math.floor(Date.now() / 1000) - 3_600 })).catch((e: unknown) => e)
    expect((err as TokenRejectedError).reason).toBe('TOKEN_EXPIRED')
  })

  it("keeps the Admin API's enabled: false (an account disabled after its token was issued) and adds nothing for an enabled one", async () => {
    const base: Principal = {
      realm: 'example', userId: 'u1', username: 'alice', groups: [], realmRoles: [], clientRoles: {},
      complete: { groups: true, realmRoles: true, attributes: true, provenance: false },
      origin: { kind: 'admin-api', resolvedAt: 0, cached: false, stale: false }, diagnostics: [],
    }
    const stub = (p: Principal) => ({ realm: 'example', resolve: async () => p }) as unknown as AdminApiSource
    const token = await sign({ iss: ISSUER, sub: 'u1', preferred_username: 'alice' })
    const disabled = await new LiveRolesSource({ tokens, roles: stub({ ...base, enabled: false }) }).resolve(token)
    expect(disabled.enabled).toBe(false)
    expect(disabled.token?.issuer).toBe(ISSUER)
    expect(await new LiveRolesSource({ tokens, roles: stub(base) }).resolve(token)).not.toHaveProperty('enabled')
  })

  it('validates its options', () => {
    expect(() => new LiveRolesSource({ tokens, roles: {} as never })).toThrow(InvalidOptionsError)
    expect(() => new LiveRolesSource({ tokens: {} as never, roles: roles() })).toThrow(InvalidOptionsError)
    const pinned = new TokenSource({ issuers: [ISSUER], realm: 'example', jwks: { keys: [] } })
    expect(() => new LiveRolesSource({ tokens: pinned, roles: roles('master') })).toThrow(InvalidOptionsError)
  })
})
