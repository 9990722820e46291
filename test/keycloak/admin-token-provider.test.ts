import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/core/clock.js'
import { InvalidOptionsError, SourceUnavailableError } from '../../src/core/errors.js'
import { ClientCredentialsTokenProvider, type ClientCredentialsOptions } from '../../src/keycloak/index.js'

/** A loopback token endpoint: checks Basic credentials and the grant, counts requests, issues numbered tokens. */
interface TokenEndpoint {
  url: string
  requests: { authorization: string | undefined; body: string }[]
  /** What the next responses look like. */
  behaviour: { status: number; expiresIn?: number; delayMs: number; body?: string; omitExpiry?: boolean; jwtExp?: number }
  close(): Promise<void>
}

async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const state: TokenEndpoint = {
    url: '',
    requests: [],
    behaviour: { status: 200, expiresIn: 300, delayMs: 0 },
    close: async () => {},
  }
  let issued = 0
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      state.requests.push({ authorization: req.headers.authorization, body })
      const b = state.behaviour
      setTimeout(() => {
        if (b.body !== undefined) {
          res.writeHead(b.status, { 'content-type': 'application/json' }).end(b.body)
          return
        }
        if (b.status !== 200) {
          res.writeHead(b.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' }))
          return
        }
        issued++
        const accessToken = b.jwtExp === undefined ? `token-${issued}` : fakeJwt({ exp: b.jwtExp, n: issued })
        const payload: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer' }
        if (!b.omitExpiry) payload.expires_in = b.expiresIn
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload))
      }, b.delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/example/protocol/openid-connect/token`
  state.close = () => new Promise((resolve) => server.close(() => resolve()))
  return state
}

function fakeJwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${part({ alg: 'none' })}.${part(claims)}.`
}

