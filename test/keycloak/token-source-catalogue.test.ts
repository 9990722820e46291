/**
 * TokenSource: every failure is a typed TokenRejectedError (username, catalogue trouble), the role
 * catalogue cache (byte bound, in-flight lookups never evicted, tokens naming thousands of clients),
 * and the Keycloak-down behaviour (bounded serve-stale of role maps and of the JWKS, on the injected clock).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import {
  InsufficientPermissionsError,
  InvalidInputError,
  SourceUnavailableError,
  TokenRejectedError,
  type TokenRejectionDetail,
  type TokenRejectionReason,
} from '../../src/core/errors.js'
import type { RoleAttributes } from '../../src/core/principal.js'
import { estimateCatalogueBytes } from '../../src/keycloak/catalogue-cache.js'
import { RealmExportSource, TokenSource, type RoleCatalogue, type TokenSourceOptions } from '../../src/keycloak/index.js'

const ISS = 'http://127.0.0.1:8180/realms/example'
const NOW = 1767225600

let key: { privateKey: CryptoKey; jwk: JWK }
let clock: ManualClock

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  key = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' } }
})

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const c: Record<string, unknown> = {
    iss: ISS,
    aud: ['conda_store'],
    azp: 'jupyterhub',
    typ: 'Bearer',
    sub: 'u-alice',
    iat: NOW - 10,
    exp: NOW + 290,
    preferred_username: 'alice',
    realm_access: { roles: ['default-roles-example'] },
    resource_access: { conda_store: { roles: ['analyst-global-viewer', 'conda_store_developer'] } },
    groups: ['/analyst'],
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete c[k]
    else c[k] = v
  }
  return c as JWTPayload
}

const sign = (payload: JWTPayload = claims()) => new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key.privateKey)

function source(options: Partial<TokenSourceOptions> = {}): TokenSource {
  clock = new ManualClock(NOW * 1000)
  return new TokenSource({ issuers: [ISS], jwks: { keys: [key.jwk] }, clock, groupsMapperConfigured: true, ...options })
}

async function expectRejected(promise: Promise<unknown>, reason: TokenRejectionReason, detail: TokenRejectionDetail): Promise<TokenRejectedError> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a TokenRejectedError').toBeInstanceOf(TokenRejectedError)
  const err = caught as TokenRejectedError
  expect({ reason: err.reason, detail: err.detail, code: err.code }, err.message).toEqual({ reason, detail, code: 'KEYCLOAK_TOKEN_REJECTED' })
  return err
}

/** A catalogue of `n` workspace clients `ws-0…` with two roles each, counting calls and concurrency. */
class WorkspaceCatalogue implements RoleCatalogue {
  calls = 0
  active = 0
  maxActive = 0
  failWith: Error | undefined
  constructor(readonly n: number) {}
  async clientRoles(clientId: string): Promise<ReadonlyMap<string, RoleAttributes> | undefined> {
    this.calls++
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    try {
      await new Promise((r) => setImmediate(r))
      if (this.failWith) throw this.failWith
      if (clientId === 'conda_store') return new Map([['analyst-global-viewer', { scopes: ['viewer!namespace=global'] }], ['conda_store_developer', {}]])
      const i = Number(clientId.slice(3))
      if (!clientId.startsWith('ws-') || !(i < this.n)) return undefined
      return new Map<string, RoleAttributes>([
        ['ws_access', { workspace: [clientId] }],
        ['ws_admin', {}],
      ])
    } finally {
      this.active--
    }
  }
  async realmRoles(): Promise<ReadonlyMap<string, RoleAttributes>> {
    this.calls++
    if (this.failWith) throw this.failWith
    return new Map([['default-roles-example', {}]])
  }
}

function manyClients(n: number): Record<string, { roles: string[] }> {
  const access: Record<string, { roles: string[] }> = {}
  for (let i = 0; i < n; i++) access[`ws-${i}`] = { roles: ['ws_access'] }
  return access
}

