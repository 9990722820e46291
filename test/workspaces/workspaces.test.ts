import { describe, expect, it } from 'vitest'
import { InvalidOptionsError, ManualClock, TokenRejectedError } from '../../src/index.js'
import { principalFromClaims, validateClaims } from '../../src/keycloak/index.js'
import {
  authorizeHttpRequest,
  compileRoutePattern,
  decideFromClaims,
  matchRoutePattern,
  normalizeRequestPath,
  parseAuthorization,
  routeTable,
  stacPolicy,
  statusForReason,
  subjectFromClaims,
  workspaceApiPolicy,
  type ClaimsDecoder,
} from '../../src/workspaces/index.js'
import { makePrincipal } from './helpers.js'

describe('normalizeRequestPath (§6)', () => {
  it.each([
    ['/workspaces//ws-alice', ['workspaces', 'ws-alice']],
    ['/workspaces/ws-bob/../ws-alice', ['workspaces', 'ws-alice']],
    ['/workspaces/ws%2Dalice', ['workspaces', 'ws-alice']],
    ['/workspaces/ws-alice/?q=1#f', ['workspaces', 'ws-alice']],
    ['/', []],
    ['/..', []],
    ['/a/./b/../../c', ['c']],
    ['/%41%62', ['Ab']],
    ['/caf%C3%A9', ['café']],
    ['/50%25', ['50%']],
  ])('%s → %j', (target, segments) => {
    expect(normalizeRequestPath(target)).toEqual({ ok: true, segments, path: `/${segments.join('/')}` })
  })

  it.each([
    ['/workspaces/ws-bob%2F..%2Fws-alice', 'ENCODED_SEPARATOR'],
    ['/workspaces/ws%252Dalice', 'DOUBLE_ENCODING'],
    ['/workspaces/ws-alice/%2e%2e/ws-bob', 'ENCODED_DOT_SEGMENT'],
    ['/a\\b', 'RAW_SEPARATOR'],
    ['/a%zz', 'BAD_ESCAPE'],
    ['/a%C3', 'INVALID_UTF8'],
    ['a/b', 'NOT_ABSOLUTE'],
    ['/a\uff0fb', 'COMPATIBILITY_SEPARATOR'],
    ['/..;x/b', 'DOT_SEGMENT_PARAMETER'],
  ])('%s is refused (%s)', (target, detail) => {
    expect(normalizeRequestPath(target)).toMatchObject({ ok: false, reason: 'AMBIGUOUS_PATH', detail })
  })
})

