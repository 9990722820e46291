import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Engine } from '../../src/cli/engine.js'
import { createDecisionServer, requestIds, type DecisionEngine } from '../../src/cli/serve.js'
import { duplicatedHeader, duplicateHeaderFinder, serveRoute, serveRouter } from '../../src/cli/serve-http.js'
import { openSource } from '../../src/cli/sources.js'
import { listen, parseResponse } from './serve-raw.js'

/**
 * The oracle: what `serve` routed on before the route memo, written out here on its own (the URL
 * parser, then the split and decode the handler did), so a faster or sloppier `serveRoute` /
 * `serveRouter` fails against it.
 */
function byUrl(target: string) {
  const url = new URL(target, 'http://localhost')
  const parts = url.pathname.split('/').slice(1)
  const listed = url.searchParams.get('listed') === 'true'
  if (parts[0] === 'v1' && parts[1] === 'users' && parts.length === 4 && parts[2]) {
    let user: string | undefined
    try {
      user = decodeURIComponent(parts[2])
    } catch {
      user = undefined
    }
    return { pathname: url.pathname, listed, userPath: { user, leaf: parts[3] } }
  }
  return { pathname: url.pathname, listed }
}

const PREFIXES = [
  '/v1/users/', '/v1//users/', '//v1/users/', '/v1/users//', '\\v1\\users\\', '/v1\\users/', '/V1/users/', '/v1/Users/', '/v1/%75sers/',
  '/x/../v1/users/', '/v1/./users/', '/v1/%2e/users/', '/v1/users/%2e%2e/users/', '/v1/x/%2E%2E/users/', 'http://evil/v1/users/',
  'http://localhost/v1/users/', '/v1/forward-auth/../users/', '/v1/users/alice/../', '/v1/users/alice/%2e%2e/', '/v1/users/x;/../',
]
const USERS = [
  'bob', 'Bob', 'b%6fb', '%62ob', 'bob%2Fenvironments', 'bob%2fx', '..', '.', '%2e%2e', '%2E', '.%2e', '%2e.', 'b..b', 'bob;x', 'bob;',
  'bob%00', '%ff', '%c3', '%E2%82%AC', 'b%20o%20b', 'bob%23x', 'bob%3Flisted=true', '%', '%zz', '%%32e', 'bob%5C', 'bob\\', '', 'a'.repeat(300),
  'al%69ce', 'ALICE', 'alice.', 'alice%2e', '~alice', 'alice@example.org', 'alice%40example.org', "o'brien", 'ali+ce', 'ali%2Bce',
]
const SUFFIXES = [
  '/environments', '/environments/', '/environments?listed=true', '/environments?listed=TRUE', '/environments?listed=true&listed=false',
  '/environments?listed=false&listed=true', '/environments?listed=%74rue', '/environments#?listed=true', '/environments?listed=true#x',
  '/environments%3Flisted=true', '/environments/..', '/environments/.', '/environments/%2e%2e', '/Environments', '/%65nvironments',
  '/principal', '/principal?listed=true', '/environments\\', '/environments;x', '//environments', '/environments?', '?/environments',
]
const SPECIAL = [
  '/healthz', '/healthz/', '/healthz/..', '/healthz?x=1', '/HEALTHZ', '/v1/check', '/v1/check/', '/v1/check?x', '/v1//check', '/v1/check/..',
  '/v1/check/%2e%2e', '/v1/%63heck', '/x/../v1/check', '\\v1\\check', '//v1/check', '*', '/', '', '?listed=true', '#', 'bob',
  '/v1/users', '/v1/users/', '/v1/users/bob', '/v1/users/bob/', '/v1/users/bob/environments/x', '/v1/forward-auth/nginx/workspaces',
  // Targets the URL parser refuses (it throws): the server must refuse them (400 BAD_REQUEST), never crash on them.
  'http://[/v1/users/bob/environments', 'http://%/v1/users/bob/environments', 'http://x:99999/v1/users/bob/environments', 'http://a:b@/v1/check',
]

/** What a routing function gives for a target: its route, or that it threw (and what). */
function outcome(routing: (target: string) => unknown, target: string): unknown {
  try {
    return { route: routing(target) }
  } catch (err) {
    return { threw: err instanceof Error ? `${err.name}: ${(err as { code?: string }).code}` : String(err) }
  }
}
const CORPUS = [...SPECIAL, ...PREFIXES.flatMap((p) => USERS.flatMap((u) => SUFFIXES.map((s) => `${p}${u}${s}`)))]