describe('TokenSource: no usable username is TOKEN_INVALID / NO_USERNAME', () => {
  it('missing, empty and blank preferred_username are rejected with the typed reason', async () => {
    const tokens = source()
    for (const value of [undefined, '', '   ']) {
      const err = await expectRejected(tokens.resolve(await sign(claims({ preferred_username: value }))), 'TOKEN_INVALID', 'NO_USERNAME')
      expect(err.retryable).toBe(false)
      expect(err.message).toContain('preferred_username')
    }
    // verify() alone (authentication only, e.g. LiveRolesSource resolving by sub) does not need a username.
    await expect(tokens.verify(await sign(claims({ preferred_username: undefined })))).resolves.toMatchObject({ stale: false })
  })

  it('a username of the wrong type is TOKEN_INVALID / MALFORMED naming the claim', async () => {
    const err = await expectRejected(source().resolve(await sign(claims({ preferred_username: 42 }))), 'TOKEN_INVALID', 'MALFORMED')
    expect((err.cause as InvalidInputError).path).toBe('preferred_username')
  })

  it('usernameClaim: the configured claim is the username, and its absence is NO_USERNAME', async () => {
    const tokens = source({ usernameClaim: 'email' })
    const p = await tokens.resolve(await sign(claims({ email: 'Alice@Example.org' })))
    expect(p.username).toBe('alice@example.org')
    expect(p.diagnostics.map((d) => d.code)).not.toContain('KEYCLOAK_TOKEN_HAS_NO_USERNAME')
    const err = await expectRejected(tokens.resolve(await sign(claims())), 'TOKEN_INVALID', 'NO_USERNAME')
    expect(err.message).toContain('email')
  })

  it('no token-derived principal ever has an empty username', async () => {
    const tokens = source()
    const variants = [{}, { preferred_username: 'Bob' }, { preferred_username: '' }, { preferred_username: undefined, sub: 'u-x' }, { preferred_username: '\t' }]
    for (const v of variants) {
      try {
        const p = await tokens.resolve(await sign(claims(v)))
        expect(p.username).not.toBe('')
      } catch (err) {
        expect((err as TokenRejectedError).detail).toBe('NO_USERNAME')
      }
    }
  })
})