describe('route templates', () => {
  it('binds parameters and matches the rest', () => {
    const p = compileRoutePattern('/workspaces/{workspace}/**')
    expect(matchRoutePattern(p, ['workspaces', 'ws-a'])).toEqual({ workspace: 'ws-a' })
    expect(matchRoutePattern(p, ['workspaces', 'ws-a', 'x', 'y'])).toEqual({ workspace: 'ws-a' })
    expect(matchRoutePattern(p, ['workspaces'])).toBeUndefined()
    expect(matchRoutePattern(p, ['Workspaces', 'ws-a'])).toBeUndefined()
    const exact = compileRoutePattern('/a/*/c')
    expect(matchRoutePattern(exact, ['a', 'b', 'c'])).toEqual({})
    expect(matchRoutePattern(exact, ['a', 'b', 'c', 'd'])).toBeUndefined()
  })

  it('does not let a parameter named __proto__ touch prototypes', () => {
    const params = matchRoutePattern(compileRoutePattern('/x/{__proto__}'), ['x', 'polluted'])
    expect(params?.['__proto__']).toBe('polluted')
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it.each([
    ['workspaces/{ws}', /starting with "\/"/],
    ['/a//b', /empty/],
    ['/**/a', /last segment/],
    ['/{a}/{a}', /twice/],
    ['/{1a}', /parameter name/],
    ['/a*', /not allowed/],
    ['/a%2F', /not allowed/],
    ['/./a', /dot segments/],
  ])('refuses %s', (source, message) => {
    expect(() => compileRoutePattern(source)).toThrow(InvalidOptionsError)
    expect(() => compileRoutePattern(source)).toThrow(message)
  })
})

describe('routeTable', () => {
  const alice = makePrincipal('alice', { 'proj-a': ['member'], portal: ['viewer', 'auditor'] })

  it('validates options eagerly, naming the option', () => {
    const bad = (options: unknown, option: string) => {
      try {
        routeTable(options as never)
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError)
        expect((err as InvalidOptionsError).option).toBe(option)
      }
    }
    bad({ rules: [], colour: 1 }, 'colour')
    bad({ rules: 'x' }, 'rules')
    bad({ rules: [{ path: '/a/{p}', require: { anyOf: ['x'], allOf: ['y'] } }] }, 'rules[0].require')
    bad({ rules: [{ path: '/a/{p}', require: { anyOf: [] } }] }, 'rules[0].require.anyOf')
    bad({ rules: [{ path: '/a/{p}/{q}', require: { anyOf: ['x'] } }] }, 'rules[0].require.client')
    bad({ rules: [{ path: '/a/{p}', require: { anyOf: ['x'], client: { segment: 'q' } } }] }, 'rules[0].require.client.segment')
    bad({ rules: [{ path: '/a', methods: [], require: 'public' }] }, 'rules[0].methods')
    bad({ rules: [{ path: '/a', require: 'open' }] }, 'rules[0].require')
    bad({ rules: [{ path: 'a', require: 'public' }] }, 'rules[0].path')
    bad({ rules: [], platformAdmin: { client: '', role: 'x' } }, 'platformAdmin.client')
    bad({ rules: [], methodOverrideHeader: 'x y' }, 'methodOverrideHeader')
  })

  const policy = routeTable({
    rules: [
      { path: '/health', require: 'public' },
      { path: '/docs/**', require: 'authenticated' },
      { name: 'audit', path: '/audit/**', require: { allOf: ['viewer', 'auditor'], client: 'portal' } },
      { path: '/admin/**', require: { allOf: ['viewer', 'admin'], client: 'portal' } },
      { path: '/projects/{project}/**', methods: ['delete'], require: { anyOf: ['owner'] } },
      { path: '/projects/{project}/**', require: { anyOf: ['member', 'owner'] } },
    ],
  })

  it('decides public, login-only and role rules in order', () => {
    const check = (method: string, path: string, who: Parameters<typeof policy.check>[1] = alice) => {
      const d = policy.check({ method, path }, who)
      return [d.allowed, d.reason, d.rule]
    }
    expect(check('GET', '/health', null)).toEqual([true, 'PUBLIC_READ', '/health'])
    expect(check('GET', '/health/x', null)).toEqual([false, 'NO_TOKEN', undefined])
    expect(check('GET', '/docs', null)).toEqual([false, 'NO_TOKEN', '/docs/**'])
    expect(check('GET', '/docs/api')).toEqual([true, 'AUTHENTICATED', '/docs/**'])
    expect(check('GET', '/audit/log')).toEqual([true, 'CLIENT_ROLE', 'audit'])
    expect(check('GET', '/admin')).toEqual([false, 'ROLE_MISSING', '/admin/**'])
    expect(check('GET', '/projects/proj-a/x')).toEqual([true, 'WORKSPACE_ROLE', '/projects/{project}/**'])
    expect(check('DELETE', '/projects/proj-a')).toEqual([false, 'METHOD_NEEDS_ROLE', 'DELETE /projects/{project}/**'])
    expect(check('DELETE', '/projects/proj-b')).toEqual([false, 'METHOD_NEEDS_ROLE', 'DELETE /projects/{project}/**'])
    expect(check('GET', '/projects/proj-b')).toEqual([false, 'NO_CLIENT_ENTRY', '/projects/{project}/**'])
    expect(check('GET', '/elsewhere')).toEqual([false, 'PATH_UNMATCHED', undefined])
  })

  it('reports the grant and a trace with the claim and the chain', () => {
    const viaGroup = makePrincipal('bob', { 'proj-a': ['member'] }, { via: [{ kind: 'group', group: '/teams', member: '/teams/a' }] })
    const d = policy.check({ method: 'GET', path: '/projects/proj-a/files' }, viaGroup)
    expect(d.grant).toEqual({ client: 'proj-a', roles: ['member'], rule: '/projects/{project}/**' })
    expect(d.trace.map((s) => [s.kind, s.label])).toEqual([
      ['path', '/projects/proj-a/files'],
      ['user', 'bob'],
      ['claim', 'resource_access["proj-a"].roles'],
      ['group', '/teams/a'],
      ['role', 'proj-a/member'],
      ['rule', '/projects/{project}/**'],
    ])
  })
})

describe('workspaceApiPolicy', () => {
  it('honours custom roles, reserved ids and admin', () => {
    const policy = workspaceApiPolicy({ platformClient: 'portal', platformAdminRole: 'root', workspaceRoles: ['member'], reservedClientIds: ['ws-system'] })
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-a' }, makePrincipal('u', { 'ws-a': ['ws_access'] })).reason).toBe('ROLE_MISSING')
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-a' }, makePrincipal('u', { 'ws-a': ['member'] })).reason).toBe('WORKSPACE_ROLE')
    expect(policy.check({ method: 'GET', path: '/workspaces/ws-system' }, makePrincipal('u', { 'ws-system': ['member'] })).reason).toBe(
      'RESERVED_WORKSPACE_NAME',
    )
    // With an explicit list, only that list is reserved.
    expect(policy.check({ method: 'GET', path: '/workspaces/account' }, makePrincipal('u', { account: ['member'] })).reason).toBe('WORKSPACE_ROLE')
    expect(policy.check({ method: 'GET', path: '/x' }, makePrincipal('u', { portal: ['root'] }))).toMatchObject({
      allowed: true,
      reason: 'PLATFORM_ADMIN',
      grant: { client: 'portal', roles: ['root'] },
    })
  })

  it('reads only client roles, never realm roles or groups', () => {
    const gina = makePrincipal('gina', {}, { realmRoles: ['ws_access', 'admin'], groups: ['/ws-alice'] })
    expect(workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/ws-alice' }, gina).reason).toBe('NO_CLIENT_ENTRY')
  })

  it('anchors method-rule option errors on methodRules', () => {
    expect(() => workspaceApiPolicy({ methodRules: [{ path: '/workspaces/{a}/{b}', methods: ['PUT'], require: { anyOf: ['x'] } }] })).toThrow(
      expect.objectContaining({ option: 'methodRules[0].require.client' }),
    )
    expect(() => workspaceApiPolicy({ methodRules: [{ path: '/w/{a}', require: { anyOf: ['x'] } } as never] })).toThrow(
      expect.objectContaining({ option: 'methodRules[0].methods' }),
    )
    expect(() => workspaceApiPolicy({ workspaceRoles: [] })).toThrow(expect.objectContaining({ option: 'workspaceRoles' }))
  })
})

describe('stacPolicy options', () => {
  it('validates', () => {
    expect(() => stacPolicy({ prefix: 'stac' })).toThrow(expect.objectContaining({ option: 'prefix' }))
    expect(() => stacPolicy({ prefix: '/st%61c' })).toThrow(expect.objectContaining({ option: 'prefix' }))
    expect(() => stacPolicy({ anchorOnAzp: 'yes' as never })).toThrow(expect.objectContaining({ option: 'anchorOnAzp' }))
    expect(() => stacPolicy({ editorClients: [] })).toThrow(expect.objectContaining({ option: 'editorClients' }))
  })

  it('supports another prefix, the root prefix and no anchoring', () => {
    const editor = makePrincipal('e', { eoapi: ['stac_editor'] }, { azp: 'other' })
    expect(stacPolicy({ prefix: '/api/stac' }).check({ method: 'GET', path: '/api/stac/collections' }, null).reason).toBe('PUBLIC_READ')
    expect(stacPolicy({ prefix: '/api/stac' }).check({ method: 'GET', path: '/stac/collections' }, null).reason).toBe('PATH_UNMATCHED')
    expect(stacPolicy({ prefix: '/' }).check({ method: 'POST', path: '/search' }, null).reason).toBe('PUBLIC_READ')
    expect(stacPolicy().check({ method: 'PUT', path: '/stac/collections/c' }, editor).reason).toBe('AZP_NOT_ALLOWED')
    expect(stacPolicy({ anchorOnAzp: false }).check({ method: 'PUT', path: '/stac/collections/c' }, editor).reason).toBe('STAC_EDITOR')
  })

  it('does not anchor principals that came from a role source rather than a token', () => {
    const fromRealm = makePrincipal('e', { eoapi: ['stac_editor'] })
    const d = stacPolicy().check({ method: 'PUT', path: '/stac/collections/c' }, fromRealm)
    expect(d.reason).toBe('STAC_EDITOR')
    expect(d.trace.some((s) => s.kind === 'azp' && s.label.includes('not a token principal'))).toBe(true)
    const tokenWithoutAzp = makePrincipal('e', { eoapi: ['stac_editor'] }, { token: true })
    expect(stacPolicy().check({ method: 'PUT', path: '/stac/collections/c' }, tokenWithoutAzp).reason).toBe('AZP_NOT_ALLOWED')
  })
})

describe('decisions from claims', () => {
  const clock = new ManualClock(1767225600 * 1000)
  const decoder: ClaimsDecoder = {
    validate: (claims) => validateClaims(claims, { issuers: ['http://127.0.0.1:8180/realms/example'], audience: 'workspace-api', clock }),
    toPrincipal: (claims) => principalFromClaims(claims, { clock }),
  }
  const claims = {
    iss: 'http://127.0.0.1:8180/realms/example',
    aud: 'workspace-api',
    azp: 'workspace-api',
    typ: 'Bearer',
    sub: 'u-alice',
    exp: 1767225840,
    preferred_username: 'alice',
    resource_access: { 'ws-alice': { roles: ['ws_access'] } },
  }

  it('validates, builds the principal and decides', () => {
    expect(decideFromClaims(workspaceApiPolicy(), { method: 'GET', path: '/workspaces/ws-alice' }, claims, decoder).reason).toBe('WORKSPACE_ROLE')
    expect(decideFromClaims(workspaceApiPolicy(), { method: 'GET', path: '/workspaces/ws-alice' }, null, decoder).reason).toBe('NO_TOKEN')
    expect(subjectFromClaims({ ...claims, exp: 1767225000 }, decoder)).toMatchObject({ failure: 'TOKEN_EXPIRED', detail: 'EXPIRED' })
  })

  it('reports an ambiguous path before a refused token', () => {
    const d = decideFromClaims(workspaceApiPolicy(), { method: 'GET', path: '/workspaces/a%2Fb' }, { ...claims, aud: 'x' }, decoder)
    expect(d.reason).toBe('AMBIGUOUS_PATH')
  })
})

describe('HTTP helpers', () => {
  it.each([
    [undefined, { kind: 'none' }],
    [[], { kind: 'none' }],
    ['Bearer abc.def-_~+/ghi==', { kind: 'bearer', token: 'abc.def-_~+/ghi==' }],
    ['bearer abc', { kind: 'bearer', token: 'abc' }],
    ['BEARER abc', { kind: 'bearer', token: 'abc' }],
    [['Bearer abc'], { kind: 'bearer', token: 'abc' }],
  ])('parses %j', (header, expected) => {
    expect(parseAuthorization(header as never)).toEqual(expected)
  })

  it.each(['Bearer  abc', 'Bearer', 'Bearer ', ' Bearer abc', 'Bearer\tabc', 'Bearer abc ', 'Bearer a b', 'Basic dXNlcjpwdw==', 'Bearer a=b', 'Bearer ab\u00e9'])(
    'refuses %j',
    (header) => {
      expect(parseAuthorization(header).kind).toBe('malformed')
    },
  )

  it('refuses two Authorization headers', () => {
    expect(parseAuthorization(['Bearer a', 'Bearer b']).kind).toBe('malformed')
  })

  it('maps reasons to statuses', () => {
    expect(statusForReason(true, 'WORKSPACE_ROLE')).toBe(200)
    for (const r of ['NO_TOKEN', 'MALFORMED_AUTHORIZATION', 'TOKEN_EXPIRED', 'ISSUER_MISMATCH', 'ALGORITHM_NOT_ALLOWED', 'TOKEN_UNVERIFIABLE'] as const) {
      expect(statusForReason(false, r)).toBe(401)
    }
    for (const r of ['AMBIGUOUS_PATH', 'NO_CLIENT_ENTRY', 'PATH_UNMATCHED', 'METHOD_NOT_ALLOWED', 'AZP_NOT_ALLOWED'] as const) {
      expect(statusForReason(false, r)).toBe(403)
    }
  })

  const alice = makePrincipal('alice', { 'ws-alice': ['ws_access'] }, { azp: 'workspace-api' })
  const authenticate = async (token: string) => {
    if (token === 'good') return alice
    if (token === 'boom') throw new Error('database down')
    throw new TokenRejectedError('TOKEN_EXPIRED', 'EXPIRED', 'token expired at 1767225540')
  }
  const options = { policy: workspaceApiPolicy(), authenticate, realm: 'workspaces' }
  const req = (target: string, authorization?: string) => ({ method: 'GET', target, headers: authorization === undefined ? {} : { authorization } })

  it('answers 200, 401 with a challenge, or 403 with the reason', async () => {
    expect(await authorizeHttpRequest(req('/workspaces/ws-alice', 'Bearer good'), options)).toMatchObject({ status: 200, principal: alice })
    expect(await authorizeHttpRequest(req('/workspaces/ws-alice'), options)).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="workspaces"' },
      body: { error: 'unauthorized', reason: 'NO_TOKEN' },
    })
    expect(await authorizeHttpRequest(req('/workspaces/ws-alice', 'Bearer bad'), options)).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="workspaces", error="invalid_token", error_description="TOKEN_EXPIRED"' },
      body: { reason: 'TOKEN_EXPIRED', message: 'token expired at 1767225540' },
    })
    expect(await authorizeHttpRequest(req('/workspaces/ws-alice', 'Bearer  good'), options)).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="workspaces", error="invalid_request"' },
      body: { reason: 'MALFORMED_AUTHORIZATION' },
    })
    expect(await authorizeHttpRequest(req('/workspaces/ws-bob', 'Bearer good'), options)).toMatchObject({
      status: 403,
      body: { error: 'forbidden', reason: 'NO_CLIENT_ENTRY' },
    })
  })

  it('accepts an object with resolve() and lets unknown errors propagate', async () => {
    const viaObject = { ...options, authenticate: { resolve: authenticate } }
    expect((await authorizeHttpRequest(req('/workspaces/ws-alice', 'Bearer good'), viaObject)).status).toBe(200)
    await expect(authorizeHttpRequest(req('/workspaces/ws-alice', 'Bearer boom'), options)).rejects.toThrow('database down')
  })

  it('validates options', async () => {
    await expect(authorizeHttpRequest(req('/'), { ...options, authenticate: 'x' as never })).rejects.toThrow(
      expect.objectContaining({ option: 'authenticate' }),
    )
    await expect(authorizeHttpRequest(req('/'), { ...options, realm: 'a"b' })).rejects.toThrow(expect.objectContaining({ option: 'realm' }))
    await expect(authorizeHttpRequest(req('/'), { ...options, policy: {} as never })).rejects.toThrow(expect.objectContaining({ option: 'policy' }))
  })
})