describe('serveRoute / serveRouter: the URL parser’s answer for every target, remembered per exact target', () => {
  it('the oracle is not trivial: the corpus holds targets URL resolves differently from a plain split', () => {
    expect(byUrl('/v1/users/%2e%2e/environments').pathname).toBe('/v1/environments')
    expect(byUrl('//v1/users/bob/environments').pathname).toBe('/users/bob/environments')
    expect(byUrl('\\v1\\users\\bob\\environments').userPath).toEqual({ user: 'bob', leaf: 'environments' })
    expect(byUrl('/v1/forward-auth/../users/bob/environments').userPath).toEqual({ user: 'bob', leaf: 'environments' })
    expect(byUrl('/v1/users/bob%2Fenvironments/environments').userPath).toEqual({ user: 'bob/environments', leaf: 'environments' })
    expect(byUrl('/v1/users/%ff/environments').userPath).toEqual({ user: undefined, leaf: 'environments' })
    expect(byUrl('/v1/users/bob/environments?listed=false&listed=true').listed).toBe(false)
    expect(CORPUS.length).toBeGreaterThan(15_000)
    expect(outcome(byUrl, 'http://[/v1/users/bob/environments')).toEqual({ threw: 'TypeError: ERR_INVALID_URL' })
  })

  it('serveRoute equals the oracle on every target of the corpus', () => {
    for (const target of CORPUS) expect(outcome(serveRoute, target), target).toEqual(outcome(byUrl, target))
  })

  it('one router over the whole corpus, twice (the second pass from the memo): the oracle’s answer each time', () => {
    const route = serveRouter(100_000)
    for (let pass = 0; pass < 2; pass++) for (const target of CORPUS) expect(outcome(route, target), target).toEqual(outcome(byUrl, target))
    // Spellings that normalise to each other are separate entries: each keeps its own answer, in any order.
    const spellings = ['/v1/users/bob/environments', '/v1/users/b%6fb/environments', '/v1/users/Bob/environments', '/v1/users/%2e%2e/environments', '//v1/users/bob/environments']
    for (const order of [spellings, [...spellings].reverse()]) {
      const fresh = serveRouter()
      for (let pass = 0; pass < 2; pass++) for (const target of order) expect(fresh(target), target).toEqual(byUrl(target))
    }
  })

  it('a small or full memo, and targets too long to remember, still route as the oracle', () => {
    const tiny = serveRouter(4, 40)
    for (let pass = 0; pass < 2; pass++) for (const target of CORPUS.slice(0, 2_000)) expect(outcome(tiny, target), target).toEqual(outcome(byUrl, target))
  })

  it('a remembered route cannot be changed by a caller', () => {
    const route = serveRouter()
    const first = route('/v1/users/bob/environments')
    expect(Object.isFrozen(first) && Object.isFrozen(first.userPath)).toBe(true)
  })
})

describe('duplicateHeaderFinder: every repeat of a single header, case-insensitively, nothing else', () => {
  const SINGLE = ['authorization', 'content-type', 'content-length', 'host', 'x-original-uri', 'x-original-method', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-host', 'x-forwarded-proto']
  const find = duplicateHeaderFinder(new Set(SINGLE))
  const cases = (name: string) => [name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1), [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')]

  it('finds each name repeated in any spelling, among other headers, after other single headers', () => {
    for (const name of SINGLE) {
      const others = SINGLE.filter((n) => n !== name)
      for (const a of cases(name)) {
        for (const b of cases(name)) {
          const raw = ['X-Other', '1', a, 'v1', ...others.slice(0, 3).flatMap((n) => [n, 'o']), 'x-other', '2', b, 'v2']
          expect(find(raw), `${a} / ${b}`).toBe(name)
          expect(duplicatedHeader(raw, new Set(SINGLE))).toBe(name)
        }
      }
    }
  })

  it('the first repeat wins, whichever single header came first', () => {
    expect(find(['Host', 'a', 'Authorization', 'x', 'Content-Type', 'y', 'authorization', 'z', 'host', 'b'])).toBe('authorization')
    expect(find(['Host', 'a', 'Authorization', 'x', 'Content-Type', 'y', 'CONTENT-TYPE', 'z'])).toBe('content-type')
  })

  it('no repeat: distinct single headers, repeated other headers, names of the same length that differ', () => {
    expect(find(SINGLE.flatMap((n) => [n, 'v']))).toBeUndefined()
    expect(find(['X-Other', '1', 'x-other', '2', 'Set-Cookie', 'a', 'set-cookie', 'b'])).toBeUndefined()
    expect(find(['x-forwarded-uri', 'a', 'x-forwarded-urx', 'b', 'hosT', 'h', 'hoss', 'h', 'authorizatioN', 'a', 'authorisation', 'b'])).toBeUndefined()
    expect(find([])).toBeUndefined()
  })
})

describe('requestIds: unique per process at the cost of a counter, UUID-shaped', () => {
  it('100,000 ids: all distinct, 36 characters of hex and dashes, one random prefix per generator', () => {
    const next = requestIds()
    const ids = new Set<string>()
    for (let i = 0; i < 100_000; i++) ids.add(next())
    expect(ids.size).toBe(100_000)
    for (const id of [...ids].slice(0, 10)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const other = requestIds()()
    expect(other.slice(0, 24)).not.toBe([...ids][0]!.slice(0, 24))
  })
})

/** One request on its own connection; the response exactly as received, without its Date line. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('utf8')
    socket.write(request)
    const done = () => resolve(text.replace(/\r\nDate: [^\r]*/, ''))
    socket.on('data', (d: string) => {
      text += d
      if (parseResponse(text)) {
        socket.destroy()
        done()
      }
    })
    socket.on('error', reject)
    socket.on('close', done)
  })
}

