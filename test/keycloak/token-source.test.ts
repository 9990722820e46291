import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CompactSign, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InvalidInputError, InvalidOptionsError, TokenRejectedError, type TokenRejectionDetail, type TokenRejectionReason } from '../../src/core/errors.js'
import type { RoleAttributes } from '../../src/core/principal.js'
import { TokenSource, type RoleCatalogue, type TokenSourceOptions } from '../../src/keycloak/index.js'

const ISS = 'http://127.0.0.1:8180/realms/example'
const NOW = 1767225600
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

interface KeyPair {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

async function keyPair(kid: string, alg = 'RS256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, privateKey, publicKey, jwk }
}

function baseClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const claims: Record<string, unknown> = {
    iss: ISS,
    aud: ['conda_store', 'account'],
    azp: 'jupyterhub',
    typ: 'Bearer',
    sub: 'u-alice',
    iat: NOW - 10,
    exp: NOW + 290,
    scope: 'openid profile',
    preferred_username: 'alice',
    realm_access: { roles: ['default-roles-example'] },
    resource_access: { conda_store: { roles: ['conda_store_developer', 'analyst-global-viewer'] }, account: { roles: ['view-profile'] } },
    groups: ['/analyst'],
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k]
    else claims[k] = v
  }
  return claims as JWTPayload
}

async function sign(key: KeyPair, claims: JWTPayload = baseClaims(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey)
}

async function rejection(promise: Promise<unknown>): Promise<TokenRejectedError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(TokenRejectedError)
    return err as TokenRejectedError
  }
  throw new Error('expected a TokenRejectedError, but the token was accepted')
}

async function expectRejected(promise: Promise<unknown>, reason: TokenRejectionReason, detail: TokenRejectionDetail): Promise<TokenRejectedError> {
  const err = await rejection(promise)
  expect({ reason: err.reason, detail: err.detail, code: err.code }, err.message).toEqual({ reason, detail, code: 'KEYCLOAK_TOKEN_REJECTED' })
  return err
}

let k1: KeyPair
let k2: KeyPair
let ec: KeyPair
let clock: ManualClock

beforeAll(async () => {
  k1 = await keyPair('k1')
  k2 = await keyPair('k2')
  ec = await keyPair('e1', 'ES256')
})

function source(options: Partial<TokenSourceOptions> = {}): TokenSource {
  clock = new ManualClock(NOW * 1000)
  return new TokenSource({ issuers: [ISS], jwks: { keys: [k1.jwk, ec.jwk] }, clock, ...options })
}