describe('ClientCredentialsTokenProvider', () => {
  let endpoint: TokenEndpoint
  let clock: ManualClock
  const make = (extra: Partial<ClientCredentialsOptions> = {}) =>
    new ClientCredentialsTokenProvider({ tokenUrl: endpoint.url, clientId: 'permission-resolver', clientSecret: 's3cr:t &', clock, ...extra })

  beforeAll(async () => {
    endpoint = await startTokenEndpoint()
  })
  afterAll(async () => {
    await endpoint.close()
  })
  beforeEach(() => {
    endpoint.requests = []
    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 0 }
    clock = new ManualClock(1_000_000)
  })

  it('POSTs grant_type=client_credentials with form-encoded HTTP Basic client credentials', async () => {
    expect(await make({ scope: 'openid' }).getAccessToken()).toBe('token-1')
    expect(endpoint.requests).toHaveLength(1)
    const [request] = endpoint.requests
    expect(new URLSearchParams(request!.body).get('grant_type')).toBe('client_credentials')
    expect(new URLSearchParams(request!.body).get('scope')).toBe('openid')
    const decoded = Buffer.from(request!.authorization!.replace('Basic ', ''), 'base64').toString('utf8')
    expect(decoded).toBe('permission-resolver:s3cr%3At+%26')
  })

  it('caches the token until exp − 30 s on the injected clock, then fetches a new one', async () => {
    const tokens = make()
    const first = await tokens.getAccessToken()
    clock.advance(269_999)
    expect(await tokens.getAccessToken()).toBe(first)
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(1)
    const second = await tokens.getAccessToken()
    expect(second).not.toBe(first)
    expect(endpoint.requests).toHaveLength(2)
  })

  it('honours a custom refresh margin, capped at half the lifetime of short-lived tokens', async () => {
    const tokens = make({ refreshMarginMs: 60_000 })
    await tokens.getAccessToken()
    clock.advance(239_999)
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(1)
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(2)

    endpoint.behaviour = { status: 200, expiresIn: 20, delayMs: 0 } // 20 s token: renewed after 10 s, not at once
    const short = make()
    await short.getAccessToken()
    clock.advance(9_999)
    await short.getAccessToken()
    expect(endpoint.requests).toHaveLength(3)
    clock.advance(1)
    await short.getAccessToken()
    expect(endpoint.requests).toHaveLength(4)
  })

  it('falls back to the JWT exp when the response has no expires_in', async () => {
    endpoint.behaviour = { status: 200, delayMs: 0, omitExpiry: true, jwtExp: Math.floor(1_000_000 / 1000) + 100 }
    const tokens = make()
    await tokens.getAccessToken()
    clock.advance(69_999)
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(1)
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(2)
  })

  it('coalesces concurrent callers into one token request (single flight), also on renewal', async () => {
    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 50 }
    const tokens = make()
    const all = await Promise.all(Array.from({ length: 25 }, () => tokens.getAccessToken()))
    expect(new Set(all).size).toBe(1)
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(280_000)
    const renewed = await Promise.all(Array.from({ length: 25 }, () => tokens.getAccessToken()))
    expect(new Set(renewed).size).toBe(1)
    expect(renewed[0]).not.toBe(all[0])
    expect(endpoint.requests).toHaveLength(2)
  })

  it('invalidate() forces a new request, and a request begun before it does not repopulate the cache', async () => {
    const tokens = make()
    await tokens.getAccessToken()
    tokens.invalidate()
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(2)

    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 50 }
    tokens.invalidate()
    const pending = tokens.getAccessToken()
    tokens.invalidate()
    await pending
    await tokens.getAccessToken()
    expect(endpoint.requests).toHaveLength(4)
  })

  it('a rejected client is a non-retryable SourceUnavailableError with the status and the OAuth error', async () => {
    endpoint.behaviour = { status: 401, delayMs: 0 }
    const err = await make().getAccessToken().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SourceUnavailableError)
    expect(err).toMatchObject({ status: 401, retryable: false, source: 'admin-api' })
    expect((err as Error).message).toContain('unauthorized_client: Invalid client or Invalid client credentials')
  })

  it('a failed request is not cached: the next call tries again', async () => {
    endpoint.behaviour = { status: 503, delayMs: 0 }
    const tokens = make()
    await expect(tokens.getAccessToken()).rejects.toMatchObject({ status: 503, retryable: true })
    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 0 }
    expect(await tokens.getAccessToken()).toMatch(/^token-/)
    expect(endpoint.requests).toHaveLength(2)
  })

  it('an answer without access_token, or not JSON, is a SourceUnavailableError', async () => {
    endpoint.behaviour = { status: 200, delayMs: 0, body: '{"token_type":"Bearer"}' }
    await expect(make().getAccessToken()).rejects.toThrow(/without an access_token/)
    endpoint.behaviour = { status: 502, delayMs: 0, body: '<html>bad gateway</html>' }
    await expect(make().getAccessToken()).rejects.toMatchObject({ code: 'KEYCLOAK_SOURCE_UNAVAILABLE', status: 502 })
  })

  it('times out a slow endpoint and reports an unreachable one as retryable SourceUnavailableErrors', async () => {
    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 500 }
    const slow = await make({ timeoutMs: 50 }).getAccessToken().catch((e: unknown) => e)
    expect(slow).toBeInstanceOf(SourceUnavailableError)
    expect((slow as Error).message).toContain('timed out after 50 ms')
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const down = new ClientCredentialsTokenProvider({ tokenUrl: `http://127.0.0.1:${port}/realms/x/protocol/openid-connect/token`, clientId: 'a', clientSecret: 'b' })
    const err = await down.getAccessToken().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'KEYCLOAK_SOURCE_UNAVAILABLE', retryable: true })
    expect((err as Error).message).toContain('ECONNREFUSED')
  })

  it("a caller's abort signal abandons only that caller", async () => {
    endpoint.behaviour = { status: 200, expiresIn: 300, delayMs: 100 }
    const tokens = make()
    const controller = new AbortController()
    const aborted = tokens.getAccessToken({ signal: controller.signal })
    const other = tokens.getAccessToken()
    controller.abort(new Error('caller gave up'))
    await expect(aborted).rejects.toThrow('caller gave up')
    expect(await other).toMatch(/^token-/)
    expect(endpoint.requests).toHaveLength(1)
  })

  it('builds the token endpoint URL, keeping a relative path such as /auth', () => {
    expect(ClientCredentialsTokenProvider.tokenEndpoint('https://nebari.example.com/auth/', 'nebari')).toBe(
      'https://nebari.example.com/auth/realms/nebari/protocol/openid-connect/token',
    )
  })

  it.each([
    [{ tokenUrl: 'not a url' }, 'tokenUrl'],
    [{ tokenUrl: 'ftp://host/token' }, 'tokenUrl'],
    [{ tokenUrl: 'http://u:p@host/token' }, 'tokenUrl'],
    [{ clientId: '' }, 'clientId'],
    [{ clientSecret: 42 }, 'clientSecret'],
    [{ refreshMarginMs: -1 }, 'refreshMarginMs'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: Number.POSITIVE_INFINITY }, 'timeoutMs'],
    [{ clock: {} }, 'clock'],
  ])('rejects invalid option %o naming %s', (bad, option) => {
    const options = { tokenUrl: 'http://127.0.0.1/token', clientId: 'a', clientSecret: 'b', ...bad } as unknown as ClientCredentialsOptions
    const err = (() => {
      try {
        new ClientCredentialsTokenProvider(options)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(InvalidOptionsError)
    expect((err as InvalidOptionsError).option).toBe(option)
  })
})