describe('prototype keys', () => {
  it('a __proto__ entry that became a prototype is not a client entry', () => {
    const clientRoles: Record<string, unknown> = {}
    clientRoles['__proto__'] = [{ client: '__proto__', name: 'ws_access', attributes: {}, via: [] }]
    const p = { ...makePrincipal('x', {}), clientRoles } as never
    expect(workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/__proto__' }, p).reason).toBe('NO_CLIENT_ENTRY')
    expect(workspaceApiPolicy().check({ method: 'GET', path: '/workspaces/0' }, p).reason).toBe('NO_CLIENT_ENTRY')
  })
})

describe('explainRoute', () => {
  it('renders user → group → role → rule → resource', async () => {
    const { RealmExportSource } = await import('../../src/keycloak/index.js')
    const { explainRoute } = await import('../../src/workspaces/index.js')
    const source = RealmExportSource.example()
    const users = source.usernames()
    let rendered = 0
    for (const user of users) {
      const principal = await source.resolve(user)
      for (const client of Object.keys(principal.clientRoles).filter((c) => c.startsWith('ws-'))) {
        const d = workspaceApiPolicy().check({ method: 'GET', path: `/workspaces/${client}/files` }, principal)
        if (!d.allowed) continue
        const text = explainRoute(d)
        expect(text.startsWith(`${principal.username} → `)).toBe(true)
        expect(text.endsWith(`→ /workspaces/{workspace}/** → /workspaces/${client}/files (allowed: WORKSPACE_ROLE)`)).toBe(true)
        expect(text).toContain(`${client}/`)
        rendered++
      }
    }
    expect(rendered).toBeGreaterThan(0)
    expect(explainRoute(workspaceApiPolicy().check({ method: 'GET', path: '/workspaces' }, null))).toBe('/workspaces (denied: NO_TOKEN)')
  })
})