describe('TokenSource: catalogue trouble is a typed rejection', () => {
  it('Keycloak down on a cold cache: TOKEN_UNVERIFIABLE / CATALOGUE_UNAVAILABLE, retryable, the SourceUnavailableError as cause', async () => {
    const catalogue = new WorkspaceCatalogue(1)
    catalogue.failWith = new SourceUnavailableError('admin-api', 'connect ECONNREFUSED 127.0.0.1:8180')
    const err = await expectRejected(source({ catalogue }).resolve(await sign()), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
    expect(err.cause).toBe(catalogue.failWith)
    expect(err.retryable).toBe(true)
    expect(err.message).toContain('KEYCLOAK_SOURCE_UNAVAILABLE')
  })

  it('missing rights and a malformed answer: CATALOGUE_UNAVAILABLE, not retryable', async () => {
    for (const failure of [new InsufficientPermissionsError(['view-clients']), new InvalidInputError('roles of client conda_store', '0.name', 'expected string')]) {
      const catalogue = new WorkspaceCatalogue(1)
      catalogue.failWith = failure
      const err = await expectRejected(source({ catalogue }).resolve(await sign()), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
      expect(err.cause).toBe(failure)
      expect(err.retryable).toBe(false)
    }
  })

  it('a catalogue that throws a non-Error value is still a typed rejection', async () => {
    const catalogue: RoleCatalogue = { clientRoles: () => Promise.reject('nope'), realmRoles: async () => new Map() }
    await expectRejected(source({ catalogue }).resolve(await sign()), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
  })

  it("the caller's own abort is not a rejection: the signal's reason is thrown", async () => {
    const hanging: RoleCatalogue = { clientRoles: () => new Promise(() => {}), realmRoles: async () => new Map() }
    const controller = new AbortController()
    const reason = new Error('caller gave up')
    const pending = source({ catalogue: hanging }).resolve(await sign(), { signal: controller.signal })
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
  })
})

describe('TokenSource: the role-catalogue cache (bounded by bytes, in-flight lookups never evicted)', () => {
  it('a token naming 5,000 clients resolves: every client once, at most `concurrency` loads at a time, then all cached', async () => {
    const catalogue = new WorkspaceCatalogue(5_000)
    const tokens = source({ catalogue, catalogueCache: { concurrency: 8 } })
    const token = await sign(claims({ resource_access: manyClients(5_000) }))
    const p = await tokens.resolve(token)
    expect(Object.keys(p.clientRoles)).toHaveLength(5_000)
    expect(p.clientRoles['ws-4999']).toEqual([{ client: 'ws-4999', name: 'ws_access', attributes: { workspace: ['ws-4999'] }, via: [] }])
    expect(p.complete.attributes).toBe(true)
    expect(p.diagnostics).toEqual([])
    expect(catalogue.calls).toBe(5_001) // 5,000 clients + the realm
    expect(catalogue.maxActive).toBeLessThanOrEqual(8)
    await tokens.resolve(token)
    expect(catalogue.calls).toBe(5_001) // 32 MiB holds them all
  })

  it('with a byte bound far below what the token names, resolution still succeeds (no "evicted") and the bound holds', async () => {
    const catalogue = new WorkspaceCatalogue(3_000)
    const perClient = estimateCatalogueBytes(await catalogue.clientRoles('ws-0'))
    catalogue.calls = 0
    const maxBytes = perClient * 100
    const tokens = source({ catalogue, catalogueCache: { maxBytes, concurrency: 64 } })
    const token = await sign(claims({ resource_access: manyClients(3_000) }))
    const [a, b] = await Promise.all([tokens.resolve(token), tokens.resolve(token)])
    expect(Object.keys(a.clientRoles)).toHaveLength(3_000)
    expect(b).toEqual(a)
    expect(catalogue.calls).toBe(3_001) // concurrent resolutions share the loads
    for (const list of Object.values(a.clientRoles)) expect(list[0]!.attributes).toEqual({ workspace: [list[0]!.client] })
    // Only the most recent ~100 maps are kept: ws-0 (least recent) was evicted, ws-2999 is still there.
    catalogue.calls = 0
    await tokens.resolve(await sign(claims({ realm_access: undefined, resource_access: { 'ws-2999': { roles: ['ws_access'] }, 'ws-0': { roles: ['ws_access'] } } })))
    expect(catalogue.calls).toBe(1)
  })

  it('a role map larger than the whole bound is used but not stored', async () => {
    const big = new Map<string, RoleAttributes>()
    for (let i = 0; i < 1_000; i++) big.set(`role-${i}`, { note: ['x'.repeat(100)] })
    let calls = 0
    const catalogue: RoleCatalogue = {
      clientRoles: async () => (calls++, big),
      realmRoles: async () => new Map(),
    }
    const tokens = source({ catalogue, catalogueCache: { maxBytes: 10_000 } })
    const token = await sign(claims({ realm_access: undefined, resource_access: { huge: { roles: ['role-7'] } } }))
    expect((await tokens.resolve(token)).clientRoles['huge']![0]!.attributes).toEqual({ note: ['x'.repeat(100)] })
    await tokens.resolve(token)
    expect(calls).toBe(2)
  })

  it('the bundled example realm as catalogue: one answer with the offline source', async () => {
    const catalogue = RealmExportSource.example()
    const tokens = source({ catalogue })
    const p = await tokens.resolve(await sign())
    const offline = await catalogue.resolve('alice')
    expect(p.clientRoles['conda_store']!.find((r) => r.name === 'analyst-global-viewer')!.attributes).toEqual(
      offline.clientRoles['conda_store']!.find((r) => r.name === 'analyst-global-viewer')!.attributes,
    )
  })
})

describe('TokenSource while Keycloak is down: the catalogue serves stale role maps, bounded and marked', () => {
  it('past the TTL: stale maps, origin.stale and KEYCLOAK_CATALOGUE_STALE; retried at most every retryMs; then CATALOGUE_UNAVAILABLE past serveStaleMs', async () => {
    const catalogue = new WorkspaceCatalogue(2)
    const tokens = source({ catalogue, catalogueCache: { ttlMs: 60_000, serveStaleMs: 600_000, retryMs: 5_000 } })
    const token = await sign(claims({ exp: NOW + 3600, resource_access: { conda_store: { roles: ['analyst-global-viewer'] }, 'ws-1': { roles: ['ws_access'] } } }))
    const fresh = await tokens.resolve(token)
    expect(fresh.origin.stale).toBe(false)
    expect(catalogue.calls).toBe(3)

    catalogue.failWith = new SourceUnavailableError('admin-api', 'fetch failed')
    clock.advance(60_000) // the TTL has passed: a reload is tried, fails, the old maps are served
    const stale = await tokens.resolve(token)
    expect(catalogue.calls).toBe(6)
    expect(stale.origin.stale).toBe(true)
    expect(stale.clientRoles).toEqual(fresh.clientRoles)
    const d = stale.diagnostics.find((x) => x.code === 'KEYCLOAK_CATALOGUE_STALE')!
    expect(d.severity).toBe('warning')
    expect(d.details).toMatchObject({ containers: expect.arrayContaining(['(realm)', 'conda_store', 'ws-1']), oldestLoadedAt: NOW * 1000 })

    clock.advance(4_999) // within retryMs: no new attempt, no wait
    expect((await tokens.resolve(token)).origin.stale).toBe(true)
    expect(catalogue.calls).toBe(6)
    clock.advance(1) // retryMs passed: one attempt per container
    expect((await tokens.resolve(token)).origin.stale).toBe(true)
    expect(catalogue.calls).toBe(9)

    clock.set(NOW * 1000 + 60_000 + 600_000 - 1) // last millisecond of ttl + serveStaleMs
    expect((await tokens.resolve(token)).origin.stale).toBe(true)
    clock.advance(1)
    const err = await expectRejected(tokens.resolve(token), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
    expect(err.cause).toBe(catalogue.failWith)

    catalogue.failWith = undefined // Keycloak is back
    const back = await tokens.resolve(token)
    expect(back.origin.stale).toBe(false)
    expect(back.diagnostics.map((x) => x.code)).not.toContain('KEYCLOAK_CATALOGUE_STALE')
  })

  it('only SourceUnavailableError is served stale; serveStaleMs 0 turns it off', async () => {
    const token = await sign(claims({ exp: NOW + 3600 }))
    const denied = new WorkspaceCatalogue(1)
    const strict = source({ catalogue: denied })
    await strict.resolve(token)
    denied.failWith = new InsufficientPermissionsError(['view-clients'])
    clock.advance(60_000)
    await expectRejected(strict.resolve(token), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')

    const down = new WorkspaceCatalogue(1)
    const off = source({ catalogue: down, catalogueCache: { serveStaleMs: 0 } })
    await off.resolve(token)
    down.failWith = new SourceUnavailableError('admin-api', 'fetch failed')
    clock.advance(60_000)
    await expectRejected(off.resolve(token), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
  })
})

describe('TokenSource while Keycloak is down: the last JWKS keeps verifying, bounded and marked (loopback server)', () => {
  let server: Server
  let base: string
  let status = 200
  let fetches = 0

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { keys: [key.jwk] } : { error: 'down' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('a failing JWKS fetch after a good one: stale keys for serveStaleMs (retried every retryMs), then TOKEN_UNVERIFIABLE', async () => {
    const iss = `${base}/realms/example`
    clock = new ManualClock(NOW * 1000)
    // cacheMaxAgeMs 0: jose reloads on every use, so each verification below asks the server.
    const tokens = new TokenSource({ issuers: [iss], clock, jwksRemote: { cacheMaxAgeMs: 0, serveStaleMs: 600_000, retryMs: 5_000 } })
    const token = await sign(claims({ iss, exp: NOW + 3600 }))
    status = 200
    fetches = 0
    expect((await tokens.resolve(token)).origin.stale).toBe(false)
    expect(fetches).toBe(1)

    status = 503
    const stale = await tokens.resolve(token)
    expect(fetches).toBe(2)
    expect(stale.origin.stale).toBe(true)
    expect(stale.diagnostics.map((d) => d.code)).toContain('KEYCLOAK_JWKS_STALE')
    expect((await tokens.verify(token)).stale).toBe(true)
    expect(fetches).toBe(2) // within retryMs: no fetch
    clock.advance(5_000)
    await tokens.verify(token)
    expect(fetches).toBe(3)

    // A token with a kid the old set lacks cannot be decided: unverifiable, not "unknown key".
    const other = await generateKeyPair('RS256')
    const rotated = await new SignJWT(claims({ iss, exp: NOW + 3600 })).setProtectedHeader({ alg: 'RS256', kid: 'k2' }).sign(other.privateKey)
    await expectRejected(tokens.verify(rotated), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')

    clock.set(NOW * 1000 + 600_001) // more than serveStaleMs since the set was last usable
    await expectRejected(tokens.verify(token), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')

    status = 200 // Keycloak is back
    const back = await tokens.verify(token)
    expect(back.stale).toBe(false)
  })

  it('jwksRemote.serveStaleMs 0: the first failed reload is TOKEN_UNVERIFIABLE', async () => {
    const iss = `${base}/realms/example`
    const tokens = new TokenSource({ issuers: [iss], clock: new ManualClock(NOW * 1000), jwksRemote: { cacheMaxAgeMs: 0, serveStaleMs: 0 } })
    const token = await sign(claims({ iss, exp: NOW + 3600 }))
    status = 200
    await tokens.verify(token)
    status = 503
    await expectRejected(tokens.verify(token), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')
    status = 200
  })
})

describe('TokenSource with verifiedCache: the principal is kept with the token', () => {
  it('a cached token resolves to the same principal (origin.cached), rebuilt when a catalogue map changes; claims still checked per call', async () => {
    const catalogue = new WorkspaceCatalogue(3)
    const tokens = source({ catalogue, verifiedCache: { max: 10 }, catalogueCache: { ttlMs: 60_000 } })
    const token = await sign(claims({ resource_access: manyClients(3) }))
    const first = await tokens.resolve(token)
    expect(first.origin.cached).toBe(false)
    const calls = catalogue.calls
    const second = await tokens.resolve(token)
    const third = await tokens.resolve(token)
    expect(third).toBe(second)
    expect(second).toEqual({ ...first, origin: { ...first.origin, cached: true } })
    expect(catalogue.calls).toBe(calls)
    // A catalogue map past its TTL is loaded again (another Map): the principal is rebuilt from it.
    clock.advance(61_000)
    const rebuilt = await tokens.resolve(token)
    expect(rebuilt).not.toBe(second)
    expect(rebuilt.origin.cached).toBe(false)
    expect(catalogue.calls).toBeGreaterThan(calls)
    expect(await tokens.resolve(token)).not.toBe(second)
    // Expiry is a claim check: a reused principal is never returned for an expired token.
    clock.advance(300_000)
    await expectRejected(tokens.resolve(token), 'TOKEN_EXPIRED', 'EXPIRED')
  })

  it('without verifiedCache every resolve builds its principal', async () => {
    const tokens = source()
    const token = await sign()
    const a = await tokens.resolve(token)
    const b = await tokens.resolve(token)
    expect(a).not.toBe(b)
    expect(b.origin.cached).toBe(false)
  })
})