const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.close()
})

describe('serve: a kept answer (the synchronous path) is byte for byte what the full path answers', () => {
  it('adversarial targets, duplicate headers and caller tokens: kept answers on (warm) and off give the same bytes', async () => {
    const engine = new Engine({ source: await openSource({}), environments: { file: 'examples/realm/example-environments.json' } })
    let computed = 0
    const withAnswers = (staticAnswers: boolean): DecisionEngine => ({
      description: engine.description,
      staticAnswers,
      resolveJson: (u) => engine.resolveJson(u),
      environmentsJson: (u, o) => (computed++, engine.environmentsJson(u, o)),
      checkJson: (b) => engine.checkJson(b),
    })
    const servers = []
    for (const callerToken of [undefined, 's3cret']) {
      const pair = []
      for (const staticAnswers of [true, false]) {
        const r = await listen(createDecisionServer({ engine: withAnswers(staticAnswers), log: () => {}, requestId: () => 'req-fixed', ...(callerToken ? { callerToken } : {}) }))
        running.push(r)
        pair.push(r.port)
      }
      servers.push({ callerToken, kept: pair[0]!, full: pair[1]! })
    }
    const users = ['bob', 'b%6fb', 'alice', '%2e%2e', '%ff', 'nobody', 'Bob']
    const suffixes = ['/environments', '/environments/', '/environments?listed=true', '/environments?listed=true&listed=false', '/environments#?listed=true', '/environments/..', '/environments/%2e%2e', '/environments/%2e%2e/principal/x']
    const targets = [...SPECIAL, ...['/v1/users/', '//v1/users/', '\\v1\\users\\', '/v1/forward-auth/../users/', '/x/../v1/users/'].flatMap((p) => users.flatMap((u) => suffixes.map((s) => `${p}${u}${s}`)))]
    let keptAnswers = 0
    for (const { callerToken, kept, full } of servers) {
      const auth = callerToken ? `authorization: Bearer ${callerToken}\r\n` : ''
      const variants = [
        auth,
        `${auth}Host: again\r\n`,
        `${auth}${callerToken ? 'Authorization: Bearer s3cret\r\n' : 'authorization: Bearer x\r\nAUTHORIZATION: Bearer y\r\n'}`,
        callerToken ? 'authorization: Bearer wrong\r\n' : 'x-other: 1\r\n',
        callerToken ? '' : 'content-length: 0\r\nContent-Length: 0\r\n',
      ]
      for (const target of targets) {
        for (const method of SPECIAL.includes(target) || target.endsWith('/environments') ? ['GET', 'POST'] : ['GET']) {
          const request = (extra: string) => `${method} ${target} HTTP/1.1\r\nhost: x\r\n${extra}connection: close\r\n\r\n`
          await exchange(kept, request(auth)) // warms the kept answer, if any
          for (const extra of variants) {
            const before = computed
            const fromKept = await exchange(kept, request(extra))
            if (computed === before && fromKept.startsWith('HTTP/1.1 200') && /environments/.test(target)) keptAnswers++
            expect(fromKept, `${method} ${JSON.stringify(target)} ${JSON.stringify(extra)}`).toBe(await exchange(full, request(extra)))
          }
        }
      }
    }
    // The comparison covered kept answers, not only refusals.
    expect(keptAnswers).toBeGreaterThan(50)
    // A target the URL parser refuses is bad input (400 BAD_REQUEST), on both paths, and the server stays up.
    for (const port of [servers[0]!.kept, servers[0]!.full]) {
      const refused = await exchange(port, 'GET http://[/v1/users/bob/environments HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
      expect(refused).toMatch(/^HTTP\/1\.1 400 /)
      expect(refused).toContain('"code":"BAD_REQUEST"')
      expect(await exchange(port, 'GET /v1/users/bob/environments HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /)
    }
  }, 120_000)
})