describe('TokenSource.verify with a local key set', () => {
  it('accepts a valid token and reports its info', async () => {
    const tokens = source()
    const { payload, protectedHeader, info } = await tokens.verify(await sign(k1))
    expect(payload['preferred_username']).toBe('alice')
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'k1' })
    expect(info).toMatchObject({ issuer: ISS, audience: ['conda_store', 'account'], azp: 'jupyterhub', scope: ['openid', 'profile'], expiresAt: NOW + 290 })
  })

  it('time claims follow the injected ManualClock (30 s tolerance by default)', async () => {
    const tokens = source()
    const token = await sign(k1)
    await tokens.verify(token)
    clock.set((NOW + 290 + 29) * 1000)
    await tokens.verify(token)
    clock.set((NOW + 290 + 30) * 1000)
    await expectRejected(tokens.verify(token), 'TOKEN_EXPIRED', 'EXPIRED')
  })

  it('rejects expired, not-yet-valid, wrong issuer, wrong audience, wrong type, missing claims', async () => {
    const tokens = source({ audience: 'conda_store' })
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ exp: NOW - 31 }))), 'TOKEN_EXPIRED', 'EXPIRED')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ exp: undefined }))), 'TOKEN_EXPIRED', 'MISSING_CLAIM')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ nbf: NOW + 31 }))), 'TOKEN_NOT_YET_VALID', 'NOT_YET_VALID')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ iss: 'http://localhost:8180/realms/example' }))), 'ISSUER_MISMATCH', 'WRONG_ISSUER')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ aud: 'account' }))), 'AUDIENCE_MISMATCH', 'WRONG_AUDIENCE')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ typ: 'ID' }))), 'TOKEN_TYPE_NOT_ALLOWED', 'WRONG_TYPE')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ typ: 'Refresh' }))), 'TOKEN_TYPE_NOT_ALLOWED', 'WRONG_TYPE')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ typ: undefined }))), 'TOKEN_TYPE_NOT_ALLOWED', 'MISSING_CLAIM')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ iat: undefined }))), 'TOKEN_INVALID', 'MISSING_CLAIM')
    // In order: an expired token of a wrong issuer is reported as expired.
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ exp: NOW - 3600, iss: 'http://x/realms/y' }))), 'TOKEN_EXPIRED', 'EXPIRED')
  })

  it('audience: string and array aud; azp policy', async () => {
    const tokens = source({ audience: 'conda_store' })
    await tokens.verify(await sign(k1, baseClaims({ aud: 'conda_store' })))
    await tokens.verify(await sign(k1, baseClaims({ aud: ['account', 'conda_store'] })))
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ aud: ['account'] }))), 'AUDIENCE_MISMATCH', 'WRONG_AUDIENCE')

    const withAzp = source({ audience: 'conda_store', allowAzp: ['jupyterhub'] })
    await withAzp.verify(await sign(k1, baseClaims({ aud: 'account', azp: 'jupyterhub' })))
    await expectRejected(withAzp.verify(await sign(k1, baseClaims({ aud: 'account', azp: 'other' }))), 'AUDIENCE_MISMATCH', 'WRONG_AUDIENCE')
  })

  it('rejects alg none, HS256 signed with the public key bytes, ES256 outside the allow-list', async () => {
    const tokens = source()
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(baseClaims())}.`
    await expectRejected(tokens.verify(none), 'ALGORITHM_NOT_ALLOWED', 'ALG_NOT_ALLOWED')

    const pem = await exportSPKI(k1.publicKey)
    const hs = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'k1' }).sign(new TextEncoder().encode(pem))
    await expectRejected(tokens.verify(hs), 'ALGORITHM_NOT_ALLOWED', 'ALG_NOT_ALLOWED')
    // Also the raw JWK modulus bytes as the HMAC secret.
    const hs2 = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(Buffer.from(k1.jwk.n!, 'base64url'))
    await expectRejected(tokens.verify(hs2), 'ALGORITHM_NOT_ALLOWED', 'ALG_NOT_ALLOWED')

    const es = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).sign(ec.privateKey)
    await expectRejected(tokens.verify(es), 'ALGORITHM_NOT_ALLOWED', 'ALG_NOT_ALLOWED')
    await source({ algorithms: ['RS256', 'ES256'] }).verify(es)
  })

  it('rejects a tampered payload and a tampered signature as BAD_SIGNATURE', async () => {
    const tokens = source()
    const [h, , s] = (await sign(k1)).split('.')
    const elevated = b64(baseClaims({ realm_access: { roles: ['platform-admin'] } }))
    await expectRejected(tokens.verify(`${h}.${elevated}.${s}`), 'TOKEN_INVALID', 'BAD_SIGNATURE')
    const [h2, p2] = (await sign(k1)).split('.')
    const [, , otherSig] = (await sign(k1, baseClaims({ sub: 'someone-else' }))).split('.')
    await expectRejected(tokens.verify(`${h2}.${p2}.${otherSig}`), 'TOKEN_INVALID', 'BAD_SIGNATURE')
  })

  it('a token signed by a foreign key with a known kid is BAD_SIGNATURE; an unknown kid is UNKNOWN_KEY', async () => {
    const tokens = source()
    await expectRejected(tokens.verify(await sign(k2, baseClaims(), { kid: 'k1' })), 'TOKEN_INVALID', 'BAD_SIGNATURE')
    await expectRejected(tokens.verify(await sign(k2)), 'TOKEN_INVALID', 'UNKNOWN_KEY')
  })

  it('rejects malformed tokens', async () => {
    const tokens = source()
    const good = await sign(k1)
    const [h, p, s] = good.split('.')
    await expectRejected(tokens.verify(''), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify('abc'), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify(`${h}.${p}`), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify(`${good}.x`), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify(`%%%.${p}.${s}`), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify(`${b64({ typ: 'JWT' })}.${p}.${s}`), 'TOKEN_INVALID', 'MALFORMED')
    await expectRejected(tokens.verify(42 as unknown as string), 'TOKEN_INVALID', 'MALFORMED')
    // A correctly signed JWS whose payload is not a JSON object.
    const arrayPayload = await new CompactSign(new TextEncoder().encode('[1,2]')).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(k1.privateKey)
    await expectRejected(tokens.verify(arrayPayload), 'TOKEN_INVALID', 'MALFORMED')
    const notJson = await new CompactSign(new TextEncoder().encode('not json')).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(k1.privateKey)
    await expectRejected(tokens.verify(notJson), 'TOKEN_INVALID', 'MALFORMED')
    // Verified, but a claim has the wrong type.
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ scope: ['openid'] }))), 'TOKEN_INVALID', 'MALFORMED')
  })

  it('a key resolver that fails (JWKS unavailable) gives TOKEN_UNVERIFIABLE', async () => {
    const tokens = source({
      jwks: async () => {
        throw new TypeError('fetch failed')
      },
    })
    const err = await expectRejected(tokens.verify(await sign(k1)), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')
    expect((err.cause as Error).message).toBe('fetch failed')
  })
})

describe('TokenSource with a remote JWKS (loopback server)', () => {
  let server: Server
  let base: string
  const served = new Map<string, { status: number; body: unknown }>()
  const hits = new Map<string, number>()

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? ''
      hits.set(path, (hits.get(path) ?? 0) + 1)
      const answer = served.get(path)
      if (answer === undefined) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const certs = (realm: string) => `/realms/${realm}/protocol/openid-connect/certs`

  it('derives <iss>/protocol/openid-connect/certs and verifies; skips the encryption key', async () => {
    const iss = `${base}/realms/r1`
    served.set(certs('r1'), { status: 200, body: { keys: [{ ...k2.jwk, kid: 'enc', alg: 'RSA-OAEP', use: 'enc' }, k1.jwk] } })
    const tokens = new TokenSource({ issuers: [iss], clock: new ManualClock(NOW * 1000) })
    const { info } = await tokens.verify(await sign(k1, baseClaims({ iss })))
    expect(info.issuer).toBe(iss)
    await tokens.verify(await sign(k1, baseClaims({ iss })))
    expect(hits.get(certs('r1'))).toBe(1) // cached by jose
    await expectRejected(tokens.verify(await sign(k2, baseClaims({ iss }), { kid: 'enc' })), 'TOKEN_INVALID', 'UNKNOWN_KEY')
  })

  it('picks the key set by issuer; an unconfigured issuer verified by our keys is ISSUER_MISMATCH', async () => {
    const issA = `${base}/realms/a`
    const issB = `${base}/realms/b`
    served.set(certs('a'), { status: 200, body: { keys: [k1.jwk] } })
    served.set(certs('b'), { status: 200, body: { keys: [k2.jwk] } })
    const tokens = new TokenSource({ issuers: [issA, issB], clock: new ManualClock(NOW * 1000) })
    await tokens.verify(await sign(k1, baseClaims({ iss: issA })))
    await tokens.verify(await sign(k2, baseClaims({ iss: issB })))
    // Realm b's token must not verify with realm a's key.
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ iss: issB }))), 'TOKEN_INVALID', 'UNKNOWN_KEY')
    await expectRejected(tokens.verify(await sign(k1, baseClaims({ iss: `${base}/realms/c` }))), 'ISSUER_MISMATCH', 'WRONG_ISSUER')
    await expectRejected(tokens.verify(await sign(k2, baseClaims({ iss: `${base}/realms/c` }))), 'TOKEN_INVALID', 'UNKNOWN_KEY')
  })

  it('key rotation: an unknown kid reloads the set (after the cooldown)', async () => {
    const iss = `${base}/realms/rot`
    served.set(certs('rot'), { status: 200, body: { keys: [k1.jwk] } })
    const tokens = new TokenSource({ issuers: [iss], clock: new ManualClock(NOW * 1000), jwksRemote: { cooldownMs: 0 } })
    await tokens.verify(await sign(k1, baseClaims({ iss })))
    served.set(certs('rot'), { status: 200, body: { keys: [k1.jwk, k2.jwk] } })
    await tokens.verify(await sign(k2, baseClaims({ iss })))
    expect(hits.get(certs('rot'))).toBe(2)
  })

  it('JWKS errors: HTTP 500, not a key set, unreachable, timeout → TOKEN_UNVERIFIABLE', async () => {
    const iss500 = `${base}/realms/e500`
    served.set(certs('e500'), { status: 500, body: { error: 'boom' } })
    await expectRejected(new TokenSource({ issuers: [iss500], clock: new ManualClock(NOW * 1000) }).verify(await sign(k1, baseClaims({ iss: iss500 }))), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')

    const issBad = `${base}/realms/bad`
    served.set(certs('bad'), { status: 200, body: { nope: true } })
    await expectRejected(new TokenSource({ issuers: [issBad], clock: new ManualClock(NOW * 1000) }).verify(await sign(k1, baseClaims({ iss: issBad }))), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')

    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const issDown = `http://127.0.0.1:${port}/realms/down`
    await expectRejected(new TokenSource({ issuers: [issDown], clock: new ManualClock(NOW * 1000) }).verify(await sign(k1, baseClaims({ iss: issDown }))), 'TOKEN_UNVERIFIABLE', 'JWKS_UNAVAILABLE')

    const slow = createServer(() => {
      /* never answers */
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const issSlow = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/realms/slow`
    try {
      await expectRejected(
        new TokenSource({ issuers: [issSlow], clock: new ManualClock(NOW * 1000), jwksRemote: { timeoutMs: 200 } }).verify(await sign(k1, baseClaims({ iss: issSlow }))),
        'TOKEN_UNVERIFIABLE',
        'JWKS_UNAVAILABLE',
      )
    } finally {
      slow.closeAllConnections()
      await new Promise<void>((resolve) => slow.close(() => resolve()))
    }
  })

  it('jwksUrl overrides the derived URL for every issuer', async () => {
    served.set('/internal/certs', { status: 200, body: { keys: [k1.jwk] } })
    const tokens = new TokenSource({ issuers: [ISS], jwksUrl: `${base}/internal/certs`, clock: new ManualClock(NOW * 1000) })
    await tokens.verify(await sign(k1))
    expect(hits.get('/internal/certs')).toBe(1)
  })
})

describe('TokenSource verified-token cache', () => {
  function countingSource(options: Partial<TokenSourceOptions> = {}) {
    let calls = 0
    const local = createLocalJWKSet({ keys: [k1.jwk] })
    const tokens = source({
      jwks: async (header, token) => {
        calls++
        return local(header, token)
      },
      ...options,
    })
    return { tokens, calls: () => calls }
  }

  it('is off by default', async () => {
    const { tokens, calls } = countingSource()
    const token = await sign(k1)
    await tokens.verify(token)
    await tokens.verify(token)
    expect(calls()).toBe(2)
  })

  it('serves the same token again without verifying the signature, but still checks exp on every call', async () => {
    const { tokens, calls } = countingSource({ verifiedCache: { max: 10 } })
    const token = await sign(k1)
    await tokens.verify(token)
    await tokens.verify(token)
    expect(calls()).toBe(1)
    // A token differing in one character is a different key (keyed on the full string) and fails verification.
    // (The replaced character is the second-to-last one: compare that one, or the token may stay unchanged.)
    await expectRejected(tokens.verify(`${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.slice(-1)}`), 'TOKEN_INVALID', 'BAD_SIGNATURE')
    clock.set((NOW + 290 + 30) * 1000)
    await expectRejected(tokens.verify(token), 'TOKEN_EXPIRED', 'EXPIRED')
  })

  it('does not cache an already expired token and is bounded', async () => {
    const { tokens, calls } = countingSource({ verifiedCache: { max: 2 }, clockToleranceSec: 60 })
    const expired = await sign(k1, baseClaims({ exp: NOW - 10 })) // accepted within the 60 s tolerance
    await tokens.verify(expired)
    await tokens.verify(expired)
    expect(calls()).toBe(2)
    const a = await sign(k1, baseClaims({ sub: 'a' }))
    const b = await sign(k1, baseClaims({ sub: 'b' }))
    const c = await sign(k1, baseClaims({ sub: 'c' }))
    for (const t of [a, b, c]) await tokens.verify(t)
    expect(calls()).toBe(5)
    await tokens.verify(a) // evicted (max 2): verified again
    expect(calls()).toBe(6)
    await tokens.verify(c)
    expect(calls()).toBe(6)
  })
})

describe('TokenSource.resolve', () => {
  class CountingCatalogue implements RoleCatalogue {
    calls: string[] = []
    readonly clients = new Map<string, Map<string, RoleAttributes>>([
      ['conda_store', new Map<string, RoleAttributes>([['conda_store_developer', {}], ['analyst-global-viewer', { scopes: ['viewer!namespace=global'] }]])],
      ['account', new Map<string, RoleAttributes>([['view-profile', {}]])],
      ['jupyterhub', new Map<string, RoleAttributes>([['jupyterhub_developer', {}]])],
    ])
    async clientRoles(clientId: string) {
      this.calls.push(clientId)
      await new Promise((r) => setTimeout(r, 5))
      return this.clients.get(clientId)
    }
    async realmRoles() {
      this.calls.push('(realm)')
      return new Map<string, RoleAttributes>([['default-roles-example', {}]])
    }
  }

  it('joins attributes from the catalogue, loading only the containers in the token, once per TTL', async () => {
    const catalogue = new CountingCatalogue()
    const tokens = source({ catalogue, catalogueCache: { ttlMs: 60_000, maxBytes: 1_000_000 } })
    const token = await sign(k1)
    const [p1, p2] = await Promise.all([tokens.resolve(token), tokens.resolve(token)])
    expect(catalogue.calls.sort()).toEqual(['(realm)', 'account', 'conda_store'])
    expect(p1).toEqual(p2)
    expect(p1.realm).toBe('example')
    expect(p1.username).toBe('alice')
    expect(p1.userId).toBe('u-alice')
    expect(p1.groups).toEqual(['/analyst'])
    expect(p1.clientRoles['conda_store']).toEqual([
      { client: 'conda_store', name: 'analyst-global-viewer', attributes: { scopes: ['viewer!namespace=global'] }, via: [] },
      { client: 'conda_store', name: 'conda_store_developer', attributes: {}, via: [] },
    ])
    expect(p1.complete).toEqual({ groups: true, realmRoles: true, attributes: true, provenance: false })
    expect(p1.origin).toMatchObject({ kind: 'token', resolvedAt: NOW * 1000 })
    expect(p1.token?.azp).toBe('jupyterhub')
    await tokens.resolve(token)
    expect(catalogue.calls).toHaveLength(3)
    clock.advance(60_001)
    await tokens.resolve(await sign(k1, baseClaims({ exp: NOW + 400 })))
    expect(catalogue.calls).toHaveLength(6)
  })

  it('roles unknown to the catalogue, and a client unknown to it, give diagnostics', async () => {
    const catalogue = new CountingCatalogue()
    const tokens = source({ catalogue })
    const p = await tokens.resolve(await sign(k1, baseClaims({ resource_access: { conda_store: { roles: ['new-role'] }, nowhere: { roles: ['x'] } } })))
    expect(p.complete.attributes).toBe(false)
    expect(p.diagnostics.map((d) => [d.code, d.subject.role])).toEqual([
      ['KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE', { client: 'conda_store', name: 'new-role' }],
      ['KEYCLOAK_TOKEN_ROLE_NOT_IN_CATALOGUE', { client: 'nowhere', name: 'x' }],
    ])
  })

  it('clients restricts the roles and the catalogue loads', async () => {
    const catalogue = new CountingCatalogue()
    const tokens = source({ catalogue, clients: ['conda_store'] })
    const p = await tokens.resolve(await sign(k1))
    expect(Object.keys(p.clientRoles)).toEqual(['conda_store'])
    expect(catalogue.calls.sort()).toEqual(['(realm)', 'conda_store'])
  })

  it('a catalogue failure is TOKEN_UNVERIFIABLE / CATALOGUE_UNAVAILABLE (not cached); an aborted caller stops waiting', async () => {
    let fail = true
    const failure = new Error('catalogue down')
    const catalogue: RoleCatalogue = {
      clientRoles: async () => {
        if (fail) throw failure
        return new Map()
      },
      realmRoles: async () => new Map(),
    }
    const tokens = source({ catalogue })
    const token = await sign(k1)
    const err = await expectRejected(tokens.resolve(token), 'TOKEN_UNVERIFIABLE', 'CATALOGUE_UNAVAILABLE')
    expect(err.cause).toBe(failure)
    expect(err.retryable).toBe(true)
    fail = false
    await expect(tokens.resolve(token)).resolves.toMatchObject({ username: 'alice' })

    const hanging: RoleCatalogue = { clientRoles: () => new Promise(() => {}), realmRoles: async () => new Map() }
    const controller = new AbortController()
    const pending = source({ catalogue: hanging }).resolve(token, { signal: controller.signal })
    controller.abort(new Error('caller gave up'))
    await expect(pending).rejects.toThrow('caller gave up')
  })

  it('lightweight tokens: NO_USERNAME (no preferred_username), NO_ROLES with requireRoles; no role claims alone is a diagnostic', async () => {
    const light = await sign(k1, { azp: 'jupyterhub', exp: NOW + 300, iat: NOW, iss: ISS, jti: 'j', scope: 'openid', sid: 's', typ: 'Bearer' })
    await expectRejected(source().resolve(light), 'TOKEN_INVALID', 'NO_USERNAME')
    await expectRejected(source({ requireRoles: true }).resolve(light), 'TOKEN_INVALID', 'NO_ROLES')
    const noRoles = await sign(k1, baseClaims({ realm_access: undefined, resource_access: undefined }))
    const p = await source().resolve(noRoles)
    expect(p.diagnostics.map((d) => d.code)).toContain('KEYCLOAK_TOKEN_HAS_NO_ROLES')
  })

  it('verified tokens with malformed role claims are TOKEN_INVALID / MALFORMED with the InvalidInputError as cause', async () => {
    const err = await expectRejected(source().resolve(await sign(k1, baseClaims({ realm_access: { roles: 'admin' } }))), 'TOKEN_INVALID', 'MALFORMED')
    expect(err.cause).toBeInstanceOf(InvalidInputError)
    expect((err.cause as InvalidInputError).path).toBe('realm_access.roles')
  })

  it('rejections from verify propagate unchanged', async () => {
    await expectRejected(source().resolve(await sign(k1, baseClaims({ exp: NOW - 100 }))), 'TOKEN_EXPIRED', 'EXPIRED')
  })
})

describe('TokenSource options', () => {
  const bad = (options: unknown, option: string) => {
    try {
      new TokenSource(options as TokenSourceOptions)
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError)
      expect((err as InvalidOptionsError).option).toBe(option)
      return
    }
    throw new Error(`expected InvalidOptionsError for ${option}`)
  }

  it('are validated eagerly with the option named', () => {
    bad({ issuers: [] }, 'issuers')
    bad({ issuers: [''] }, 'issuers.0')
    bad({ issuers: ['not a url'] }, 'issuers.0')
    bad({ issuers: ['ftp://x/realms/y'] }, 'issuers.0')
    bad({ issuers: [ISS], algorithms: ['none'] }, 'algorithms.0')
    bad({ issuers: [ISS], algorithms: ['RS256', 'HS256'] }, 'algorithms.1')
    bad({ issuers: [ISS], algorithms: [] }, 'algorithms')
    bad({ issuers: [ISS], jwks: { keys: [] }, jwksUrl: 'http://x' }, 'jwksUrl')
    bad({ issuers: [ISS], jwks: { nope: 1 } }, 'jwks')
    bad({ issuers: [ISS], clockToleranceSec: -5 }, 'clockToleranceSec')
    bad({ issuers: [ISS], verifiedCache: { max: 0 } }, 'verifiedCache.max')
    bad({ issuers: [ISS], catalogue: {} }, 'catalogue')
    bad({ issuers: [ISS], catalogueCache: { maxBytes: 1 } }, 'catalogueCache')
    bad({ issuers: [ISS], catalogue: { clientRoles: async () => undefined, realmRoles: async () => new Map() }, catalogueCache: { max: 256 } }, 'catalogueCache.max')
    bad({ issuers: [ISS], catalogue: { clientRoles: async () => undefined, realmRoles: async () => new Map() }, catalogueCache: { maxBytes: 0 } }, 'catalogueCache.maxBytes')
    bad({ issuers: [ISS], catalogue: { clientRoles: async () => undefined, realmRoles: async () => new Map() }, catalogueCache: { serveStaleMs: -1 } }, 'catalogueCache.serveStaleMs')
    bad({ issuers: [ISS], catalogue: { clientRoles: async () => undefined, realmRoles: async () => new Map() }, catalogueCache: { concurrency: 0 } }, 'catalogueCache.concurrency')
    bad({ issuers: [ISS], jwksRemote: { serveStaleMs: 1.5 } }, 'jwksRemote.serveStaleMs')
    bad({ issuers: [ISS], usernameClaim: '' }, 'usernameClaim')
    bad({ issuers: [ISS], catalogue: { clientRoles: async () => undefined, realmRoles: async () => new Map() }, catalogueCache: { ttlMs: 1.5 } }, 'catalogueCache.ttlMs')
    bad({ issuers: [ISS], jwksRemote: { timeoutMs: -1 } }, 'jwksRemote.timeoutMs')
    bad({ issuers: [ISS], groupsClaim: 'roles' }, 'groupsClaim')
    bad({ issuers: [ISS], clients: [''] }, 'clients.0')
    bad({ issuers: [ISS], realm: '' }, 'realm')
    bad({ issuers: [ISS], audience: [] }, 'audience')
  })

  it('accepts a single issuer string and no network at construction', () => {
    expect(() => new TokenSource({ issuers: ISS })).not.toThrow()
  })
})

