import { afterEach, describe, expect, it } from 'vitest'
import { Engine } from '../../src/cli/engine.js'
import { createDecisionServer, type DecisionServerOptions } from '../../src/cli/serve.js'
import { openSource } from '../../src/cli/sources.js'
import { InvalidOptionsError, SourceUnavailableError } from '../../src/core/errors.js'
import { listen, openTracked, parseResponse, rawRequest, type Tracked } from './serve-raw.js'

const engine = new Engine({ source: await openSource({}) })
const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.close()
})

async function start(options: Partial<DecisionServerOptions> = {}) {
  const logged: string[] = []
  let n = 0
  const server = createDecisionServer({ engine, log: (line) => logged.push(line), requestId: () => `req-${++n}`, ...options })
  const r = await listen(server)
  running.push(r)
  return { port: r.port, logged, server }
}

const check = JSON.stringify({ user: 'bob', route: { method: 'GET', path: '/workspaces/ws-alpha' } })
const post = (contentType: string, body = check, extra = '') =>
  `POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`

describe('serve: exact media type (415 UNSUPPORTED_MEDIA_TYPE)', () => {
  it('accepts application/json with or without charset=utf-8, refuses look-alikes and other charsets', async () => {
    const { port } = await start()
    for (const type of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON;charset="UTF-8"']) {
      const res = await rawRequest(port, post(type))
      expect(res.status, type).toBe(200)
      expect(res.json()).toMatchObject({ allowed: true, reason: 'WORKSPACE_ROLE' })
    }
    for (const type of ['application/jsonfoo', 'application/json; charset=utf-16', 'application/json-patch+json', 'text/plain', 'application/json; x=1']) {
      const res = await rawRequest(port, post(type))
      expect(res.status, type).toBe(415)
      expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('a body that is not UTF-8 is INVALID_JSON, not decoded with replacement characters', async () => {
    const { port } = await start()
    const bytes = Buffer.concat([Buffer.from('{"user":"b'), Buffer.from([0xff]), Buffer.from('b","route":{"method":"GET","path":"/"}}')])
    const head = `POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`
    const socket = await openTracked(port)
    socket.socket.write(Buffer.concat([Buffer.from(head), bytes]))
    await socket.closed
    const answer = parseResponse(socket.received())!
    expect(answer.status).toBe(400)
    expect(answer.json().error).toMatchObject({ code: 'INVALID_JSON', message: 'request body is not valid UTF-8' })
  })
})

describe('serve: duplicate headers (400 DUPLICATE_HEADER)', () => {
  it('two Authorization headers are refused even when the first is the valid caller token', async () => {
    const { port } = await start({ callerToken: 'good-token' })
    const one = await rawRequest(port, 'GET /v1/users/bob/principal HTTP/1.1\r\nhost: x\r\nauthorization: Bearer good-token\r\nconnection: close\r\n\r\n')
    expect(one.status).toBe(200)
    for (const [a, b] of [
      ['Bearer good-token', 'Bearer wrong'],
      ['Bearer wrong', 'Bearer good-token'],
      ['Bearer good-token', 'Bearer good-token'],
    ]) {
      const res = await rawRequest(port, `GET /v1/users/bob/principal HTTP/1.1\r\nhost: x\r\nauthorization: ${a}\r\nAuthorization: ${b}\r\nconnection: close\r\n\r\n`)
      expect(res.status).toBe(400)
      expect(res.json().error).toMatchObject({ code: 'DUPLICATE_HEADER', message: 'more than one authorization header' })
    }
    const types = await rawRequest(port, post('application/json', check, 'content-type: text/plain\r\nauthorization: Bearer good-token\r\n'))
    expect(types.json().error.code).toBe('DUPLICATE_HEADER')
  })
})

describe('serve: request ids and 5xx logging', () => {
  it('every response carries X-Request-Id; a 500 is logged with it and returned in the body, without details', async () => {
    const failing = {
      description: 'failing engine',
      resolveJson: async () => {
        throw new Error('boom: secret detail')
      },
      environmentsJson: async () => {
        throw new SourceUnavailableError('Keycloak', 'connection refused')
      },
      checkJson: engine.checkJson.bind(engine),
    } as unknown as DecisionServerOptions['engine']
    const { port, logged } = await start({ engine: failing })
    const ok = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    expect(ok.headers['x-request-id']).toBe('req-1')
    const res = await rawRequest(port, 'GET /v1/users/bob/principal HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    expect(res.status).toBe(500)
    expect(res.headers['x-request-id']).toBe('req-2')
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error', requestId: 'req-2' } })
    const unavailable = await rawRequest(port, 'GET /v1/users/bob/environments HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    expect(unavailable.status).toBe(503)
    expect(unavailable.json().error.requestId).toBe('req-3')
    const notFound = await rawRequest(port, 'GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    expect(notFound.json().error).toMatchObject({ code: 'NOT_FOUND', requestId: 'req-4' })
    // Exactly the two 5xx are logged, each with its id, method and path; the 500 with the cause.
    expect(logged).toHaveLength(2)
    expect(logged[0]).toMatch(/^keycloak-permissions serve: 500 INTERNAL request req-2 GET "\/v1\/users\/bob\/principal": Error: boom: secret detail/)
    expect(logged[1]).toMatch(/503 KEYCLOAK_SOURCE_UNAVAILABLE request req-3 GET/)
  })
})

describe('serve: options are validated eagerly', () => {
  it.each([
    [{ limits: { requestTimeoutMs: 0 } }, 'limits.requestTimeoutMs'],
    [{ limits: { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 } }, 'limits.headersTimeoutMs'],
    [{ limits: { maxConnections: 1.5 } }, 'limits.maxConnections'],
    [{ limits: { bogus: 1 } }, 'limits'],
    [{ callerToken: 'has space' }, 'callerToken'],
    [{ maxBodyBytes: -1 }, 'maxBodyBytes'],
    [{ forwardAuth: { authenticate: 'nope' } }, 'forwardAuth.authenticate'],
    [{ engine: {} }, 'engine'],
  ])('%j → InvalidOptionsError naming %s', (bad, option) => {
    let error: unknown
    try {
      createDecisionServer({ engine, ...(bad as object) } as DecisionServerOptions)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe(option)
  })
})

describe('serve: timeouts and connection limits', () => {
  it('200 slow-body connections are all answered 408 REQUEST_TIMEOUT and closed (requestTimeoutMs 1000)', async () => {
    const { port } = await start({ limits: { requestTimeoutMs: 1_000, headersTimeoutMs: 500, idleTimeoutMs: 60_000 } })
    const sockets: Tracked[] = []
    for (let i = 0; i < 200; i++) {
      const t = await openTracked(port)
      t.socket.write(`POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`)
      sockets.push(t)
    }
    // Each client keeps the connection busy with one byte every 100 ms (never idle, never complete).
    const started = performance.now()
    const drip = setInterval(() => {
      for (const t of sockets) if (!t.isClosed()) t.socket.write(' ')
    }, 100)
    try {
      // Default Node (requestTimeout 300 s) keeps these open for minutes: the bound here is generous.
      await Promise.race([Promise.all(sockets.map((t) => t.closed)), new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 20 s')), 20_000))])
    } finally {
      clearInterval(drip)
    }
    const elapsed = performance.now() - started
    console.log(`serve: 200 slow-body connections closed after ${(elapsed / 1000).toFixed(1)} s (requestTimeoutMs 1000)`)
    const answers = sockets.map((t) => parseResponse(t.received()))
    expect(answers.every((a) => a?.status === 408 && a.json().error.code === 'REQUEST_TIMEOUT')).toBe(true)
  })

  it('slow headers are answered 408 and closed (headersTimeoutMs)', async () => {
    const { port } = await start({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 60_000 } })
    const t = await openTracked(port)
    t.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n')
    const drip = setInterval(() => !t.isClosed() && t.socket.write('x-slow: 1\r\n'), 50)
    await t.closed
    clearInterval(drip)
    expect(parseResponse(t.received())).toMatchObject({ status: 408 })
  })

  it('connections beyond maxConnections are closed on accept; those within are served', async () => {
    const { port } = await start({ limits: { maxConnections: 5 } })
    const sockets: Tracked[] = []
    for (let i = 0; i < 12; i++) sockets.push(await openTracked(port))
    // The server accepts asynchronously: wait until it has dropped the excess (counting, not timing).
    const within = sockets.slice(0, 5)
    await Promise.all(sockets.slice(5).map((t) => t.closed))
    expect(within.filter((t) => t.isClosed())).toHaveLength(0)
    within[0]!.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    await within[0]!.closed
    expect(parseResponse(within[0]!.received())?.status).toBe(200)
  })

  it('a keep-alive connection is closed after maxRequestsPerConnection requests', async () => {
    const { port } = await start({ limits: { maxRequestsPerConnection: 2, keepAliveTimeoutMs: 60_000 } })
    const t = await openTracked(port)
    t.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nGET /healthz HTTP/1.1\r\nhost: x\r\n\r\n')
    while (!/"status":"ok"[\s\S]*"status":"ok"/.test(t.received())) await new Promise((r) => setTimeout(r, 20))
    const second = t.received().slice(t.received().lastIndexOf('HTTP/1.1 '))
    expect(second.toLowerCase()).toContain('connection: close')
    await t.closed
  })

  it('a request head over maxHeaderBytes is 431 HEADERS_TOO_LARGE', async () => {
    const { port } = await start({ limits: { maxHeaderBytes: 2_048 } })
    const res = await rawRequest(port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(4_000)}\r\n\r\n`)
    expect(res.status).toBe(431)
    expect(res.json().error.code).toBe('HEADERS_TOO_LARGE')
  })
})
